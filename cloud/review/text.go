package review

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/store"
)

// What a person reads: reasons, statuses, levels and outcomes in
// Chinese, and the refusals of this package with what to do next.

var reasonZh = map[string]string{
	hours.ReasonAutoCheckOut:   "未签退（系统自动签退）",
	hours.ReasonOverOrgCap:     "当日时长超过上限，需组织审核",
	hours.ReasonOverCountyCap:  "当日时长超过上限，需县（区）审核",
	hours.ReasonTooManySession: "当日服务次数超过上限",
	hours.ReasonTravel:         "两个站点刷卡间隔过短，路程上来不及",
	hours.ReasonBurst:          "短时间内多次刷卡",
	hours.ReasonOutsideHours:   "在站点开放时间以外刷卡",
	hours.ReasonDeadline:       "临近10个工作日的录入期限",
	hours.ReasonManual:         "补录，需核对证明材料",
	hours.ReasonFlagged:        "时间异常（过长、重叠或在未来）",
	hours.ReasonObjection:      "公示期间有人提出异议",
}

// ReasonZh is a review reason (hours.Reason*) in Chinese.
func ReasonZh(code string) string {
	if s, ok := reasonZh[code]; ok {
		return s
	}
	return code
}

var statusZh = map[string]string{
	store.StatusReview:   "待审核",
	store.StatusNotice:   "公示中",
	store.StatusObjected: "有异议",
	store.StatusFinal:    "已计入",
	store.StatusRejected: "未通过",
}

// StatusZh is a record's status in Chinese.
func StatusZh(status string) string {
	if s, ok := statusZh[status]; ok {
		return s
	}
	return status
}

var levelZh = map[string]string{
	hours.ReviewStation: "站点管理员", hours.ReviewOrg: "志愿服务组织",
	hours.ReviewCounty: "县（区）管理员", hours.ReviewCity: "市级管理员",
}

// LevelZh is a reviewer level in Chinese.
func LevelZh(level string) string {
	if s, ok := levelZh[level]; ok {
		return s
	}
	return level
}

var ledgerZh = map[string]string{store.LedgerCard: "刷卡", store.LedgerManual: "补录", store.LedgerImported: "导入"}

// LedgerZh is a ledger in Chinese.
func LedgerZh(ledger string) string {
	if s, ok := ledgerZh[ledger]; ok {
		return s
	}
	return ledger
}

// Hours writes hundredths of an hour as hours: 150 → "1.5", 200 → "2".
func Hours(cents int64) string {
	s := strconv.FormatFloat(float64(cents)/100, 'f', 2, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// ParseHours reads hours ("1.5", "2", "0.25") as hundredths; more than
// two decimals, a negative or more than 24 hours is refused.
func ParseHours(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if s == "" || len(frac) > 2 || whole == "" && frac == "" {
		return 0, ErrBadHours
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	w, err1 := strconv.ParseUint(whole, 10, 8)
	f, err2 := strconv.ParseUint(frac, 10, 8)
	c := int64(w)*100 + int64(f)
	if err1 != nil || err2 != nil || c > 2400 {
		return 0, ErrBadHours
	}
	return c, nil
}

// dayZh is a record's day as 11月2日.
func dayZh(day string) string {
	t, err := time.ParseInLocation(calendar.Layout, day, calendar.CST)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}

// NoticeEndZh is the last day of a notice that ends at until (the
// midnight after it), as 11月6日.
func NoticeEndZh(until time.Time) string {
	return dayZh(calendar.Day(until.Add(-time.Nanosecond)))
}

// Outcome is the sentence the volunteer is shown for a decision on r
// (already changed by it): "11月2日 社区助老：1.5小时，审核通过，公示至11月6日".
func Outcome(r *store.ServiceRecord, action string, oldCents int64, reason string) string {
	head := dayZh(r.Day) + " " + r.ActivityName + "："
	switch action {
	case ActionApprove:
		return head + Hours(r.CountedCents) + "小时，审核通过，公示至" + NoticeEndZh(r.NoticeUntil)
	case ActionAdjust:
		return head + "由" + Hours(oldCents) + "小时调整为" + Hours(r.CountedCents) + "小时（" + reason + "），公示至" + NoticeEndZh(r.NoticeUntil)
	}
	return head + Hours(r.CountedCents) + "小时，未通过审核（" + reason + "），不计入时长"
}

// Refusals of this package; Explain gives each its HTTP status and
// Chinese message.
var (
	ErrNoEvidence   = errors.New("review: a manual entry needs evidence")
	ErrSelfDecision = errors.New("review: the author of a record cannot decide on it")
	ErrNotInReview  = errors.New("review: the record is not in review")
	ErrNeedReason   = errors.New("review: a reason is required")
	ErrBadHours     = errors.New("review: hours must be 0 to 24 with at most two decimals")
	ErrBadAction    = errors.New("review: unknown decision")
)

// EntryError is a manual entry refused for one field: Zh says what to
// fix.
type EntryError struct {
	Field, Zh string
	// Status is the HTTP status (400 when zero).
	Status int
}

func (e *EntryError) Error() string { return "review: manual entry: " + e.Field + ": " + e.Zh }

// CapError is a manual entry that would take the volunteer above the
// manual cap of its period.
type CapError struct {
	store.ManualCapError
	Period string // "month" or "year"
}

func (e *CapError) Error() string { return e.ManualCapError.Error() }

// Unwrap makes errors.Is(err, store.ErrManualCap) true.
func (e *CapError) Unwrap() error { return store.ErrManualCap }

// Explain is err's HTTP status and the Chinese message a person reads;
// ok is false for an error that is not a refusal of this package (a
// fault: answer 500, or 404 for store.ErrNotFound).
func Explain(err error) (status int, zh string, ok bool) {
	var ee *EntryError
	var ce *CapError
	switch {
	case errors.As(err, &ee):
		if ee.Status == 0 {
			return http.StatusBadRequest, ee.Zh, true
		}
		return ee.Status, ee.Zh, true
	case errors.As(err, &ce):
		period := "本月"
		if ce.Period == "year" {
			period = "本年度"
		}
		return http.StatusUnprocessableEntity, fmt.Sprintf("超过补录上限：该志愿者%s已补录 %s 小时，加上本次 %s 小时将超过上限 %s 小时。请核实时数；确需补录的，请联系市级管理员调整规则。",
			period, Hours(ce.Have), Hours(ce.Want), Hours(ce.Cap)), true
	case errors.Is(err, ErrNoEvidence):
		return http.StatusUnprocessableEntity, "补录必须附证明材料：请填写情况说明，或上传现场照片、签到表（JPG、PNG 或 PDF）后再提交。", true
	case errors.Is(err, ErrSelfDecision):
		return http.StatusForbidden, "不能审核自己录入的记录：录入人和审核人必须是两个人。请由其他有审核权限的人员审核。", true
	case errors.Is(err, ErrNotInReview):
		return http.StatusConflict, "这条记录已经审核过了，不在待审核状态。请刷新页面查看最新状态。", true
	case errors.Is(err, ErrNeedReason):
		return http.StatusBadRequest, "调整或退回必须填写原因，原因会告知志愿者。请填写后再提交。", true
	case errors.Is(err, ErrBadHours):
		return http.StatusBadRequest, "时数不对：请填写 0 到 24 之间的小时数，最多两位小数，例如 1.5。", true
	case errors.Is(err, ErrBadAction):
		return http.StatusBadRequest, "请选择审核结果：通过、调整或退回。", true
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "找不到这条记录：它不存在，或不在您的审核范围内。请从待审核列表重新进入。", true
	}
	return http.StatusInternalServerError, "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。", false
}
