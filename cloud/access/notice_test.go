package access

import (
	"context"
	"testing"
)

// Who sees a service record, resolves its objections and approves a
// star, per role, on the small city of scope_test.go.
func TestNoticeDecisions(t *testing.T) {
	ctx := context.Background()
	resolve := func(role Role, scope string) *Scope {
		t.Helper()
		s, err := Resolve(ctx, &User{Name: "u", Role: role, Scope: scope}, tree{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	scopes := map[string]*Scope{
		"city": resolve(City, ""), "countyA": resolve(County, "A"), "countyB": resolve(County, "B"),
		"st-a": resolve(Station, "st-a"), "st-b": resolve(Station, "st-b"), "O1": resolve(Org, "O1"), "auditor": resolve(Auditor, ""),
	}
	for _, tc := range []struct {
		what string
		do   func(*Scope) bool
		yes  []string
	}{
		{"sees a record of st-a", func(s *Scope) bool { return s.SeesServiceRecord("st-a", "a1", "O2") }, []string{"city", "countyA", "st-a", "O1", "auditor"}},
		{"sees a manual record of no station in a2", func(s *Scope) bool { return s.SeesServiceRecord("", "a2", "") }, []string{"city", "countyA", "auditor"}},
		{"resolves an objection at st-a", func(s *Scope) bool { return s.ResolvesObjections("st-a", "a1") }, []string{"st-a"}},
		{"resolves an objection to a record of no station in a2", func(s *Scope) bool { return s.ResolvesObjections("", "a2") }, []string{"countyA"}},
		{"approves a county star in a1", func(s *Scope) bool { return s.ApprovesStars("county", []string{"a1"}) }, []string{"countyA"}},
		{"approves an organisation's county star in county b", func(s *Scope) bool { return s.ApprovesStars("county", []string{"b", ""}) }, []string{"countyB"}},
		{"approves a city star", func(s *Scope) bool { return s.ApprovesStars("city", []string{"a1"}) }, []string{"city"}},
		{"approves a star of an unknown level", func(s *Scope) bool { return s.ApprovesStars("province", []string{"a1"}) }, nil},
	} {
		for name, s := range scopes {
			want := false
			for _, y := range tc.yes {
				want = want || y == name
			}
			if got := tc.do(s); got != want {
				t.Errorf("%s %s: %v, want %v", name, tc.what, got, want)
			}
		}
	}
	var none *Scope
	if none.SeesServiceRecord("st-a", "a1", "") || none.ResolvesObjections("st-a", "a1") || none.ApprovesStars("city", nil) {
		t.Error("a nil scope decides something")
	}
}
