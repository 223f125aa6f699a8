package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
)

// The scope's questions to the database and the audit log, on both
// databases.
func TestScopeQueries(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			ctx := context.Background()
			res, err := s.SaveAreas(ctx, []people.Area{
				{Code: "5308", Name: "普洱市", Level: people.LevelCity},
				{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
				{Code: "530821", Name: "宁洱县", Parent: "5308", Level: people.LevelCounty},
				{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
				{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
			}, t0)
			wantResults(t, res, people.Added, people.Added, people.Added, people.Added, people.Added)
			if err != nil {
				t.Fatal(err)
			}
			res, err = s.SaveOrganisations(ctx, []people.Organisation{
				{ID: "O1", Name: "联合会", County: "530802"},
				{ID: "O2", Name: "队", County: "530802", Community: "530802001001", Parent: "O1"},
				{ID: "O3", Name: "小队", Parent: "O2"},
				{ID: "O4", Name: "别的", County: "530821"},
			}, t0)
			wantResults(t, res, people.Added, people.Added, people.Added, people.Added)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.AreasUnder(ctx, "530802"); err != nil || !slices.Equal(got, []string{"530802", "530802001", "530802001001"}) {
				t.Errorf("AreasUnder = %v, %v", got, err)
			}
			orgs, cs, err := s.OrgsUnder(ctx, "O1")
			if err != nil || !slices.Equal(orgs, []string{"O1", "O2", "O3"}) || !slices.Equal(cs, []string{"530802001001"}) {
				t.Errorf("OrgsUnder = %v %v, %v", orgs, cs, err)
			}
			if err := s.AddStation(ctx, Registration{ID: "pe-a", Community: "530802001"}); !errors.Is(err, ErrNotCommunity) {
				t.Errorf("a township as community: %v", err)
			}
			if err := s.AddStation(ctx, Registration{ID: "pe-a", Community: "530802001001", Created: t0}); err != nil {
				t.Fatal(err)
			}
			if err := s.AddStation(ctx, Registration{ID: "pe-b", Created: t0}); err != nil {
				t.Fatal(err)
			}
			if before, err := s.SetStationCommunity(ctx, "pe-b", "530802001001"); err != nil || before != "" {
				t.Errorf("SetStationCommunity = %q, %v", before, err)
			}
			if _, err := s.SetStationCommunity(ctx, "pe-b", "530821"); !errors.Is(err, ErrNotCommunity) {
				t.Errorf("a county as community: %v", err)
			}
			if _, err := s.SetStationCommunity(ctx, "pe-x", "530802001001"); !errors.Is(err, ErrNotFound) {
				t.Errorf("an unknown station: %v", err)
			}
			if cs, err := s.StationCommunities(ctx, []string{"pe-a", "pe-b", "pe-x"}); err != nil || !slices.Equal(cs, []string{"530802001001"}) {
				t.Errorf("StationCommunities = %v, %v", cs, err)
			}
			county, err := access.Resolve(ctx, &access.User{Name: "c", Role: access.County, Scope: "530802"}, s)
			if err != nil {
				t.Fatal(err)
			}
			manager, err := access.Resolve(ctx, &access.User{Name: "m", Role: access.Station, Scope: "pe-a"}, s)
			if err != nil {
				t.Fatal(err)
			}
			city, _ := access.Resolve(ctx, &access.User{Name: "x", Role: access.City}, s)
			for _, c := range []struct {
				sc   *access.Scope
				want VolunteerScope
			}{
				{city, VolunteerScope{All: true}},
				{county, VolunteerScope{Communities: []string{"530802", "530802001", "530802001001"}}},
				{manager, VolunteerScope{Communities: []string{"530802001001"}, Stations: []string{"pe-a"}}},
				{nil, VolunteerScope{}},
			} {
				if got := VolunteerScopeOf(c.sc); !reflect.DeepEqual(got, c.want) {
					t.Errorf("VolunteerScopeOf = %+v, want %+v", got, c.want)
				}
			}
			testAuditAppendOnly(t, s)
		})
	}
}

// The audit log takes entries and gives them back newest first, by filter
// and page; the database itself refuses to change or remove one.
func testAuditAppendOnly(t *testing.T, s *Store) {
	ctx := context.Background()
	for i, e := range []AuditEntry{
		{At: t0, User: "a", Action: "station.edit", Target: "station pe-a", Status: 200,
			Before: json.RawMessage(`{"community":""}`), After: json.RawMessage(`{"community":"530802001001"}`)},
		{At: t0.Add(time.Hour), User: "b", Action: "records.read", Target: "station pe-a", Status: 200},
		{At: t0.Add(2 * time.Hour), User: "a", Action: "records.read", Target: "station pe-b", Status: 404},
	} {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	all, err := s.AuditLog(ctx, AuditFilter{})
	if err != nil || len(all) != 3 || all[0].Target != "station pe-b" || all[2].ID >= all[0].ID ||
		string(all[2].After) != `{"community":"530802001001"}` || all[1].Before != nil {
		t.Fatalf("AuditLog = %+v, %v", all, err)
	}
	for _, c := range []struct {
		f    AuditFilter
		want int
	}{
		{AuditFilter{User: "a"}, 2},
		{AuditFilter{Action: "records.read"}, 2},
		{AuditFilter{User: "a", Action: "records.read"}, 1},
		{AuditFilter{From: t0.Add(time.Hour)}, 2},
		{AuditFilter{To: t0.Add(time.Hour)}, 1},
		{AuditFilter{Before: all[0].ID, Limit: 1}, 1},
		{AuditFilter{Before: all[2].ID}, 0},
	} {
		if got, err := s.AuditLog(ctx, c.f); err != nil || len(got) != c.want {
			t.Errorf("AuditLog(%+v) = %d entries, %v; want %d", c.f, len(got), err, c.want)
		}
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET user_name = 'nobody'`,
		`DELETE FROM audit_log`,
	} {
		if _, err := s.b.exec(ctx, stmt); err == nil {
			t.Errorf("%s: allowed", stmt)
		}
	}
	if s.b.dialect() == "postgres" {
		if _, err := s.b.exec(ctx, `TRUNCATE audit_log`); err == nil {
			t.Error("TRUNCATE allowed")
		}
	}
	if again, err := s.AuditLog(ctx, AuditFilter{}); err != nil || len(again) != 3 || again[0].User != "a" {
		t.Errorf("after the refused changes: %+v, %v", again, err)
	}
}
