package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Scope is what one user sees, resolved against the city's area tree:
// the decisions every route asks of it. The zero Scope sees nothing.
//
//	city     everything
//	county   the areas of its county; the stations whose community lies
//	         in them, their records; the volunteers who live there; the
//	         organisations whose county or linked community is there
//	station  its stations and their records; the volunteers who served at
//	         them or live in a station's community (store.VolunteerScopeOf);
//	         the organisations linked to a station's community
//	org      its organisation and the ones under it, and their volunteers
//	auditor  like city, or like county for the area of its scope (any
//	         level), but changes nothing
//
// A station without a community belongs to no county: only the city (and
// a city-wide auditor) sees it until it is given one.
type Scope struct {
	Role Role
	all  bool
	// Areas are the area codes in scope: a county's (or an auditor's
	// area's) whole subtree, a station manager's stations' communities,
	// an organisation administrator's organisations' linked communities.
	Areas map[string]bool
	// Stations are a station manager's stations.
	Stations map[string]bool
	// Orgs are an organisation administrator's organisation and those
	// under it.
	Orgs map[string]bool
}

// Tree is what Resolve asks of the database.
type Tree interface {
	// AreasUnder is code and every area below it (none when the code is
	// unknown).
	AreasUnder(ctx context.Context, code string) ([]string, error)
	// StationCommunities is the communities of the given stations (none
	// for a station without one).
	StationCommunities(ctx context.Context, ids []string) ([]string, error)
	// OrgsUnder is the organisation id and every one under it, and their
	// linked communities.
	OrgsUnder(ctx context.Context, id string) (orgs, communities []string, err error)
}

// ErrNoUser is returned by Resolve for a request no user is acting for.
var ErrNoUser = errors.New("access: no user")

// Resolve works out u's scope.
func Resolve(ctx context.Context, u *User, t Tree) (*Scope, error) {
	if u == nil {
		return nil, ErrNoUser
	}
	s := &Scope{Role: u.Role, Areas: map[string]bool{}, Stations: map[string]bool{}, Orgs: map[string]bool{}}
	var err error
	switch u.Role {
	case City:
		s.all = true
	case Auditor:
		if u.Scope == "" {
			s.all = true
			break
		}
		err = s.addAreas(ctx, t, u.Scope)
	case County:
		if u.Scope == "" {
			return nil, fmt.Errorf("access: county administrator %s has no county", u.Name)
		}
		err = s.addAreas(ctx, t, u.Scope)
	case Station:
		ids := u.Stations()
		for _, id := range ids {
			s.Stations[id] = true
		}
		var cs []string
		if cs, err = t.StationCommunities(ctx, ids); err == nil {
			s.add(s.Areas, cs)
		}
	case Org:
		if u.Scope == "" {
			return nil, fmt.Errorf("access: organisation administrator %s has no organisation", u.Name)
		}
		var orgs, cs []string
		if orgs, cs, err = t.OrgsUnder(ctx, u.Scope); err == nil {
			s.add(s.Orgs, orgs)
			s.add(s.Areas, cs)
		}
	default:
		return nil, fmt.Errorf("access: unknown role %q", u.Role)
	}
	if err != nil {
		return nil, fmt.Errorf("access: scope of %s: %w", u.Name, err)
	}
	return s, nil
}

func (s *Scope) addAreas(ctx context.Context, t Tree, code string) error {
	codes, err := t.AreasUnder(ctx, code)
	s.add(s.Areas, codes)
	return err
}

func (*Scope) add(set map[string]bool, xs []string) {
	for _, x := range xs {
		if x != "" {
			set[x] = true
		}
	}
}

// All reports whether the scope is the whole city (a city administrator,
// or an auditor without an area): fleet-wide things are for it only.
func (s *Scope) All() bool { return s != nil && s.all }

// Area reports whether the area is in scope.
func (s *Scope) Area(code string) bool {
	return s.All() || (s != nil && code != "" && s.Areas[code])
}

// Station reports whether the station, in community, is in scope, and so
// are its records, commands, presence and config.
func (s *Scope) Station(id, community string) bool {
	switch {
	case s == nil:
		return false
	case s.all:
		return true
	case s.Role == Station:
		return s.Stations[id]
	case s.Role == County, s.Role == Auditor:
		return s.Areas[community]
	}
	return false
}

// Organisation reports whether the organisation (its ID, its county and
// its linked community) is in scope.
func (s *Scope) Organisation(id, county, community string) bool {
	switch {
	case s == nil:
		return false
	case s.all:
		return true
	case s.Role == Org:
		return s.Orgs[id]
	case s.Role == County, s.Role == Auditor:
		return s.Areas[county] || s.Areas[community]
	case s.Role == Station:
		return s.Areas[community]
	}
	return false
}

// LivesIn reports whether a volunteer living in community is in scope by
// that alone (an organisation administrator's volunteers are those of its
// organisations, wherever they live; a station manager's also those who
// served at its stations).
func (s *Scope) LivesIn(community string) bool {
	switch {
	case s == nil:
		return false
	case s.all:
		return true
	}
	return s.Role != Org && s.Areas[community]
}

// VolunteerAreas are the areas whose residents are in scope (see
// LivesIn), sorted; with VolunteerOrgs and VolunteerStations it is the
// whole volunteer scope of a scope that is not All, for a query.
func (s *Scope) VolunteerAreas() []string {
	if s == nil || s.Role == Org {
		return nil
	}
	return slices.Sorted(maps.Keys(s.Areas))
}

// VolunteerOrgs are the organisations whose members are in scope, sorted.
func (s *Scope) VolunteerOrgs() []string {
	if s == nil || s.Role != Org {
		return nil
	}
	return slices.Sorted(maps.Keys(s.Orgs))
}

// VolunteerStations are the stations whose volunteers (listed for them or
// who checked in there) are in scope, sorted.
func (s *Scope) VolunteerStations() []string {
	if s == nil || s.Role != Station {
		return nil
	}
	return slices.Sorted(maps.Keys(s.Stations))
}
