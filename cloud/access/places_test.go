package access

import (
	"context"
	"errors"
	"testing"
)

// The decisions on changes of places, role by role, on the small city of
// scope_test.go: county "A" (areas A, a, a1, a2) against county "B".
func TestPlaceDecisions(t *testing.T) {
	ctx := context.Background()
	scope := func(u User) *Scope {
		sc, err := Resolve(ctx, &u, tree{})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	city, county := scope(User{Name: "c", Role: City}), scope(User{Name: "k", Role: County, Scope: "A"})
	manager, org := scope(User{Name: "m", Role: Station, Scope: "st-a"}), scope(User{Name: "o", Role: Org, Scope: "O1"})
	for _, tc := range []struct {
		name string
		got  error
		want error
	}{
		{"city adds a county", city.ChangeArea("C", false, "", "root"), nil},
		{"county adds under its area", county.ChangeArea("a3", false, "", "a"), nil},
		{"county adds under another county", county.ChangeArea("b2", false, "", "b"), ErrOutsideScope},
		{"county adds a county", county.ChangeArea("C", false, "", ""), ErrOutsideScope},
		{"county edits its county in place", county.ChangeArea("A", true, "", ""), nil},
		{"county moves its county", county.ChangeArea("A", true, "", "B"), ErrOutsideScope},
		{"county moves a community within", county.ChangeArea("a1", true, "a", "A"), nil},
		{"county moves a community out", county.ChangeArea("a1", true, "a", "b"), ErrOutsideScope},
		{"county edits another county's area", county.ChangeArea("b1", true, "b", "b"), ErrOutOfScope},
		{"station manager edits its community", manager.ChangeArea("a1", true, "a", "a"), ErrNotPermitted},
		{"org admin edits an area", org.ChangeArea("a1", true, "a", "a"), ErrNotPermitted},
		{"county adds an organisation", county.ChangeOrganisation(nil, OrgPlace{"O3", "A", "a1"}), nil},
		{"county adds one linked elsewhere", county.ChangeOrganisation(nil, OrgPlace{"O3", "A", "b1"}), ErrOutsideScope},
		{"county adds one of nowhere", county.ChangeOrganisation(nil, OrgPlace{"O3", "", ""}), ErrOutsideScope},
		{"county edits another's", county.ChangeOrganisation(&OrgPlace{"O9", "B", "b1"}, OrgPlace{"O9", "A", ""}), ErrOutOfScope},
		{"city adds one of nowhere", city.ChangeOrganisation(nil, OrgPlace{"O3", "", ""}), nil},
		{"org admin edits its own", org.ChangeOrganisation(&OrgPlace{"O1", "", "a1"}, OrgPlace{"O1", "", "a1"}), ErrNotPermitted},
		{"county moves a station within", county.MoveStation("a2"), nil},
		{"county moves a station out", county.MoveStation("b1"), ErrOutsideScope},
		{"station manager moves one", manager.MoveStation("a1"), ErrNotPermitted},
		{"city moves one", city.MoveStation("b1"), nil},
	} {
		if !errors.Is(tc.got, tc.want) || (tc.want == nil && tc.got != nil) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
