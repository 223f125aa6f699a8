package export

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// RecordColumns are the service-record export's columns (see the
// package doc).
var RecordColumns = []string{"记录编号", "志愿者编号", "全国志愿者编号", "志愿者姓名", "活动名称", "日期", "地点", "服务内容",
	"服务时间", "服务时长（小时）", "活动组织单位", "活动负责人", "记录人", "记录方式"}

// LeftOutColumns are the left-out report's columns.
var LeftOutColumns = []string{"记录编号", "志愿者编号", "日期", "活动名称", "状态", "原因代码", "原因"}

// Row is one exported record, in RecordColumns' order.
type Row struct {
	ID, Volunteer, NationalID, Name, Activity, Day, Place, Content, Time string
	// Cents is the counted hours in hundredths.
	Cents                       int64
	Org, Lead, Recorder, Ledger string
}

// Strings is the row as text, hours as a decimal ("1.5").
func (r *Row) Strings() []string {
	return []string{r.ID, r.Volunteer, r.NationalID, r.Name, r.Activity, r.Day, r.Place, r.Content, r.Time,
		Hours(r.Cents), r.Org, r.Lead, r.Recorder, r.Ledger}
}

// Hours writes hundredths of an hour as a decimal without trailing zeros.
func Hours(cents int64) string {
	s := strconv.FormatInt(cents/100, 10)
	if frac := cents % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

// LeftOut is a selected record that did not go out, and why.
type LeftOut struct {
	ID        string `json:"id"`
	Volunteer string `json:"volunteer"`
	Day       string `json:"day"`
	Activity  string `json:"activity"`
	Status    string `json:"status"`
	// Code is the reason's code (see the package doc), Reason the reason
	// in Chinese with what to do.
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Strings is the report row in LeftOutColumns' order.
func (l *LeftOut) Strings() []string {
	return []string{l.ID, l.Volunteer, l.Day, l.Activity, statusZh[l.Status], l.Code, l.Reason}
}

// Reason codes of LeftOut.
const (
	ReasonStatus       = "status"
	ReasonUnregistered = "unregistered"
	ReasonSharedNumber = "shared_number"
	ReasonMissing      = "missing"
	ReasonZeroHours    = "zero_hours"
	ReasonOverlap      = "overlap"
)

var statusZh = map[string]string{
	store.StatusReview: "审核中", store.StatusNotice: "公示中", store.StatusObjected: "有异议",
	store.StatusFinal: "已生效", store.StatusRejected: "已驳回",
}

var statusReason = map[string]string{
	store.StatusReview:   "尚在审核中，审核通过并公示期满后才能导出",
	store.StatusNotice:   "尚在公示期内，公示期满后才能导出",
	store.StatusObjected: "公示期间有异议尚未处理，处理完并生效后才能导出",
	store.StatusRejected: "审核未通过（已驳回），不计时长，不导出",
}

var ledgerZh = map[string]string{store.LedgerCard: "刷卡", store.LedgerManual: "补录", store.LedgerImported: "导入"}

// Sink takes an export's rows and left-out records as they are decided.
type Sink interface {
	Row(r *Row) error
	LeftOut(l *LeftOut) error
}

// Source is what an export reads (a *store.Store).
type Source interface {
	EachExportRecord(ctx context.Context, f store.ExportFilter, fn func(*store.ExportRecord) error) error
	SharedNationalIDs(ctx context.Context) (map[string]bool, error)
}

// Summary counts what an export did.
type Summary struct {
	Exported int `json:"exported"`
	LeftOut  int `json:"left_out"`
	// Cents is the exported records' counted hours in hundredths.
	Cents int64 `json:"-"`
}

// ServiceRecords checks every record f selects and hands each to sink,
// as a row or as left out.
func ServiceRecords(ctx context.Context, src Source, f store.ExportFilter, sink Sink) (Summary, error) {
	var sum Summary
	shared, err := src.SharedNationalIDs(ctx)
	if err != nil {
		return sum, err
	}
	c := checker{shared: shared}
	err = src.EachExportRecord(ctx, f, func(x *store.ExportRecord) error {
		if l := c.check(x); l != nil {
			sum.LeftOut++
			return sink.LeftOut(l)
		}
		sum.Exported++
		sum.Cents += x.CountedCents
		return sink.Row(row(x))
	})
	return sum, err
}

// checker decides each record in the order EachExportRecord gives them.
type checker struct {
	shared map[string]bool
	// volunteer is the one whose records are being read; keptEnd the
	// latest end among its exported ones, keptID that record.
	volunteer string
	keptEnd   time.Time
	keptID    string
}

func (c *checker) check(x *store.ExportRecord) *LeftOut {
	if x.Volunteer != c.volunteer {
		c.volunteer, c.keptEnd, c.keptID = x.Volunteer, time.Time{}, ""
	}
	left := func(code, reason string) *LeftOut {
		return &LeftOut{ID: x.ID, Volunteer: x.Volunteer, Day: x.Day, Activity: x.ActivityName, Status: x.Status, Code: code, Reason: reason}
	}
	switch {
	case x.Status != store.StatusFinal:
		return left(ReasonStatus, statusReason[x.Status])
	case !x.Registered:
		return left(ReasonUnregistered, "志愿者不在注册名册中（未注册或编号有误），请先在志愿者名册中核对")
	case x.NationalID != "" && c.shared[x.NationalID]:
		return left(ReasonSharedNumber, "全国志愿者编号"+x.NationalID+"同时登记在两名以上志愿者名下，请先在志愿者名册中更正")
	}
	if missing := missingFields(x); len(missing) > 0 {
		return left(ReasonMissing, "缺少"+strings.Join(missing, "、")+"，请补全活动或记录信息后再导出")
	}
	if x.CountedCents == 0 {
		return left(ReasonZeroHours, "计入时长为0小时（"+x.RuleNote+"），不导出")
	}
	if c.keptID != "" && x.Start.Before(c.keptEnd) {
		return left(ReasonOverlap, "与同一志愿者的记录"+c.keptID+"服务时间重叠，只导出开始较早的一条；如两条都属实，请核对后更正时间")
	}
	if x.End.After(c.keptEnd) {
		c.keptEnd, c.keptID = x.End, x.ID
	}
	return nil
}

// missingFields names the national fields x lacks.
func missingFields(x *store.ExportRecord) []string {
	var out []string
	for _, f := range []struct{ name, v string }{
		{"活动名称", x.ActivityName}, {"日期", x.Day}, {"地点", x.Place}, {"服务内容", x.Content},
		{"活动组织单位", x.OrgName}, {"活动负责人", x.Lead}, {"记录人", x.Recorder},
	} {
		if strings.TrimSpace(f.v) == "" {
			out = append(out, f.name)
		}
	}
	if x.Start.IsZero() || !x.End.After(x.Start) {
		out = append(out, "服务时间")
	}
	return out
}

func row(x *store.ExportRecord) *Row {
	return &Row{ID: x.ID, Volunteer: x.Volunteer, NationalID: x.NationalID, Name: wire.MaskName(x.Name),
		Activity: x.ActivityName, Day: x.Day, Place: x.Place, Content: x.Content, Time: span(x.Start, x.End),
		Cents: x.CountedCents, Org: x.OrgName, Lead: x.Lead, Recorder: x.Recorder, Ledger: ledgerZh[x.Ledger]}
}

// span writes a service time in China Standard Time.
func span(start, end time.Time) string {
	s, e := start.In(calendar.CST), end.In(calendar.CST)
	if calendar.Day(s) != calendar.Day(e) {
		return s.Format("15:04") + "–" + e.Format("2006-01-02 15:04")
	}
	return s.Format("15:04") + "–" + e.Format("15:04")
}
