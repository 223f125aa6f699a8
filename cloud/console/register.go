package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// Register is the volunteer register the pages call: search, edit with
// history, a volunteer's own data exported, deregistration (注销). The
// cloud's api.Volunteers is one. Each method takes the scope of the user
// and treats a volunteer out of it as not found.
type Register interface {
	Search(ctx context.Context, sc store.VolunteerScope, text, community, org string, page int) (*store.VolunteerPage, error)
	Register(ctx context.Context, sc store.VolunteerScope, actor string, f people.Form) (*people.Volunteer, error)
	Edit(ctx context.Context, sc store.VolunteerScope, actor, id string, p people.Patch) ([]people.FieldChange, error)
	History(ctx context.Context, sc store.VolunteerScope, id string) ([]store.HistoryEntry, error)
	Export(ctx context.Context, sc store.VolunteerScope, actor, id, format string, w io.Writer) error
	Deregister(ctx context.Context, sc store.VolunteerScope, actor, id, reason string) error
}

func (c *Console) registerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/edit", c.change("volunteers", c.editVolunteer))
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/export", c.page("volunteers", c.exportVolunteer))
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/deregister", c.change("volunteers", c.deregisterVolunteer))
}

// volunteerScope is the volunteers u sees, as the register takes it.
func (c *Console) volunteerScope(ctx context.Context, u *access.User) (store.VolunteerScope, error) {
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return store.VolunteerScope{}, err
	}
	return store.VolunteerScope{All: sc.All(), Communities: sc.VolunteerAreas(), Orgs: sc.VolunteerOrgs(),
		Stations: sc.VolunteerStations()}, nil
}

type searchData struct {
	Query string
	Found *store.VolunteerPage
	Next  int
}

// search fills the volunteer page's search results.
func (c *Console) search(r *http.Request) (*searchData, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	sc, err := c.volunteerScope(r.Context(), user(r))
	if err != nil {
		return nil, err
	}
	found, err := c.Volunteers.Search(r.Context(), sc, q, "", "", page)
	if err != nil {
		return nil, err
	}
	d := &searchData{Query: q, Found: found}
	if found.More {
		d.Next = page + 1
	}
	return d, nil
}

// editVolunteer applies the edit form: only the fields that differ from
// what is stored change, each kept in the history.
func (c *Console) editVolunteer(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var p people.Patch
	str := func(field, old string, dst **string) {
		if nv := strings.TrimSpace(r.PostFormValue(field)); nv != old {
			*dst = &nv
		}
	}
	list := func(field string, old []string, dst **[]string) {
		if nv := splitList(r.PostFormValue(field)); !slices.Equal(nv, old) {
			*dst = &nv
		}
	}
	str("phone", v.Phone, &p.Phone)
	str("community", v.Community, &p.Community)
	str("group", string(v.Group), &p.Group)
	str("national_id", v.NationalID, &p.NationalID)
	list("skills", v.Skills, &p.Skills)
	list("service_types", v.ServiceTypes, &p.ServiceTypes)
	list("orgs", v.Orgs, &p.Orgs)
	sc, err := c.volunteerScope(r.Context(), user(r))
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	ch, err := c.Volunteers.Edit(r.Context(), sc, user(r).Name, v.ID, p)
	switch {
	case errors.Is(err, store.ErrNotFound) && people.Explain(err) == nil:
		c.notFound(w, r)
		return
	case people.Explain(err) != nil:
		c.showVolunteer(w, r, v, http.StatusUnprocessableEntity, &page{Error: "未保存：" + reasonZh(err)}, nil)
		return
	case err != nil:
		c.fault(w, r, "edit", err)
		return
	}
	msg := "没有改动。"
	if len(ch) > 0 {
		var fs []string
		for _, f := range ch {
			fs = append(fs, fieldNames[f.Field])
		}
		msg = "已保存：" + strings.Join(fs, "、") + "。修改记录见下方。"
	}
	if v, err = c.Store.Volunteer(r.Context(), v.ID); err != nil {
		c.fault(w, r, "volunteer", err)
		return
	}
	c.showVolunteer(w, r, v, http.StatusOK, &page{Flash: msg}, nil)
}

// fieldNames are the fields of a volunteer in Chinese, for the history.
var fieldNames = map[string]string{
	"name": "姓名", "id_number": "身份证件号码", "community": "居住社区（村）", "phone": "联系电话", "skills": "专业技能",
	"service_types": "服务类别", "group": "人员类别", "orgs": "所属组织", "national_id": "志愿者统一编号",
	"guardian_consent": "监护人同意", "gender": "性别", "birth_date": "出生日期", "register": "登记", "deregister": "注销",
}

// exportVolunteer sends everything the cloud holds on the volunteer, as
// a file (JSON or CSV); the register audits it.
func (c *Console) exportVolunteer(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	format := r.PostFormValue("format")
	if format != "json" && format != "csv" {
		format = "json"
	}
	sc, err := c.volunteerScope(r.Context(), user(r))
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	var buf strings.Builder
	if err := c.Volunteers.Export(r.Context(), sc, user(r).Name, v.ID, format, &buf); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.notFound(w, r)
			return
		}
		c.fault(w, r, "export", err)
		return
	}
	c.Log.Info("console: volunteer exported", "who", user(r).Name, "volunteer", v.ID, "format", format)
	ct := map[string]string{"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}[format]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="volunteer-%s.%s"`, safeName(v.ID), format))
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, buf.String())
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// deregisterVolunteer deregisters (注销) the volunteer: the service
// records the law requires stay, the rest goes, the cards stop working.
func (c *Console) deregisterVolunteer(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || r.PostFormValue("confirm") != "yes" {
		c.showVolunteer(w, r, v, http.StatusBadRequest, &page{Error: "未注销：请填写注销原因，并勾选“确认注销”。"}, nil)
		return
	}
	sc, err := c.volunteerScope(r.Context(), user(r))
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	err = c.Volunteers.Deregister(r.Context(), sc, user(r).Name, v.ID, reason)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r)
		return
	case people.Explain(err) != nil:
		c.showVolunteer(w, r, v, http.StatusConflict, &page{Error: "未注销：" + reasonZh(err)}, nil)
		return
	case err != nil:
		c.fault(w, r, "deregister", err)
		return
	}
	c.Log.Info("console: volunteer deregistered", "who", user(r).Name, "volunteer", v.ID)
	if v, err = c.Store.Volunteer(r.Context(), v.ID); err != nil {
		c.fault(w, r, "volunteer", err)
		return
	}
	c.showVolunteer(w, r, v, http.StatusOK, &page{Flash: "已注销。法律要求保存的服务记录仍保留，其余个人信息已删除，志愿服务证已停用。"}, nil)
}
