package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/places"
)

// Areas and organisations added and edited one at a time (places: the
// same checks as an import's rows, within the user's scope), and the
// city's settings. Each change is in the audit log with the before and
// after; areas and organisations hold no personal data.

func (a *api) placeRoutes(mux *router) {
	mux.HandleFunc("POST /api/v1/areas", a.change("area.add", a.addArea))
	mux.HandleFunc("PATCH /api/v1/areas/{code}", a.change("area.edit", a.editArea))
	mux.HandleFunc("POST /api/v1/organisations", a.change("org.add", a.addOrganisation))
	mux.HandleFunc("PATCH /api/v1/organisations/{id}", a.change("org.edit", a.editOrganisation))
	mux.HandleFunc("GET /api/v1/settings/leading-office", a.view(officeWhat, a.leadingOffice))
	mux.HandleFunc("PUT /api/v1/settings/leading-office", a.change("settings.leading_office", a.setLeadingOffice))
}

func officeWhat(*http.Request) string { return "leading office" }

// decodeStrict reads a JSON body of at most 8 KiB into dst, unknown
// fields refused, answering 400 itself when it cannot.
func (a *api) decodeStrict(w http.ResponseWriter, r *http.Request, dst any, zh string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		a.failReview(w, http.StatusBadRequest, "request body", zh, err)
		return false
	}
	return true
}

// failPlace answers a refused or failed edit of places with the status
// and the reason places.Refusal gives, and the reason's code when it is
// one of an import's.
func (a *api) failPlace(w http.ResponseWriter, what, thing string, err error) {
	code, zh := places.Refusal(err, thing)
	msg := what + ": " + err.Error()
	if code == http.StatusNotFound {
		// Out of scope and missing answer alike.
		msg = what + ": not found"
	}
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	body := map[string]string{"error": msg, "message_zh": zh}
	if r := people.Explain(err); r != nil && code == http.StatusUnprocessableEntity {
		body["reason"] = r.Code
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// created answers 201 with v, found at location.
func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(v)
}

const (
	zhAreaBody = `请求内容有误：请按 {"code","name","parent","level","population"} 填写区域。`
	zhOrgBody  = `请求内容有误：请按 {"id","name","type","county","community","parent"} 填写志愿服务组织。`
)

// addArea is POST /api/v1/areas: a new area (code, name, parent, level,
// population), 201 with it as stored.
func (a *api) addArea(w http.ResponseWriter, r *http.Request) {
	var ar people.Area
	if !a.decodeStrict(w, r, &ar, zhAreaBody) {
		return
	}
	ar, err := places.AddArea(r.Context(), a.f.Store, scopeOf(r), ar, a.now())
	if err != nil {
		a.failPlace(w, "add area "+ar.Code, "区域", err)
		return
	}
	noteChange(r, "area "+ar.Code, nil, ar)
	created(w, "/api/v1/areas?parent="+ar.Parent, ar)
}

// editArea is PATCH /api/v1/areas/{code}: the fields given (name,
// parent, level, population) set.
func (a *api) editArea(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	var p people.AreaPatch
	if !a.decodeStrict(w, r, &p, zhAreaBody) {
		return
	}
	before, after, err := places.EditArea(r.Context(), a.f.Store, scopeOf(r), code, p, a.now())
	if err != nil {
		a.failPlace(w, "edit area "+code, "区域", err)
		return
	}
	noteChange(r, "area "+code, before, after)
	writeJSON(w, after)
}

// addOrganisation is POST /api/v1/organisations: a new organisation (id,
// name, type, county, community, parent), 201 with it as stored.
func (a *api) addOrganisation(w http.ResponseWriter, r *http.Request) {
	var o people.Organisation
	if !a.decodeStrict(w, r, &o, zhOrgBody) {
		return
	}
	o, err := places.AddOrganisation(r.Context(), a.f.Store, scopeOf(r), o, a.now())
	if err != nil {
		a.failPlace(w, "add organisation "+o.ID, "志愿服务组织", err)
		return
	}
	noteChange(r, "organisation "+o.ID, nil, o)
	created(w, "/api/v1/organisations/"+o.ID, o)
}

// editOrganisation is PATCH /api/v1/organisations/{id}: the fields given
// (name, type, county, community, parent; "" clears the last three) set.
func (a *api) editOrganisation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var p people.OrgPatch
	if !a.decodeStrict(w, r, &p, zhOrgBody) {
		return
	}
	before, after, err := places.EditOrganisation(r.Context(), a.f.Store, scopeOf(r), id, p, a.now())
	if err != nil {
		a.failPlace(w, "edit organisation "+id, "志愿服务组织", err)
		return
	}
	noteChange(r, "organisation "+id, before, after)
	writeJSON(w, after)
}

// OfficeSetting is the body of GET and PUT
// /api/v1/settings/leading-office: the name of the office that leads the
// city's volunteer work (the plan names the 文明办; since 2024 it is often
// the 党委社会工作部). Default says no one has set it: Name is then
// people.DefaultLeadingOffice.
type OfficeSetting struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
}

func (a *api) leadingOffice(w http.ResponseWriter, r *http.Request) {
	name, err := a.f.Store.LeadingOffice(r.Context())
	if err != nil {
		a.failInternal(w, "cannot read the leading office", err)
		return
	}
	writeJSON(w, OfficeSetting{Name: name, Default: name == people.DefaultLeadingOffice})
}

// maxOffice bounds the leading office's name, in characters.
const maxOffice = 60

// setLeadingOffice is PUT /api/v1/settings/leading-office {"name": ...}:
// the city administrator names the leading office ("" goes back to the
// default).
func (a *api) setLeadingOffice(w http.ResponseWriter, r *http.Request) {
	if u := userOf(r); u == nil || u.Role != access.City {
		a.failReview(w, http.StatusForbidden, "only a city administrator may name the leading office",
			"主管部门名称只有市级管理员可以修改。如需修改，请联系市级管理员。", nil)
		return
	}
	var req struct {
		Name *string `json:"name"`
	}
	if !a.decodeStrict(w, r, &req, `请求内容有误：请按 {"name": "主管部门名称"} 填写。`) {
		return
	}
	if req.Name == nil || len([]rune(strings.TrimSpace(*req.Name))) > maxOffice {
		a.failReview(w, http.StatusBadRequest, "name: the office's name, at most 60 characters (\"\" for the default)",
			"请填写主管部门的名称（不超过 60 个字）；留空则恢复默认名称。", nil)
		return
	}
	ctx := r.Context()
	before, err := a.f.Store.LeadingOffice(ctx)
	if err == nil {
		err = a.f.Store.SetLeadingOffice(ctx, strings.TrimSpace(*req.Name), a.now())
	}
	after, err2 := a.f.Store.LeadingOffice(ctx)
	if err = errors.Join(err, err2); err != nil {
		a.failInternal(w, "cannot set the leading office", err)
		return
	}
	noteChange(r, "setting leading_office", map[string]string{"name": before}, map[string]string{"name": after})
	writeJSON(w, OfficeSetting{Name: after, Default: after == people.DefaultLeadingOffice})
}
