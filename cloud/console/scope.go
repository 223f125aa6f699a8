package console

import (
	"context"
	"slices"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// What each role sees is access.Resolve's decision (the cloud's one
// scope, the same as the JSON API's): the city administrator everything;
// a county administrator (or an auditor with a scope) the areas under its
// county, and the stations and organisations there; a station manager
// its stations; an organisation administrator its organisation.

// seesAll says whether u's scope is the whole city.
func seesAll(u *access.User) bool {
	return u.Role == access.City || u.Role == access.Auditor && u.Scope == ""
}

// scopeOf is what u sees.
func (c *Console) scopeOf(ctx context.Context, u *access.User) (*access.Scope, error) {
	return access.Resolve(ctx, u, c.Store)
}

// visibleStations is the stations u sees, by ID.
func (c *Console) visibleStations(ctx context.Context, u *access.User) ([]store.Station, error) {
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return nil, err
	}
	all, err := c.Store.Stations(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, st := range all {
		if sc.Station(st.ID, st.Community) {
			out = append(out, st)
		}
	}
	return out, nil
}

// station returns the station id if u sees it, else store.ErrNotFound.
func (c *Console) station(ctx context.Context, u *access.User, id string) (*store.Station, error) {
	sts, err := c.visibleStations(ctx, u)
	if err != nil {
		return nil, err
	}
	for i := range sts {
		if sts[i].ID == id {
			return &sts[i], nil
		}
	}
	return nil, store.ErrNotFound
}

// areaVisible says whether u sees area code.
func (c *Console) areaVisible(ctx context.Context, u *access.User, code string) (bool, error) {
	sc, err := c.scopeOf(ctx, u)
	return err == nil && sc.Area(code), err
}

// volunteerVisible says whether u sees v: by the community v lives in,
// or for an organisation administrator v's membership.
func (c *Console) volunteerVisible(ctx context.Context, u *access.User, v *people.Volunteer) (bool, error) {
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return false, err
	}
	if sc.All() || sc.LivesIn(v.Community) {
		return true, nil
	}
	for _, o := range v.Orgs {
		if slices.Contains(sc.VolunteerOrgs(), o) {
			return true, nil
		}
	}
	return false, nil
}

// orgVisible says whether u sees organisation o.
func (c *Console) orgVisible(ctx context.Context, u *access.User, o *people.Organisation) (bool, error) {
	sc, err := c.scopeOf(ctx, u)
	return err == nil && sc.Organisation(o.ID, o.County, o.Community), err
}
