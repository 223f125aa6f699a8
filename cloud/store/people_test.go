package store

import (
	"context"
	"errors"
	"testing"

	"leifeng/cloud/people"
)

// The people tables on both databases.
func TestPeople(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			d := be.dsn(t)
			s := open(t, d)
			t.Run("AreaTree", func(t *testing.T) { testAreaTree(t, s) })
			t.Run("Organisations", func(t *testing.T) { testOrganisations(t, s) })
			t.Run("Volunteers", func(t *testing.T) { testVolunteers(t, s) })
			t.Run("LeadingOffice", func(t *testing.T) { testLeadingOffice(t, s, d) })
			t.Run("PeopleKey", func(t *testing.T) { testPeopleKey(t, s) })
		})
	}
}

func wantResults(t *testing.T, got []people.Result, want ...any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		switch w := w.(type) {
		case people.Outcome:
			if got[i].Outcome != w || got[i].Err != nil {
				t.Errorf("row %d: %v %v, want outcome %v", i, got[i].Outcome, got[i].Err, w)
			}
		case *people.Reason:
			if got[i].Outcome != people.Refused || !errors.Is(got[i].Err, w) {
				t.Errorf("row %d: %v %v, want refused: %v", i, got[i].Outcome, got[i].Err, w)
			}
		}
	}
}

// Each level sits under the one above it; a parent given earlier in the
// batch counts; a changed area is updated, an equal one unchanged; an
// area with children keeps its level.
func testAreaTree(t *testing.T, s *Store) {
	ctx := context.Background()
	res, err := s.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 12000},
		{Code: "530802002", Name: "倚象镇", Parent: "5308", Level: people.LevelTownship},
		{Code: "530802002001", Name: "某村", Parent: "530802009", Level: people.LevelCommunity},
		{Code: "5309", Name: "另一市", Parent: "5308", Level: people.LevelCity},
		{Code: "530803", Name: "", Parent: "5308", Level: people.LevelCounty},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, res, people.Added, people.Added, people.Added, people.Added,
		people.ErrBadParent, people.ErrUnknownArea, people.ErrBadParent, people.ErrMissingName)
	res, err = s.SaveAreas(ctx, []people.Area{
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 12500},
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelTownship},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, res, people.Updated, people.Unchanged, people.ErrBadParent)
	kids, err := s.Areas(ctx, "530802001")
	if err != nil || len(kids) != 1 || kids[0].Population != 12500 {
		t.Errorf("Areas(530802001) = %+v, %v", kids, err)
	}
	if _, err := s.Area(ctx, "999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Area(999) = %v", err)
	}
}

func testOrganisations(t *testing.T, s *Store) {
	ctx := context.Background()
	res, err := s.SaveOrganisations(ctx, []people.Organisation{
		{ID: "O1", Name: "思茅区志愿服务联合会", County: "530802"},
		{ID: "O2", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001", Parent: "O1"},
		{ID: "O3", Name: "队", Parent: "O9"},
		{ID: "O4", Name: "队", County: "530802001"},
		{ID: "O5", Name: "队", Community: "530802001"},
		{ID: "O6", Name: "队", Parent: "O6"},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, res, people.Added, people.Added, people.ErrUnknownOrg, people.ErrBadCounty,
		people.ErrUnknownCommunity, people.ErrSelfParent)
	res, _ = s.SaveOrganisations(ctx, []people.Organisation{
		{ID: "O2", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001", Parent: "O1"},
		{ID: "O1", Name: "思茅区志愿服务联合会", Type: "联合会", County: "530802"},
	}, t0)
	wantResults(t, res, people.Unchanged, people.Updated)
}

// The same person under another ID is refused; under the same ID
// unchanged; a roster entry of the ID becomes the registered volunteer; a
// clear number never reaches the database.
func testVolunteers(t *testing.T, s *Store) {
	ctx := context.Background()
	vault, err := people.NewVault([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	vol := func(id, number, community string, orgs ...string) people.Volunteer {
		v := people.Volunteer{ID: id, Name: "王小明", IDNumber: number, Community: community, Phone: "13987912345", Orgs: orgs}
		if err := v.Check(vault, t0); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := s.SaveVolunteers(ctx, "pe-a", []RosterEntry{{"P1", "王*明"}}, t0); err != nil {
		t.Fatal(err)
	}
	a, b := "11010519491231002X", "530802199003071236"
	res, err := s.RegisterVolunteers(ctx, []people.Volunteer{
		vol("P1", a, "530802001001", "O1", "O2"),
		vol("P2", a, "530802001001"),
		vol("P1", b, "530802001001"),
		vol("P3", b, "530802001"),
		vol("P3", b, "530802001001", "O9"),
		vol("P1", a, "530802001001"),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantResults(t, res, people.Added, people.ErrDuplicatePerson, people.ErrIDTaken, people.ErrUnknownCommunity,
		people.ErrUnknownOrg, people.Unchanged)
	v, err := s.Volunteer(ctx, "P1")
	if err != nil || v.Name != "王小明" || len(v.Orgs) != 2 || v.Sealed.Masked != "1101**********002X" {
		t.Fatalf("Volunteer(P1) = %+v, %v", v, err)
	}
	roster, err := s.StationRoster(ctx, "pe-a")
	if err != nil || len(roster) != 1 || roster[0].Name != "王小明" {
		t.Errorf("the roster does not show the registered name: %+v, %v", roster, err)
	}
	clear := people.Volunteer{ID: "P9", Name: "张三", IDNumber: b}
	if _, err := s.RegisterVolunteers(ctx, []people.Volunteer{clear}, t0); !errors.Is(err, ErrClearIDNumber) {
		t.Errorf("a clear ID number: %v", err)
	}
	if _, err := s.Volunteer(ctx, "P2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Volunteer(P2) = %v", err)
	}
	if n, err := s.CountVolunteers(ctx); err != nil || n != 1 {
		t.Errorf("CountVolunteers = %d, %v", n, err)
	}
}

// The leading office's name is a setting, with a default that names no
// particular office, and it survives reopening.
func testLeadingOffice(t *testing.T, s *Store, dsn string) {
	ctx := context.Background()
	if n, err := s.LeadingOffice(ctx); err != nil || n != people.DefaultLeadingOffice {
		t.Fatalf("LeadingOffice = %q, %v", n, err)
	}
	if err := s.SetLeadingOffice(ctx, "中共普洱市委社会工作部", t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := open(t, dsn).LeadingOffice(ctx); n != "中共普洱市委社会工作部" {
		t.Errorf("after reopening: %q", n)
	}
	if err := s.SetLeadingOffice(ctx, "", t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LeadingOffice(ctx); n != people.DefaultLeadingOffice {
		t.Errorf("reset: %q", n)
	}
}

func testPeopleKey(t *testing.T, s *Store) {
	ctx := context.Background()
	one, _ := people.NewVault(make([]byte, 32))
	two, _ := people.NewVault([]byte("0123456789abcdef0123456789abcdef"))
	for range 2 {
		if err := s.CheckPeopleKey(ctx, one.Check(), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CheckPeopleKey(ctx, two.Check(), t0); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key: %v", err)
	}
}
