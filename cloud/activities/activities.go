// Package activities is the console's list of activity announcements
// (活动预告): what is on, where, when, organised by whom and for which
// stations. It holds the rules the JSON API and the console share — what
// an activity must say, who sees and who may change which — and sends the
// stations concerned their new documents when one changes, so that the
// kiosks announce it at once (fleet.Service.RefreshActivity).
//
// An activity also carries the national service record's fields (issue
// 12: 服务类别 from the plan's list, 服务内容, 活动负责人, 记录人), its kind
// (a service, or a meeting or routine duty the hour rules may exclude),
// and may be its stations' default activity, the one a check-in with no
// activity chosen belongs to.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
)

// Limits of an activity's fields, in characters (the kiosk's own limits
// for an announcement are wider).
const (
	MaxTitle   = 100
	MaxBody    = 1000
	MaxPlace   = 100
	MaxTargets = 200
)

// Error is a refusal with the status to answer and the reason in English
// and in Chinese (what to do next).
type Error struct {
	Status int
	En, Zh string
}

func (e *Error) Error() string { return "activities: " + e.En }

func refuse(status int, en, zh string) *Error { return &Error{Status: status, En: en, Zh: zh} }

// ErrNotFound is the refusal for an activity that does not exist or is
// out of the user's scope: the same answer for both.
var ErrNotFound = refuse(http.StatusNotFound, "no such activity", "找不到这项活动：可能已被删除，或不在您的管理范围内。")

// List is the activity list as one user may use it.
type List struct {
	Store *store.Store
	// Fleet, when set, receives the stations to refresh after a change.
	Fleet *fleet.Service
	Now   func() time.Time
	Log   *slog.Logger
}

func (l *List) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// View is what a scope sees of the activities: the stations' communities
// and the ancestors of its areas, read once.
type View struct {
	sc          *access.Scope
	communities map[string]string
	// above are the areas above the scope's areas (and the areas
	// themselves): an activity for one of them is for stations in scope.
	above map[string]bool
}

// ViewOf reads what sc needs to decide on activities.
func (l *List) ViewOf(ctx context.Context, sc *access.Scope) (*View, error) {
	v := &View{sc: sc, above: map[string]bool{}}
	var err error
	if v.communities, err = l.Store.StationsCommunities(ctx); err != nil {
		return nil, err
	}
	if sc.All() {
		return v, nil
	}
	areas, err := l.Store.AllAreas(ctx)
	if err != nil {
		return nil, err
	}
	parent := map[string]string{}
	for _, a := range areas {
		parent[a.Code] = a.Parent
	}
	for c := range sc.Areas {
		for i := 0; c != "" && i < 8 && !v.above[c]; i++ {
			v.above[c] = true
			c = parent[c]
		}
	}
	return v, nil
}

// Sees reports whether the scope sees a: one for the whole city, for a
// station or area in (or above) the scope, or organised by one of its
// organisations.
func (v *View) Sees(a *store.Activity) bool {
	if v.sc.All() || a.CityWide() || v.sc.Orgs[a.Org] {
		return true
	}
	for _, s := range a.Stations {
		if v.sc.Station(s, v.communities[s]) {
			return true
		}
	}
	for _, c := range a.Areas {
		if v.above[c] {
			return true
		}
	}
	return false
}

// MayChange refuses a change of a the scope may not make: the city
// changes any activity; a county only those for its stations and areas;
// a station manager only those for its stations; nobody else any.
func (v *View) MayChange(a *store.Activity) error {
	sc := v.sc
	if err := mayAnnounce(sc); err != nil || sc.Role == access.City {
		return err
	}
	switch {
	case a.CityWide():
		return refuse(http.StatusForbidden, "an activity for the whole city is the city's",
			"面向全市所有站点的活动只有市级管理员可以发布和修改；请选择您管理的站点或社区。")
	case sc.Role == access.Station && len(a.Areas) > 0:
		return refuse(http.StatusUnprocessableEntity, "a station manager announces for its stations",
			"站点管理员只能为自己的站点发布活动预告，请选择站点而不是社区。")
	}
	for _, s := range a.Stations {
		if !sc.Station(s, v.communities[s]) {
			return refuse(http.StatusUnprocessableEntity, "station "+s+" is out of scope",
				"站点 "+s+" 不在您的管理范围内，请只选择您管理的站点。")
		}
	}
	for _, c := range a.Areas {
		if !sc.Area(c) {
			return refuse(http.StatusUnprocessableEntity, "area "+c+" is out of scope",
				"区域 "+c+" 不在您的管理范围内，请只选择您所在县（区）的社区。")
		}
	}
	return nil
}

// mayAnnounce refuses a role that announces no activities at all.
func mayAnnounce(sc *access.Scope) error {
	switch sc.Role {
	case access.City, access.County, access.Station:
		return nil
	}
	return refuse(http.StatusForbidden, "only station managers, counties and the city announce activities",
		"只有站点管理员、县（区）和市级管理员可以发布和修改活动预告。")
}

// Visible lists the activities sc sees, soonest first; ended ones too
// when withEnded.
func (l *List) Visible(ctx context.Context, sc *access.Scope, withEnded bool) ([]store.Activity, error) {
	v, err := l.ViewOf(ctx, sc)
	if err != nil {
		return nil, err
	}
	after := l.now()
	if withEnded {
		after = time.Time{}
	}
	all, err := l.Store.Activities(ctx, after)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(a store.Activity) bool { return !v.Sees(&a) }), nil
}

// Get is activity id as sc sees it, or ErrNotFound.
func (l *List) Get(ctx context.Context, sc *access.Scope, id int64) (*store.Activity, error) {
	a, err := l.Store.Activity(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v, err := l.ViewOf(ctx, sc)
	if err != nil {
		return nil, err
	}
	if !v.Sees(a) {
		return nil, ErrNotFound
	}
	return a, nil
}

// Create checks a and adds it for the user sc is of, named who.
func (l *List) Create(ctx context.Context, sc *access.Scope, who string, a *store.Activity) error {
	if err := l.check(ctx, sc, a); err != nil {
		return err
	}
	a.CreatedBy = who
	if err := l.Store.CreateActivity(ctx, a, l.now()); err != nil {
		return err
	}
	l.refresh(ctx, nil, a)
	return nil
}

// Update checks a and stores it over activity a.ID, which sc must see
// and may change; it returns the activity as it was.
func (l *List) Update(ctx context.Context, sc *access.Scope, a *store.Activity) (*store.Activity, error) {
	before, err := l.changeable(ctx, sc, a.ID)
	if err != nil {
		return nil, err
	}
	if err := l.check(ctx, sc, a); err != nil {
		return nil, err
	}
	a.CreatedBy, a.Created = before.CreatedBy, before.Created
	if err := l.Store.UpdateActivity(ctx, a, l.now()); err != nil {
		return nil, err
	}
	l.refresh(ctx, before, a)
	return before, nil
}

// Delete removes activity id, which sc must see and may change, and
// returns it.
func (l *List) Delete(ctx context.Context, sc *access.Scope, id int64) (*store.Activity, error) {
	before, err := l.changeable(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if err := l.Store.DeleteActivity(ctx, id); err != nil {
		return nil, err
	}
	l.refresh(ctx, before, nil)
	return before, nil
}

func (l *List) changeable(ctx context.Context, sc *access.Scope, id int64) (*store.Activity, error) {
	a, err := l.Get(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	v, err := l.ViewOf(ctx, sc)
	if err != nil {
		return nil, err
	}
	if err := v.MayChange(a); err != nil {
		return nil, refuse(http.StatusForbidden, "the activity is not one you may change: "+err.(*Error).En,
			"这项活动面向的站点或社区超出您的管理范围：您可以查看，但不能修改或删除。如需修改，请联系发布它的管理员。")
	}
	return a, nil
}

// refresh sends the stations before or after is for their documents.
// The change is made whatever happens here: a failure is logged, and the
// fleet's next roster refresh sends them.
func (l *List) refresh(ctx context.Context, before, after *store.Activity) {
	if l.Fleet == nil {
		return
	}
	if err := l.Fleet.RefreshActivity(context.WithoutCancel(ctx), before, after); err != nil && l.Log != nil {
		l.Log.Warn("stations not refreshed after an activity changed", "err", err)
	}
}

// check tidies a and refuses what it may not be: fields missing or too
// long, an end not after the start, a category or kind not known, unknown
// stations, areas or organisation, targets outside sc, or a second
// default activity for a station.
func (l *List) check(ctx context.Context, sc *access.Scope, a *store.Activity) error {
	if err := mayAnnounce(sc); err != nil {
		return err
	}
	a.Title, a.Body, a.Place, a.Org = strings.TrimSpace(a.Title), strings.TrimSpace(a.Body), strings.TrimSpace(a.Place), strings.TrimSpace(a.Org)
	a.Stations, a.Areas = tidy(a.Stations), tidy(a.Areas)
	switch {
	case a.Title == "":
		return refuse(http.StatusUnprocessableEntity, "title missing", "请填写活动名称。")
	case utf8.RuneCountInString(a.Title) > MaxTitle, utf8.RuneCountInString(a.Body) > MaxBody, utf8.RuneCountInString(a.Place) > MaxPlace:
		return refuse(http.StatusUnprocessableEntity, "field too long",
			fmt.Sprintf("活动名称不能超过%d个字，地点不能超过%d个字，内容不能超过%d个字。", MaxTitle, MaxPlace, MaxBody))
	case a.Start.IsZero() || a.End.IsZero():
		return refuse(http.StatusUnprocessableEntity, "start or end missing", "请填写活动的开始和结束时间。")
	case !a.End.After(a.Start):
		return refuse(http.StatusUnprocessableEntity, "end not after start", "结束时间须晚于开始时间，请检查后重试。")
	case len(a.Stations)+len(a.Areas) > MaxTargets:
		return refuse(http.StatusUnprocessableEntity, "too many stations and communities",
			fmt.Sprintf("一项活动最多面向%d个站点和社区；范围更大时请选择上一级区域。", MaxTargets))
	}
	if err := checkNational(a); err != nil {
		return err
	}
	v, err := l.ViewOf(ctx, sc)
	if err != nil {
		return err
	}
	for _, s := range a.Stations {
		if _, ok := v.communities[s]; !ok {
			return refuse(http.StatusUnprocessableEntity, "unknown station "+s, "找不到站点 "+s+"，请核对站点编号。")
		}
	}
	for _, c := range a.Areas {
		if _, err := l.Store.Area(ctx, c); errors.Is(err, store.ErrNotFound) {
			return refuse(http.StatusUnprocessableEntity, "unknown area "+c, "找不到区域代码 "+c+"，请从区域列表中选择社区。")
		} else if err != nil {
			return err
		}
	}
	if a.Org != "" {
		if _, err := l.Store.Organisation(ctx, a.Org); errors.Is(err, store.ErrNotFound) {
			return refuse(http.StatusUnprocessableEntity, "unknown organisation "+a.Org, "找不到志愿服务组织 "+a.Org+"，请核对组织编号。")
		} else if err != nil {
			return err
		}
	}
	if err := v.MayChange(a); err != nil {
		return err
	}
	return l.checkDefault(ctx, a)
}

// tidy trims xs, drops empty and repeated entries, and sorts them.
func tidy(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
