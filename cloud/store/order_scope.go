package store

import (
	"context"

	"leifeng/cloud/access"
)

// Orders in a user's scope, shared by the JSON API and the console: the
// city sees every order; a county administrator and an auditor with an
// area the orders of their communities; a station manager those
// registered at their stations or in their stations' communities; an
// organisation administrator those dispatched to it (orders.Visible is
// the same rule for one order).

// OrderFilterOf is sc as an order filter.
func OrderFilterOf(sc *access.Scope) OrderFilter {
	switch {
	case sc.All():
		return OrderFilter{}
	case sc.Role == access.Org:
		return OrderFilter{Orgs: orEmptyStrings(sc.VolunteerOrgs())}
	case sc.Role == access.Station:
		return OrderFilter{Stations: orEmptyStrings(sc.VolunteerStations()), Communities: orEmptyStrings(sc.VolunteerAreas())}
	default:
		return OrderFilter{Communities: orEmptyStrings(sc.VolunteerAreas())}
	}
}

func orEmptyStrings(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// StatCommunities is the communities whose order statistics sc sees,
// limited to those under area when it is not empty: nil means all. ok is
// false when area is outside sc.
func (s *Store) StatCommunities(ctx context.Context, sc *access.Scope, area string) (communities []string, ok bool, err error) {
	if !sc.All() {
		communities = orEmptyStrings(sc.VolunteerAreas())
	}
	if area == "" {
		return communities, true, nil
	}
	if !sc.Area(area) {
		return nil, false, nil
	}
	under, err := s.AreasUnder(ctx, area)
	if err != nil {
		return nil, true, err
	}
	if communities == nil {
		return under, true, nil
	}
	keep := map[string]bool{}
	for _, c := range under {
		keep[c] = true
	}
	var both []string
	for _, c := range communities {
		if keep[c] {
			both = append(both, c)
		}
	}
	return orEmptyStrings(both), true, nil
}
