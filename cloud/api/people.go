package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/orders"
	"leifeng/cloud/people"
	"leifeng/cloud/places"
	"leifeng/cloud/store"
)

// The people data in the API, each route scoped (scope.go): the area
// tree, the organisations, one volunteer with the ID number masked, a
// station's community, and the audit log.

func (a *api) peopleRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/areas", a.view(areasWhat, a.areas))
	mux.HandleFunc("GET /api/v1/organisations", a.view(orgsWhat, a.organisations))
	mux.HandleFunc("GET /api/v1/organisations/{id}", a.view(orgPath, a.organisation))
	mux.HandleFunc("GET /api/v1/volunteers/{id}", a.read("volunteer.read", volunteerPath, a.volunteer))
	mux.HandleFunc("PATCH /api/v1/stations/{id}", a.change("station.edit", a.patchStation))
	mux.HandleFunc("GET /api/v1/audit", a.read("audit.read", auditWhat, a.auditLog))
	a.placeRoutes(mux)
	a.hourRuleRoutes(mux)
}

func areasWhat(r *http.Request) string {
	if p := r.URL.Query().Get("parent"); p != "" {
		return "areas under " + p
	}
	return "areas"
}

func orgsWhat(*http.Request) string { return "organisations" }

func orgPath(r *http.Request) string { return "organisation " + r.PathValue("id") }

func auditWhat(r *http.Request) string { return "audit log " + r.URL.RawQuery }

const zhNoVolunteer = "找不到这位志愿者：编号可能写错了，或不在您的管理范围内。请核对后再试。"

// failVolunteer answers a volunteer that does not exist or is out of
// scope (err nil: the same 404 for both), or a failed lookup.
func (a *api) failVolunteer(w http.ResponseWriter, id string, err error) {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.failInternal(w, "cannot read volunteer "+id, err)
		return
	}
	a.failReview(w, http.StatusNotFound, "no volunteer "+id, zhNoVolunteer, nil)
}

// areas lists the areas in scope, by code; ?parent=CODE keeps those
// directly under one area (?parent= with no code: the top, the city).
func (a *api) areas(w http.ResponseWriter, r *http.Request) {
	all, err := a.f.Store.AllAreas(r.Context())
	if err != nil {
		a.failInternal(w, "cannot list areas", err)
		return
	}
	sc := scopeOf(r)
	parent, byParent := r.URL.Query()["parent"]
	list := slices.DeleteFunc(all, func(ar people.Area) bool {
		return !sc.Area(ar.Code) || (byParent && ar.Parent != parent[0])
	})
	writeJSON(w, map[string]any{"areas": orEmptyList(list)})
}

// organisations lists the organisations in scope, by ID.
func (a *api) organisations(w http.ResponseWriter, r *http.Request) {
	all, err := a.f.Store.Organisations(r.Context())
	if err != nil {
		a.failInternal(w, "cannot list organisations", err)
		return
	}
	sc := scopeOf(r)
	list := slices.DeleteFunc(all, func(o people.Organisation) bool { return !sc.Organisation(o.ID, o.County, o.Community) })
	writeJSON(w, map[string]any{"organisations": orEmptyList(list)})
}

func (a *api) organisation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, err := a.f.Store.Organisation(r.Context(), id)
	if err == nil && !scopeOf(r).Organisation(o.ID, o.County, o.Community) {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.failReview(w, http.StatusNotFound, "no organisation "+id, "找不到这个志愿服务组织：编号可能写错了，或不在您的管理范围内。", nil)
	case err != nil:
		a.failInternal(w, "cannot read organisation "+id, err)
	default:
		ev, err := a.f.Store.OrgEvaluation(r.Context(), o.ID)
		if err != nil {
			a.failInternal(w, "cannot read organisation "+id, err)
			return
		}
		writeJSON(w, OrgView{Organisation: o, Evaluation: ev})
	}
}

// OrgView is an organisation with its evaluation: the orders it served
// and the residents' ratings of them (志愿服务条例 Art. 10).
type OrgView struct {
	*people.Organisation
	Evaluation store.Evaluation `json:"evaluation"`
}

// VolunteerView is a registered volunteer as the console shows one to a
// user in scope: the national record's fields, the ID number masked.
type VolunteerView struct {
	*people.Volunteer
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

func (a *api) volunteer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := a.f.Store.Volunteer(r.Context(), id)
	if err == nil {
		var ok bool
		if ok, err = a.volunteerVisible(r, id); err == nil && !ok {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		a.failVolunteer(w, id, err)
		return
	}
	view := VolunteerView{Volunteer: v, Name: v.Name, Phone: v.Phone}
	if !userOf(r).CanChange() {
		// An auditor checks the register, and needs no number to call:
		// the phone masked like the ID number.
		view.Phone = orders.MaskPhone(v.Phone)
	}
	writeJSON(w, view)
}

// StationPatch is the body of PATCH /api/v1/stations/{id}: the fields to
// change, the others left as they are.
type StationPatch struct {
	// Community is the area code of the community the station belongs to.
	Community *string `json:"community,omitempty"`
	Name      *string `json:"name,omitempty"`
}

// patchStation edits a registered station in scope (places.EditStation).
// A county administrator may move it only to a community of the county (a
// community out of scope is refused like one that does not exist); a
// station manager may rename its station but not move it.
func (a *api) patchStation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req StationPatch
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil || (req.Community == nil && req.Name == nil) {
		a.failReview(w, http.StatusBadRequest, `body: want {"community": "CODE"} and/or {"name": "..."}`,
			"请求内容有误：请填写要修改的所属社区编码或站点名称。", err)
		return
	}
	what := "edit station " + id
	if !a.stationInScope(w, r, id, what) {
		return
	}
	before, after, err := places.EditStation(r.Context(), a.f.Store, scopeOf(r), id, req.Community, req.Name)
	if errors.Is(err, store.ErrNotFound) {
		a.failFleet(w, what, fleet.UnknownStation(id))
		return
	}
	if err != nil {
		a.failPlace(w, what, "站点", err)
		return
	}
	noteChange(r, "station "+id, before, after)
	writeJSON(w, map[string]any{"id": id, "community": after.Community, "name": after.Name})
}

// auditLog is GET /api/v1/audit: the audit log, newest first, for the
// city administrators and city-wide auditors. Filters: ?user=, ?action=,
// ?from= and ?to= (dates, read in China Standard Time, to including its
// day; or RFC 3339 times, to exclusive), ?before=ID to page back (the
// next_before of the previous page) and ?limit= (1 to 1000, 100 by
// default).
func (a *api) auditLog(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if !scopeOf(r).All() || (u.Role != access.City && u.Role != access.Auditor) {
		a.failReview(w, http.StatusForbidden, "the audit log is for city administrators and city-wide auditors",
			"审计日志只有市级管理员和全市范围的审计员可以查看。", nil)
		return
	}
	q := r.URL.Query()
	f := store.AuditFilter{User: q.Get("user"), Action: q.Get("action")}
	var err error
	if f.From, err = parseTime(q.Get("from")); err != nil {
		a.failReview(w, http.StatusBadRequest, "from: want a date (2026-03-01) or an RFC 3339 time", "起始日期格式不对，请写成 2026-03-01 这样的日期。", nil)
		return
	}
	if f.To, err = parseTime(q.Get("to")); err == nil && len(q.Get("to")) == len(time.DateOnly) {
		f.To = f.To.AddDate(0, 0, 1) // a date: up to the end of that day
	}
	if err != nil {
		a.failReview(w, http.StatusBadRequest, "to: want a date (2026-03-01) or an RFC 3339 time", "截止日期格式不对，请写成 2026-03-01 这样的日期。", nil)
		return
	}
	before, err := uintParam(q.Get("before"), 0)
	limit, err2 := uintParam(q.Get("limit"), 100)
	if err != nil || err2 != nil || limit == 0 || limit > maxPage || before > 1<<62 {
		a.failReview(w, http.StatusBadRequest, "before: an entry ID; limit: 1 to 1000", "翻页参数不对，请刷新后再试。", nil)
		return
	}
	f.Before, f.Limit = int64(before), int(limit)
	list, err := a.f.Store.AuditLog(r.Context(), f)
	if err != nil {
		a.failInternal(w, "cannot read the audit log", err)
		return
	}
	for i := range list {
		list[i].At = local(list[i].At)
	}
	out := map[string]any{"entries": orEmptyList(list)}
	if len(list) == f.Limit {
		out["next_before"] = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, out)
}

// parseTime reads a date (in China Standard Time) or an RFC 3339 time;
// "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, fleet.CST)
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	return t, err
}
