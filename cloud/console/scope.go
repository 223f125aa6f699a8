package console

import (
	"context"
	"errors"
	"slices"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// What each role sees (access's package comment): the city administrator
// everything; a county administrator and an auditor with a scope one
// county (an area code: its stations are those whose county is that
// area's name or code); a station manager the listed stations; an
// organisation administrator no station.

// seesAll says whether u's scope is the whole city.
func seesAll(u *access.User) bool {
	return u.Role == access.City || u.Role == access.Auditor && u.Scope == ""
}

// countyScope is the county a county administrator or a scoped auditor
// is limited to: its code and name.
func (c *Console) countyScope(ctx context.Context, u *access.User) (code, name string, err error) {
	if u.Role != access.County && u.Role != access.Auditor || u.Scope == "" {
		return "", "", nil
	}
	a, err := c.Store.Area(ctx, u.Scope)
	if errors.Is(err, store.ErrNotFound) {
		return u.Scope, "", nil
	}
	if err != nil {
		return "", "", err
	}
	return a.Code, a.Name, nil
}

// stationVisible says whether u may see st.
func (c *Console) stationVisible(ctx context.Context, u *access.User, st store.Station) (bool, error) {
	switch {
	case seesAll(u):
		return true, nil
	case u.Role == access.Station:
		return slices.Contains(u.Stations(), st.ID), nil
	case u.Role == access.County || u.Role == access.Auditor:
		code, name, err := c.countyScope(ctx, u)
		if err != nil {
			return false, err
		}
		return st.County != "" && (st.County == code || st.County == name), nil
	}
	return false, nil
}

// visibleStations is the stations u sees, by ID.
func (c *Console) visibleStations(ctx context.Context, u *access.User) ([]store.Station, error) {
	all, err := c.Store.Stations(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, st := range all {
		ok, err := c.stationVisible(ctx, u, st)
		if err != nil {
			return nil, err
		}
		if ok {
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

// countyOf is the county-level area above (or at) code, "" when the
// tree does not reach one.
func (c *Console) countyOf(ctx context.Context, code string) (string, error) {
	for range 4 {
		a, err := c.Store.Area(ctx, code)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if a.Level == people.LevelCounty {
			return a.Code, nil
		}
		if a.Parent == "" {
			return "", nil
		}
		code = a.Parent
	}
	return "", nil
}

// areaVisible says whether u sees area code: the city everything, a
// county administrator its county and below.
func (c *Console) areaVisible(ctx context.Context, u *access.User, code string) (bool, error) {
	if seesAll(u) {
		return true, nil
	}
	if u.Role != access.County && u.Role != access.Auditor {
		return false, nil
	}
	county, err := c.countyOf(ctx, code)
	return county != "" && county == u.Scope, err
}

// volunteerVisible says whether u sees v: by the county of the community
// v lives in, or for an organisation administrator v's membership.
func (c *Console) volunteerVisible(ctx context.Context, u *access.User, v *people.Volunteer) (bool, error) {
	if u.Role == access.Org {
		return slices.Contains(v.Orgs, u.Scope), nil
	}
	return c.areaVisible(ctx, u, v.Community)
}

// orgVisible says whether u sees organisation o.
func (c *Console) orgVisible(ctx context.Context, u *access.User, o *people.Organisation) (bool, error) {
	switch {
	case seesAll(u):
		return true, nil
	case u.Role == access.Org:
		return o.ID == u.Scope, nil
	case o.County != "":
		return c.areaVisible(ctx, u, o.County)
	case o.Community != "":
		return c.areaVisible(ctx, u, o.Community)
	}
	return false, nil
}
