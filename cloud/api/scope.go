package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
)

// Roles and scopes in the API, and the audit log.
//
// Every guarded route is registered through one of three wrappers, which
// resolve the user's scope (access.Resolve) once and keep it in the
// request's context for the handler (scopeOf):
//
//   - view: a read of what is not personal data, scoped, not audited.
//   - read: a route that returns personal data (volunteers, records,
//     hours, sessions, a station's config with its roster), or exports it. The handler's answer is
//     held back until its audit entry (who, via, when, route, what was
//     read, status) is written; if the entry cannot be written, the
//     caller gets 500 and no data.
//   - change: a route that changes something. An auditor is refused (403)
//     before the handler runs. After it, the entry is written with what
//     the handler attached (noteChange: the target, before and after).
//     Refused attempts are logged too, with their status.
//
// Inside, a handler filters lists by the scope and answers a single
// object out of scope exactly as one that does not exist (404, the same
// body). Fleet-wide things (rollouts, releases, the fleet defaults, a
// push to all stations) are the city's: cityOnly refuses other roles with
// 403 and a message_zh, since they are not objects one may or may not
// know about but powers one has or has not; a city-wide auditor may read
// them (cityWide).

// userOf is the user r acts for.
func userOf(r *http.Request) *access.User { return userIn(r.Context()) }

// userIn is the user ctx acts for. The old shared admin token (until
// sign-in by users replaces it) acts as a city administrator.
func userIn(ctx context.Context) *access.User {
	if u := access.UserFrom(ctx); u != nil {
		return u
	}
	if who, how := whoFrom(ctx); who != "" {
		return &access.User{Name: who, Role: access.City, Via: how}
	}
	return nil
}

type scopeKey struct{}

// scopeOf is the scope a read or change wrapper resolved for r; an empty
// one (nothing in scope) outside them.
func scopeOf(r *http.Request) *access.Scope {
	if sc, ok := r.Context().Value(scopeKey{}).(*access.Scope); ok {
		return sc
	}
	return &access.Scope{}
}

// withScope resolves r's scope into its context, or answers 401/500.
func (a *api) withScope(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if a.f == nil {
		a.failReview(w, http.StatusNotFound, "no people data without the fleet", "找不到。", nil)
		return nil, false
	}
	sc, err := access.Resolve(r.Context(), userOf(r), a.f.Store)
	switch {
	case errors.Is(err, access.ErrNoUser):
		a.failReview(w, http.StatusUnauthorized, "login required", "请先登录。", nil)
		return nil, false
	case err != nil:
		a.failInternal(w, "cannot resolve your scope", err)
		return nil, false
	}
	return r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc)), true
}

// view guards a read of what is not personal data (stations and their
// state, commands, presence, rollouts, areas, organisations): scoped, but
// kept out of the audit log, which the console's polling of the station
// list (every second or two) would otherwise fill with noise.
func (a *api) view(what func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return a.g.personal(what, func(w http.ResponseWriter, r *http.Request) {
		if r, ok := a.withScope(w, r); ok {
			h(w, r)
		}
	})
}

// read guards a route that returns personal data; action names it in the
// audit log ("records.read") and what says what was read.
func (a *api) read(action string, what func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return a.g.personal(what, func(w http.ResponseWriter, r *http.Request) {
		r, ok := a.withScope(w, r)
		if !ok {
			return
		}
		buf := newHeldResponse()
		h(buf, r)
		if err := a.audit(r, action, what(r), buf.code, nil); err != nil && buf.code < 400 {
			a.log.Error("audit log not written: answer withheld", "action", action, "route", r.Pattern, "err", err)
			a.failReview(w, http.StatusInternalServerError, "cannot write the audit log", "无法写入审计日志，为保护个人信息，本次不返回数据。请稍后重试；如仍失败，请联系系统管理员。", nil)
			return
		}
		// An error answer holds no data: it goes out even unlogged.
		buf.send(w)
	})
}

// change guards a route that changes something; action names it in the
// audit log ("station.edit").
func (a *api) change(action string, h http.HandlerFunc) http.HandlerFunc {
	return a.admin(func(w http.ResponseWriter, r *http.Request) {
		r, ok := a.withScope(w, r)
		if !ok {
			return
		}
		note := &changeNote{}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, note))
		buf := newHeldResponse()
		if userOf(r).CanChange() {
			h(buf, r)
		} else {
			a.failReview(buf, http.StatusForbidden, "auditors read only", "审计员只能查看，不能修改。", nil)
		}
		if err := a.audit(r, action, "", buf.code, note); err != nil {
			// The change is made; the caller is told what happened to it.
			a.log.Error("audit log not written", "action", action, "route", r.Pattern, "err", err)
		}
		buf.send(w)
	})
}

// failInternal answers 500 for err, which goes to the log, not to the
// caller.
func (a *api) failInternal(w http.ResponseWriter, msg string, err error) {
	a.log.Error(msg, "err", err)
	a.failReview(w, http.StatusInternalServerError, msg, zhRetry, nil)
}

// zhCityOnly explains a 403 of a fleet-wide operation.
const zhCityOnly = "这项操作涉及全市所有站点（固件发布、全市默认配置、密钥等），只有市级管理员可以进行。如需要，请联系市级管理员。"

// cityOnly lets only a city administrator through.
func (a *api) cityOnly(h http.HandlerFunc) http.HandlerFunc { return a.onlyCity(zhCityOnly, h) }

// onlyCity lets only a city administrator through, telling others zh.
func (a *api) onlyCity(zh string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u := userOf(r); u == nil || u.Role != access.City {
			a.failReview(w, http.StatusForbidden, "only a city administrator may do this", zh, nil)
			return
		}
		h(w, r)
	}
}

// cityWide lets through whoever sees the whole city: a city
// administrator or a city-wide auditor.
func (a *api) cityWide(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !scopeOf(r).All() {
			a.failReview(w, http.StatusForbidden, "only a city administrator or a city-wide auditor may read this", zhCityOnly, nil)
			return
		}
		h(w, r)
	}
}

// stationVisible reports whether r's user sees station id.
func (a *api) stationVisible(r *http.Request, id string) (bool, error) {
	sc := scopeOf(r)
	if sc.All() {
		return true, nil
	}
	c, err := a.f.Store.StationCommunity(r.Context(), id)
	if err != nil {
		return false, err
	}
	return sc.Station(id, c), nil
}

// stationInScope answers 404 for a station out of r's scope, with the body
// an unregistered one gets from failFleet(w, what, …), and reports whether
// the handler may go on.
func (a *api) stationInScope(w http.ResponseWriter, r *http.Request, id, what string) bool {
	ok, err := a.stationVisible(r, id)
	if err == nil && !ok {
		err = fleet.UnknownStation(id)
	}
	if err != nil {
		a.failFleet(w, what, err)
		return false
	}
	return true
}

// stationFilter is the scope's test of a station by ID, for lists.
func (a *api) stationFilter(r *http.Request) (func(id string) bool, error) {
	sc := scopeOf(r)
	if sc.All() {
		return func(string) bool { return true }, nil
	}
	communities, err := a.f.Store.StationsCommunities(r.Context())
	if err != nil {
		return nil, err
	}
	return func(id string) bool { return sc.Station(id, communities[id]) }, nil
}

// volunteerVisible reports whether r's user sees volunteer id. The city
// sees every ID, known or not (hours of an unknown one are zero); any
// other scope sees only registered volunteers in it.
func (a *api) volunteerVisible(r *http.Request, id string) (bool, error) {
	sc := scopeOf(r)
	if sc.All() {
		return true, nil
	}
	return a.f.Store.VolunteerInScope(r.Context(), id, store.VolunteerScopeOf(sc))
}

// volunteerScope is the volunteer register's scope hook
// (Volunteers.Scope): the scope of the user ctx acts for.
func (a *api) volunteerScope(ctx context.Context) (store.VolunteerScope, error) {
	sc, err := access.Resolve(ctx, userIn(ctx), a.f.Store)
	if err != nil {
		return store.VolunteerScope{}, err
	}
	return store.VolunteerScopeOf(sc), nil
}

// volunteerAudit is the volunteer register's audit hook
// (Volunteers.Audit): its changes and exports go to the audit log, the
// changed values masked as the register keeps them for display.
func (a *api) volunteerAudit(ctx context.Context, e VolunteerAudit) error {
	// FieldChange's JSON is the masked values only, never the sealed ones.
	return a.f.Store.Audit(context.WithoutCancel(ctx), AuditEntry(ctx, a.now(), "volunteer."+e.Action,
		"volunteer "+e.Volunteer, http.StatusOK, nil, map[string]any{"changes": e.Changes, "detail": e.Detail}))
}

type noteKey struct{}

// changeNote is what a change handler tells its audit entry.
type changeNote struct {
	target        string
	before, after any
}

// noteChange attaches the target and the state before and after (any
// value that encodes as JSON; nil: not kept) to r's audit entry. Keep
// personal fields out of before and after, or masked: the log is never
// edited, not even when a volunteer is deregistered.
func noteChange(r *http.Request, target string, before, after any) {
	if n, ok := r.Context().Value(noteKey{}).(*changeNote); ok {
		n.target, n.before, n.after = target, before, after
	}
}

// audit writes one entry of the audit log for r. A change's target is
// what its handler noted (else the path); a read's is target.
func (a *api) audit(r *http.Request, action, target string, status int, note *changeNote) error {
	var before, after any
	if note != nil {
		target, before, after = note.target, note.before, note.after
		if target == "" {
			target = r.URL.Path
		}
	}
	e := AuditEntry(r.Context(), a.now(), action, target, status, before, after)
	e.Route, e.Remote = r.Pattern, remoteIP(r)
	// Written even when the caller went away: the read or change happened.
	return a.f.Store.Audit(context.WithoutCancel(r.Context()), e)
}

// AuditEntry is an entry of the audit log for the user ctx acts for, for
// code that logs outside the route wrappers (the volunteer register's
// hook, the console's pages): store.Store.Audit writes it. before and
// after are encoded as JSON (nil: not kept); keep personal values out of
// them or masked.
func AuditEntry(ctx context.Context, at time.Time, action, target string, status int, before, after any) store.AuditEntry {
	e := store.AuditEntry{At: at, Action: action, Target: target, Status: status,
		Before: jsonOrEmpty(before), After: jsonOrEmpty(after)}
	if u := userIn(ctx); u != nil {
		e.UserID, e.User, e.Role, e.Via = u.ID, u.Name, string(u.Role), u.Via
	}
	return e
}

func jsonOrEmpty(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return data
}

// heldResponse holds a handler's answer until its audit entry is written.
type heldResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newHeldResponse() *heldResponse { return &heldResponse{header: http.Header{}} }

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(p)
}

func (h *heldResponse) send(w http.ResponseWriter) {
	for k, v := range h.header {
		w.Header()[k] = v
	}
	if h.code == 0 {
		h.code = http.StatusOK
	}
	w.WriteHeader(h.code)
	w.Write(h.body.Bytes())
}
