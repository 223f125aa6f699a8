// Package access says who a request acts for in the cloud and what they
// may see and change: users, their role and scope.
//
// A user has one role. The role's scope says which part of the city the
// user sees:
//
//	city     the whole city (Scope is empty)
//	county   one county: Scope is the county's area code
//	station  listed stations: Scope is station IDs separated by commas
//	org      one volunteer organisation: Scope is its ID
//	auditor  reads everything in Scope (an area code; empty is the city),
//	         changes nothing
//
// Out of scope is answered as if it did not exist (404), never with data.
package access

import (
	"context"
	"fmt"
	"strings"
)

// Role is a user's role.
type Role string

// The roles.
const (
	City    Role = "city"
	County  Role = "county"
	Station Role = "station"
	Org     Role = "org"
	Auditor Role = "auditor"
)

// Roles lists the roles, widest first.
var Roles = []Role{City, County, Station, Org, Auditor}

// ParseRole checks s is a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("access: unknown role %q (city, county, station, org or auditor)", s)
}

// Zh is the role's name in the console.
func (r Role) Zh() string {
	switch r {
	case City:
		return "市级管理员"
	case County:
		return "县（区）管理员"
	case Station:
		return "站点管理员"
	case Org:
		return "组织管理员"
	case Auditor:
		return "审计员"
	}
	return string(r)
}

// User is a signed-in person (or a script holding one's API token).
type User struct {
	ID   int64
	Name string
	Role Role
	// Scope is what the role is limited to; see the package comment.
	Scope string
	// MustChangePassword is set for a new user until the first
	// password change; such a user can do nothing else.
	MustChangePassword bool
	// Via is how the request was authenticated: "session" or "token".
	Via string
}

// CanChange reports whether the user may change anything at all; an
// auditor reads only. Each change checks its own scope besides.
func (u *User) CanChange() bool { return u != nil && u.Role != Auditor }

// Stations is the station IDs of a station manager's scope.
func (u *User) Stations() []string {
	if u == nil || u.Role != Station {
		return nil
	}
	var ids []string
	for _, s := range strings.Split(u.Scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ids = append(ids, s)
		}
	}
	return ids
}

type userKey struct{}

// WithUser returns ctx acting for u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom is the user ctx acts for, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}
