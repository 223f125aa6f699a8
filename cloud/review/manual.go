package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/store"
)

// ManualEntry is a manual entry (补录) as a form or the API gives it: the
// national record's fields (活动名称 or an activity's ID, 活动组织单位,
// the community where it took place and the station if any, 服务内容,
// 服务类别, 活动负责人, 记录人, 日期 and 服务时间) and the hours to count,
// with a note of evidence; files come separately.
type ManualEntry struct {
	Activity     int64  `json:"activity,omitempty"`
	ActivityName string `json:"activity_name,omitempty"`
	Org          string `json:"org,omitempty"`
	Community    string `json:"community,omitempty"`
	Station      string `json:"station,omitempty"`
	Content      string `json:"content,omitempty"`
	Category     string `json:"category,omitempty"`
	Lead         string `json:"lead,omitempty"`
	Recorder     string `json:"recorder,omitempty"`
	Day          string `json:"day"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Hours        string `json:"hours"`
	Note         string `json:"evidence_note,omitempty"`
}

// Upload is one evidence file as it arrives.
type Upload struct {
	Name string
	Body io.Reader
}

// Bounds of the evidence.
const (
	MaxFiles    = 4
	MaxFileSize = 5 << 20
	MaxNote     = 1000
)

// fileTypes are the evidence types accepted, by the type sniffed from
// the bytes (never the name or what the client says).
var fileTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}

// ReadUpload reads one evidence file: at most MaxFileSize bytes, a JPEG,
// PNG or PDF by its content.
func ReadUpload(up Upload) (store.EvidenceFile, error) {
	data, err := io.ReadAll(io.LimitReader(up.Body, MaxFileSize+1))
	name := filepath.Base(strings.ReplaceAll(up.Name, `\`, "/"))
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	switch {
	case err != nil:
		return store.EvidenceFile{}, &EntryError{Field: "file", Zh: "文件没有传完整，请重新选择文件后再提交。"}
	case len(data) == 0:
		return store.EvidenceFile{}, &EntryError{Field: "file", Zh: "文件 " + name + " 是空的，请重新选择。"}
	case len(data) > MaxFileSize:
		return store.EvidenceFile{}, &EntryError{Field: "file", Status: http.StatusRequestEntityTooLarge,
			Zh: fmt.Sprintf("文件 %s 太大了（上限 %d MB），请压缩照片或分页扫描后再上传。", name, MaxFileSize>>20)}
	}
	typ := http.DetectContentType(data)
	if _, ok := fileTypes[typ]; !ok {
		return store.EvidenceFile{}, &EntryError{Field: "file", Status: http.StatusUnsupportedMediaType,
			Zh: "文件 " + name + " 不是照片或 PDF：请上传 JPG、PNG 格式的照片，或 PDF 格式的签到表扫描件。"}
	}
	sum := sha256.Sum256(data)
	return store.EvidenceFile{ID: uuid.NewString(), Name: name, Type: typ, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), Data: data}, nil
}

// Enter stores a manual entry for volunteer by u: ledger manual, status
// review, reason manual, reviewer county, entered_by u. Refused: without
// evidence (ErrNoEvidence), above the rules' ManualCap for the
// volunteer's ManualPeriod (*CapError), a field wrong (*EntryError), a
// volunteer, station, community or organisation u may not enter for
// (store.ErrNotFound for the volunteer, *EntryError 403 for the rest).
// Who may enter: the city; a county administrator for its county; a
// station manager for its stations (or its stations' communities); an
// organisation administrator for its organisations' volunteers.
func Enter(ctx context.Context, s *store.Store, u *access.User, sc *access.Scope, volunteer string, e ManualEntry, files []store.EvidenceFile, now time.Time) (*store.ServiceRecord, error) {
	if u == nil || !u.CanChange() || sc == nil {
		return nil, store.ErrNotFound
	}
	v, err := s.Volunteer(ctx, volunteer)
	if err != nil {
		return nil, err
	}
	if !sc.All() {
		ok, err := s.VolunteerInScope(ctx, volunteer, store.VolunteerScopeOf(sc))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, store.ErrNotFound
		}
	}
	if !v.Deregistered.IsZero() {
		return nil, &EntryError{Field: "volunteer", Status: http.StatusConflict, Zh: "这名志愿者已注销，不能再补录时长。"}
	}
	e.Note = strings.TrimSpace(e.Note)
	if utf8.RuneCountInString(e.Note) > MaxNote {
		return nil, &EntryError{Field: "evidence_note", Zh: "情况说明太长了，请控制在 1000 字以内。"}
	}
	if len(files) > MaxFiles {
		return nil, &EntryError{Field: "file", Zh: fmt.Sprintf("最多上传 %d 个文件，请挑选最能说明情况的照片或签到表。", MaxFiles)}
	}
	if e.Note == "" && len(files) == 0 {
		return nil, ErrNoEvidence
	}
	r := &store.ServiceRecord{ID: "man:" + uuid.NewString(), Ledger: store.LedgerManual, Volunteer: v.ID,
		Status: store.StatusReview, Reasons: []string{hours.ReasonManual}, Reviewer: hours.ReviewCounty,
		EnteredBy: u.Name, ActivityName: strings.TrimSpace(e.ActivityName), Content: strings.TrimSpace(e.Content),
		Category: strings.TrimSpace(e.Category), Lead: strings.TrimSpace(e.Lead), Recorder: strings.TrimSpace(e.Recorder),
		Org: strings.TrimSpace(e.Org), Station: strings.TrimSpace(e.Station), Community: strings.TrimSpace(e.Community)}
	if e.Activity != 0 {
		a, err := s.Activity(ctx, e.Activity)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &EntryError{Field: "activity", Zh: "找不到这个活动编号，请核对，或直接填写活动名称。"}
		} else if err != nil {
			return nil, err
		}
		r.Activity, r.ActivityName, r.Place = a.ID, a.Title, a.Place
		r.Content, r.Category = or(r.Content, a.Content), or(r.Category, a.Category)
		r.Lead, r.Recorder, r.Org = or(r.Lead, a.Lead), or(r.Recorder, a.Recorder), or(r.Org, a.Org)
	}
	if err := fillPlace(ctx, s, u, sc, v.Orgs, r); err != nil {
		return nil, err
	}
	if err := fillTime(r, e, now); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, val, zh string }{
		{"activity_name", r.ActivityName, "请填写活动名称，或选择活动。"},
		{"content", r.Content, "请填写服务内容。"},
		{"lead", r.Lead, "请填写活动负责人。"},
		{"recorder", r.Recorder, "请填写记录人。"},
	} {
		if f.val == "" {
			return nil, &EntryError{Field: f.name, Zh: f.zh}
		}
		if utf8.RuneCountInString(f.val) > 200 {
			return nil, &EntryError{Field: f.name, Zh: "内容太长了，请控制在 200 字以内。"}
		}
	}
	rules, version, cal, err := inForce(ctx, s)
	if err != nil {
		return nil, err
	}
	r.RuleVersion = version
	periodZh := "每月"
	if rules.ManualPeriod == "year" {
		periodZh = "每年"
	}
	r.RuleNote = fmt.Sprintf("规则第%d版：补录按证明材料计 %s 小时（补录上限%s %s 小时），经县（区）审核后公示。",
		version, Hours(r.CountedCents), periodZh, Hours(int64(rules.ManualCap*100+0.5)))
	r.Deadline = cal.After(now, rules.DeadlineDays)
	ev := hours.Evidence{Note: e.Note}
	for i := range files {
		f := &files[i]
		f.Record = r.ID
		ev.Files = append(ev.Files, hours.EvidenceFile{ID: f.ID, Name: f.Name, Type: f.Type, Size: f.Size, SHA256: f.SHA256})
	}
	doc, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	r.Evidence = string(doc)
	p := Period(r.Day, rules)
	if err := s.AddManualRecord(ctx, r, files, p, u.Name, now); err != nil {
		var mc *store.ManualCapError
		if errors.As(err, &mc) {
			return nil, &CapError{ManualCapError: *mc, Period: rules.ManualPeriod}
		}
		return nil, err
	}
	return r, nil
}

// Period is the cap period of a record on day: its month, or its year
// when the rules' ManualPeriod is "year".
func Period(day string, rules hours.Rules) store.ManualPeriod {
	p := store.ManualPeriod{From: day[:8] + "01", To: day[:8] + "31", CapCents: int64(rules.ManualCap*100 + 0.5)}
	if rules.ManualPeriod == "year" {
		p.From, p.To = day[:5]+"01-01", day[:5]+"12-31"
	}
	return p
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fillPlace checks and completes where the service took place and for
// which organisation, and that u may enter it.
func fillPlace(ctx context.Context, s *store.Store, u *access.User, sc *access.Scope, memberOf []string, r *store.ServiceRecord) error {
	forbidden := func(zh string) error { return &EntryError{Field: "scope", Status: http.StatusForbidden, Zh: zh} }
	if r.Station != "" {
		c, err := s.StationCommunity(ctx, r.Station)
		if errors.Is(err, store.ErrNotFound) || err == nil && !sc.Station(r.Station, c) {
			return &EntryError{Field: "station", Zh: "找不到这个站点编号，请核对；没有在站点服务的可以不填。"}
		} else if err != nil {
			return err
		}
		if r.Community != "" && c != "" && r.Community != c {
			return &EntryError{Field: "community", Zh: "社区（村）与站点所在社区不一致，请核对；填写站点时社区可以不填。"}
		}
		r.Community = or(r.Community, c)
	}
	if r.Community == "" {
		return &EntryError{Field: "community", Zh: "请填写服务地点所在的社区（村）代码。"}
	}
	if _, err := s.Area(ctx, r.Community); errors.Is(err, store.ErrNotFound) {
		return &EntryError{Field: "community", Zh: "找不到这个社区（村）代码，请核对后再填。"}
	} else if err != nil {
		return err
	}
	if u.Role == access.Org && r.Org == "" {
		// An organisation administrator enters for its own organisation.
		for _, o := range memberOf {
			if sc.Orgs[o] {
				r.Org = o
				break
			}
		}
	}
	if r.Org != "" {
		o, err := s.Organisation(ctx, r.Org)
		if errors.Is(err, store.ErrNotFound) {
			return &EntryError{Field: "org", Zh: "找不到这个志愿服务组织编号，请核对后再填。"}
		} else if err != nil {
			return err
		}
		r.OrgName = o.Name
	}
	switch u.Role {
	case access.City:
	case access.County:
		if !sc.Area(r.Community) {
			return forbidden("只能为本县（区）内的服务补录时长。服务在其他县（区）的，请联系当地管理员。")
		}
	case access.Station:
		if r.Station != "" && !sc.Stations[r.Station] || r.Station == "" && !sc.Areas[r.Community] {
			return forbidden("站点管理员只能为自己站点（或站点所在社区）的服务补录时长。")
		}
	case access.Org:
		if r.Org == "" || !sc.Orgs[r.Org] || !slices.Contains(memberOf, r.Org) {
			return forbidden("组织管理员只能为本组织的志愿者、以本组织名义补录时长。请核对组织编号，或先把志愿者加入本组织。")
		}
	default:
		return forbidden("您的角色不能补录时长。")
	}
	if r.Place == "" {
		r.Place = r.Community
		if a, err := s.Area(ctx, r.Community); err == nil {
			r.Place = a.Name
		}
		if r.Station != "" {
			r.Place += " " + r.Station
		}
	}
	return nil
}

// fillTime reads the day, start, end and hours of e into r: the day not
// after today, the end after the start, the hours more than zero and not
// more than the time between them.
func fillTime(r *store.ServiceRecord, e ManualEntry, now time.Time) error {
	day, err := time.ParseInLocation(calendar.Layout, strings.TrimSpace(e.Day), calendar.CST)
	if err != nil {
		return &EntryError{Field: "day", Zh: "请按 2026-11-02 的格式填写服务日期。"}
	}
	if day.After(now) {
		return &EntryError{Field: "day", Zh: "服务日期不能晚于今天，请核对。"}
	}
	clock := func(s string) (time.Duration, bool) {
		h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
			return 0, false
		}
		return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
	}
	from, ok1 := clock(e.Start)
	to, ok2 := clock(e.End)
	if !ok1 || !ok2 {
		return &EntryError{Field: "start", Zh: "请按 09:30 的格式填写开始和结束时间。"}
	}
	if to <= from {
		return &EntryError{Field: "end", Zh: "结束时间要晚于开始时间，请核对。"}
	}
	cents, err := ParseHours(e.Hours)
	if err != nil {
		return err
	}
	if cents == 0 {
		return &EntryError{Field: "hours", Zh: "请填写要补录的时数，例如 1.5。"}
	}
	if cents*36 > int64((to-from)/time.Second) {
		return &EntryError{Field: "hours", Zh: "补录时数不能超过开始到结束之间的时间，请核对。"}
	}
	r.Day = calendar.Day(day)
	r.Start, r.End = day.Add(from).UTC(), day.Add(to).UTC()
	r.RawSeconds = int64((to - from) / time.Second)
	r.CountedCents = cents
	return nil
}
