package access

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// tree is a small city as a Tree: one county with two communities, one
// other county with one; stations st-a, st-b in the first county, st-c in
// the other; organisations O1 > O2 (linked to a1).
type tree struct{}

var parents = map[string]string{"A": "", "a": "A", "a1": "a", "a2": "a", "B": "", "b": "B", "b1": "b"}

func (tree) AreasUnder(_ context.Context, code string) ([]string, error) {
	var out []string
	for c := range parents {
		for x := c; x != ""; x = parents[x] {
			if x == code {
				out = append(out, c)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

var stationCommunity = map[string]string{"st-a": "a1", "st-b": "a2", "st-c": "b1"}

func (tree) StationCommunities(_ context.Context, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if c := stationCommunity[id]; c != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

func (tree) OrgsUnder(_ context.Context, id string) ([]string, []string, error) {
	if id == "O1" {
		return []string{"O1", "O2"}, []string{"a1"}, nil
	}
	return nil, nil, nil
}

// Each role's decisions on stations, areas, organisations and where
// volunteers live.
func TestScopeDecisions(t *testing.T) {
	ctx := context.Background()
	resolve := func(role Role, scope string) *Scope {
		t.Helper()
		s, err := Resolve(ctx, &User{Name: "u", Role: role, Scope: scope}, tree{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	city, county, manager, org := resolve(City, ""), resolve(County, "A"), resolve(Station, "st-a, st-x"), resolve(Org, "O1")
	auditor, areaAuditor := resolve(Auditor, ""), resolve(Auditor, "b")
	type check struct {
		name string
		got  func(*Scope) bool
	}
	checks := []check{
		{"station st-a", func(s *Scope) bool { return s.Station("st-a", "a1") }},
		{"station st-c", func(s *Scope) bool { return s.Station("st-c", "b1") }},
		{"station without community", func(s *Scope) bool { return s.Station("st-z", "") }},
		{"area a2", func(s *Scope) bool { return s.Area("a2") }},
		{"org O2", func(s *Scope) bool { return s.Organisation("O2", "A", "a1") }},
		{"org of B", func(s *Scope) bool { return s.Organisation("O9", "B", "") }},
		{"lives in a2", func(s *Scope) bool { return s.LivesIn("a2") }},
		{"lives in a1", func(s *Scope) bool { return s.LivesIn("a1") }},
		{"all", func(s *Scope) bool { return s.All() }},
	}
	for _, c := range []struct {
		name string
		s    *Scope
		want string // one letter per check: y or n
	}{
		{"city", city, "yyyyyyyyy"},
		{"auditor", auditor, "yyyyyyyyy"},
		{"county A", county, "ynnyynyyn"},
		{"station manager", manager, "ynnnynnyn"},
		{"org O1", org, "nnnnynnnn"},
		{"auditor of b", areaAuditor, "nynnnnnnn"},
		{"nil", nil, "nnnnnnnnn"},
	} {
		var got strings.Builder
		for _, ch := range checks {
			if ch.got(c.s) {
				got.WriteByte('y')
			} else {
				got.WriteByte('n')
			}
		}
		if got.String() != c.want {
			t.Errorf("%s: %s, want %s (%v)", c.name, got.String(), c.want, checks)
		}
	}
	if got := manager.VolunteerStations(); !slices.Equal(got, []string{"st-a", "st-x"}) {
		t.Errorf("VolunteerStations = %v", got)
	}
	if got := org.VolunteerAreas(); got != nil {
		t.Errorf("an organisation's volunteers live anywhere: %v", got)
	}
	if got := org.VolunteerOrgs(); !slices.Equal(got, []string{"O1", "O2"}) {
		t.Errorf("VolunteerOrgs = %v", got)
	}
	if _, err := Resolve(ctx, nil, tree{}); !errors.Is(err, ErrNoUser) {
		t.Errorf("no user: %v", err)
	}
	for _, u := range []*User{{Role: County}, {Role: Org}, {Role: "king"}} {
		if _, err := Resolve(ctx, u, tree{}); err == nil {
			t.Errorf("%+v resolved", u)
		}
	}
}
