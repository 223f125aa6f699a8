// Package catalog holds every sentence the kiosk says, in every language
// it speaks: the screen's words, and one plain sentence for each error code
// of the packages that own errors (reader.Code, attendance.Code, and the
// simulated reader's own), used alike by the screen, the voice, the
// simulated reader's replies and the logs. It is the only place that holds
// these sentences; it draws nothing, so a kiosk without a screen links it
// without Fyne.
//
// The person who runs a station is called 站点管理员 ("station manager")
// everywhere.
package catalog

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

// Lang is a language code.
type Lang string

// Languages the catalogue carries. Chinese is the default; a new language
// is one more column in catalogue.
const (
	Zh Lang = "zh"
	En Lang = "en"
)

// Langs are the languages every key has.
var Langs = []Lang{Zh, En}

// Key names one string of the catalogue.
type Key string

// catalogue holds every string the kiosk shows, in every language. Strings
// with verbs are fmt formats. Tests check that every language has every
// key, that every error code has a sentence, and that the bundled font has
// every rune.
var catalogue = map[Key]map[Lang]string{
	"tap_prompt":             {Zh: "请刷志愿服务证", En: "Please tap your volunteer card"},
	"tap_hint":               {Zh: "把卡放在下方读卡区", En: "Hold the card on the reader below"},
	"online":                 {Zh: "在线", En: "Online"},
	"offline":                {Zh: "离线", En: "Offline"},
	"link_unknown":           {Zh: "联网状态未知", En: "Link state unknown"},
	"btn_menu":               {Zh: "服务菜单", En: "Services"},
	"btn_board":              {Zh: "公示栏", En: "Contact board"},
	"btn_honor":              {Zh: "光荣榜", En: "Honor roll"},
	"btn_news":               {Zh: "活动公告", En: "Activities"},
	"btn_need":               {Zh: "需求登记", En: "Register a need"},
	"btn_admin":              {Zh: "管理", En: "Admin"},
	"btn_lang":               {Zh: "English", En: "中文"},
	"btn_large":              {Zh: "大字模式", En: "Large text"},
	"btn_normal":             {Zh: "标准字体", En: "Normal text"},
	"btn_home":               {Zh: "返回首页", En: "Home"},
	"btn_back":               {Zh: "返回", En: "Back"},
	"btn_next":               {Zh: "下一步", En: "Next"},
	"btn_submit":             {Zh: "提交登记", En: "Submit"},
	"btn_delete":             {Zh: "删除", En: "Delete"},
	"btn_clear":              {Zh: "清空", En: "Clear"},
	"btn_ok":                 {Zh: "确定", En: "OK"},
	"btn_service":            {Zh: "选择服务项目", En: "Choose a service"},
	"btn_no_service":         {Zh: "不选服务项目", En: "No service"},
	"chosen_service":         {Zh: "本次服务：%s", En: "Service: %s"},
	"checkin_ok":             {Zh: "签到成功", En: "Checked in"},
	"checkout_ok":            {Zh: "签退成功", En: "Checked out"},
	"repeat_tap":             {Zh: "已记录，请勿重复刷卡", En: "Already recorded, no need to tap again"},
	"auto_closed":            {Zh: "上次服务未签退，已自动结束并转交站点管理员核对", En: "Your last session had no check-out; it was closed for the station manager to review"},
	"tap_failed":             {Zh: "刷卡没有成功", En: "The tap did not work"},
	"retap":                  {Zh: "请重新刷卡", En: "Please tap again"},
	"service_line":           {Zh: "服务项目：%s", En: "Service: %s"},
	"today_duration":         {Zh: "本次服务 %s", En: "This session: %s"},
	"total_hours":            {Zh: "累计服务 %s 小时", En: "Total: %s hours"},
	"star_level":             {Zh: "%s志愿者", En: "%s volunteer"},
	"no_star":                {Zh: "志愿者", En: "Volunteer"},
	"to_next_star":           {Zh: "距%s志愿者还差 %s 小时", En: "%[2]s hours to %[1]s"},
	"total_hours_asof":       {Zh: "累计服务 %s 小时（截至%s）", En: "Total: %s hours (as of %s)"},
	"hours_pending":          {Zh: "本次时长上传后由平台计入累计", En: "This session is added to your total once the cloud has it"},
	"top_star":               {Zh: "已是最高星级，感谢您的奉献", En: "Top star level, thank you"},
	"hours_minutes":          {Zh: "%d 小时 %d 分钟", En: "%d h %d min"},
	"minutes":                {Zh: "%d 分钟", En: "%d min"},
	"star1":                  {Zh: "一星", En: "1-star"},
	"star2":                  {Zh: "二星", En: "2-star"},
	"star3":                  {Zh: "三星", En: "3-star"},
	"star4":                  {Zh: "四星", En: "4-star"},
	"star5":                  {Zh: "五星", En: "5-star"},
	"err_several_cards":      {Zh: "读卡区有多张卡，请只放一张志愿服务证。", En: "Several cards on the reader: please hold only one volunteer card."},
	"err_unreadable":         {Zh: "没有读完卡，请把卡放稳，再刷一次。", En: "The card was not read completely: hold it still and tap again."},
	"err_expired":            {Zh: "这张志愿服务证已过期，请到服务站或志愿服务联合会换卡。", En: "This card has expired: please get a new one at the station or the volunteer federation."},
	"err_revoked":            {Zh: "这张志愿服务证已停用，请联系站点管理员或志愿服务联合会。", En: "This card has been withdrawn: please contact the station manager or the volunteer federation."},
	"err_forged":             {Zh: "无法确认这张卡是有效的志愿服务证，请联系站点管理员。", En: "This card cannot be confirmed as a valid volunteer card: please contact the station manager."},
	"err_unsupported":        {Zh: "这不是普洱市志愿服务证，请换用志愿服务证刷卡。", En: "This is not a Pu'er volunteer card: please tap your volunteer card."},
	"err_reader_fault":       {Zh: "读卡器暂时出了故障，请联系站点管理员；可以先在屏幕上登记。", En: "The card reader has a fault: please tell the station manager; you can register on the screen meanwhile."},
	"err_disk_full":          {Zh: "存储空间已满，本次刷卡未记录，请联系站点管理员。", En: "The kiosk's storage is full and this tap was not recorded: please tell the station manager."},
	"err_storage":            {Zh: "设备存储出错，本次刷卡未记录，请稍后重试或联系站点管理员。", En: "Storage error, this tap was not recorded: try again later or tell the station manager."},
	"err_invalid_tap":        {Zh: "无法识别此卡，请重新刷卡；如仍不行，请联系站点管理员。", En: "This card cannot be recognised: tap again, or tell the station manager."},
	"err_other":              {Zh: "刷卡没有成功，请再试一次；如果还不行，请联系站点管理员。", En: "The tap did not work: try again, and if it still fails tell the station manager."},
	"err_not_yet_valid":      {Zh: "这张志愿服务证还没有到启用日期，请到启用日期后再刷，或联系站点管理员。", En: "This card is not valid yet: tap again from its start date, or ask the station manager."},
	"err_unsigned":           {Zh: "本机只认志愿服务证，请把志愿服务证放在读卡区刷卡。", En: "This kiosk takes volunteer cards only: please tap your card on the reader."},
	"err_bad_request":        {Zh: "请求格式不正确：%s", En: "The request is malformed: %s"},
	"err_unknown_request":    {Zh: "未知的请求类型：%s", En: "Unknown kind of request: %s"},
	"err_no_card_images":     {Zh: "本机不接受卡片镜像，请使用 volunteer 字段。", En: "This kiosk takes no card images: use the volunteer field."},
	"menu_title":             {Zh: "菜单式服务目录", En: "Service menu"},
	"menu_empty":             {Zh: "暂无服务项目", En: "No services yet"},
	"board_empty":            {Zh: "公示内容尚未发布", En: "Nothing posted yet"},
	"need_other":             {Zh: "其他需求", En: "Other help"},
	"scroll_more":            {Zh: "▼ 向上滑动查看更多", En: "▼ Swipe up for more"},
	"unconfigured_title":     {Zh: "学雷锋志愿服务站", En: "Lei Feng volunteer station"},
	"unconfigured_head":      {Zh: "本机待配置", En: "This kiosk is not set up yet"},
	"unconfigured_link":      {Zh: "联网状态：%s", En: "Network: %s"},
	"unconfigured_todo":      {Zh: "请联系管理员在管理后台为本站推送站点配置，推送后这里会显示本站的服务和公示内容。", En: "Ask the administrator to push this station's config from the web console; the station's services and notices then show here."},
	"unconfigured_taps":      {Zh: "志愿者现在就可以刷卡签到、签退，记录会保存并上传。", En: "Volunteers can already tap to check in and out; the records are kept and uploaded."},
	"item_what":              {Zh: "服务内容：%s", En: "What: %s"},
	"item_when":              {Zh: "服务时间：%s", En: "When: %s"},
	"item_where":             {Zh: "服务地点：%s", En: "Where: %s"},
	"item_who":               {Zh: "服务团队：%s", En: "Who serves: %s"},
	"item_contact":           {Zh: "联系方式：%s", En: "Contact: %s"},
	"item_qr":                {Zh: "扫码查看详情", En: "Scan for details"},
	"board_title":            {Zh: "公示栏", En: "Contact board"},
	"board_workflow":         {Zh: "工作流程", En: "Workflow"},
	"board_services":         {Zh: "服务内容", En: "Services"},
	"board_contact":          {Zh: "联系人：%s", En: "Contact person: %s"},
	"board_phone":            {Zh: "联系方式：%s", En: "Phone: %s"},
	"board_hours":            {Zh: "开放时间：%s", En: "Opening hours: %s"},
	"board_checklist":        {Zh: "站点“十有”", En: "The station's ten essentials"},
	"done":                   {Zh: "已具备", En: "in place"},
	"not_done":               {Zh: "建设中", En: "in progress"},
	"honor_title":            {Zh: "志愿光荣榜", En: "Honor roll"},
	"honor_line":             {Zh: "%d. %s  %s 小时  %s", En: "%d. %s  %s h  %s"},
	"honor_period":           {Zh: "统计期间：%s", En: "Period: %s"},
	"honor_period_asof":      {Zh: "统计期间：截至%s", En: "Period: up to %s"},
	"honor_period_none":      {Zh: "统计期间：未注明", En: "Period: not stated"},
	"honor_empty":            {Zh: "本月光荣榜尚未发布", En: "This month's honor roll is not out yet"},
	"news_title":             {Zh: "活动公告", En: "Upcoming activities"},
	"news_empty":             {Zh: "暂无活动公告", En: "No activities announced"},
	"news_when":              {Zh: "时间：%s", En: "When: %s"},
	"news_where":             {Zh: "地点：%s", En: "Where: %s"},
	"need_title":             {Zh: "需求登记", En: "Register a need"},
	"need_step_cat":          {Zh: "第一步：您需要哪类服务？", En: "Step 1: what kind of help do you need?"},
	"need_step_phone":        {Zh: "第二步：请输入您的手机号码", En: "Step 2: enter your phone number"},
	"need_step_note":         {Zh: "第三步：选择一句说明（可不选）", En: "Step 3: choose a short note (optional)"},
	"need_phone_bad":         {Zh: "请输入11位手机号码或带区号的电话", En: "Enter an 11-digit mobile or a landline with area code"},
	"need_chosen":            {Zh: "已选：%s", En: "Chosen: %s"},
	"need_done":              {Zh: "登记成功", En: "Registered"},
	"need_ref":               {Zh: "登记编号：%s", En: "Reference: %s"},
	"need_callback":          {Zh: "工作人员会尽快电话联系您", En: "Someone from the station will call you soon"},
	"need_failed":            {Zh: "登记没有成功，请稍后再试或联系站点管理员", En: "The need was not registered: try again later or ask the station manager"},
	"need_saving":            {Zh: "正在保存…", En: "Saving…"},
	"btn_order_lookup":       {Zh: "查询或评价已登记的需求", En: "Look up or rate a registered need"},
	"order_title":            {Zh: "查询需求", En: "Look up a need"},
	"order_step_ref":         {Zh: "请输入登记编号 XQ- 后面的数字", En: "Enter the digits after XQ- of your reference"},
	"order_step_phone":       {Zh: "请输入登记时所留电话号码的后四位", En: "Enter the last four digits of the phone number you gave"},
	"btn_lookup":             {Zh: "查询", En: "Look up"},
	"btn_retype":             {Zh: "重新输入", En: "Enter again"},
	"btn_rate":               {Zh: "评价服务", En: "Rate the service"},
	"order_ref_line":         {Zh: "登记编号：%s", En: "Reference: %s"},
	"order_state_line":       {Zh: "当前状态：%s", En: "Status: %s"},
	"order_reason":           {Zh: "原因：%s", En: "Reason: %s"},
	"order_updated":          {Zh: "更新于%s", En: "Updated %s"},
	"order_not_here":         {Zh: "本站没有查到这个登记编号", En: "This station has no need with this reference"},
	"order_not_here_how":     {Zh: "请核对编号；如果是在其他站点登记的，也可以在这里评价，由平台核对。", En: "Check the reference; if you registered at another station, you can still rate here and the cloud checks it."},
	"order_wrong_digits":     {Zh: "电话号码后四位不对，请重新输入；如有疑问请联系站点工作人员。", En: "The last four digits do not match: enter them again, or ask the station staff."},
	"order_locked":           {Zh: "输入错误次数过多，请5分钟后再试，或请站点工作人员帮您查询。", En: "Too many wrong tries: try again in 5 minutes, or ask the station staff."},
	"order_state_submitted":  {Zh: "待审核", En: "Waiting for review"},
	"order_state_dispatched": {Zh: "已派单", En: "Sent to a team"},
	"order_state_accepted":   {Zh: "已接单", En: "Accepted"},
	"order_state_in_service": {Zh: "服务中", En: "In service"},
	"order_state_completed":  {Zh: "已完成", En: "Done"},
	"order_state_rated":      {Zh: "已评价", En: "Rated"},
	"order_state_rejected":   {Zh: "已拒绝", En: "Declined"},
	"order_state_cancelled":  {Zh: "已取消", En: "Cancelled"},
	"order_means_submitted":  {Zh: "站点工作人员正在审核您的需求。", En: "The station staff are reviewing your need."},
	"order_means_dispatched": {Zh: "已交给志愿服务组织，等待接单。", En: "It has been passed to a volunteer team, waiting for them to accept."},
	"order_means_accepted":   {Zh: "志愿服务组织已接单，会安排志愿者与您联系。", En: "A volunteer team accepted it and will arrange a volunteer to contact you."},
	"order_means_in_service": {Zh: "志愿者正在为您服务。", En: "Volunteers are serving you now."},
	"order_means_completed":  {Zh: "服务已完成，欢迎您评价。", En: "The service is done: please rate it."},
	"order_means_rated":      {Zh: "您已评价，谢谢！", En: "You have rated it, thank you!"},
	"order_means_rejected":   {Zh: "这个需求没有被受理。", En: "This need was not taken on."},
	"order_means_cancelled":  {Zh: "这个需求已取消。", En: "This need was cancelled."},
	"rate_title":             {Zh: "评价服务", En: "Rate the service"},
	"rate_step_score":        {Zh: "第一步：请为这次服务打分", En: "Step 1: how was the service?"},
	"rate_step_comment":      {Zh: "第二步：选一句评语（可不选）", En: "Step 2: choose a comment (optional)"},
	"rate_choose_first":      {Zh: "请先选择分数", En: "Choose a score first"},
	"rate_1":                 {Zh: "1分\n很不满意", En: "1 Very poor"},
	"rate_2":                 {Zh: "2分\n不满意", En: "2 Poor"},
	"rate_3":                 {Zh: "3分\n一般", En: "3 Fair"},
	"rate_4":                 {Zh: "4分\n满意", En: "4 Good"},
	"rate_5":                 {Zh: "5分\n非常满意", En: "5 Very good"},
	"comment_good":           {Zh: "服务很好，谢谢", En: "Very good, thank you"},
	"comment_on_time":        {Zh: "准时到达", En: "On time"},
	"comment_warm":           {Zh: "态度热情", En: "Warm and kind"},
	"comment_solved":         {Zh: "问题已解决", En: "Problem solved"},
	"comment_unsolved":       {Zh: "问题未完全解决", En: "Not fully solved"},
	"comment_late":           {Zh: "来晚了", En: "Came late"},
	"btn_submit_rating":      {Zh: "提交评价", En: "Submit rating"},
	"rate_done":              {Zh: "感谢您的评价", En: "Thank you for rating"},
	"rate_done_how":          {Zh: "评价已保存，联网后上传到平台。", En: "Your rating is saved and goes to the cloud when the kiosk is online."},
	"rate_failed":            {Zh: "评价没有保存成功，请稍后再试或请站点工作人员代为录入。", En: "The rating was not saved: try again later or ask the station staff to enter it."},
	"task_pending_one":       {Zh: "您有一项待服务任务", En: "You have a service task waiting"},
	"task_pending":           {Zh: "您有%d项待服务任务", En: "You have %d service task(s) waiting"},
	"btn_start_task":         {Zh: "开始服务：%s", En: "Start: %s"},
	"task_title":             {Zh: "待服务任务", En: "Service task"},
	"task_started":           {Zh: "已开始服务", En: "Service started"},
	"task_checkout":          {Zh: "服务结束后请刷卡签退，任务即完成。", En: "Tap your card to check out when you finish: that completes the task."},
	"task_failed":            {Zh: "没有记录成功，请再试一次或联系站点管理员。", En: "Not recorded: try again or tell the station manager."},
	"btn_activity":           {Zh: "参加活动签到", En: "Check in for an activity"},
	"activity_title":         {Zh: "选择本次参加的活动", En: "Choose your activity"},
	"activity_step":          {Zh: "请点选您参加的活动，然后刷卡签到", En: "Tap the activity you came for, then tap your card"},
	"activity_none":          {Zh: "不选择（站点日常服务）", En: "None (the station's daily service)"},
	"activity_chosen":        {Zh: "本次活动：%s", En: "Activity: %s"},
	"activity_change":        {Zh: "请刷卡签到（点此更改）", En: "Now tap your card (tap here to change)"},
	"activity_default_line":  {Zh: "本次活动：站点日常服务", En: "Activity: the station's daily service"},
	"btn_notice":             {Zh: "服务时长公示", En: "Hours on public notice"},
	"notice_title":           {Zh: "服务时长公示", En: "Hours on public notice"},
	"notice_intro":           {Zh: "以下服务记录正在公示。如有异议，请点选记录，再刷志愿服务证提出。", En: "These service records are on public notice. To object, tap a record, then tap your volunteer card."},
	"notice_empty":           {Zh: "目前没有公示中的服务记录。", En: "No service records are on notice now."},
	"notice_until":           {Zh: "公示至%s", En: "on notice until %s"},
	"notice_objected":        {Zh: "已有异议，核实中", En: "objection raised, being checked"},
	"notice_hours":           {Zh: "%s小时", En: "%s h"},
	"notice_page":            {Zh: "第%d/%d页", En: "Page %d of %d"},
	"notice_intro_stars":     {Zh: "以下服务记录和星级认定正在公示。如有异议，请点选，再刷志愿服务证提出。", En: "These service records and star ratings are on public notice. To object, tap one, then tap your volunteer card."},
	"notice_star":            {Zh: "星级认定公示：%s 拟认定为%s级志愿者", En: "Star rating on notice: %s, proposed %s volunteer"},
	"notice_star_org":        {Zh: "星级认定公示：%s 拟认定为%s级志愿服务组织", En: "Star rating on notice: %s, proposed %s volunteer organisation"},
	"notice_star_objected":   {Zh: "已有异议，审批人核实中", En: "objection raised, the approver is checking"},
	"objection_star_hours":   {Zh: "服务时长不实", En: "The hours are not true"},
	"objection_star_rules":   {Zh: "不符合认定条件", En: "Does not meet the conditions"},
	"objection_star_how":     {Zh: "审批人会核实处理。核实期间暂不认定星级。", En: "The approver will check it. Until then the star is not awarded."},
	"btn_prev_page":          {Zh: "上一页", En: "Previous"},
	"btn_next_page":          {Zh: "下一页", En: "Next"},
	"objection_title":        {Zh: "提出异议", En: "Raise an objection"},
	"objection_step_reason":  {Zh: "请选择异议原因", En: "Choose why you object"},
	"objection_step_tap":     {Zh: "请刷志愿服务证提交异议", En: "Tap your volunteer card to submit the objection"},
	"objection_tap_hint":     {Zh: "刷卡即提交，站点管理员会核实处理。", En: "Tapping submits it; the station manager will check it."},
	"objection_hours":        {Zh: "时长不对", En: "Wrong hours"},
	"objection_not_me":       {Zh: "不是本人参加", En: "Not the person who served"},
	"objection_wrong":        {Zh: "日期或活动不对", En: "Wrong date or activity"},
	"objection_other":        {Zh: "其他问题，请站点联系我", En: "Something else: please contact me"},
	"objection_card_failed":  {Zh: "读卡没有成功：%s", En: "Card not read: %s"},
	"objection_done":         {Zh: "异议已提交", En: "Objection submitted"},
	"objection_done_how":     {Zh: "站点管理员会核实处理。核实期间这条记录暂不计入服务时长。", En: "The station manager will check it. Until then the record does not count."},
	"objection_failed":       {Zh: "异议没有保存成功，请再试一次或联系站点管理员。", En: "The objection was not saved: try again or tell the station manager."},
	"note_outcome":           {Zh: "审核结果：%s", En: "Review: %s"},
	"note_star":              {Zh: "可申请升级：您已达到%s志愿者条件，请向站点管理员申请。", En: "You may apply for %s: ask the station manager."},
	"served_title":           {Zh: "%s已服务群众需求", En: "Needs served in %s"},
	"served_count":           {Zh: "%s %d 件", En: "%s: %d"},
	"preset_urgent":          {Zh: "比较急，请尽快联系", En: "Urgent, please call soon"},
	"preset_home":            {Zh: "需要上门服务", En: "Please come to my home"},
	"preset_morning":         {Zh: "上午方便联系", En: "Mornings suit me"},
	"preset_afternoon":       {Zh: "下午方便联系", En: "Afternoons suit me"},
	"preset_family":          {Zh: "为家人登记", En: "For a family member"},
	"preset_none":            {Zh: "不需要说明", En: "No note"},
	"pin_title":              {Zh: "请输入管理密码", En: "Enter the admin PIN"},
	"pin_wrong":              {Zh: "密码不正确", En: "Wrong PIN"},
	"pin_unset":              {Zh: "本机尚未设置管理密码", En: "No admin PIN is set on this kiosk"},
	"pin_unset_how":          {Zh: "请维护人员在设备的环境变量 LEIFENG_KIOSK_PIN 中设置管理密码（例如写入 /etc/leifeng/kiosk.env），然后重启信息屏程序。", En: "Ask the engineer to set the admin PIN in the environment variable LEIFENG_KIOSK_PIN (e.g. in /etc/leifeng/kiosk.env) and restart the kiosk program."},
	"admin_title":            {Zh: "站点管理", En: "Station admin"},
	"admin_station":          {Zh: "站点编号：%s", En: "Station: %s"},
	"admin_network":          {Zh: "网络：%s", En: "Network: %s"},
	"admin_broker":           {Zh: "消息服务器：%s", En: "Broker: %s"},
	"admin_outbox":           {Zh: "待上传记录：%d 条；平台退回：%d 条", En: "Records waiting to upload: %d; refused by the cloud: %d"},
	"admin_config":           {Zh: "配置版本：%d", En: "Config version: %d"},
	"admin_software":         {Zh: "软件版本：%s", En: "Software version: %s"},
	"admin_sync":             {Zh: "最近上传确认：%s", En: "Last upload confirmed: %s"},
	"admin_never":            {Zh: "本次开机后尚无", En: "none since start"},
	"admin_sync_at":          {Zh: "%s（本次开机后共确认 %d 条）", En: "%s (%d records confirmed since start)"},
	"admin_reader":           {Zh: "读卡器：%s；自动恢复 %d 次", En: "Card reader: %s; reset %d times"},
	"admin_test":             {Zh: "读卡测试", En: "Reader test"},
	"admin_test_wait":        {Zh: "请刷一张卡测试读卡器", En: "Tap a card to test the reader"},
	"admin_test_ok":          {Zh: "读卡正常：%s（%s）", En: "Reader OK: %s (%s)"},
	"admin_test_err":         {Zh: "读卡失败：%s", En: "Read failed: %s"},
	"admin_refresh":          {Zh: "刷新", En: "Refresh"},
	"admin_sound":            {Zh: "提示音：%s", En: "Tones: %s"},
	"admin_voice":            {Zh: "语音播报：%s", En: "Voice: %s"},
	"on":                     {Zh: "开", En: "on"},
	"off":                    {Zh: "关", En: "off"},
	"none":                   {Zh: "无", En: "none"},
}

// Text returns key in lang, formatted with args; a language without the
// key falls back to Chinese. A key missing from the catalogue shows as
// itself, which the catalogue's tests prevent.
func Text(lang Lang, key Key, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return string(key)
	}
	s, ok := m[lang]
	if !ok {
		s = m[Zh]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Service hours are written with one decimal, cut off rather than rounded:
// a volunteer's figure is never shown higher than the cloud counted it, so
// the kiosk never shows 30.0 hours to someone the star level (which uses the
// exact figure) still counts as short of 30, and halves behave alike (fmt's
// %.1f rounds half to even, which wrote 42.25 as 42.2 but 27.75 as 27.8).
// The hours still needed for the next star are rounded up instead, for the
// same reason, and so the two figures add up to the threshold. hoursSlack
// absorbs the float error of h*10 (2.3*10 is 22.999...), far below a second.
const hoursSlack = 1e-9

// Hours is a number of service hours as every screen of the kiosk writes
// it: one decimal, truncated (42.25 → "42.2", 27.75 → "27.7").
func Hours(h float64) string {
	return strconv.FormatFloat(math.Floor(h*10+hoursSlack)/10, 'f', 1, 64)
}

// HoursToGo is a number of hours still to serve, rounded up to one decimal
// (2.25 → "2.3"), so it is never shown smaller than it is.
func HoursToGo(h float64) string {
	return strconv.FormatFloat(math.Ceil(h*10-hoursSlack)/10, 'f', 1, 64)
}

// Has reports whether key is in the catalogue.
func Has(key Key) bool {
	_, ok := catalogue[key]
	return ok
}

// Keys returns every key, sorted.
func Keys() []Key {
	keys := make([]Key, 0, len(catalogue))
	for k := range catalogue {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Codes of the simulated reader's own refusals, besides the reader's and
// the attendance rules' codes.
const (
	// CodeUnsigned: a bare volunteer tap on a kiosk that checks cards.
	CodeUnsigned = "unsigned"
	// CodeBadRequest: a request line that is not a request (%s: why).
	CodeBadRequest = "bad_request"
	// CodeUnknownRequest: a request of a kind the reader does not know
	// (%s: the kind).
	CodeUnknownRequest = "unknown_request"
	// CodeNoCardImages: a card image sent to a kiosk that takes none.
	CodeNoCardImages = "no_card_images"
)

// Codes lists every error code the catalogue has a sentence for: the
// reader's, the attendance rules', and the simulated reader's.
func Codes() []string {
	codes := append(reader.Codes(), attendance.Codes()...)
	codes = append(codes, CodeUnsigned, CodeBadRequest, CodeUnknownRequest, CodeNoCardImages)
	slices.Sort(codes)
	return slices.Compact(codes)
}

// Code is the stable code of a failed tap's err: the attendance rules'
// for a tap that was read but not stored, the reader's otherwise; "" for
// nil.
func Code(err error) string {
	if c := attendance.Code(err); c != attendance.CodeOther {
		return c
	}
	return reader.Code(err)
}

// ErrorKey is the catalogue key of an error code's sentence.
func ErrorKey(code string) Key { return Key("err_" + code) }

// Sentence is the plain sentence in lang for code, which says what
// happened and what to do next; args fill the codes whose sentence has a
// verb (CodeBadRequest, CodeUnknownRequest). An unknown code gets the
// sentence of "other".
func Sentence(lang Lang, code string, args ...any) string {
	k := ErrorKey(code)
	if !Has(k) {
		k = ErrorKey(reader.CodeOther)
	}
	return Text(lang, k, args...)
}
