package access

import "slices"

// Who sees and decides what in the public notice (公示) and the star
// ratings (issue 12): the API and the console ask the same questions.

// SeesServiceRecord reports whether the scope sees a service record of
// station (in community, of org): a station manager its stations'
// records, an organisation administrator its organisations', a county
// administrator or auditor the records of its areas, the city all.
func (s *Scope) SeesServiceRecord(station, community, org string) bool {
	switch {
	case s == nil:
		return false
	case s.all:
		return true
	case s.Role == Station:
		return station != "" && s.Stations[station]
	case s.Role == Org:
		return org != "" && s.Orgs[org]
	}
	return s.Area(community)
}

// ResolvesObjections reports whether the scope decides objections to a
// record of station in community: the station's managers, or for a
// record of no station the county's administrators.
func (s *Scope) ResolvesObjections(station, community string) bool {
	if s == nil {
		return false
	}
	if station != "" {
		return s.Role == Station && s.Stations[station]
	}
	return s.Role == County && s.Area(community)
}

// ApprovesStars reports whether the scope decides a star application the
// rules send to approver ("county" or "city") for a subject in areas (a
// volunteer's community; an organisation's county and community).
func (s *Scope) ApprovesStars(approver string, areas []string) bool {
	if s == nil {
		return false
	}
	switch approver {
	case "city":
		return s.Role == City
	case "county":
		return s.Role == County && slices.ContainsFunc(areas, s.Area)
	}
	return false
}
