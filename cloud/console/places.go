package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"leifeng/cloud/people"
	"leifeng/cloud/places"
	"leifeng/cloud/store"
)

// The forms that add and edit areas and organisations, move or rename a
// station, and name the leading office: the same rules as the JSON API
// (package places), each change in the audit log with the before and
// after.

func (c *Console) placeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Prefix+"areas", c.change("areas", c.addArea))
	mux.HandleFunc("POST "+Prefix+"areas/{code}", c.change("areas", c.editArea))
	mux.HandleFunc("POST "+Prefix+"orgs", c.change("orgs", c.addOrg))
	mux.HandleFunc("GET "+Prefix+"orgs/{id}", c.page("orgs", c.orgPage))
	mux.HandleFunc("POST "+Prefix+"orgs/{id}", c.change("orgs", c.editOrg))
	mux.HandleFunc("POST "+Prefix+"stations/{id}", c.change("stations", c.editStation))
	mux.HandleFunc("GET "+Prefix+"settings", c.page("settings", c.settingsPage))
	mux.HandleFunc("POST "+Prefix+"settings", c.change("settings", c.saveSettings))
}

// levelChoices are the four levels, from the top.
var levelChoices = []choice{
	{string(people.LevelCity), people.LevelCity.Zh()}, {string(people.LevelCounty), people.LevelCounty.Zh()},
	{string(people.LevelTownship), people.LevelTownship.Zh()}, {string(people.LevelCommunity), people.LevelCommunity.Zh()},
}

// refusePlace answers a refused edit: a page for 404, a fault for a
// fault, else show (the page the form was on) with the reason.
func (c *Console) refusePlace(w http.ResponseWriter, r *http.Request, err error, what string, show func(code int, p *page)) {
	code, zh := places.Refusal(err, what)
	switch {
	case code == http.StatusNotFound:
		c.notFound(w, r)
	case code >= 500:
		c.fault(w, r, "edit "+what, err)
	default:
		show(code, &page{Error: "没有保存：" + zh})
	}
}

// population reads the population field ("" is 0; a bad number is -1,
// which the checks refuse with their reason).
func population(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (c *Console) addArea(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u := r.Context(), user(r)
	a := people.Area{Code: r.PostFormValue("code"), Name: r.PostFormValue("name"), Parent: r.PostFormValue("parent"),
		Level: people.Level(r.PostFormValue("level")), Population: population(r.PostFormValue("population"))}
	sc, err := c.scopeOf(ctx, u)
	if err == nil {
		a, err = places.AddArea(ctx, c.Store, sc, a, c.now())
	}
	if err != nil {
		c.refusePlace(w, r, err, "区域", func(code int, p *page) {
			// The page the form was on, or the top of the scope when
			// the parent given lies outside it.
			at := strings.TrimSpace(a.Parent)
			if ok, _ := c.areaVisible(ctx, u, at); !ok {
				at = ""
			}
			c.showAreas(w, r, at, code, p)
		})
		return
	}
	c.audit(r, "area.add", "area "+a.Code, nil, a)
	http.Redirect(w, r, Prefix+"areas?area="+a.Code+"&saved=1", http.StatusSeeOther)
}

func (c *Console) editArea(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u, code := r.Context(), user(r), r.PathValue("code")
	name, parent, level := r.PostFormValue("name"), r.PostFormValue("parent"), r.PostFormValue("level")
	pop := population(r.PostFormValue("population"))
	p := people.AreaPatch{Name: &name, Parent: &parent, Level: &level, Population: &pop}
	sc, err := c.scopeOf(ctx, u)
	var before, after people.Area
	if err == nil {
		before, after, err = places.EditArea(ctx, c.Store, sc, code, p, c.now())
	}
	if err != nil {
		c.refusePlace(w, r, err, "区域", func(status int, p *page) { c.showAreas(w, r, code, status, p) })
		return
	}
	c.audit(r, "area.edit", "area "+code, before, after)
	http.Redirect(w, r, Prefix+"areas?area="+code+"&saved=1", http.StatusSeeOther)
}

// orgForm reads an organisation's fields from the form.
func orgForm(r *http.Request) people.Organisation {
	return people.Organisation{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"), Type: r.PostFormValue("type"),
		County: r.PostFormValue("county"), Community: r.PostFormValue("community"), Parent: r.PostFormValue("parent")}
}

func (c *Console) addOrg(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u := r.Context(), user(r)
	o := orgForm(r)
	sc, err := c.scopeOf(ctx, u)
	if err == nil {
		o, err = places.AddOrganisation(ctx, c.Store, sc, o, c.now())
	}
	if err != nil {
		c.refusePlace(w, r, err, "志愿服务组织", func(code int, p *page) {
			c.showOrgs(w, r, code, p, &o)
		})
		return
	}
	c.audit(r, "org.add", "organisation "+o.ID, nil, o)
	http.Redirect(w, r, Prefix+"orgs/"+o.ID+"?saved=1", http.StatusSeeOther)
}

type orgData struct {
	Org  people.Organisation
	Edit bool
}

// orgPage shows one organisation, with its edit form for whoever may
// edit it.
func (c *Console) orgPage(w http.ResponseWriter, r *http.Request) {
	p := &page{}
	if r.URL.Query().Get("saved") == "1" {
		p.Flash = "已保存。"
	}
	c.showOrg(w, r, r.PathValue("id"), http.StatusOK, p)
}

func (c *Console) showOrg(w http.ResponseWriter, r *http.Request, id string, code int, p *page) {
	ctx, u := r.Context(), user(r)
	o, err := c.Store.Organisation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.fault(w, r, "organisation", err)
		return
	}
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "organisation", err)
		return
	}
	if !sc.Organisation(o.ID, o.County, o.Community) {
		c.notFound(w, r)
		return
	}
	p.Title, p.Active = "志愿服务组织 "+o.Name, "orgs"
	p.Data = &orgData{Org: *o, Edit: u.CanChange() && sc.EditsPlaces()}
	c.render(w, r, code, "org", p)
}

func (c *Console) editOrg(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u, id := r.Context(), user(r), r.PathValue("id")
	f := orgForm(r)
	p := people.OrgPatch{Name: &f.Name, Type: &f.Type, County: &f.County, Community: &f.Community, Parent: &f.Parent}
	sc, err := c.scopeOf(ctx, u)
	var before, after people.Organisation
	if err == nil {
		before, after, err = places.EditOrganisation(ctx, c.Store, sc, id, p, c.now())
	}
	if err != nil {
		c.refusePlace(w, r, err, "志愿服务组织", func(code int, p *page) { c.showOrg(w, r, id, code, p) })
		return
	}
	c.audit(r, "org.edit", "organisation "+id, before, after)
	http.Redirect(w, r, Prefix+"orgs/"+id+"?saved=1", http.StatusSeeOther)
}

// editStation moves a station to a community and renames it from its
// page: a station manager only renames.
func (c *Console) editStation(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u := r.Context(), user(r)
	st, ok := c.stationOf(w, r)
	if !ok {
		return
	}
	// A field the form does not have (a station manager's has no
	// community) is left as it is.
	var community, name *string
	if err := r.ParseForm(); err == nil {
		if v, ok := r.PostForm["community"]; ok {
			community = &v[0]
		}
		if v, ok := r.PostForm["name"]; ok {
			name = &v[0]
		}
	}
	sc, err := c.scopeOf(ctx, u)
	var before, after places.Station
	if err == nil {
		before, after, err = places.EditStation(ctx, c.Store, sc, st.ID, community, name)
	}
	if err != nil {
		c.refusePlace(w, r, err, "站点", func(code int, p *page) { c.showStation(w, r, st, code, p) })
		return
	}
	c.audit(r, "station.edit", "station "+st.ID, before, after)
	http.Redirect(w, r, Prefix+"stations/"+st.ID+"?saved=1", http.StatusSeeOther)
}

type settingsData struct {
	Office, Default string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request) {
	p := &page{}
	if r.URL.Query().Get("saved") == "1" {
		p.Flash = "已保存。"
	}
	c.showSettings(w, r, http.StatusOK, p)
}

func (c *Console) showSettings(w http.ResponseWriter, r *http.Request, code int, p *page) {
	office, err := c.Store.LeadingOffice(r.Context())
	if err != nil {
		c.fault(w, r, "settings", err)
		return
	}
	d := &settingsData{Default: people.DefaultLeadingOffice}
	if office != people.DefaultLeadingOffice {
		d.Office = office
	}
	p.Title, p.Active, p.Data = "设置", "settings", d
	c.render(w, r, code, "settings", p)
}

// saveSettings names the leading office ("" goes back to the default).
func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("leading_office"))
	if len([]rune(name)) > 60 {
		c.showSettings(w, r, http.StatusBadRequest, &page{Error: "没有保存：主管部门名称不能超过 60 个字。"})
		return
	}
	before, err := c.Store.LeadingOffice(ctx)
	if err == nil {
		err = c.Store.SetLeadingOffice(ctx, name, c.now())
	}
	if err != nil {
		c.fault(w, r, "settings", err)
		return
	}
	after, _ := c.Store.LeadingOffice(ctx)
	c.audit(r, "settings.leading_office", "setting leading_office", map[string]string{"name": before}, map[string]string{"name": after})
	http.Redirect(w, r, Prefix+"settings?saved=1", http.StatusSeeOther)
}
