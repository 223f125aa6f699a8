package console

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/review"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The hours' review pages (issue 12): the reviewer's queue (时长审核), a
// record with the approve, adjust and reject forms, and a volunteer's
// service records with the manual entry form (补录, evidence files
// attached). The rules are cloud/review's, the same as the API's: a
// record is decided only by the reviewer it is routed to, never by the
// person who entered it.

func (c *Console) hoursRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"hours/review", c.page("hours/review", c.hoursQueuePage))
	mux.HandleFunc("GET "+Prefix+"hours/records/{id}", c.signedIn(c.hoursRecordPage))
	mux.HandleFunc("POST "+Prefix+"hours/records/{id}", c.signedIn(c.decideHours))
	mux.HandleFunc("GET "+Prefix+"hours/evidence/{id}", c.signedIn(c.evidenceFile))
	mux.HandleFunc("GET "+Prefix+"volunteers/{id}/hours", c.signedIn(c.volunteerHoursPage))
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/hours", c.signedIn(c.enterManualHours))
}

// recordRow is a record as the pages show it.
type recordRow struct {
	review.Item
	StatusZh, LedgerZh, LevelZh, Hours string
	NoticeEnd, RawHours                string
}

func rowOf(it review.Item) recordRow {
	r := recordRow{Item: it, StatusZh: review.StatusZh(it.Status), LedgerZh: review.LedgerZh(it.Ledger),
		Hours: review.Hours(it.CountedCents), RawHours: review.Hours(it.RawSeconds / 36)}
	if it.Reviewer != "" {
		r.LevelZh = review.LevelZh(review.Level(&it.ServiceRecord))
	}
	if !it.NoticeUntil.IsZero() {
		r.NoticeEnd = review.NoticeEndZh(it.NoticeUntil)
	}
	return r
}

func (c *Console) hoursQueuePage(w http.ResponseWriter, r *http.Request) {
	c.showQueue(w, r, http.StatusOK, &page{})
}

func (c *Console) showQueue(w http.ResponseWriter, r *http.Request, code int, p *page) {
	ctx, u := r.Context(), user(r)
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "hours queue", err)
		return
	}
	items, err := review.Queue(ctx, c.Store, u, sc, c.now())
	if err != nil {
		c.fault(w, r, "hours queue", err)
		return
	}
	rows := make([]recordRow, 0, len(items))
	for _, it := range items {
		rows = append(rows, rowOf(it))
	}
	c.Log.Info("console: hours queue read", "who", u.Name, "records", len(rows))
	c.audit(r, "hours.review.read", "review queue", nil, nil)
	p.Title, p.Active, p.Data = "待审核时长", "hours/review", rows
	c.render(w, r, code, "hoursqueue", p)
}

// visibleRecord is record id if u may read it: its reviewer, or one who
// sees its volunteer; else store.ErrNotFound.
func (c *Console) visibleRecord(r *http.Request, id string) (*store.ServiceRecord, *access.Scope, error) {
	ctx, u := r.Context(), user(r)
	rec, err := c.Store.ServiceRecord(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	if review.Routed(u, sc, rec) || sc.All() {
		return rec, sc, nil
	}
	ok, err := c.Store.VolunteerInScope(ctx, rec.Volunteer, store.VolunteerScopeOf(sc))
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, store.ErrNotFound
	}
	return rec, sc, nil
}

type recordData struct {
	R      recordRow
	Events []recordEventRow
	// Decide: the user is this record's reviewer and it waits for them;
	// Own: the user entered it (and so may not decide).
	Decide, Own bool
	Form        url.Values
}

type recordEventRow struct {
	store.ServiceRecordEvent
	FromZh, ToZh, ActionZh string
}

var actionZh = map[string]string{"create": "录入", review.ActionApprove: "审核通过", review.ActionAdjust: "调整时长",
	review.ActionReject: "退回", "notice": "公示", "final": "公示期满，计入"}

func (c *Console) hoursRecordPage(w http.ResponseWriter, r *http.Request) {
	c.showRecord(w, r, r.PathValue("id"), http.StatusOK, &page{}, nil)
}

func (c *Console) showRecord(w http.ResponseWriter, r *http.Request, id string, code int, p *page, form url.Values) {
	rec, sc, err := c.visibleRecord(r, id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	} else if err != nil {
		c.fault(w, r, "service record", err)
		return
	}
	its, err := review.Describe(r.Context(), c.Store, []store.ServiceRecord{*rec}, c.now())
	if err != nil {
		c.fault(w, r, "service record", err)
		return
	}
	it := its[0]
	evs, err := c.Store.ServiceRecordEvents(r.Context(), id)
	if err != nil {
		c.fault(w, r, "service record", err)
		return
	}
	u := user(r)
	d := &recordData{R: rowOf(it), Form: form, Own: rec.EnteredBy != "" && rec.EnteredBy == u.Name}
	d.Decide = rec.Status == store.StatusReview && u.CanChange() && review.Routed(u, sc, rec)
	for _, e := range evs {
		d.Events = append(d.Events, recordEventRow{ServiceRecordEvent: e, FromZh: review.StatusZh(e.From), ToZh: review.StatusZh(e.To),
			ActionZh: orKey(actionZh, e.Action)})
	}
	c.audit(r, "hours.record.read", "service_record "+id, nil, nil)
	p.Title, p.Active, p.Data = "服务记录", "hours/review", d
	c.render(w, r, code, "hoursrecord", p)
}

func orKey(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// decideHours applies the record page's decision: action approve,
// adjust (hours) or reject, with the reason.
func (c *Console) decideHours(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.failPage(w, r, http.StatusBadRequest, "表单没有传完整，请刷新页面后再试。")
		return
	}
	u := user(r)
	if !u.CanChange() {
		c.failPage(w, r, http.StatusForbidden, "审计员只能查看，不能修改。如需修改，请联系市级管理员。")
		return
	}
	d := review.Decision{Action: r.PostFormValue("action"), Reason: r.PostFormValue("reason")}
	if d.Action == review.ActionAdjust {
		var err error
		if d.Cents, err = review.ParseHours(r.PostFormValue("hours")); err != nil {
			d.Cents = -1 // refused by Decide, after the scope
		}
	}
	var rec *store.ServiceRecord
	sc, err := c.scopeOf(r.Context(), u)
	if err == nil {
		before, _ := c.Store.ServiceRecord(r.Context(), id)
		if rec, err = review.Decide(r.Context(), c.Store, u, sc, id, d, c.now()); err == nil {
			var b any
			if before != nil {
				b = map[string]any{"status": before.Status, "counted_cents": before.CountedCents}
			}
			c.audit(r, "hours."+d.Action, "service_record "+id, b, map[string]any{"status": rec.Status,
				"counted_cents": rec.CountedCents, "reason": d.Reason, "outcome": rec.Outcome})
			// The kiosk shows the outcome at the next tap: send the
			// station its document (a failure is logged).
			c.refreshNotice(r, rec.Station)
		}
	}
	if err != nil {
		code, zh, ok := review.Explain(err)
		if !ok {
			c.fault(w, r, "decide", err)
			return
		}
		if code == http.StatusNotFound {
			c.notFound(w, r)
			return
		}
		c.showRecord(w, r, id, code, &page{Error: zh}, r.PostForm)
		return
	}
	flash := map[string]string{review.ActionApprove: "已审核通过，进入公示。", review.ActionAdjust: "已调整时长，进入公示。",
		review.ActionReject: "已退回，这条记录不计入时长。"}[d.Action]
	c.showRecord(w, r, id, http.StatusOK, &page{Flash: flash + "志愿者下次刷卡时会看到结果：" + rec.Outcome}, nil)
}

func (c *Console) evidenceFile(w http.ResponseWriter, r *http.Request) {
	f, err := c.Store.EvidenceFile(r.Context(), r.PathValue("id"))
	if err == nil {
		_, _, err = c.visibleRecord(r, f.Record)
	}
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	} else if err != nil {
		c.fault(w, r, "evidence", err)
		return
	}
	c.audit(r, "hours.evidence.read", "evidence "+f.ID+" of "+f.Record, nil, nil)
	w.Header().Set("Content-Type", f.Type)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.Name}))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(f.Data)
}

type volunteerHours struct {
	ID, Name string
	Rows     []recordRow
	// Final and Pending are the hours of each ledger (card, manual,
	// imported) and their total ("total").
	Final, Pending map[string]string
	// Enter: the user may enter manual hours (the form is shown).
	Enter bool
	Form  review.ManualEntry
	Max   int
}

// volunteerHoursPage is the volunteer's service records with outcomes,
// the two ledgers' hours, and the manual entry form.
func (c *Console) volunteerHoursPage(w http.ResponseWriter, r *http.Request) {
	c.showVolunteerHours(w, r, http.StatusOK, &page{}, nil)
}

func (c *Console) showVolunteerHours(w http.ResponseWriter, r *http.Request, code int, p *page, form *review.ManualEntry) {
	ctx, u := r.Context(), user(r)
	id := r.PathValue("id")
	v, err := c.Store.Volunteer(ctx, id)
	var sc *access.Scope
	if err == nil {
		sc, err = c.scopeOf(ctx, u)
	}
	if err == nil && !sc.All() {
		var ok bool
		if ok, err = c.Store.VolunteerInScope(ctx, id, store.VolunteerScopeOf(sc)); err == nil && !ok {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	} else if err != nil {
		c.fault(w, r, "volunteer hours", err)
		return
	}
	recs, err := c.Store.ServiceRecords(ctx, store.ServiceRecordFilter{Volunteer: id})
	if err != nil {
		c.fault(w, r, "volunteer hours", err)
		return
	}
	sums, err := c.Store.HoursSummary(ctx, store.HoursSummaryFilter{Volunteer: id})
	if err != nil {
		c.fault(w, r, "volunteer hours", err)
		return
	}
	d := &volunteerHours{ID: v.ID, Name: wire.MaskName(v.Name), Final: map[string]string{}, Pending: map[string]string{},
		Enter: u.CanChange() && u.Role != access.Auditor && v.Deregistered.IsZero(), Max: review.MaxFiles}
	if form != nil {
		d.Form = *form
	}
	var fin, pend int64
	for k, s := range sums {
		d.Final[k], d.Pending[k] = review.Hours(s.Final), review.Hours(s.Pending)
		fin, pend = fin+s.Final, pend+s.Pending
	}
	d.Final["total"], d.Pending["total"] = review.Hours(fin), review.Hours(pend)
	// Newest first: the outcome a volunteer asks about is the latest.
	items, err := review.Describe(ctx, c.Store, recs, c.now())
	if err != nil {
		c.fault(w, r, "volunteer hours", err)
		return
	}
	for i := len(items) - 1; i >= 0; i-- {
		d.Rows = append(d.Rows, rowOf(items[i]))
	}
	c.audit(r, "hours.records.read", "volunteer "+id, nil, nil)
	p.Title, p.Active, p.Data = "服务记录 "+d.Name, "hours/review", d
	c.render(w, r, code, "volunteerhours", p)
}

// enterManualHours stores the manual entry form: its fields, then up to
// review.MaxFiles evidence files, streamed after the CSRF token.
func (c *Console) enterManualHours(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	if !u.CanChange() {
		c.failPage(w, r, http.StatusForbidden, "审计员只能查看，不能修改。如需修改，请联系市级管理员。")
		return
	}
	fields := map[string]string{}
	var files []store.EvidenceFile
	var err error
	if mr := formParts(r); mr != nil {
		for err == nil {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				break
			}
			if perr != nil {
				err = &review.EntryError{Field: "file", Zh: "表单没有传完整，请重新选择文件再提交；每个文件不超过 5 MB。"}
				break
			}
			if part.FormName() == "file" {
				if part.FileName() == "" {
					continue // the file input left empty
				}
				if len(files) == review.MaxFiles {
					err = &review.EntryError{Field: "file", Zh: "最多上传 " + strconv.Itoa(review.MaxFiles) + " 个文件，请挑选最能说明情况的照片或签到表。"}
					break
				}
				var f store.EvidenceFile
				if f, err = review.ReadUpload(review.Upload{Name: part.FileName(), Body: part}); err == nil {
					files = append(files, f)
				}
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(part, 8<<10))
			fields[part.FormName()] = strings.TrimSpace(string(b))
		}
	} else {
		for k := range r.PostForm {
			fields[k] = strings.TrimSpace(r.PostFormValue(k))
		}
	}
	get := func(k string) string { return fields[k] }
	act, _ := strconv.ParseInt(get("activity"), 10, 64)
	e := review.ManualEntry{Activity: act, ActivityName: get("activity_name"), Org: get("org"), Community: get("community"),
		Station: get("station"), Content: get("content"), Category: get("category"), Lead: get("lead"), Recorder: get("recorder"),
		Day: get("day"), Start: get("start"), End: get("end"), Hours: get("hours"), Note: get("evidence_note")}
	var rec *store.ServiceRecord
	if err == nil {
		var sc *access.Scope
		if sc, err = c.scopeOf(r.Context(), u); err == nil {
			rec, err = review.Enter(r.Context(), c.Store, u, sc, r.PathValue("id"), e, files, c.now())
		}
	}
	if err != nil {
		code, zh, ok := review.Explain(err)
		if !ok {
			c.fault(w, r, "manual hours", err)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			c.notFound(w, r)
			return
		}
		c.showVolunteerHours(w, r, code, &page{Error: zh}, &e)
		return
	}
	c.audit(r, "hours.manual", "service_record "+rec.ID, nil, map[string]any{"volunteer": rec.Volunteer,
		"counted_cents": rec.CountedCents, "files": len(files)})
	c.showVolunteerHours(w, r, http.StatusOK, &page{Flash: "已补录 " + review.Hours(rec.CountedCents) +
		" 小时，等待县（区）管理员审核。录入人不能审核自己录入的记录。"}, nil)
}
