package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/orders"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// dbBackends are the databases the fleet's order and honor-roll tests run
// on.
var dbBackends = []struct {
	name string
	dsn  func(t *testing.T, dir string) string
}{
	{"sqlite", func(t *testing.T, dir string) string { return "sqlite:" + filepath.Join(dir, "leifeng.db") }},
	{"postgres", func(t *testing.T, dir string) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

// serviceOn is a fleet service on dsn whose pushes go nowhere, with its
// clock at *now, and a station st-a in community 530802001001.
func serviceOn(t *testing.T, dsn, dir string, now *time.Time) (*Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(st, keys, nopPublisher{}, nil)
	s.Now = func() time.Time { return *now }
	if _, err := st.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
		{Code: "530802001002", Name: "南屏社区", Parent: "530802001", Level: people.LevelCommunity},
	}, *now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddStationIn(ctx, "st-a", "茶源站", "530802", "530802001001", "tcp://127.0.0.1:1883"); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// stationOrder is the order ref as station's stored document says it.
func stationOrder(t *testing.T, s *Service, station, ref string) wire.OrderStatus {
	t.Helper()
	cur, err := s.stored(context.Background(), StationScope(station))
	if err != nil || cur == nil {
		t.Fatalf("document of %s: %v %v", station, cur, err)
	}
	for _, o := range cur.Orders {
		if o.Ref == ref {
			return o
		}
	}
	t.Fatalf("document of %s has no order %s: %+v", station, ref, cur.Orders)
	return wire.OrderStatus{}
}

// The clock rules through the orders pass, on a test clock (no sleeping),
// on SQLite and PostgreSQL: an order nobody answers is escalated to the
// county after AnswerWithin (not a minute before) and to the city after
// as long again, each step in its history; a dispatched order nobody
// accepts within AcceptWithin returns to the queue; every change reaches
// the station's document.
func TestOrdersPassClock(t *testing.T) {
	for _, be := range dbBackends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			t0 := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
			now := t0
			s, st := serviceOn(t, be.dsn(t, dir), dir, &now)
			testOrdersPassClock(t, s, st, t0, &now)
		})
	}
}

func testOrdersPassClock(t *testing.T, s *Service, st *store.Store, t0 time.Time, now *time.Time) {
	ctx := context.Background()
	policy := orders.Policy{AnswerWithin: time.Hour, AcceptWithin: 2 * time.Hour}
	id, err := st.CreateOrder(ctx, &orders.Order{Station: "st-a", Category: "家政", Phone: "13800005678", Source: orders.FromProxy}, "manager", t0)
	if err != nil {
		t.Fatal(err)
	}
	var since time.Time
	pass := func(at time.Duration) *orders.Order {
		t.Helper()
		*now = t0.Add(at)
		next, err := s.OrdersPass(ctx, policy, since)
		if err != nil {
			t.Fatalf("pass at +%s: %v", at, err)
		}
		since = next
		o, _, err := st.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	history := func() []string {
		_, evs, err := st.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range evs {
			out = append(out, string(ev.Action)+"/"+ev.Who+"/"+ev.Detail)
		}
		return out
	}

	o := pass(59 * time.Minute)
	if o.Level != 0 || o.State != orders.Submitted || len(history()) != 1 {
		t.Fatalf("+59m: level %d, %s, history %v; want nothing yet", o.Level, o.State, history())
	}
	ref := o.Ref
	if got := stationOrder(t, s, "st-a", ref); got.State != "submitted" || got.Check == "" {
		t.Fatalf("station document after the first pass: %+v", got)
	}
	if o = pass(61 * time.Minute); o.Level != 1 || o.State != orders.Submitted {
		t.Fatalf("+61m: level %d, %s; want the county (1)", o.Level, o.State)
	}
	if h := history(); len(h) != 2 || h[1] != "escalate/系统/level=1" {
		t.Fatalf("+61m history %v", h)
	}
	if o = pass(2*time.Hour + 0*time.Minute); o.Level != 1 {
		t.Fatalf("+2h00: level %d; the county has had 59 minutes, not an hour", o.Level)
	}
	if o = pass(2*time.Hour + time.Minute); o.Level != 2 {
		t.Fatalf("+2h01: level %d; want the city (2)", o.Level)
	}
	if o = pass(5 * time.Hour); o.Level != 2 || len(history()) != 3 {
		t.Fatalf("+5h: level %d, history %v; the city is the top", o.Level, history())
	}

	// Dispatched at +5h, not accepted within two hours: back in the queue.
	city := orders.Actor{User: &access.User{ID: 1, Name: "city", Role: access.City}}
	*now = t0.Add(5 * time.Hour)
	if _, err := st.ActOnOrder(ctx, id, *now, func(o *orders.Order) (orders.Event, error) {
		return orders.Apply(o, orders.Dispatch, orders.Request{Org: "O1"}, city, *now)
	}); err != nil {
		t.Fatal(err)
	}
	if o = pass(5*time.Hour + time.Minute); o.State != orders.Dispatched {
		t.Fatalf("after dispatch: %s", o.State)
	}
	if got := stationOrder(t, s, "st-a", ref); got.State != "dispatched" {
		t.Fatalf("station document after dispatch: %+v", got)
	}
	if o = pass(6*time.Hour + 59*time.Minute); o.State != orders.Dispatched || o.Org != "O1" {
		t.Fatalf("+1h59 after dispatch: %s %q; want still dispatched", o.State, o.Org)
	}
	if o = pass(7*time.Hour + time.Minute); o.State != orders.Submitted || o.Org != "" {
		t.Fatalf("+2h01 after dispatch: %s %q; want back in the queue", o.State, o.Org)
	}
	h := history()
	if last := h[len(h)-1]; last != "return/系统/org=O1" {
		t.Fatalf("history %v: want the return last", h)
	}
	if got := stationOrder(t, s, "st-a", ref); got.State != "submitted" {
		t.Fatalf("station document after the return: %+v", got)
	}
}

// session ingests a closed session of volunteer at station from start for
// d, with its check-in and check-out.
func session(t *testing.T, st *store.Store, station, volunteer string, seq uint64, start time.Time, d time.Duration) {
	t.Helper()
	in, _ := wire.NewRecordID()
	out, _ := wire.NewRecordID()
	es := []ingest.Entry{
		{Record: wire.Record{ID: in, Station: station, Kind: wire.KindCheckIn, Volunteer: volunteer, Card: "C" + volunteer,
			At: start, Mono: 1, Boot: "b-" + station, ClockSynced: true, Seq: seq}, Time: start, Received: start},
		{Record: wire.Record{ID: out, Station: station, Kind: wire.KindCheckOut, Volunteer: volunteer, Card: "C" + volunteer, Ref: in,
			At: start.Add(d), Mono: 1 + int64(d), Boot: "b-" + station, ClockSynced: true, Seq: seq + 1}, Time: start.Add(d), Received: start.Add(d)},
	}
	if _, err := st.Ingest(context.Background(), es); err != nil {
		t.Fatal(err)
	}
}

// The honor roll flows into a station's document from the month's
// records, on SQLite and PostgreSQL: the station's volunteers ranked by
// the counted hours of their final service records made at this station
// on this month's days (China time), at most ten, names masked, each with
// the highest star awarded (not the star their hours would reach), the
// period as the kiosk shows it; last month's records, records at another
// station and records not final (in review, in notice) do not count; the
// next month starts a new roll.
func TestHonorRollFromRecords(t *testing.T) {
	for _, be := range dbBackends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
			s, st := serviceOn(t, be.dsn(t, dir), dir, &now)
			testHonorRoll(t, s, st, &now)
		})
	}
}

func testHonorRoll(t *testing.T, s *Service, st *store.Store, now *time.Time) {
	ctx := context.Background()
	if _, err := s.AddStationIn(ctx, "st-b", "南屏站", "530802", "530802001002", "tcp://127.0.0.1:1883"); err != nil {
		t.Fatal(err)
	}
	var names []store.RosterEntry
	for i, n := range []string{"王小明", "李四", "张三丰", "岩罕", "赵一", "钱二", "孙三", "周四", "吴五", "郑六", "冯七", "陈八", "褚九"} {
		names = append(names, store.RosterEntry{ID: "V" + string(rune('A'+i)), Name: n})
	}
	if err := st.SaveVolunteers(ctx, "st-a", names, *now); err != nil {
		t.Fatal(err)
	}
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, CST) // 2026-10-31 16:00 UTC
	seq := 1
	var recs []store.ServiceRecord
	// add is a card record of d counted hours (the raw time longer: the
	// roll shows counted hours).
	add := func(station, v string, start time.Time, d time.Duration, status string) {
		recs = append(recs, store.ServiceRecord{ID: fmt.Sprintf("tap:%d", seq), Ledger: store.LedgerCard, Volunteer: v,
			Station: station, Community: "530802001001", ActivityName: "社区助老", Day: start.In(CST).Format(time.DateOnly),
			Start: start, End: start.Add(d + 10*time.Minute), RawSeconds: int64((d + 10*time.Minute) / time.Second),
			CountedCents: int64(d / (36 * time.Second)), Status: status})
		seq++
	}
	final := store.StatusFinal
	// VA: 3 h this month here, 200 h last month here; awarded one star.
	add("st-a", "VA", month.Add(24*time.Hour), 3*time.Hour, final)
	for i := range 20 {
		add("st-a", "VA", month.Add(-time.Duration(i+1)*24*time.Hour), 10*time.Hour, final)
	}
	// VB: 2 h here, 5 h at st-b this month; 400 h before (no star
	// awarded: none shown, whatever the hours reach).
	add("st-a", "VB", month.Add(48*time.Hour), 2*time.Hour, final)
	add("st-b", "VB", month.Add(72*time.Hour), 5*time.Hour, final)
	add("st-b", "VB", month.Add(-40*24*time.Hour), 400*time.Hour, final)
	// VC: 4 h at st-b, and 1 h here still in review, 6 h here in notice:
	// neither final, so neither counts.
	add("st-b", "VC", month.Add(96*time.Hour), 4*time.Hour, final)
	add("st-a", "VC", month.Add(97*time.Hour), time.Hour, store.StatusReview)
	add("st-a", "VC", month.Add(99*time.Hour), 6*time.Hour, store.StatusNotice)
	// VD: a record just before the month began (China time).
	add("st-a", "VD", month.Add(-2*time.Hour), time.Hour, final)
	// VE … VM: half an hour to 4.5 h here: with VA and VB, ten of the
	// eleven volunteers with hours here make the roll (VE does not).
	for i := range 9 {
		add("st-a", "V"+string(rune('E'+i)), month.Add(time.Duration(120+i)*time.Hour), time.Duration(i+1)*30*time.Minute, final)
	}
	if _, err := st.PutServiceRecords(ctx, recs, "test", *now); err != nil {
		t.Fatal(err)
	}
	award := func(v string, level int, state string) {
		a, err := st.ApplyStar(ctx, store.StarAward{SubjectKind: store.SubjectVolunteer, Subject: v, Level: level, Approver: "county", AppliedBy: "test"}, *now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.DecideStar(ctx, a.ID, func(a *store.StarAward) error { a.State = state; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	award("VA", 1, store.StarAwarded)
	award("VM", 2, store.StarRejected) // not awarded: no star

	if err := s.RefreshStation(ctx, "st-a"); err != nil {
		t.Fatal(err)
	}
	cur, err := s.stored(ctx, StationScope("st-a"))
	if err != nil || cur == nil {
		t.Fatalf("document: %v %v", cur, err)
	}
	if cur.HonorRollPeriod != "2026年11月" {
		t.Fatalf("period %q", cur.HonorRollPeriod)
	}
	var got []string
	for _, h := range cur.HonorRoll {
		got = append(got, h.Volunteer+"/"+h.Name)
		if !wire.NameMasked(h.Name) {
			t.Fatalf("unmasked name %q", h.Name)
		}
	}
	want := []string{"VM/褚*", "VL/陈*", "VK/冯*", "VA/王*明", "VJ/郑*", "VI/吴*", "VB/李*", "VH/周*", "VG/孙*", "VF/钱*"}
	if !slices.Equal(got, want) {
		t.Fatalf("honor roll %v, want %v (%+v)", got, want, cur.HonorRoll)
	}
	if m, a := cur.HonorRoll[0], cur.HonorRoll[3]; m.Hours != 4.5 || m.Stars != 0 || a.Hours != 3 || a.Stars != 1 {
		t.Fatalf("VM %+v, VA %+v: want 4.5 h and no star (rejected), 3 h this month and the one star awarded", m, a)
	}
	if b := cur.HonorRoll[6]; b.Hours != 2 || b.Stars != 0 {
		t.Fatalf("VB %+v: want the 2 h here only and no star (none awarded)", b)
	}
	// The roster's hours are the final counted hours, every station: not
	// the raw time, not a record in review or notice.
	rosterHours := map[string]float64{}
	for _, v := range cur.Volunteers {
		rosterHours[v.ID] = v.Hours
	}
	for id, h := range map[string]float64{"VA": 203, "VB": 407, "VC": 4, "VD": 1, "VM": 4.5} {
		if rosterHours[id] != h {
			t.Errorf("roster hours of %s: %v, want %v", id, rosterHours[id], h)
		}
	}
	// The star shown at the tap is the awarded one: VA's one star; none
	// for VB (407 h, never awarded) or VM (rejected).
	for _, v := range cur.Volunteers {
		want := map[string]int{"VA": 1}[v.ID]
		if v.Star == nil || *v.Star != want {
			t.Errorf("roster star of %s: %v, want %d", v.ID, v.Star, want)
		}
	}

	// Nothing changed: no new version.
	v := cur.Version
	if err := s.RefreshStation(ctx, "st-a"); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.stored(ctx, StationScope("st-a")); cur.Version != v {
		t.Fatalf("refresh without a change pushed version %d after %d", cur.Version, v)
	}

	// December: a new month, nobody has hours yet.
	*now = time.Date(2026, 12, 1, 0, 30, 0, 0, CST)
	if err := s.RefreshStation(ctx, "st-a"); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.stored(ctx, StationScope("st-a")); len(cur.HonorRoll) != 0 || cur.HonorRollPeriod != "" {
		t.Fatalf("December roll %q %+v, want none yet", cur.HonorRollPeriod, cur.HonorRoll)
	}
}

// BenchmarkRosterAndHonor is what a station's refresh reads: the roster
// (each volunteer's final counted hours) and the honor roll (the month's
// final hours at the station, the awarded stars), for a station with
// 100000 tap records of 5000 volunteers over about a year and a final
// service record for each of their sessions, on SQLite.
func BenchmarkRosterAndHonor(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "leifeng.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := storetest.NewTraffic("st-a", start)
	var last time.Time
	for range 100 {
		es := tr.Entries(1000)
		if _, err := st.Ingest(ctx, es); err != nil {
			b.Fatal(err)
		}
		last = es[len(es)-1].Time
	}
	s := NewService(st, nil, nopPublisher{}, nil)
	s.Now = func() time.Time { return last }
	roster, err := s.Roster(ctx, "st-a")
	if err != nil {
		b.Fatal(err)
	}
	// A final record for each session (what the hours pass and the notice
	// make of them), the last on the day of the last tap.
	sessions, err := st.PassSessions(ctx, func() []string {
		var ids []string
		for _, v := range roster {
			ids = append(ids, v.ID)
		}
		return ids
	}())
	if err != nil {
		b.Fatal(err)
	}
	var recs []store.ServiceRecord
	for v, list := range sessions {
		for _, ss := range list {
			if !ss.Closed {
				continue
			}
			recs = append(recs, store.ServiceRecord{ID: "tap:" + ss.CheckIn, Ledger: store.LedgerCard, Volunteer: v, Station: "st-a",
				Day: ss.Start.In(CST).Format(time.DateOnly), Start: ss.Start, End: ss.End, RawSeconds: ss.RawSeconds,
				CountedCents: ss.RawSeconds / 36, Status: store.StatusFinal})
		}
	}
	for chunk := range slices.Chunk(recs, 5000) {
		if _, err := st.PutServiceRecords(ctx, chunk, "bench", last); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("roster", func(b *testing.B) {
		for range b.N {
			if _, err := s.Roster(ctx, "st-a"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("honor", func(b *testing.B) {
		for range b.N {
			h, _, err := s.honorRoll(ctx, "st-a", roster)
			if err != nil || len(h) == 0 {
				b.Fatal(len(h), err)
			}
		}
	})
}
