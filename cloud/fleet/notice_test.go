package fleet

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// The kiosk's part of issue 12 in the station document, on SQLite and
// PostgreSQL: the activities on now (window widened by an hour) and in
// the next 12 hours, of this station only; the notice list (records in
// notice or objected, of this station, newest first, names masked); each
// volunteer's unseen review outcomes and star eligibility (the hook). An
// outcome is seen once its volunteer checks in at the station after a
// document first carried it, not before, and not when the document is
// merely pushed; a changed outcome is due again.
func TestStationDocumentHours(t *testing.T) {
	for _, be := range dbBackends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // 10:00 in Pu'er
			s, st := serviceOn(t, be.dsn(t, dir), dir, &now)
			testStationDocumentHours(t, s, st, &now)
		})
	}
}

func testStationDocumentHours(t *testing.T, s *Service, st *store.Store, now *time.Time) {
	ctx := context.Background()
	if _, err := s.AddStationIn(ctx, "st-b", "南屏站", "530802", "530802001002", "tcp://127.0.0.1:1883"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveVolunteers(ctx, "st-a", []store.RosterEntry{{ID: "V1", Name: "王小明"}, {ID: "V2", Name: "李芳"}}, *now); err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	for _, a := range []*store.Activity{
		{Title: "社区助老：为独居老人上门送餐", Category: "关爱老人", Start: now.Add(30 * time.Minute), End: now.Add(3 * h), Stations: []string{"st-a"}},
		{Title: "站点日常服务", Start: now.Add(-30 * 24 * h), End: now.Add(300 * 24 * h), Stations: []string{"st-a"}, Default: true},
		{Title: "早市文明劝导", Start: now.Add(-3 * h), End: now.Add(-30 * time.Minute), Stations: []string{"st-a"}}, // within the margin
		{Title: "昨天的活动", Start: now.Add(-26 * h), End: now.Add(-2 * h), Stations: []string{"st-a"}},
		{Title: "三天后的活动", Start: now.Add(72 * h), End: now.Add(74 * h), Stations: []string{"st-a"}},
		{Title: "南屏站的活动", Start: *now, End: now.Add(2 * h), Stations: []string{"st-b"}},
		{Title: "志愿者例会", Kind: "meeting", Start: now.Add(8 * h), End: now.Add(9 * h), Areas: []string{"530802001001"}},
	} {
		if err := st.CreateActivity(ctx, a, *now); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(id, vol, station, status, day, outcome string, cents int64) store.ServiceRecord {
		return store.ServiceRecord{ID: id, Ledger: store.LedgerCard, Volunteer: vol, Station: station, Community: "530802001001",
			ActivityName: "社区助老", Day: day, CountedCents: cents, Status: status, Outcome: outcome,
			NoticeUntil: now.Add(48 * h), Start: now.Add(-24 * h), End: now.Add(-23 * h)}
	}
	if _, err := st.PutServiceRecords(ctx, []store.ServiceRecord{
		rec("tap:1", "V1", "st-a", store.StatusNotice, "2026-11-18", "11月18日 社区助老：1.5小时，审核通过，公示至11月23日", 150),
		rec("tap:2", "V2", "st-a", store.StatusObjected, "2026-11-19", "", 100),
		rec("tap:3", "V2", "st-a", store.StatusRejected, "2026-11-17", "11月17日 社区助老：未通过审核，原因：签退时间不实", 0),
		rec("tap:4", "V1", "st-a", store.StatusFinal, "2026-11-10", "", 200),
		rec("tap:5", "V1", "st-b", store.StatusNotice, "2026-11-19", "", 50),
	}, "test", *now); err != nil {
		t.Fatal(err)
	}
	var asked []string
	s.StarEligible = func(_ context.Context, vs []string) (map[string]int, error) {
		asked = vs
		return map[string]int{"V1": 3, "V9": 1}, nil
	}
	if err := s.RefreshStations(ctx, []string{"st-a", "st-a", "not-registered"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"V1", "V2"}) {
		t.Fatalf("StarEligible asked for %v", asked)
	}
	doc := func() *wire.Config {
		t.Helper()
		cur, err := s.stored(ctx, StationScope("st-a"))
		if err != nil || cur == nil {
			t.Fatalf("document of st-a: %v %v", cur, err)
		}
		return cur
	}
	cur := doc()
	var names []string
	for _, a := range cur.Activities {
		names = append(names, a.Name)
	}
	if want := []string{"站点日常服务", "早市文明劝导", "社区助老：为独居老人上门送餐", "志愿者例会"}; !slices.Equal(names, want) {
		t.Fatalf("activities %v, want %v", names, want)
	}
	if a := cur.Activities[2]; a.Category != "关爱老人" || !a.Start.Equal(now.Add(30*time.Minute)) || a.Default || !cur.Activities[0].Default {
		t.Fatalf("activity %+v", a)
	}
	if len(cur.Notice) != 2 || cur.Notice[0].ID != "tap:2" || !cur.Notice[0].Objected || cur.Notice[0].Name != "李*" ||
		cur.Notice[1].ID != "tap:1" || cur.Notice[1].Name != "王*明" || cur.Notice[1].Hours != 1.5 || cur.Notice[1].Day != "2026-11-18" ||
		cur.Notice[1].Activity != "社区助老" || !cur.Notice[1].Until.Equal(now.Add(48*h)) {
		t.Fatalf("notice %+v", cur.Notice)
	}
	notes := func() map[string][]string {
		out := map[string][]string{}
		for _, v := range doc().Volunteers {
			for _, n := range v.Notes {
				out[v.ID] = append(out[v.ID], n.ID)
			}
		}
		return out
	}
	if got := notes(); !slices.Equal(got["V1"], []string{"tap:1"}) || !slices.Equal(got["V2"], []string{"tap:3"}) {
		t.Fatalf("notes %v", got)
	}
	for _, v := range cur.Volunteers {
		if want := map[string]int{"V1": 3}[v.ID]; v.StarEligible != want {
			t.Fatalf("%s star eligible %d, want %d", v.ID, v.StarEligible, want)
		}
		if v.ID == "V1" && v.Notes[0].Text != "11月18日 社区助老：1.5小时，审核通过，公示至11月23日" {
			t.Fatalf("note %+v", v.Notes)
		}
	}
	// Nothing changed: no new version.
	version := cur.Version
	*now = now.Add(time.Minute)
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil || doc().Version != version {
		t.Fatalf("unchanged refresh: %v, version %d → %d", err, version, doc().Version)
	}

	checkIn := func(vol, station string, at time.Time) {
		t.Helper()
		id, _ := wire.NewRecordID()
		if _, err := st.Ingest(ctx, []ingest.Entry{{Record: wire.Record{ID: id, Station: station, Kind: wire.KindCheckIn,
			Volunteer: vol, At: at, Mono: 1, Boot: "b", ClockSynced: true, Seq: uint64(at.Unix())}, Time: at, Received: at}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(id string) bool {
		r, err := st.ServiceRecord(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return !r.Seen.IsZero()
	}
	// A check-in before the document was pushed, or at another station,
	// shows nothing.
	checkIn("V1", "st-a", now.Add(-time.Hour))
	checkIn("V2", "st-b", now.Add(time.Minute))
	*now = now.Add(5 * time.Minute)
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if seen("tap:1") || seen("tap:3") {
		t.Fatal("an outcome marked seen without a tap at the station after the push")
	}
	// V1 taps at st-a: seen; the note leaves the document, V2's stays.
	checkIn("V1", "st-a", now.Add(time.Minute))
	*now = now.Add(5 * time.Minute)
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if !seen("tap:1") || seen("tap:3") {
		t.Fatalf("seen: tap:1 %v tap:3 %v", seen("tap:1"), seen("tap:3"))
	}
	if got := notes(); len(got["V1"]) != 0 || !slices.Equal(got["V2"], []string{"tap:3"}) {
		t.Fatalf("notes after V1's tap %v", got)
	}
	// A reviewer changes V2's outcome after V2's next tap was already
	// recorded: the new outcome is due again, the old tap does not see it.
	checkIn("V2", "st-a", now.Add(time.Minute))
	*now = now.Add(2 * time.Minute)
	if _, err := st.ChangeServiceRecord(ctx, "tap:3", *now, func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
		r.Outcome = "11月17日 社区助老：复核后改为1小时"
		return store.ServiceRecordEvent{Who: "reviewer", Action: "adjust"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute)
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if seen("tap:3") {
		t.Fatal("a changed outcome marked seen by a tap before it was carried")
	}
	for _, v := range doc().Volunteers {
		if v.ID == "V2" && (len(v.Notes) != 1 || v.Notes[0].Text != "11月17日 社区助老：复核后改为1小时") {
			t.Fatalf("V2's notes %+v", v.Notes)
		}
	}
	checkIn("V2", "st-a", now.Add(time.Minute))
	*now = now.Add(5 * time.Minute)
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if !seen("tap:3") {
		t.Fatal("V2's tap after the new outcome was carried did not see it")
	}

	// The notice pass finalises tap:1: it leaves the notice list.
	if _, err := st.ChangeServiceRecord(ctx, "tap:1", *now, func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
		r.Status = store.StatusFinal
		return store.ServiceRecordEvent{Who: "notice", Action: "final"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if n := doc().Notice; len(n) != 1 || n[0].ID != "tap:2" {
		t.Fatalf("notice after the final %+v", n)
	}

	// A failing hook leaves the roster without eligibility, not stale.
	s.StarEligible = func(context.Context, []string) (map[string]int, error) { return nil, errors.New("stars down") }
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc().Volunteers {
		if v.StarEligible != 0 {
			t.Fatalf("%s eligible %d with the hook failing", v.ID, v.StarEligible)
		}
	}
	// The fleet defaults never carry a station's lists.
	if _, err := s.Push(ctx, "", &wire.Config{Activities: doc().Activities, Notice: doc().Notice}); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.stored(ctx, FleetScope); f.Activities != nil || f.Notice != nil {
		t.Fatalf("fleet defaults carry %+v %+v", f.Activities, f.Notice)
	}
}
