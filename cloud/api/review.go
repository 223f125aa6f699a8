package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The review endpoints put what the cloud would not take on trust in front
// of a person: sessions it flagged (too long, overlapping, dated in the
// future), which count only once approved; records the database refused;
// pairs of taps that a cloned card would make. Reads are personal data and
// audited like the other reads; a decision is a change, so it needs the
// admin login, and the reviewer recorded is whoever is logged in.

// ReviewRequest is the body of POST /api/v1/review/sessions/{check_in}.
// Approve is required: true counts the session, false keeps it out of the
// hours and out of the queue.
type ReviewRequest struct {
	Approve *bool  `json:"approve"`
	Note    string `json:"note,omitempty"`
}

// ReviewResult answers a decision.
type ReviewResult struct {
	CheckIn  string    `json:"check_in"`
	Approved bool      `json:"approved"`
	Reviewer string    `json:"reviewer"`
	Note     string    `json:"note,omitempty"`
	At       time.Time `json:"at"`
}

// maxNote bounds a reviewer's note.
const maxNote = 1000

func (a *api) reviewRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/review/sessions", a.read("review.read", flaggedWhat, a.flaggedSessions))
	mux.HandleFunc("POST /api/v1/review/sessions/{check_in}", a.change("session.review", a.reviewSession))
	mux.HandleFunc("GET /api/v1/review/rejected", a.read("review.read", rejectedWhat, a.rejectedRecords))
	mux.HandleFunc("GET /api/v1/review/clone-alerts", a.read("review.read", clonesWhat, a.cloneAlerts))
}

func flaggedWhat(*http.Request) string { return "flagged sessions of all stations" }

func rejectedWhat(r *http.Request) string {
	if s := r.URL.Query().Get("station"); s != "" {
		return "refused records of station " + s
	}
	return "refused records of all stations"
}

func clonesWhat(r *http.Request) string {
	if c := r.URL.Query().Get("card"); c != "" {
		return "clone alerts of card " + c
	}
	return "clone alerts of all cards"
}

// failReview answers a review request that went wrong, in English (error)
// and in Chinese (message_zh, what the console shows).
func (a *api) failReview(w http.ResponseWriter, code int, msg, zh string, err error) {
	if err != nil {
		msg += ": " + err.Error()
	}
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "message_zh": zh})
}

const zhRetry = "读取失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"

// flaggedSessions is the review queue: flagged sessions no one has decided
// on, oldest first. ?since= (a date, 2026-03-01, read in China Standard
// Time, or RFC 3339) keeps the sessions that started from then on.
func (a *api) flaggedSessions(w http.ResponseWriter, r *http.Request) {
	since, err := parseTime(r.URL.Query().Get("since"))
	if err != nil {
		a.failReview(w, http.StatusBadRequest, "since: want a date (2026-03-01) or an RFC 3339 time",
			"起始日期格式不对，请写成 2026-03-01 这样的日期。", nil)
		return
	}
	list, err := a.f.Store.FlaggedSessions(r.Context(), since)
	var in func(string) bool
	if err == nil {
		in, err = a.stationFilter(r)
	}
	if err != nil {
		a.failReview(w, http.StatusInternalServerError, "cannot list flagged sessions", zhRetry, err)
		return
	}
	list = orEmptyList(slices.DeleteFunc(list, func(s store.FlaggedSession) bool { return !in(s.Station) }))
	for i := range list {
		s := &list[i]
		s.Start, s.End = local(s.Start), local(s.End)
	}
	writeJSON(w, map[string]any{"sessions": list})
}

// reviewSession records the logged-in reviewer's decision on one flagged
// session, named by its check-in record.
func (a *api) reviewSession(w http.ResponseWriter, r *http.Request) {
	checkIn := r.PathValue("check_in")
	if wire.ValidRecordID(checkIn) != nil {
		a.failReview(w, http.StatusNotFound, "no session with check-in "+checkIn,
			"找不到这次服务记录，请刷新待审核列表后再试。", nil)
		return
	}
	var req ReviewRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil || req.Approve == nil {
		a.failReview(w, http.StatusBadRequest, `body: want {"approve": true|false, "note": "..."}`,
			"请求内容有误：请选择“通过”或“不通过”后再提交。", err)
		return
	}
	if len([]rune(req.Note)) > maxNote {
		a.failReview(w, http.StatusBadRequest, "note: at most 1000 characters",
			"备注太长了，请控制在 1000 字以内。", nil)
		return
	}
	who := userOf(r).Name
	at := a.now()
	err := a.sessionInScope(r, checkIn)
	if err == nil {
		err = a.f.Store.ReviewSession(r.Context(), checkIn, *req.Approve, who, req.Note, at)
		noteChange(r, "session "+checkIn, nil, map[string]any{"approved": *req.Approve, "note": req.Note})
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.failReview(w, http.StatusNotFound, "review", "找不到这次服务记录，请刷新待审核列表后再试。", err)
		return
	case errors.Is(err, store.ErrNotFlagged):
		a.failReview(w, http.StatusConflict, "review", "这次服务没有异常标记，已经计入时长，不需要审核。请刷新待审核列表。", err)
		return
	case err != nil:
		a.failReview(w, http.StatusInternalServerError, "review", "保存审核结果失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。", err)
		return
	}
	writeJSON(w, ReviewResult{CheckIn: checkIn, Approved: *req.Approve, Reviewer: who, Note: req.Note, At: local(at)})
}

// sessionInScope fails with the error ReviewSession gives an unknown
// check-in when the session's station is out of r's scope.
func (a *api) sessionInScope(r *http.Request, checkIn string) error {
	if scopeOf(r).All() {
		return nil
	}
	station, err := a.f.Store.SessionStation(r.Context(), checkIn)
	if err != nil {
		return err
	}
	ok, err := a.stationVisible(r, station)
	if err == nil && !ok {
		err = fmt.Errorf("%w: session %s", store.ErrNotFound, checkIn)
	}
	return err
}

// rejectedRecords lists the records the database refused (?station= for
// one station), oldest first.
func (a *api) rejectedRecords(w http.ResponseWriter, r *http.Request) {
	list, err := a.f.Store.RejectedRecords(r.Context(), r.URL.Query().Get("station"))
	var in func(string) bool
	if err == nil {
		in, err = a.stationFilter(r)
	}
	if err != nil {
		a.failReview(w, http.StatusInternalServerError, "cannot list refused records", zhRetry, err)
		return
	}
	list = orEmptyList(slices.DeleteFunc(list, func(rr store.RejectedRecord) bool { return !in(rr.Station) }))
	for i := range list {
		rr := &list[i]
		rr.Received, rr.Rejected = local(rr.Received), local(rr.Rejected)
	}
	writeJSON(w, map[string]any{"records": list})
}

// cloneAlerts lists the clone alerts (?card= for one card), newest first.
func (a *api) cloneAlerts(w http.ResponseWriter, r *http.Request) {
	list, err := a.f.Store.CloneAlerts(r.Context(), r.URL.Query().Get("card"))
	var in func(string) bool
	if err == nil {
		in, err = a.stationFilter(r)
	}
	if err != nil {
		a.failReview(w, http.StatusInternalServerError, "cannot list clone alerts", zhRetry, err)
		return
	}
	// An alert is in scope with either of its stations.
	list = orEmptyList(slices.DeleteFunc(list, func(c store.CloneAlert) bool { return !in(c.StationA) && !in(c.StationB) }))
	for i := range list {
		list[i].Detected = local(list[i].Detected)
	}
	writeJSON(w, map[string]any{"alerts": list})
}
