package access

import "errors"

// The decisions on changes to the city's tree and its organisations:
// the city administrator changes everything; a county administrator the
// areas of its county's subtree and the organisations of its county,
// without moving anything out of it; nobody else changes either. A
// station is moved by the city or a county administrator (within its
// county); a station manager may rename its station but not move it.

// The refusals of the decisions below; callers answer ErrOutOfScope like
// a thing that does not exist (404).
var (
	// ErrNotPermitted: the role may not make this kind of change at all.
	ErrNotPermitted = errors.New("access: the role may not change this")
	// ErrOutOfScope: the thing changed lies outside the scope.
	ErrOutOfScope = errors.New("access: out of scope")
	// ErrOutsideScope: the change would put the thing (or hang it)
	// outside the scope.
	ErrOutsideScope = errors.New("access: the change leads outside the scope")
)

// EditsPlaces reports whether the scope's role may add and edit areas and
// organisations (each in its scope): the city and county administrators.
func (s *Scope) EditsPlaces() bool {
	return s != nil && (s.Role == City || s.Role == County)
}

// ChangeArea decides on storing the area code under parent; exists says
// it is stored already, under oldParent. A county administrator may edit
// the areas of its subtree (its county too, where it stays) and add or
// move areas only under an area of it.
func (s *Scope) ChangeArea(code string, exists bool, oldParent, parent string) error {
	switch {
	case !s.EditsPlaces():
		return ErrNotPermitted
	case s.All():
		return nil
	case exists && !s.Area(code):
		return ErrOutOfScope
	case (!exists || parent != oldParent) && !s.Area(parent):
		return ErrOutsideScope
	}
	return nil
}

// OrgPlace is where an organisation lies, for the decisions on it.
type OrgPlace struct{ ID, County, Community string }

// ChangeOrganisation decides on storing the organisation o; old is where
// it lies now (nil: a new one). A county administrator may edit the
// organisations in its scope, and give one only a county and a linked
// community of its county (at least one of them).
func (s *Scope) ChangeOrganisation(old *OrgPlace, o OrgPlace) error {
	switch {
	case !s.EditsPlaces():
		return ErrNotPermitted
	case s.All():
		return nil
	case old != nil && !s.Organisation(old.ID, old.County, old.Community):
		return ErrOutOfScope
	case o.County != "" && !s.Area(o.County), o.Community != "" && !s.Area(o.Community),
		!s.Organisation(o.ID, o.County, o.Community):
		return ErrOutsideScope
	}
	return nil
}

// MoveStation decides on putting a station already in scope into
// community: a station manager may not move one; a county administrator
// only within its county.
func (s *Scope) MoveStation(community string) error {
	switch {
	case s == nil || s.Role == Station:
		return ErrNotPermitted
	case !s.Area(community):
		return ErrOutsideScope
	}
	return nil
}
