package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"leifeng/cloud/people"
	"leifeng/internal/pgtest"
)

// TestTargetRollups: after random inserts, approvals (review → notice →
// final), rejections, corrections of final records (adjusted, moved to
// another day, rejected), deletions, and volunteers moving, changing
// group and deregistering, the rollups the hook and SyncTargets keep
// equal a full recount (RebuildTargets with check), on both databases.
func TestTargetRollups(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			testTargetRollups(t, open(t, be.dsn(t)))
		})
	}
}

func testTargetRollups(t *testing.T, s *Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 16))
	clock := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Minute); return clock }
	areas := []people.Area{{Code: "C", Name: "市", Level: people.LevelCity, Population: 1000}}
	var communities []string
	for k := range 2 {
		county := fmt.Sprintf("C%d", k)
		areas = append(areas, people.Area{Code: county, Name: "县" + county, Parent: "C", Level: people.LevelCounty, Population: 500})
		for tw := range 2 {
			town := fmt.Sprintf("%s%d", county, tw)
			areas = append(areas, people.Area{Code: town, Name: "镇" + town, Parent: county, Level: people.LevelTownship, Population: 200})
			for c := range 2 {
				code := fmt.Sprintf("%s%d", town, c)
				communities = append(communities, code)
				areas = append(areas, people.Area{Code: code, Name: "社区" + code, Parent: town, Level: people.LevelCommunity, Population: 50})
			}
		}
	}
	if _, err := s.SaveAreas(ctx, areas, clock); err != nil {
		t.Fatal(err)
	}
	var orgs []people.Organisation
	for i := range 5 {
		o := people.Organisation{ID: fmt.Sprintf("O%d", i), Name: "队", County: []string{"C0", "C1", ""}[i%3]}
		if i != 4 {
			o.Community = communities[rng.IntN(len(communities))]
		}
		orgs = append(orgs, o)
	}
	if _, err := s.SaveOrganisations(ctx, orgs, clock); err != nil {
		t.Fatal(err)
	}
	stations := []string{"st-0", "st-1", "st-2"}
	for i, id := range stations {
		if err := s.AddStation(ctx, Registration{ID: id, Name: id, Community: communities[i*3%len(communities)], SecretHash: "x", Created: clock}); err != nil {
			t.Fatal(err)
		}
	}
	var vs []people.Volunteer
	var vols []string
	for i := range 30 {
		id := fmt.Sprintf("V%02d", i)
		vols = append(vols, id)
		vs = append(vs, people.Volunteer{ID: id, Name: "志愿者", Gender: people.Female, BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
			Sealed:    people.Sealed{Cipher: "c", Hash: "h" + id, Masked: "m"},
			Community: communities[rng.IntN(len(communities))], Group: []people.Group{people.GroupOther, people.GroupCollegeStudent}[rng.IntN(2)],
			RegisteredOn: time.Date(2024+rng.IntN(3), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)})
	}
	if res, err := s.RegisterVolunteers(ctx, vs, clock); err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	if err := s.SaveVolunteers(ctx, "st-0", []RosterEntry{{ID: "R1", Name: "某"}}, clock); err != nil {
		t.Fatal(err)
	}
	vols = append(vols, "R1", "UNKNOWN")
	deregistered := map[string]bool{}

	var ids []string
	randomDay := func() string {
		d := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(820))
		return d.Format("2006-01-02")
	}
	verify := func(when string) {
		t.Helper()
		diffs, err := s.RebuildTargets(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			if d.Missing != 0 || d.Extra != 0 {
				t.Fatalf("%s: %s differs from a recount: %d missing, %d extra: %v", when, d.Table, d.Missing, d.Extra, d.Examples)
			}
		}
		// What TargetFigures kept from earlier calls is what it reads anew.
		for _, year := range []int{2025, 2026} {
			for _, areas := range [][]string{nil, {"C0", "C00", "C000", "C001", "C01", "C010", "C011"}} {
				cached, cachedOrgs, err := s.TargetFigures(ctx, areas, year, 11)
				if err != nil {
					t.Fatal(err)
				}
				targetCaches.Delete(s)
				fresh, freshOrgs, err := s.TargetFigures(ctx, areas, year, 11)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(cached, fresh) || !reflect.DeepEqual(cachedOrgs, freshOrgs) {
					t.Fatalf("%s: %d %v: cached figures %v %v, read anew %v %v", when, year, areas, cached, cachedOrgs, fresh, freshOrgs)
				}
			}
		}
	}
	n := 0
	for op := range 900 {
		now := tick()
		switch k := rng.IntN(20); {
		case k < 8 || len(ids) == 0: // a new record
			n++
			r := ServiceRecord{ID: fmt.Sprintf("imp:%d", n), Ledger: LedgerImported, Volunteer: vols[rng.IntN(len(vols))],
				Day: randomDay(), CountedCents: int64(rng.IntN(60)) * 100, Reasons: []string{}}
			if rng.IntN(3) > 0 {
				r.Org = orgs[rng.IntN(len(orgs))].ID
			}
			if rng.IntN(3) == 0 {
				r.Station = stations[rng.IntN(len(stations))]
			} else {
				r.Community = communities[rng.IntN(len(communities))]
			}
			r.Status = []string{StatusReview, StatusNotice, StatusFinal, StatusFinal}[rng.IntN(4)]
			if _, err := s.PutServiceRecords(ctx, []ServiceRecord{r}, "test", now); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		case k < 16: // a decision or a correction
			id := ids[rng.IntN(len(ids))]
			_, err := s.ChangeServiceRecord(ctx, id, now, func(r *ServiceRecord) (ServiceRecordEvent, error) {
				switch r.Status {
				case StatusReview:
					r.Status = []string{StatusNotice, StatusRejected}[rng.IntN(2)]
				case StatusNotice:
					r.Status = []string{StatusFinal, StatusFinal, StatusObjected, StatusRejected}[rng.IntN(4)]
				case StatusObjected:
					r.Status = []string{StatusNotice, StatusReview}[rng.IntN(2)]
				case StatusFinal:
					switch rng.IntN(3) {
					case 0:
						r.Status = StatusRejected
					case 1:
						r.CountedCents = int64(rng.IntN(60)) * 100
					default:
						r.Day = randomDay()
					}
				case StatusRejected:
					r.Status = StatusReview
				}
				return ServiceRecordEvent{Who: "test", Action: "decide"}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		case k < 17: // a record not final goes
			id := ids[rng.IntN(len(ids))]
			if err := s.DeleteServiceRecord(ctx, id); err == nil {
				for i := range ids {
					if ids[i] == id {
						ids = append(ids[:i], ids[i+1:]...)
						break
					}
				}
			}
		default: // a volunteer moves, changes group, or is deregistered
			id := vols[rng.IntN(30)]
			if deregistered[id] {
				continue
			}
			if rng.IntN(4) == 0 {
				if err := s.DeregisterVolunteer(ctx, id, "test", "本人申请", now); err != nil {
					t.Fatal(err)
				}
				deregistered[id] = true
				continue
			}
			if _, err := s.EditVolunteer(ctx, id, "test", now, func(v *people.Volunteer) ([]people.FieldChange, error) {
				if rng.IntN(2) == 0 {
					v.Community = communities[rng.IntN(len(communities))]
				} else if v.Group == people.GroupCollegeStudent {
					v.Group = people.GroupOther
				} else {
					v.Group = people.GroupCollegeStudent
				}
				return []people.FieldChange{{Field: "x"}}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if op%50 == 49 {
			verify(fmt.Sprintf("after %d changes", op+1))
		}
	}
	verify("at the end")
	for _, table := range []string{"target_cells", "target_registered", "target_college_done", "target_org_months", "target_volunteer_months"} {
		var count int64
		if err := s.b.query(ctx, `SELECT COUNT(*) FROM `+table, nil, func(r rows) error { return r.Scan(&count) }); err != nil || count == 0 {
			t.Fatalf("%s: %d rows, %v: the test exercised nothing", table, count, err)
		}
		t.Logf("%s: %d rows", table, count)
	}
	// The rebuild itself leaves what it checks equal.
	if _, err := s.RebuildTargets(ctx, false); err != nil {
		t.Fatal(err)
	}
	verify("after a rebuild")
	// A tampered rollup is found and put right.
	if _, err := s.b.exec(ctx, `UPDATE target_cells SET cents = cents + 1 WHERE month = (SELECT MIN(month) FROM target_cells)`); err != nil {
		t.Fatal(err)
	}
	diffs, err := s.RebuildTargets(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range diffs {
		found = found || (d.Table == "target_cells" && d.Missing == 1 && d.Extra == 1 && len(d.Examples) == 2)
	}
	if !found {
		t.Fatalf("tampered cell not reported: %+v", diffs)
	}
	verify("after repairing")
}

// TestTargetsUpgrade: a database that held volunteers and final records
// before migration 16 gets its rollups built by the first read.
func TestTargetsUpgrade(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/old.db"
	b, err := openSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{b: b}
	var v15 []migration
	for _, m := range migrations {
		if m.version <= 15 {
			v15 = append(v15, m)
		}
	}
	if err := old.migrate(ctx, v15); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := old.SaveAreas(ctx, oneCommunity, now); err != nil {
		t.Fatal(err)
	}
	if res, err := old.RegisterVolunteers(ctx, []people.Volunteer{{ID: "V1", Name: "某", Gender: people.Female,
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Sealed: people.Sealed{Cipher: "c", Hash: "h", Masked: "m"},
		Community: "M", RegisteredOn: now}}, now); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	r := ServiceRecord{ID: "imp:1", Ledger: LedgerImported, Volunteer: "V1", Community: "M", Day: "2026-04-02", CountedCents: 250,
		Status: StatusFinal, Reasons: []string{}}
	if _, err := b.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)`, serviceRecordArgs(&r)...); err != nil {
		t.Fatal(err)
	}
	b.close()
	s := open(t, "sqlite:"+path)
	cs, _, err := s.TargetFigures(ctx, nil, 2026, 5)
	if err != nil {
		t.Fatal(err)
	}
	if cs["M"] != nil && cs["M"].Cents != 0 {
		t.Fatalf("figures before the first sync: %+v", cs["M"])
	}
	if err := s.SyncTargets(ctx); err != nil {
		t.Fatal(err)
	}
	cs, _, err = s.TargetFigures(ctx, nil, 2026, 5)
	if err != nil || cs["M"] == nil || *cs["M"] != (TargetCommunity{Registered: 1, Active: 1, Records: 1, Cents: 250}) {
		t.Fatalf("after the first read: %+v, %v", cs["M"], err)
	}
	diffs, err := s.RebuildTargets(ctx, true)
	for _, d := range diffs {
		if d.Missing+d.Extra != 0 {
			t.Fatalf("%+v", d)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestTargetsBulkVolunteers: more volunteers changed at once than
// SyncTargets moves one by one are recounted, with the same result.
func TestTargetsBulkVolunteers(t *testing.T) {
	ctx := context.Background()
	s := open(t, "sqlite:"+t.TempDir()+"/bulk.db")
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.SaveAreas(ctx, oneCommunity, now); err != nil {
		t.Fatal(err)
	}
	var vs []people.Volunteer
	for i := range targetSyncMax + 10 {
		id := fmt.Sprintf("V%d", i)
		vs = append(vs, memberOf(id, now))
	}
	if _, err := s.RegisterVolunteers(ctx, vs, now); err != nil {
		t.Fatal(err)
	}
	r := ServiceRecord{ID: "imp:1", Ledger: LedgerImported, Volunteer: "V7", Community: "M", Day: "2026-04-02", CountedCents: 250,
		Status: StatusFinal, Reasons: []string{}}
	if _, err := s.PutServiceRecords(ctx, []ServiceRecord{r}, "test", now); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.TargetFigures(ctx, nil, 2026, 5)
	if err != nil {
		t.Fatal(err)
	}
	// A read does not wait on the recount: the quick sync leaves it to
	// the background pass and says the rollups are stale (only V7, whose
	// record's hook placed them, is counted yet).
	if stale, err := s.SyncTargetsQuick(ctx); err != nil || !stale {
		t.Fatalf("quick sync over %d changes: stale %v, %v", targetSyncMax+10, stale, err)
	}
	if cs, _, err := s.TargetFigures(ctx, nil, 2026, 5); err != nil || (cs["M"] != nil && cs["M"].Registered > 1) {
		t.Fatalf("the quick sync moved the volunteers: %+v, %v", cs["M"], err)
	}
	if err := s.SyncTargets(ctx); err != nil {
		t.Fatal(err)
	}
	if stale, err := s.SyncTargetsQuick(ctx); err != nil || stale {
		t.Fatalf("quick sync after the pass: stale %v, %v", stale, err)
	}
	cs, _, err = s.TargetFigures(ctx, nil, 2026, 5)
	if err != nil || cs["M"] == nil || *cs["M"] != (TargetCommunity{Registered: int64(targetSyncMax + 10), Active: 1, Records: 1, Cents: 250}) {
		t.Fatalf("after the sync: %+v, %v", cs["M"], err)
	}
	diffs, err := s.RebuildTargets(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Missing+d.Extra != 0 {
			t.Fatalf("%+v", d)
		}
	}
}

// BenchmarkRollupHook: what the targets' rollups add to writing service
// records: 1,000 records a batch, final (the hook counts each) against in
// review (the hook has nothing to do), on SQLite and PostgreSQL.
func BenchmarkRollupHook(b *testing.B) {
	for _, be := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/h.db" }},
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b, pgtest.Start(b)) }},
	} {
		for _, status := range []string{StatusReview, StatusFinal} {
			b.Run(be.name+"/"+status, func(b *testing.B) {
				ctx := context.Background()
				s := openBench(b, be.dsn(b))
				now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
				if _, err := s.SaveAreas(ctx, oneCommunity, now); err != nil {
					b.Fatal(err)
				}
				var vs []people.Volunteer
				for i := range 200 {
					id := fmt.Sprintf("V%d", i)
					vs = append(vs, memberOf(id, now))
				}
				if _, err := s.RegisterVolunteers(ctx, vs, now); err != nil {
					b.Fatal(err)
				}
				n := 0
				b.ResetTimer()
				for range b.N {
					recs := make([]ServiceRecord, 1000)
					for i := range recs {
						n++
						recs[i] = ServiceRecord{ID: fmt.Sprintf("imp:%d", n), Ledger: LedgerImported, Volunteer: fmt.Sprintf("V%d", n%200),
							Org: "O1", Community: "M", Day: fmt.Sprintf("2026-%02d-01", 1+n%11), CountedCents: 100, Status: status, Reasons: []string{}}
					}
					if _, err := s.PutServiceRecords(ctx, recs, "bench", now); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// oneCommunity is a city with one community, M.
var oneCommunity = []people.Area{{Code: "C", Name: "市", Level: people.LevelCity},
	{Code: "K", Name: "县", Parent: "C", Level: people.LevelCounty}, {Code: "T", Name: "镇", Parent: "K", Level: people.LevelTownship},
	{Code: "M", Name: "社区", Parent: "T", Level: people.LevelCommunity, Population: 10}}

// memberOf is a volunteer of M registered on day.
func memberOf(id string, day time.Time) people.Volunteer {
	return people.Volunteer{ID: id, Name: "某", Gender: people.Female, BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
		Sealed: people.Sealed{Cipher: "c", Hash: "h" + id, Masked: "m"}, Community: "M", RegisteredOn: day}
}
