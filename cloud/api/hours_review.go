package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/review"
	"leifeng/cloud/store"
)

// The hours' review and the manual ledger (issue 12, points 3 and 4):
// manual entries with evidence, the queue of the reviewer each record is
// routed to, the decisions, a volunteer's service records with their
// outcomes, and the two ledgers' hours side by side. The rules are
// cloud/review's; these handlers check the scope, decode and answer.

func (a *api) hoursReviewRoutes(mux *router) {
	mux.HandleFunc("POST /api/v1/volunteers/{id}/manual-hours", a.change("hours.manual", a.manualHours))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/service-records", a.read("hours.records.read", volunteerPath, a.serviceRecords))
	mux.HandleFunc("GET /api/v1/hours/review", a.read("hours.review.read", func(*http.Request) string { return "review queue" }, a.hoursQueue))
	for _, action := range []string{review.ActionApprove, review.ActionAdjust, review.ActionReject} {
		mux.HandleFunc("POST /api/v1/hours/records/{id}/"+action, a.change("hours."+action, a.decideRecord(action)))
	}
	mux.HandleFunc("GET /api/v1/hours/summary", a.read("hours.summary.read", summaryWhat, a.hoursSummary))
	mux.HandleFunc("GET /api/v1/hours/evidence/{id}", a.read("hours.evidence.read", func(r *http.Request) string {
		return "evidence file " + r.PathValue("id")
	}, a.evidenceFile))
}

func summaryWhat(r *http.Request) string { return "hours summary " + r.URL.RawQuery }

// failHours answers an error of cloud/review (or the store) with its
// status and Chinese message.
func (a *api) failHours(w http.ResponseWriter, what string, err error) {
	code, zh, ok := review.Explain(err)
	if !ok {
		a.failInternal(w, what, err)
		return
	}
	a.failReview(w, code, what, zh, err)
}

// manualHours enters a manual record (补录) for the volunteer: a JSON
// body (review.ManualEntry, evidence as evidence_note), or a multipart
// form with the same fields and the evidence files as "file" parts.
func (a *api) manualHours(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var (
		e     review.ManualEntry
		files []store.EvidenceFile
	)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, review.MaxFiles*(review.MaxFileSize+4<<10)+64<<10)
		mr, err := r.MultipartReader()
		if err != nil {
			a.failReview(w, http.StatusBadRequest, "bad multipart form", "表单没有传完整，请重新提交。", err)
			return
		}
		fields := map[string]string{}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				a.failReview(w, http.StatusBadRequest, "bad multipart form", "表单没有传完整，请重新提交；文件合计不能超过 20 MB。", err)
				return
			}
			if part.FileName() != "" || part.FormName() == "file" {
				if len(files) == review.MaxFiles {
					a.failHours(w, "too many files", &review.EntryError{Field: "file", Zh: "最多上传 4 个文件，请挑选最能说明情况的照片或签到表。"})
					return
				}
				f, err := review.ReadUpload(review.Upload{Name: part.FileName(), Body: part})
				if err != nil {
					a.failHours(w, "evidence file", err)
					return
				}
				files = append(files, f)
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(part, 8<<10))
			fields[part.FormName()] = string(b)
		}
		e = manualEntryFrom(func(k string) string { return fields[k] })
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		if err != nil {
			a.failReview(w, http.StatusBadRequest, "want a JSON manual entry", "请求内容不对：请按说明提交补录信息（JSON 或表单）。", err)
			return
		}
	}
	rec, err := review.Enter(r.Context(), a.f.Store, userOf(r), scopeOf(r), id, e, files, a.now())
	if errors.Is(err, store.ErrNotFound) {
		a.failVolunteer(w, id, nil)
		return
	}
	if err != nil {
		a.failHours(w, "manual hours of "+id, err)
		return
	}
	noteChange(r, "service_record "+rec.ID, nil, recordNote(rec))
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, recordView(rec, nil))
}

// manualEntryFrom reads a form's fields into a manual entry.
func manualEntryFrom(get func(string) string) review.ManualEntry {
	act, _ := strconv.ParseInt(strings.TrimSpace(get("activity")), 10, 64)
	name := get("activity_name")
	if act == 0 && name == "" {
		// "activity" may be the name itself.
		name = get("activity")
	}
	note := get("evidence_note")
	if note == "" {
		note = get("note")
	}
	return review.ManualEntry{Activity: act, ActivityName: name, Org: get("org"), Community: get("community"),
		Station: get("station"), Content: get("content"), Category: get("category"), Lead: get("lead"),
		Recorder: get("recorder"), Day: get("day"), Start: get("start"), End: get("end"), Hours: get("hours"), Note: note}
}

// recordNote is what the audit log keeps of a record: no names.
func recordNote(r *store.ServiceRecord) map[string]any {
	return map[string]any{"id": r.ID, "ledger": r.Ledger, "volunteer": r.Volunteer, "status": r.Status,
		"counted_cents": r.CountedCents, "reviewer": r.Reviewer, "outcome": r.Outcome}
}

// RecordView is a service record as the API answers it: the record and
// its readings in Chinese, the evidence and the history.
type RecordView struct {
	review.Item
	StatusZh    string                     `json:"status_zh"`
	LedgerZh    string                     `json:"ledger_zh"`
	ReviewerZh  string                     `json:"reviewer_zh,omitempty"`
	Hours       string                     `json:"hours"`
	NoticeEndZh string                     `json:"notice_end_zh,omitempty"`
	Events      []store.ServiceRecordEvent `json:"events,omitempty"`
}

func recordView(r *store.ServiceRecord, it *review.Item) RecordView {
	v := RecordView{StatusZh: review.StatusZh(r.Status), LedgerZh: review.LedgerZh(r.Ledger), Hours: review.Hours(r.CountedCents)}
	if it != nil {
		v.Item = *it
	} else {
		v.Item = review.Item{ServiceRecord: *r}
	}
	if r.Reviewer != "" {
		v.ReviewerZh = review.LevelZh(review.Level(r))
	}
	if !r.NoticeUntil.IsZero() {
		v.NoticeEndZh = review.NoticeEndZh(r.NoticeUntil)
	}
	return v
}

func (a *api) hoursQueue(w http.ResponseWriter, r *http.Request) {
	items, err := review.Queue(r.Context(), a.f.Store, userOf(r), scopeOf(r), a.now())
	if err != nil {
		a.failInternal(w, "cannot read the review queue", err)
		return
	}
	out := make([]RecordView, 0, len(items))
	for i := range items {
		out = append(out, recordView(&items[i].ServiceRecord, &items[i]))
	}
	writeJSON(w, map[string]any{"records": out})
}

// DecisionRequest is the body of POST /api/v1/hours/records/{id}/ACTION:
// the reason (required to adjust or reject) and, to adjust, the new
// hours ("1.5" or 1.5).
type DecisionRequest struct {
	Reason string          `json:"reason"`
	Hours  json.RawMessage `json:"hours,omitempty"`
}

func (a *api) decideRecord(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var req DecisionRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil && err != io.EOF {
			a.failReview(w, http.StatusBadRequest, "want {\"reason\": ..., \"hours\": ...}", "请求内容不对：请填写原因（调整时还要填写新的时数）。", err)
			return
		}
		d := review.Decision{Action: action, Reason: req.Reason}
		if action == review.ActionAdjust {
			c, err := review.ParseHours(strings.Trim(string(req.Hours), `"`))
			if err != nil {
				c = -1 // refused by Decide, after the scope
			}
			d.Cents = c
		}
		before, _ := a.f.Store.ServiceRecord(r.Context(), id)
		rec, err := review.Decide(r.Context(), a.f.Store, userOf(r), scopeOf(r), id, d, a.now())
		if err != nil {
			a.failHours(w, action, err)
			return
		}
		var b any
		if before != nil {
			b = recordNote(before)
		}
		noteChange(r, "service_record "+id, b, map[string]any{"record": recordNote(rec), "reason": d.Reason})
		// The station's kiosk shows the outcome at the volunteer's next
		// tap and the record in its notice list: send it its document.
		a.refreshNotice(r, rec.Station)
		writeJSON(w, recordView(rec, nil))
	}
}

// serviceRecords lists the volunteer's records (?from=&to= days), each
// with its status, counted hours, rule note, outcome and history.
func (a *api) serviceRecords(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if ok, err := a.volunteerVisible(r, id); err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	from, to, ok := a.dayRange(w, r)
	if !ok {
		return
	}
	recs, err := a.f.Store.ServiceRecords(r.Context(), store.ServiceRecordFilter{Volunteer: id, From: from, To: to})
	if err != nil {
		a.failInternal(w, "cannot read service records", err)
		return
	}
	items, err := review.Describe(r.Context(), a.f.Store, recs, a.now())
	if err != nil {
		a.failInternal(w, "cannot read service records", err)
		return
	}
	out := make([]RecordView, 0, len(recs))
	for i := range items {
		v := recordView(&items[i].ServiceRecord, &items[i])
		if v.Events, err = a.f.Store.ServiceRecordEvents(r.Context(), items[i].ID); err != nil {
			a.failInternal(w, "cannot read service records", err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, map[string]any{"volunteer": id, "records": out})
}

// dayRange reads ?from= and ?to= (YYYY-MM-DD, both optional).
func (a *api) dayRange(w http.ResponseWriter, r *http.Request) (from, to string, ok bool) {
	q := r.URL.Query()
	from, to = q.Get("from"), q.Get("to")
	for _, d := range []string{from, to} {
		if d == "" {
			continue
		}
		if _, err := time.ParseInLocation(calendar.Layout, d, calendar.CST); err != nil {
			a.failReview(w, http.StatusBadRequest, "from, to: want YYYY-MM-DD", "日期格式不对：请按 2026-01-31 的格式填写起止日期。", err)
			return "", "", false
		}
	}
	return from, to, true
}

// HoursSummary answers GET /api/v1/hours/summary: the hours of each
// ledger that count (final), their total, and what is pending (in review,
// notice or under objection), in hours.
type HoursSummary struct {
	Volunteer string  `json:"volunteer,omitempty"`
	Org       string  `json:"org,omitempty"`
	Community string  `json:"community,omitempty"`
	From      string  `json:"from,omitempty"`
	To        string  `json:"to,omitempty"`
	Card      float64 `json:"card"`
	Manual    float64 `json:"manual"`
	Imported  float64 `json:"imported"`
	Total     float64 `json:"total"`
	Pending   struct {
		Card     float64 `json:"card"`
		Manual   float64 `json:"manual"`
		Imported float64 `json:"imported"`
		Total    float64 `json:"total"`
	} `json:"pending"`
}

func (a *api) hoursSummary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := a.dayRange(w, r)
	if !ok {
		return
	}
	ctx, sc := r.Context(), scopeOf(r)
	f := store.HoursSummaryFilter{From: from, To: to}
	out := HoursSummary{From: from, To: to}
	n := 0
	for _, k := range []string{"volunteer", "org", "community"} {
		if q.Get(k) != "" {
			n++
		}
	}
	if n != 1 {
		a.failReview(w, http.StatusBadRequest, "give one of volunteer, org, community", "请指定一名志愿者（volunteer）、一个组织（org）或一个区域（community）中的一个。", nil)
		return
	}
	notFound := func() { a.failReview(w, http.StatusNotFound, "not found", zhFor(http.StatusNotFound), nil) }
	switch {
	case q.Get("volunteer") != "":
		id := q.Get("volunteer")
		if ok, err := a.volunteerVisible(r, id); err != nil || !ok {
			a.failVolunteer(w, id, err)
			return
		}
		f.Volunteer, out.Volunteer = id, id
	case q.Get("org") != "":
		o, err := a.f.Store.Organisation(ctx, q.Get("org"))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			a.failInternal(w, "cannot read the organisation", err)
			return
		}
		if err != nil || !sc.Organisation(o.ID, o.County, o.Community) {
			notFound()
			return
		}
		f.Org, out.Org = o.ID, o.ID
	default:
		code := q.Get("community")
		if !sc.Area(code) {
			notFound()
			return
		}
		under, err := a.f.Store.AreasUnder(ctx, code)
		if err != nil {
			a.failInternal(w, "cannot read the areas", err)
			return
		}
		if len(under) == 0 {
			notFound()
			return
		}
		f.Communities, out.Community = under, code
	}
	sums, err := a.f.Store.HoursSummary(ctx, f)
	if err != nil {
		a.failInternal(w, "cannot add up hours", err)
		return
	}
	h := func(c int64) float64 { return float64(c) / 100 }
	c, m, i := sums[store.LedgerCard], sums[store.LedgerManual], sums[store.LedgerImported]
	out.Card, out.Manual, out.Imported = h(c.Final), h(m.Final), h(i.Final)
	out.Total = h(c.Final + m.Final + i.Final)
	out.Pending.Card, out.Pending.Manual, out.Pending.Imported = h(c.Pending), h(m.Pending), h(i.Pending)
	out.Pending.Total = h(c.Pending + m.Pending + i.Pending)
	writeJSON(w, out)
}

// evidenceFile sends an evidence file to whoever may read its record:
// its reviewer, or one who sees the volunteer.
func (a *api) evidenceFile(w http.ResponseWriter, r *http.Request) {
	f, err := a.f.Store.EvidenceFile(r.Context(), r.PathValue("id"))
	if err == nil {
		var rec *store.ServiceRecord
		if rec, err = a.f.Store.ServiceRecord(r.Context(), f.Record); err == nil {
			var ok bool
			if ok, err = a.volunteerVisible(r, rec.Volunteer); err == nil && !ok && !review.Routed(userOf(r), scopeOf(r), rec) {
				err = store.ErrNotFound
			}
		}
	}
	if err != nil {
		a.failHours(w, "evidence file", err)
		return
	}
	w.Header().Set("Content-Type", f.Type)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(f.Data)
}
