// Package places adds and edits the city's areas, its volunteer
// organisations and a station's community and name, each within the
// scope of the user who asks (access.Scope's decisions) and through the
// store's checks of an import's rows, so the console's forms, the JSON
// API and `leifeng-cloud import` keep one set of rules. Refusal turns an
// error of these into the status and the Chinese sentence to answer.
package places

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// Store is what the edits need of the database.
type Store interface {
	AddArea(ctx context.Context, a people.Area, now time.Time) error
	EditArea(ctx context.Context, code string, edit func(people.Area) (people.Area, error), now time.Time) (before, after people.Area, err error)
	AddOrganisation(ctx context.Context, o people.Organisation, now time.Time) error
	EditOrganisation(ctx context.Context, id string, edit func(people.Organisation) (people.Organisation, error), now time.Time) (before, after people.Organisation, err error)
	Organisation(ctx context.Context, id string) (*people.Organisation, error)
	Registration(ctx context.Context, id string) (*store.Registration, error)
	SetStationCommunity(ctx context.Context, id, community string) (string, error)
	SetStationName(ctx context.Context, id, name string) (string, error)
}

// ErrBadName is a station name that is empty or longer than 100
// characters.
var ErrBadName = errors.New("places: a station's name has 1 to 100 characters")

// AddArea adds a new area within sc.
func AddArea(ctx context.Context, st Store, sc *access.Scope, a people.Area, now time.Time) (people.Area, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	if err := sc.ChangeArea(a.Code, false, "", a.Parent); err != nil {
		return a, err
	}
	return a, st.AddArea(ctx, a, now)
}

// EditArea edits the area code by p within sc, and returns it before and
// after.
func EditArea(ctx context.Context, st Store, sc *access.Scope, code string, p people.AreaPatch, now time.Time) (before, after people.Area, err error) {
	if !sc.EditsPlaces() {
		return before, after, access.ErrNotPermitted
	}
	return st.EditArea(ctx, code, func(old people.Area) (people.Area, error) {
		if err := sc.ChangeArea(code, true, old.Parent, old.Parent); err != nil {
			return old, err
		}
		n, err := old.Apply(p)
		if err != nil {
			return n, err
		}
		return n, sc.ChangeArea(code, true, old.Parent, n.Parent)
	}, now)
}

// AddOrganisation adds a new organisation within sc.
func AddOrganisation(ctx context.Context, st Store, sc *access.Scope, o people.Organisation, now time.Time) (people.Organisation, error) {
	if err := o.Validate(); err != nil {
		return o, err
	}
	if err := checkOrg(ctx, st, sc, nil, o); err != nil {
		return o, err
	}
	return o, st.AddOrganisation(ctx, o, now)
}

// EditOrganisation edits the organisation id by p within sc, and returns
// it before and after.
func EditOrganisation(ctx context.Context, st Store, sc *access.Scope, id string, p people.OrgPatch, now time.Time) (before, after people.Organisation, err error) {
	if !sc.EditsPlaces() {
		return before, after, access.ErrNotPermitted
	}
	return st.EditOrganisation(ctx, id, func(old people.Organisation) (people.Organisation, error) {
		if !sc.Organisation(old.ID, old.County, old.Community) {
			return old, access.ErrOutOfScope
		}
		n, err := old.Apply(p)
		if err != nil {
			return n, err
		}
		return n, checkOrg(ctx, st, sc, &old, n)
	}, now)
}

// checkOrg decides on storing o (was old; nil for a new one) within sc:
// where it lies, and a new parent, which a county administrator may pick
// only among the organisations it sees (one it does not see is refused
// like one that does not exist).
func checkOrg(ctx context.Context, st Store, sc *access.Scope, old *people.Organisation, o people.Organisation) error {
	var was *access.OrgPlace
	if old != nil {
		was = &access.OrgPlace{ID: old.ID, County: old.County, Community: old.Community}
	}
	if err := sc.ChangeOrganisation(was, access.OrgPlace{ID: o.ID, County: o.County, Community: o.Community}); err != nil {
		return err
	}
	if sc.All() || o.Parent == "" || (old != nil && old.Parent == o.Parent) {
		return nil
	}
	p, err := st.Organisation(ctx, o.Parent)
	if errors.Is(err, store.ErrNotFound) || err == nil && !sc.Organisation(p.ID, p.County, p.Community) {
		return people.ErrUnknownOrg
	}
	return err
}

// Station is what EditStation changes of a station, and what the audit
// log keeps of it before and after.
type Station struct {
	Community string `json:"community"`
	Name      string `json:"name"`
}

// EditStation moves the station id (in sc: the caller checks) to
// community and renames it, each when not nil, and returns it before and
// after.
func EditStation(ctx context.Context, st Store, sc *access.Scope, id string, community, name *string) (before, after Station, err error) {
	reg, err := st.Registration(ctx, id)
	if err != nil {
		return before, after, err
	}
	before = Station{Community: reg.Community, Name: reg.Name}
	after = before
	var n string
	if name != nil {
		// A station registered without a name keeps none until one is
		// given; a name is never taken away.
		if n = strings.TrimSpace(*name); n != before.Name && (n == "" || len([]rune(n)) > 100) {
			return before, after, ErrBadName
		}
	}
	if community != nil && strings.TrimSpace(*community) != before.Community {
		c := strings.TrimSpace(*community)
		if err := sc.MoveStation(c); err != nil {
			return before, after, err
		}
		if _, err := st.SetStationCommunity(ctx, id, c); err != nil {
			return before, after, err
		}
		after.Community = c
	}
	if name != nil && n != before.Name {
		if _, err := st.SetStationName(ctx, id, n); err != nil {
			return before, after, err
		}
		after.Name = n
	}
	return before, after, nil
}

// Refusal is the status and the Chinese sentence that answer err of this
// package's edits; what names the thing ("区域", "志愿服务组织", "站点") in
// the sentence of one not found. A status of 500 is a fault: log err.
func Refusal(err error, what string) (int, string) {
	switch r := people.Explain(err); {
	case errors.Is(err, access.ErrNotPermitted):
		if what == "站点" {
			return http.StatusForbidden, "站点所属社区由县（区）或市级管理员设置；如需更改，请联系他们。"
		}
		return http.StatusForbidden, "区域和志愿服务组织由市级或县（区）级管理员添加和修改；如需更改，请联系他们。"
	case errors.Is(err, access.ErrOutOfScope), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "找不到这个" + what + "：编号可能写错了，或不在您的管理范围内。请核对后再试。"
	case errors.Is(err, access.ErrOutsideScope), errors.Is(err, store.ErrNotCommunity):
		if what == "站点" {
			return http.StatusUnprocessableEntity, "所属社区编码不对：不是已登记的社区（村），或不在您的管理范围内。请核对编码后再试。"
		}
		return http.StatusUnprocessableEntity, "上级区域、所属县（区）或结对社区不在您的管理范围内，或不存在。请核对编码后再试。"
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, "这个编号已经有" + what + "在用了：请换一个编号，或修改已有的那个。"
	case errors.Is(err, ErrBadName):
		return http.StatusBadRequest, "站点名称不能为空，也不能超过 100 个字。"
	case r != nil:
		return http.StatusUnprocessableEntity, r.Zh + "。"
	}
	return http.StatusInternalServerError, "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"
}
