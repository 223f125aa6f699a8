package ui

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"leifeng/gateway/wire"
	"leifeng/reader"
)

// The activities, the notice list and the notes of issue 12 as a cloud
// would send them; fixedNow is 2027-03-05 09:30 in Pu'er.
const (
	longActivity = "社区助老：为独居老人上门送餐、陪伴聊天并检查家中用电用气安全（南屏街道振兴社区）"
	longOutcome  = "3月2日 关爱空巢老人和留守儿童志愿服务（周末）：1.5小时，审核通过，公示至3月6日"
)

func at(h, m int) time.Time {
	return time.Date(2027, 3, 5, h, m, 0, 0, ChinaTime)
}

func hoursActivities() []wire.StationActivity {
	return []wire.StationActivity{
		{ID: 41, Name: "站点日常服务", Start: at(0, 0).AddDate(0, -2, 0), End: at(0, 0).AddDate(0, 10, 0), Default: true},
		{ID: 42, Name: longActivity, Category: "关爱空巢老人", Start: at(8, 30), End: at(12, 0)},
		{ID: 43, Name: "义务理发", Category: "邻里互助", Start: at(10, 15), End: at(11, 30)}, // within the hour's margin
		{ID: 44, Name: "明天的河道清洁", Start: at(9, 0).AddDate(0, 0, 1), End: at(11, 0).AddDate(0, 0, 1)},
		{ID: 45, Name: "早上的劝导", Start: at(6, 0), End: at(8, 0)}, // ended an hour and a half ago
	}
}

func hoursNotice() []wire.NoticeRecord {
	names := []string{"王*明", "李*芳", "岩*罕", "张*三", "刀*", "玉*香", "杨*华"}
	var out []wire.NoticeRecord
	for i, n := range names {
		r := wire.NoticeRecord{ID: fmt.Sprintf("tap:%d", i+1), Name: n, Day: fmt.Sprintf("2027-03-0%d", 4-i%3), Activity: longActivity,
			Hours: 1.5 + float64(i), Until: at(18, 0).AddDate(0, 0, 1)}
		r.Objected = i == 1
		out = append(out, r)
	}
	return out
}

// starNotice are star awards in notice as the cloud lists them first: a
// volunteer's (masked) and, held by an objection, an organisation's with
// a long name.
func starNotice() []wire.NoticeRecord {
	return []wire.NoticeRecord{
		{ID: "star:12", Kind: wire.NoticeStar, Level: 3, Name: "陈*红", Day: "2027-03-01", Activity: "星级认定公示：拟认定为三星级志愿者",
			Until: at(18, 0).AddDate(0, 0, 3)},
		{ID: "star:13", Kind: wire.NoticeStar, Level: 5, Org: "思茅区南屏街道茶源社区关爱空巢老人志愿服务队", Day: "2027-03-01",
			Activity: "星级认定公示：拟认定为五星级志愿服务组织", Objected: true},
	}
}

func hoursConfig() *wire.Config {
	c := testConfig()
	c.Activities, c.Notice = hoursActivities(), hoursNotice()
	c.Volunteers[0].Notes = []wire.VolunteerNote{{ID: "tap:9", Text: "3月2日 社区助老：1.5小时，审核通过，公示至3月6日"}}
	c.Volunteers[0].StarEligible = 3
	return c
}

// pressPrefix presses the first button whose label starts with prefix.
func (k *kiosk) pressPrefix(prefix string) {
	k.t.Helper()
	for _, o := range k.objects() {
		if b, ok := o.(*touchButton); ok && b.Visible() && (strings.HasPrefix(b.Name, prefix) || strings.HasPrefix(b.Text, prefix)) {
			test.Tap(b)
			return
		}
	}
	k.t.Fatalf("no button starting %q on screen %s; texts:\n%s", prefix, k.ui.Screen(), k.texts())
}

// walkHours visits the screens of issue 12, checking each (checkStep):
// the activity choice, home with a long activity chosen, the check-in
// that carries it, the notice list's pages and an objection waiting for
// its card.
func (k *kiosk) walkHours(lang Lang) {
	k.t.Helper()
	T := func(key Key, args ...any) string { return tr(lang, key, args...) }
	k.press(T("btn_activity"))
	k.wait(ScreenActivity)
	k.checkStep()
	k.pressPrefix(longActivity)
	k.wait(ScreenHome)
	k.pressPrefix(T("activity_chosen", longActivity)) // back to the choice
	k.wait(ScreenActivity)
	k.checkStep()
	k.pressPrefix("✓ " + longActivity)
	k.wait(ScreenHome)
	k.checkStep()
	k.cardTap("V0003")
	k.wait(ScreenResult)
	k.checkStep()
	k.press(T("btn_ok"))
	k.wait(ScreenHome)
	k.press(T("btn_board"))
	k.wait(ScreenBoard)
	k.checkStep()
	k.pressPrefix(T("btn_notice"))
	k.wait(ScreenNotice)
	k.checkStep()
	for strings.Contains(k.texts(), T("btn_next_page")) { // to the last page
		k.press(T("btn_next_page"))
		k.wait(ScreenNotice)
		k.checkStep()
	}
	k.pressPrefix("杨*华")
	k.wait(ScreenObjection)
	k.checkStep()
	k.press(T("objection_hours"))
	k.shows(T("objection_step_tap"))
	k.checkStep()
	k.press(T("btn_home"))
	k.wait(ScreenHome)
	// A star award in notice: its line, its objection screen.
	k.press(T("btn_board"))
	k.wait(ScreenBoard)
	k.pressPrefix(T("btn_notice"))
	k.wait(ScreenNotice)
	k.pressPrefix(T("notice_star_org", starNotice()[1].Org, T("star5")))
	k.wait(ScreenObjection)
	k.checkStep()
	k.press(T("objection_star_rules"))
	k.shows(T("objection_step_tap"))
	k.checkStep()
	k.press(T("btn_home"))
	k.wait(ScreenHome)
}

// A volunteer chooses an activity with one tap on the home screen's
// button and one on the activity, then taps their card: the check-in
// record carries the activity, and the choice is gone for the next
// volunteer, whose check-in carries none (the station's default). Only
// activities on by the kiosk's clock are offered, the default one aside.
func TestActivityAtCheckIn(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, hoursConfig())
	k.press("参加活动签到")
	k.wait(ScreenActivity)
	k.shows("请点选您参加的活动，然后刷卡签到", "不选择（站点日常服务）", "义务理发", "10:15—11:30 · 邻里互助")
	if txt := k.texts(); strings.Contains(txt, "明天的河道清洁") || strings.Contains(txt, "早上的劝导") || strings.Contains(txt, "站点日常服务\n") {
		t.Fatalf("offers activities not on now, or the default one:\n%s", txt)
	}
	k.pressPrefix(longActivity)
	k.wait(ScreenHome)
	k.shows("请刷卡签到（点此更改）")
	if got := k.ui.Activity(); got != 42 {
		t.Fatalf("chosen %d", got)
	}
	k.cardTap("V0002")
	k.wait(ScreenResult)
	k.shows("签到成功")
	if !strings.Contains(strings.ReplaceAll(k.texts(), "\n", ""), "本次活动："+longActivity) {
		t.Fatalf("result does not name the activity:\n%s", k.texts())
	}
	k.press("确定")
	k.wait(ScreenHome)
	if k.ui.Activity() != 0 {
		t.Fatal("the choice outlived the check-in")
	}
	if strings.Contains(k.texts(), "请刷卡签到（点此更改）") {
		t.Fatal("home still shows the chosen activity")
	}
	k.cardTap("V0003")
	k.wait(ScreenResult)
	k.shows("本次活动：站点日常服务")
	// Chosen, then taken back on the home screen.
	k.press("确定")
	k.wait(ScreenHome)
	k.press("参加活动签到")
	k.pressPrefix("义务理发")
	k.wait(ScreenHome)
	k.pressPrefix("本次活动：义务理发")
	k.wait(ScreenActivity)
	k.shows("✓ 义务理发")
	k.press("不选择（站点日常服务）")
	k.wait(ScreenHome)
	k.cardTap("V0004")
	k.wait(ScreenResult)
	recs, err := k.st.Oldest(10)
	if err != nil || len(recs) != 3 {
		t.Fatalf("outbox %v %+v", err, recs)
	}
	for i, want := range []int64{42, 0, 0} {
		if recs[i].Kind != wire.KindCheckIn || recs[i].Activity != want {
			t.Fatalf("record %d: %s activity %d, want check_in %d", i, recs[i].Kind, recs[i].Activity, want)
		}
	}
	// The check-out closes the session and names no activity.
	k.press("确定")
	k.clock.advance(time.Hour)
	k.cardTap("V0002")
	k.wait(ScreenResult)
	k.shows("签退成功")
	if recs, _ := k.st.Oldest(10); recs[3].Kind != wire.KindCheckOut || recs[3].Activity != 0 || recs[3].Ref != recs[0].ID {
		t.Fatalf("check-out %+v", recs[3])
	}
}

// A choice nobody taps a card for goes after the idle timeout; a kiosk
// whose clock is past every activity offers none (offline, it judges by
// its last document and its clock).
func TestActivityChoiceTimesOut(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{IdleTimeout: 300 * time.Millisecond, Tick: 10 * time.Millisecond}, hoursConfig())
	k.press("参加活动签到")
	k.pressPrefix("义务理发")
	k.wait(ScreenHome)
	deadline := time.Now().Add(5 * time.Second)
	for k.ui.Activity() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the choice did not time out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	k.eventually("参加活动签到")

	late := newKioskWith(t, fyne.NewSize(800, 480), Options{Now: func() time.Time { return at(14, 0) }}, hoursConfig())
	if strings.Contains(late.texts(), "参加活动签到") {
		t.Fatal("activities offered after they ended")
	}
	late.cardTap("V0001")
	late.wait(ScreenResult)
	if strings.Contains(late.texts(), "本次活动") {
		t.Fatal("a station with no activity on names one")
	}
}

// A volunteer objects to a record in notice: board → 服务时长公示 → a
// page → the record → a reason → card tap. The tap is an objection in
// the outbox (Ref the service record, Note the reason), not a check-in;
// a refused card is said on the screen, which keeps waiting.
func TestObjectionByTap(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, hoursConfig())
	k.press("公示栏")
	k.wait(ScreenBoard)
	k.press("服务时长公示（7）")
	k.wait(ScreenNotice)
	k.shows("第1/3页", "以下服务记录正在公示", "已有异议，核实中", "公示至3月6日")
	k.press("下一页")
	k.shows("第2/3页", "张*三　3月4日　4.5小时")
	k.press("下一页")
	k.shows("第3/3页", "杨*华")
	if strings.Contains(k.texts(), "下一页") {
		t.Fatal("the last page offers a next one")
	}
	k.press("上一页")
	k.pressPrefix("张*三")
	k.wait(ScreenObjection)
	k.shows("请选择异议原因", "时长不对", "不是本人参加")
	k.press("时长不对")
	k.shows("✓ 时长不对", "请刷志愿服务证提交异议")
	if !k.ui.ReaderTest(reader.Tap{}, reader.ErrForged) {
		t.Fatal("a refused card while the objection waits was not taken")
	}
	k.eventually("读卡没有成功")
	if k.ui.Screen() != ScreenObjection {
		t.Fatalf("screen %s", k.ui.Screen())
	}
	k.cardTap("V0002")
	k.wait(ScreenObjectionDone)
	k.eventually("异议已提交")
	recs, err := k.st.Oldest(10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("outbox %v %+v", err, recs)
	}
	if r := recs[0]; r.Kind != wire.KindObjection || r.Ref != "tap:4" || r.Note != "时长不对" || r.Volunteer != "V0002" || r.Card != "SIM-V0002" {
		t.Fatalf("objection %+v", r)
	}
	if err := recs[0].Validate(); err != nil {
		t.Fatal(err)
	}
	// Back home, the same card checks in as usual.
	k.press("返回首页")
	k.wait(ScreenHome)
	k.cardTap("V0002")
	k.wait(ScreenResult)
	if recs, _ := k.st.Oldest(10); len(recs) != 2 || recs[1].Kind != wire.KindCheckIn {
		t.Fatalf("outbox after the objection %+v", recs)
	}
}

// A star award in notice (星级认定公示) is on the 公示 screen with its
// label, before the records; a volunteer objects to it as to a record:
// the line, a star's reason, a card tap — the objection in the outbox
// names "star:<id>", and the done screen says the star waits.
func TestStarObjectionByTap(t *testing.T) {
	c := hoursConfig()
	c.Notice = append(starNotice(), c.Notice...)
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.press("公示栏")
	k.wait(ScreenBoard)
	k.press("服务时长公示（9）")
	k.wait(ScreenNotice)
	k.shows("以下服务记录和星级认定正在公示", "星级认定公示：陈*红 拟认定为三星级志愿者", "星级认定公示：思茅区南屏街道茶源社区",
		"拟认定为五星级志愿服务", "已有异议，审批人核实中", "公示至3月8日")
	k.pressPrefix("星级认定公示：陈*红")
	k.wait(ScreenObjection)
	k.shows("星级认定公示：陈*红 拟认定为三星级志愿者", "服务时长不实", "不符合认定条件")
	if strings.Contains(k.texts(), "不是本人参加") {
		t.Fatal("a star's objection offers a record's reasons")
	}
	k.press("不符合认定条件")
	k.shows("✓ 不符合认定条件", "请刷志愿服务证提交异议")
	k.cardTap("V0002")
	k.wait(ScreenObjectionDone)
	k.eventually("核实期间暂不认定星级")
	recs, err := k.st.Oldest(10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("outbox %v %+v", err, recs)
	}
	if r := recs[0]; r.Kind != wire.KindObjection || r.Ref != "star:12" || r.Note != "不符合认定条件" || r.Volunteer != "V0002" {
		t.Fatalf("objection %+v", r)
	}
	if err := recs[0].Validate(); err != nil {
		t.Fatal(err)
	}
}

// feedback records what a tap's feedback would speak.
type feedback struct {
	mu    sync.Mutex
	words []string
}

func (f *feedback) Feedback(_ bool, words, _ string) {
	f.mu.Lock()
	f.words = append(f.words, words)
	f.mu.Unlock()
}
func (f *feedback) SetEnabled(bool, bool) {}

// At the tap a volunteer is told their review outcome and that they may
// apply for the next star, on the screen and in the words spoken; the
// result stays up longer and 确定 dismisses it; the next tap on this
// kiosk does not tell them again.
func TestNotesAtTap(t *testing.T) {
	fb := &feedback{}
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{Sound: fb}, hoursConfig())
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("审核结果：3月2日 社区助老：1.5小时，审核通过，公示至3月6日", "可申请升级：您已达到三星志愿者条件，请向站点管理员申请。")
	fb.mu.Lock()
	spoken := slices.Clone(fb.words)
	fb.mu.Unlock()
	if len(spoken) != 1 || !strings.Contains(spoken[0], "签到成功。审核结果：3月2日") || !strings.Contains(spoken[0], "可申请升级") {
		t.Fatalf("spoken %q", spoken)
	}
	k.ui.mu.Lock()
	long := k.ui.resultEnd.Sub(time.Now()) > 2*6*time.Second
	k.ui.mu.Unlock()
	if !long {
		t.Fatal("a result with notes is not left up longer")
	}
	k.press("确定")
	k.wait(ScreenHome)
	k.clock.advance(time.Hour)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签退成功")
	if txt := k.texts(); strings.Contains(txt, "审核结果") || strings.Contains(txt, "可申请升级") {
		t.Fatalf("told twice:\n%s", txt)
	}
	// Another volunteer has none.
	k.press("确定")
	k.cardTap("V0002")
	k.wait(ScreenResult)
	if strings.Contains(k.texts(), "审核结果") {
		t.Fatal("another volunteer is shown a note")
	}
}

// The screens of issue 12 at the 7" display in large text, Chinese and
// English, with long Chinese activity names: everything fits (no
// overflow) and meets the elderly-friendly sizes and contrast.
func TestHoursScreensElderly(t *testing.T) {
	for _, lang := range []Lang{Zh, En} {
		t.Run(string(lang), func(t *testing.T) {
			k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, longConfig())
			if lang == En {
				k.press("English")
			}
			k.press(tr(lang, "btn_large"))
			m := &measures{minText: 1e9, minTarget: 1e9, minContrast: 1e9}
			k.onStep = func() { k.measureElderly(m) }
			k.checkStep()
			k.cardTap("V0001") // notes, tasks and the default activity
			k.wait(ScreenResult)
			k.shows(tr(lang, "note_outcome", longOutcome))
			k.checkStep()
			k.press(tr(lang, "btn_ok"))
			k.wait(ScreenHome)
			k.walkHours(lang)
			t.Logf("%d texts, %d targets on %d screens: smallest text %.1f dp, smallest target %.1f dp, lowest contrast %.2f:1 (%s)",
				m.texts, m.targets, m.screens, m.minText, m.minTarget, m.minContrast, m.worst)
		})
	}
}
