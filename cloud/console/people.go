package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"leifeng/cloud/access"
	"leifeng/cloud/cards"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The people pages: the area tree, organisations, volunteer registration
// and a volunteer's page, and the import of a file of areas,
// organisations or volunteers with the report of each refused row.

func (c *Console) peopleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"areas", c.page("areas", c.areasPage))
	mux.HandleFunc("GET "+Prefix+"orgs", c.page("orgs", c.orgsPage))
	mux.HandleFunc("GET "+Prefix+"volunteers", c.page("volunteers", c.volunteersPage))
	mux.HandleFunc("POST "+Prefix+"volunteers", c.change("volunteers", c.registerVolunteer))
	mux.HandleFunc("GET "+Prefix+"volunteers/{id}", c.page("volunteers", c.volunteerPage))
	mux.HandleFunc("GET "+Prefix+"import", c.page("import", c.importPage))
	mux.HandleFunc("POST "+Prefix+"import", c.change("import", c.importFile))
	c.placeRoutes(mux)
}

type areaRow struct {
	people.Area
	LevelZh string
}

type areasData struct {
	// Path is the area shown and those above it, from the top.
	Path     []people.Area
	Children []areaRow
	// Edit says the user may edit the area shown and add areas under it;
	// Levels are the choices of a level, ChildLevel the one under it.
	Edit       bool
	Levels     []choice
	ChildLevel people.Level
}

// areasPage shows one area and the areas under it: the city's top for
// the city administrator, the county for a county administrator.
func (c *Console) areasPage(w http.ResponseWriter, r *http.Request) {
	p := &page{}
	if r.URL.Query().Get("saved") == "1" {
		p.Flash = "已保存。"
	}
	c.showAreas(w, r, r.URL.Query().Get("area"), http.StatusOK, p)
}

// showAreas renders the areas page of code ("" the top of the user's
// scope) with p's message.
func (c *Console) showAreas(w http.ResponseWriter, r *http.Request, code string, status int, p *page) {
	ctx, u := r.Context(), user(r)
	if code == "" && !seesAll(u) {
		code = u.Scope
	}
	d := &areasData{Levels: levelChoices, ChildLevel: people.LevelCity}
	if code != "" {
		ok, err := c.areaVisible(ctx, u, code)
		if err != nil {
			c.fault(w, r, "areas", err)
			return
		}
		if !ok {
			c.notFound(w, r)
			return
		}
		for at := code; at != "" && len(d.Path) < 5; {
			a, err := c.Store.Area(ctx, at)
			if errors.Is(err, store.ErrNotFound) {
				c.notFound(w, r)
				return
			}
			if err != nil {
				c.fault(w, r, "areas", err)
				return
			}
			d.Path = append([]people.Area{*a}, d.Path...)
			if vis, _ := c.areaVisible(ctx, u, a.Parent); !vis {
				break
			}
			at = a.Parent
		}
	}
	kids, err := c.Store.Areas(ctx, code)
	if err != nil {
		c.fault(w, r, "areas", err)
		return
	}
	for _, a := range kids {
		d.Children = append(d.Children, areaRow{a, a.Level.Zh()})
	}
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "areas", err)
		return
	}
	d.Edit = u.CanChange() && sc.EditsPlaces()
	if n := len(d.Path); n > 0 {
		// The level under the area shown, if any.
		for i, l := range levelChoices[:len(levelChoices)-1] {
			if people.Level(l.Value) == d.Path[n-1].Level {
				d.ChildLevel = people.Level(levelChoices[i+1].Value)
			}
		}
		if d.Path[n-1].Level == people.LevelCommunity {
			d.ChildLevel = ""
		}
	}
	p.Title, p.Active, p.Data = "区域", "areas", d
	c.render(w, r, status, "areas", p)
}

type orgsData struct {
	Orgs []people.Organisation
	// Edit says the user may add organisations; Form is the add form's
	// values after a refusal.
	Edit bool
	Form people.Organisation
}

func (c *Console) orgsPage(w http.ResponseWriter, r *http.Request) {
	c.showOrgs(w, r, http.StatusOK, &page{}, nil)
}

// showOrgs renders the organisations page with p's message and the add
// form's values (nil: empty).
func (c *Console) showOrgs(w http.ResponseWriter, r *http.Request, status int, p *page, form *people.Organisation) {
	ctx, u := r.Context(), user(r)
	all, err := c.Store.Organisations(ctx)
	if err != nil {
		c.fault(w, r, "organisations", err)
		return
	}
	out := all[:0]
	for _, o := range all {
		ok, err := c.orgVisible(ctx, u, &o)
		if err != nil {
			c.fault(w, r, "organisations", err)
			return
		}
		if ok {
			out = append(out, o)
		}
	}
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "organisations", err)
		return
	}
	d := &orgsData{Orgs: out, Edit: u.CanChange() && sc.EditsPlaces()}
	if form != nil {
		d.Form = *form
	} else if u.Role == access.County {
		d.Form.County = u.Scope
	}
	p.Title, p.Active, p.Data = "志愿服务组织", "orgs", d
	c.render(w, r, status, "orgs", p)
}

// volunteerForm is the registration form's state.
type volunteerForm struct {
	ID, Name, IDNumber, Community, Phone, Skills, ServiceTypes, Group, Orgs, NationalID string
	GuardianConsent                                                                     bool
	Groups                                                                              []choice
	CanRegister                                                                         bool
	// Search is the search's results, nil without the register.
	Search *searchData
}

type choice struct{ Value, Label string }

var groupChoices = []choice{
	{string(people.GroupOther), "其他"}, {string(people.GroupPartyMember), "党员"}, {string(people.GroupCivilServant), "公务员"},
	{string(people.GroupTeacher), "教师"}, {string(people.GroupCollegeStudent), "大学生"}, {string(people.GroupSchoolStudent), "中小学生"},
}

func (c *Console) volunteersPage(w http.ResponseWriter, r *http.Request) {
	if id := strings.TrimSpace(r.URL.Query().Get("id")); id != "" {
		http.Redirect(w, r, Prefix+"volunteers/"+id, http.StatusSeeOther)
		return
	}
	f := &volunteerForm{Groups: groupChoices, CanRegister: user(r).CanChange() && c.Vault != nil && c.Volunteers != nil}
	if c.Volunteers != nil {
		var err error
		if f.Search, err = c.search(r); err != nil {
			c.fault(w, r, "search", err)
			return
		}
	}
	c.render(w, r, http.StatusOK, "volunteers", &page{Title: "志愿者", Active: "volunteers", Data: f})
}

// registerVolunteer registers one volunteer from the form: the same
// checks as the import (people.Volunteer.Check and the store's), with
// the reason in Chinese when refused. The ID number is sealed before it
// is stored and never shown again.
func (c *Console) registerVolunteer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ctx, u := r.Context(), user(r)
	f := &volunteerForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Community: strings.TrimSpace(r.PostFormValue("community")), Phone: r.PostFormValue("phone"),
		Skills: r.PostFormValue("skills"), ServiceTypes: r.PostFormValue("service_types"), Group: r.PostFormValue("group"),
		Orgs: r.PostFormValue("orgs"), NationalID: r.PostFormValue("national_id"),
		GuardianConsent: r.PostFormValue("guardian_consent") == "yes", Groups: groupChoices, CanRegister: c.Vault != nil}
	p := &page{Title: "志愿者", Active: "volunteers", Data: f}
	refuse := func(code int, msg string) {
		p.Error = "未登记：" + msg
		c.render(w, r, code, "volunteers", p)
	}
	if c.Vault == nil || c.Volunteers == nil {
		refuse(http.StatusServiceUnavailable, "云端没有身份证件号码密钥，不能登记志愿者。请联系系统管理员。")
		return
	}
	group, err := people.ParseGroup(f.Group)
	if err != nil {
		refuse(http.StatusBadRequest, people.Explain(err).Zh)
		return
	}
	v := people.Volunteer{ID: f.ID, Name: f.Name, IDNumber: strings.TrimSpace(r.PostFormValue("id_number")),
		Community: f.Community, Phone: f.Phone, Skills: splitList(f.Skills), ServiceTypes: splitList(f.ServiceTypes),
		Group: group, Orgs: splitList(f.Orgs), NationalID: f.NationalID, GuardianConsent: f.GuardianConsent}
	if u.Role == access.Org && len(v.Orgs) == 0 {
		v.Orgs = []string{u.Scope}
	}
	if err := v.Check(c.Vault, c.now().In(time.UTC)); err != nil {
		refuse(http.StatusUnprocessableEntity, reasonZh(err))
		return
	}
	if ok, err := c.volunteerVisible(ctx, u, &v); err != nil {
		c.fault(w, r, "register", err)
		return
	} else if !ok {
		refuse(http.StatusUnprocessableEntity, "这个社区（村）或组织不在您的管理范围内，请核对社区代码或组织编号。")
		return
	}
	// The register keeps the registration in the volunteer's history and
	// the audit log.
	sc, err := c.volunteerScope(ctx, u)
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	_, err = c.Volunteers.Register(ctx, sc, u.Name, people.Form{ID: f.ID, Name: f.Name,
		IDNumber: r.PostFormValue("id_number"), Community: f.Community, Phone: f.Phone, Skills: v.Skills,
		ServiceTypes: v.ServiceTypes, Group: string(group), Orgs: v.Orgs, NationalID: f.NationalID,
		GuardianConsent: f.GuardianConsent})
	if people.Explain(err) != nil {
		refuse(http.StatusUnprocessableEntity, reasonZh(err))
		return
	}
	if err != nil {
		c.fault(w, r, "register", err)
		return
	}
	http.Redirect(w, r, Prefix+"volunteers/"+v.ID+"?registered=1", http.StatusSeeOther)
}

// splitList splits a form field of several values like the import does.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' || r == '、' || r == ',' || r == '，' })
}

// reasonZh is why a row or a form was refused, in Chinese, with a detail
// that names no person.
func reasonZh(err error) string {
	rs := people.Explain(err)
	if rs == nil {
		return "内容有误，请核对后再试。"
	}
	zh := rs.Zh
	if rs == people.ErrDuplicatePerson {
		// The other registration may be outside the user's scope.
		return zh
	}
	// A detail that quotes the file (a code, a value) helps the person
	// who fixes it; one in English words does not.
	if d, ok := strings.CutPrefix(err.Error(), rs.En+": "); ok && strings.ContainsFunc(d, func(r rune) bool {
		return r == '"' || r >= '0' && r <= '9' || r > unicode.MaxASCII
	}) {
		zh += "（" + d + "）"
	}
	return zh
}

type volunteerView struct {
	V *people.Volunteer
	// Name and Phone are masked for a user who only reads.
	Name, Phone string
	Community   string
	GroupZh     string
	// Card is the card desk, nil without one.
	Card *cardView
	// Register says the register's parts are shown: History, the export,
	// and for one who may change it (Edit) the edit and deregistration.
	Register bool
	History  []store.HistoryEntry
	Edit     bool
	Groups   []choice
	// Tasks are the open orders the volunteer is assigned to, those the
	// user sees.
	Tasks []orderRow
	// Certs are the certificates of service (certificates.go).
	Certs *certView
}

func (c *Console) volunteerPage(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	p := &page{}
	if r.URL.Query().Get("registered") == "1" {
		p.Flash = "已登记。身份证件号码已加密保存，页面上只显示遮盖后的号码。"
	}
	c.showVolunteer(w, r, v, http.StatusOK, p, nil)
}

// volunteerOf is the volunteer the path names, if the user sees them;
// else it answers 404 (or the fault) itself.
func (c *Console) volunteerOf(w http.ResponseWriter, r *http.Request) (*people.Volunteer, bool) {
	ctx := r.Context()
	v, err := c.Store.Volunteer(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return nil, false
	}
	if err != nil {
		c.fault(w, r, "volunteer", err)
		return nil, false
	}
	if ok, err := c.volunteerVisible(ctx, user(r), v); err != nil {
		c.fault(w, r, "volunteer", err)
		return nil, false
	} else if !ok {
		c.notFound(w, r)
		return nil, false
	}
	return v, true
}

// showVolunteer renders v's page with p's message and, with the card
// desk, v's cards (cv carries what was just issued).
func (c *Console) showVolunteer(w http.ResponseWriter, r *http.Request, v *people.Volunteer, code int, p *page, cv *cardView) {
	ctx, u := r.Context(), user(r)
	view := &volunteerView{V: v, Name: v.Name, Phone: v.Phone, Community: v.Community}
	if !u.CanChange() {
		view.Name, view.Phone = v.MaskedName(), people.MaskPhone(v.Phone)
	}
	if a, err := c.Store.Area(ctx, v.Community); err == nil {
		view.Community = a.Name + "（" + a.Code + "）"
	}
	for _, g := range groupChoices {
		if g.Value == string(v.Group) {
			view.GroupZh = g.Label
		}
	}
	if c.Volunteers != nil {
		sc, err := c.volunteerScope(ctx, u)
		if err == nil {
			view.History, err = c.Volunteers.History(ctx, sc, v.ID)
			if errors.Is(err, store.ErrNotFound) && !v.Deregistered.IsZero() {
				// The register keeps no history to show of one
				// deregistered.
				err = nil
			}
		}
		if err != nil {
			c.fault(w, r, "history", err)
			return
		}
		view.Register = true
		view.Groups = groupChoices
		view.Edit = u.CanChange() && v.Deregistered.IsZero()
	}
	var err error
	if view.Tasks, err = c.volunteerTasks(ctx, u, v.ID); err != nil {
		c.fault(w, r, "tasks", err)
		return
	}
	if view.Certs, err = c.certificatesOf(ctx, u, v); err != nil {
		c.fault(w, r, "certificates", err)
		return
	}
	if c.Cards != nil {
		if cv == nil {
			cv = &cardView{}
		}
		var err error
		if cv.Cards, err = c.Cards.Cards(ctx, v.ID); err != nil {
			c.fault(w, r, "cards", err)
			return
		}
		cv.Desk, cv.Media = issuesCards(u), cards.Media
		view.Card = cv
	}
	c.Log.Info("console: volunteer read", "who", u.Name, "volunteer", v.ID)
	p.Title, p.Active, p.Data = "志愿者 "+wire.MaskName(v.Name), "volunteers", view
	c.render(w, r, code, "volunteer", p)
}

type importData struct {
	Kind     string
	File     string
	Report   *people.Report
	Problems []problemRow
}

type problemRow struct {
	Line   int
	Reason string
}

var importKinds = []choice{
	{string(people.KindVolunteers), "志愿者"}, {string(people.KindOrgs), "志愿服务组织"}, {string(people.KindAreas), "区域"},
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "import", &page{Title: "导入", Active: "import", Data: &importData{Kind: string(people.KindVolunteers)}})
}

// maxImport bounds an uploaded file (a 100,000-row XLSX is about 10 MB);
// the bound of the request is the larger of it and the release upload's.
const maxImport = 64 << 20

// importFile imports the uploaded file as `leifeng-cloud import` does:
// good rows are stored, each bad row is reported with its line and
// reason, and the same file again changes nothing. The form's parts are
// the CSRF token, the kind, then the file, which streams into the
// importer.
func (c *Console) importFile(w http.ResponseWriter, r *http.Request) {
	d := &importData{Kind: string(people.KindVolunteers)}
	p := &page{Title: "导入", Active: "import", Data: d}
	refuse := func(code int, msg string) {
		p.Error = msg
		c.render(w, r, code, "import", p)
	}
	mr := formParts(r)
	if mr == nil {
		refuse(http.StatusBadRequest, "请选择要导入的文件后再提交。")
		return
	}
	var rep *people.Report
	var err error
	for {
		part, perr := mr.NextPart()
		if perr == io.EOF {
			break
		}
		if perr != nil {
			refuse(http.StatusBadRequest, "文件没有传完整，请重新选择文件再导入。")
			return
		}
		switch part.FormName() {
		case "kind":
			b, _ := io.ReadAll(io.LimitReader(part, 32))
			d.Kind = string(b)
		case "file":
			d.File = part.FileName()
			kind := people.Kind(d.Kind)
			if kind != people.KindAreas && kind != people.KindOrgs && kind != people.KindVolunteers {
				refuse(http.StatusBadRequest, "请选择导入的内容：区域、志愿服务组织或志愿者。")
				return
			}
			if kind == people.KindVolunteers && c.Vault == nil {
				refuse(http.StatusServiceUnavailable, "云端没有身份证件号码密钥，不能导入志愿者。请联系系统管理员。")
				return
			}
			rep, err = people.Import(r.Context(), c.Store, kind, people.FormatOf(d.File), part,
				people.Options{Vault: c.Vault, Now: c.now})
		}
	}
	if d.File == "" {
		refuse(http.StatusBadRequest, "请选择要导入的文件后再提交。")
		return
	}
	d.Report = rep
	if rep != nil {
		for _, pr := range rep.Problems {
			d.Problems = append(d.Problems, problemRow{pr.Line, reasonZh(pr.Err)})
		}
		c.audit(r, "import."+d.Kind, d.File, nil, map[string]int{"rows": rep.Rows, "added": rep.Added,
			"updated": rep.Updated, "unchanged": rep.Unchanged, "refused": len(rep.Problems)})
	}
	if err != nil {
		if errors.Is(err, people.ErrFile) {
			refuse(http.StatusUnprocessableEntity, "文件无法导入："+strings.TrimPrefix(err.Error(), people.ErrFile.Error()+": ")+
				"。请检查文件格式（CSV 或 XLSX）和表头后再试。")
			return
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("文件太大（上限 %d MiB）。请拆成几个文件，或在服务器上用 leifeng-cloud import 导入。", tooLarge.Limit>>20))
			return
		}
		c.fault(w, r, "import", err)
		return
	}
	c.render(w, r, http.StatusOK, "import", p)
}
