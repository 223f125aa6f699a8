package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/activities"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
)

// The activity page (活动预告): the activities in the user's scope, a form
// to add one and, for each the user may change, to edit or delete it.
// The rules are cloud/activities', the same as the JSON API's; the
// stations concerned get their new documents as soon as one changes.

func (c *Console) activityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"activities", c.page("activities", c.activitiesPage))
	mux.HandleFunc("POST "+Prefix+"activities", c.change("activities", c.addActivity))
	mux.HandleFunc("GET "+Prefix+"activities/{id}", c.page("activities", c.activityPage))
	mux.HandleFunc("POST "+Prefix+"activities/{id}", c.change("activities", c.editActivity))
	mux.HandleFunc("POST "+Prefix+"activities/{id}/delete", c.change("activities", c.deleteActivity))
}

func (c *Console) activityList() *activities.List {
	return &activities.List{Store: c.Store, Fleet: c.Fleet, Now: c.Now, Log: c.Log}
}

// activityRow is an activity in the list, and whether the user may
// change it.
type activityRow struct {
	store.Activity
	Editable bool
	// KindZh is the kind's Chinese name.
	KindZh string
}

// activityForm is the add or edit form as typed.
type activityForm struct {
	ID                      int64
	Title, Body, Place, Org string
	Start, End              string // datetime-local, China time
	Stations                map[string]bool
	Communities             string // area codes, comma-separated
	// The national record's fields: 服务类别, 服务内容, 活动负责人, 记录人,
	// the kind and whether it is its stations' default activity.
	Category, Content, Lead, Recorder, Kind string
	Default                                 bool
}

type activitiesData struct {
	List    []activityRow
	Ended   bool
	Form    activityForm
	Editing bool
	// Stations are those the user may pick; Areas says whether the user
	// may name areas (a county, the city).
	Stations []store.Station
	Areas    bool
	CityWide bool
	// Categories and Kinds are the form's choices.
	Categories []string
	Kinds      []kindChoice
}

// kindChoice is an activity kind as the form offers it.
type kindChoice struct{ Kind, Zh string }

// localInput is the datetime-local format of the forms, in China time.
const localInput = "2006-01-02T15:04"

func formOf(a *store.Activity) activityForm {
	f := activityForm{ID: a.ID, Title: a.Title, Body: a.Body, Place: a.Place, Org: a.Org,
		Start: a.Start.In(fleet.CST).Format(localInput), End: a.End.In(fleet.CST).Format(localInput),
		Stations: map[string]bool{}, Communities: strings.Join(a.Areas, ", "),
		Category: a.Category, Content: a.Content, Lead: a.Lead, Recorder: a.Recorder, Kind: a.Kind, Default: a.Default}
	for _, s := range a.Stations {
		f.Stations[s] = true
	}
	return f
}

// readForm reads the posted form into f and the activity it says; a
// time that does not parse stays zero (the check refuses it).
func readForm(r *http.Request) (activityForm, *store.Activity) {
	f := activityForm{Title: r.PostFormValue("title"), Body: r.PostFormValue("body"), Place: r.PostFormValue("place"),
		Org: strings.TrimSpace(r.PostFormValue("org")), Start: r.PostFormValue("start"), End: r.PostFormValue("end"),
		Stations: map[string]bool{}, Communities: r.PostFormValue("communities"),
		Category: r.PostFormValue("category"), Content: r.PostFormValue("content"), Lead: r.PostFormValue("lead"),
		Recorder: r.PostFormValue("recorder"), Kind: r.PostFormValue("kind"), Default: r.PostFormValue("default") == "1"}
	a := &store.Activity{Title: f.Title, Body: f.Body, Place: f.Place, Org: f.Org, Category: f.Category, Content: f.Content,
		Lead: f.Lead, Recorder: f.Recorder, Kind: f.Kind, Default: f.Default}
	a.Start, _ = time.ParseInLocation(localInput, f.Start, fleet.CST)
	a.End, _ = time.ParseInLocation(localInput, f.End, fleet.CST)
	for _, s := range r.PostForm["stations"] {
		f.Stations[s] = true
		a.Stations = append(a.Stations, s)
	}
	a.Areas = strings.FieldsFunc(f.Communities, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '、' })
	return f, a
}

func (c *Console) activitiesPage(w http.ResponseWriter, r *http.Request) {
	d := &activitiesData{Ended: r.URL.Query().Get("ended") == "1", Form: activityForm{Stations: map[string]bool{}}}
	c.showActivities(w, r, http.StatusOK, &page{}, d)
}

func (c *Console) showActivities(w http.ResponseWriter, r *http.Request, code int, p *page, d *activitiesData) {
	ctx, u := r.Context(), user(r)
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "activities", err)
		return
	}
	l := c.activityList()
	list, err := l.Visible(ctx, sc, d.Ended)
	if err != nil {
		c.fault(w, r, "activities", err)
		return
	}
	v, err := l.ViewOf(ctx, sc)
	if err != nil {
		c.fault(w, r, "activities", err)
		return
	}
	d.List = d.List[:0]
	for _, a := range list {
		d.List = append(d.List, activityRow{Activity: a, Editable: u.CanChange() && v.MayChange(&a) == nil, KindZh: activities.KindName(a.Kind)})
	}
	if d.Stations, err = c.visibleStations(ctx, u); err != nil {
		c.fault(w, r, "activities", err)
		return
	}
	d.Areas = u.Role == access.City || u.Role == access.County
	d.CityWide = u.Role == access.City
	d.Categories = activities.Categories
	d.Kinds = d.Kinds[:0]
	for _, k := range activities.Kinds {
		d.Kinds = append(d.Kinds, kindChoice(k))
	}
	p.Title, p.Active, p.Data = "活动预告", "activities", d
	c.render(w, r, code, "activities", p)
}

// failActivity shows a refusal of cloud/activities on the page with what
// was typed, or a fault.
func (c *Console) failActivity(w http.ResponseWriter, r *http.Request, d *activitiesData, err error) {
	var ae *activities.Error
	switch {
	case errors.Is(err, activities.ErrNotFound):
		c.notFound(w, r)
	case errors.As(err, &ae):
		c.showActivities(w, r, ae.Status, &page{Error: "未保存：" + ae.Zh}, d)
	default:
		c.fault(w, r, "activity", err)
	}
}

func (c *Console) addActivity(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	f, a := readForm(r)
	sc, err := c.scopeOf(r.Context(), user(r))
	if err == nil {
		err = c.activityList().Create(r.Context(), sc, user(r).Name, a)
	}
	if err != nil {
		c.failActivity(w, r, &activitiesData{Form: f}, err)
		return
	}
	c.audit(r, "activity.create", "activity "+strconv.FormatInt(a.ID, 10), nil, a)
	c.showActivities(w, r, http.StatusOK, &page{Flash: fmt.Sprintf("已发布活动预告“%s”，相关站点的终端将随即显示。", a.Title)},
		&activitiesData{Form: activityForm{Stations: map[string]bool{}}})
}

// activityOf is the activity of r's path as the user sees it.
func (c *Console) activityOf(r *http.Request) (*store.Activity, *access.Scope, error) {
	sc, err := c.scopeOf(r.Context(), user(r))
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, nil, activities.ErrNotFound
	}
	a, err := c.activityList().Get(r.Context(), sc, id)
	return a, sc, err
}

func (c *Console) activityPage(w http.ResponseWriter, r *http.Request) {
	a, _, err := c.activityOf(r)
	if err != nil {
		c.failActivity(w, r, &activitiesData{}, err)
		return
	}
	c.showActivities(w, r, http.StatusOK, &page{}, &activitiesData{Form: formOf(a), Editing: true})
}

func (c *Console) editActivity(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	cur, sc, err := c.activityOf(r)
	if err != nil {
		c.failActivity(w, r, &activitiesData{}, err)
		return
	}
	f, a := readForm(r)
	f.ID, a.ID = cur.ID, cur.ID
	before, err := c.activityList().Update(r.Context(), sc, a)
	if err != nil {
		c.failActivity(w, r, &activitiesData{Form: f, Editing: true}, err)
		return
	}
	c.audit(r, "activity.edit", "activity "+strconv.FormatInt(a.ID, 10), before, a)
	c.showActivities(w, r, http.StatusOK, &page{Flash: fmt.Sprintf("已保存活动预告“%s”。", a.Title)},
		&activitiesData{Form: activityForm{Stations: map[string]bool{}}})
}

func (c *Console) deleteActivity(w http.ResponseWriter, r *http.Request) {
	cur, sc, err := c.activityOf(r)
	if err == nil {
		_, err = c.activityList().Delete(r.Context(), sc, cur.ID)
	}
	if err != nil {
		c.failActivity(w, r, &activitiesData{Form: activityForm{Stations: map[string]bool{}}}, err)
		return
	}
	c.audit(r, "activity.delete", "activity "+strconv.FormatInt(cur.ID, 10), cur, nil)
	c.showActivities(w, r, http.StatusOK, &page{Flash: fmt.Sprintf("已删除活动预告“%s”，相关站点的终端将不再显示。", cur.Title)},
		&activitiesData{Form: activityForm{Stations: map[string]bool{}}})
}
