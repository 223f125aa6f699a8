package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/cloud/store/storetest"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// backends are the two databases, each making a fresh, empty database for
// one test: SQLite in a temporary directory, PostgreSQL in a private
// server (one per test).
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

// newDSN makes a fresh, empty database of one backend for one test.
type newDSN func(t *testing.T) string

// suite is every behaviour the store promises; TestStore runs each case
// against SQLite and PostgreSQL.
var suite = []struct {
	name string
	run  func(t *testing.T, dsn newDSN)
}{
	{"MigrationsIdempotent", testMigrations},
	{"SessionsViewDropped", testSessionsViewDropped},
	{"IngestDedup", testIngestDedup},
	{"ConcurrentDedup", testConcurrentDedup},
	{"RoundTrip", testRoundTrip},
	{"RecordsPaging", testRecordsPaging},
	{"SessionsEitherOrder", testSessionsEitherOrder},
	{"HoursMonoAndTime", testHoursMonoAndTime},
	{"AutoCheckOutReview", testAutoCheckOut},
	{"ClockFlags", testClockFlags},
	{"State", testState},
	{"Stations", testStations},
	{"FailedBatchLeavesNothing", testFailedBatch},
	{"CancelledBatchAllOrNothing", testCancelledBatch},
	{"ServiceRecords", testServiceRecords},
}

func TestStore(t *testing.T) {
	backends := []struct {
		name  string
		setup func(t *testing.T) newDSN
	}{
		{"sqlite", func(*testing.T) newDSN {
			return func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }
		}},
		{"postgres", func(t *testing.T) newDSN {
			srv := pgtest.Start(t)
			return func(t *testing.T) string { return pgtest.NewDatabase(t, srv) }
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			dsn := be.setup(t)
			for _, c := range suite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, dsn)
				})
			}
		})
	}
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustIngest(t *testing.T, s *Store, entries []ingest.Entry) int {
	t.Helper()
	n, err := s.Ingest(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCount(t *testing.T, s *Store, station string, want int64) {
	t.Helper()
	n, err := s.CountRecords(context.Background(), station)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("CountRecords(%q) = %d, want %d", station, n, want)
	}
}

var t0 = time.Date(2025, 3, 5, 8, 0, 0, 0, time.UTC)

// rec makes a synced entry of station's boot "b1" at minute min (mono and
// times agree).
func rec(station string, seq uint64, kind wire.Kind, volunteer, ref string, min int) ingest.Entry {
	at := t0.Add(time.Duration(min) * time.Minute)
	r := wire.Record{ID: storetestID(), Station: station, Kind: kind, Volunteer: volunteer, Ref: ref,
		At: at, Mono: int64(time.Duration(min) * time.Minute), Boot: "b1", ClockSynced: true, Seq: seq,
		Service: "量血压", Card: "PE00000001"}
	if kind == wire.KindAutoCheckOut {
		r.Review = true
	}
	return ingest.Entry{Record: r, Time: at, Received: at.Add(time.Second)}
}

func storetestID() string {
	id, err := wire.NewRecordID()
	if err != nil {
		panic(err)
	}
	return id
}

func testMigrations(t *testing.T, dsn newDSN) {
	ctx := context.Background()
	d := dsn(t)
	s := open(t, d)
	mustIngest(t, s, storetest.NewTraffic("pe-a", t0).Entries(10))
	s.Close()
	// Reopening runs no migration twice and loses nothing.
	for range 2 {
		s = open(t, d)
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != latestMigration() {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latestMigration())
		}
		var rowsN int64
		if err := s.b.query(ctx, `SELECT COUNT(*) FROM schema_migrations`, nil,
			func(r rows) error { return r.Scan(&rowsN) }); err != nil {
			t.Fatal(err)
		}
		if rowsN != int64(len(migrations)) {
			t.Fatalf("schema_migrations has %d rows, want %d", rowsN, len(migrations))
		}
		wantCount(t, s, "pe-a", 10)
		s.Close()
	}
	// A database a newer program migrated is refused, not written to.
	s = open(t, d)
	if _, err := s.b.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(ctx, d); !errors.Is(err, ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// The sessions view, which counted flagged sessions like any other, is
// gone from a new database and from one migrated before it was dropped;
// the hours, computed without it, stay the same.
func testSessionsViewDropped(t *testing.T, dsn newDSN) {
	ctx := context.Background()
	d := dsn(t)
	s := open(t, d)
	mustIngest(t, s, []ingest.Entry{rec("pe-view", 1, wire.KindCheckIn, "v-view", "", 0)})
	in, _ := s.Records(ctx, "pe-view", 0, 1)
	mustIngest(t, s, []ingest.Entry{rec("pe-view", 2, wire.KindCheckOut, "v-view", in[0].ID, 90)})
	viewGone := func(s *Store) {
		t.Helper()
		err := s.b.query(ctx, `SELECT COUNT(*) FROM sessions`, nil, func(r rows) error { var n int64; return r.Scan(&n) })
		if err == nil {
			t.Fatal("the sessions view still exists")
		}
		h, err := s.VolunteerHours(ctx, "v-view")
		if err != nil || h.Hours != 1.5 {
			t.Fatalf("hours without the view: %+v, %v; want 1.5", h, err)
		}
	}
	viewGone(s)
	// A database as the previous release left it: the view of migration
	// 1 and no migration 6.
	var create string
	for _, stmt := range migrations[0].stmts {
		if strings.HasPrefix(strings.TrimSpace(stmt), "CREATE VIEW sessions") {
			create = stmt
		}
	}
	if create == "" {
		t.Fatal("migration 1 has no sessions view")
	}
	if _, err := s.b.exec(ctx, create); err != nil {
		t.Fatal(err)
	}
	if _, err := s.b.exec(ctx, `DELETE FROM schema_migrations WHERE version = 6`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	viewGone(open(t, d))
}

func testIngestDedup(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	tr := storetest.NewTraffic("pe-dedup", t0)
	a := tr.Entries(300)
	b := tr.Entries(300)
	if n := mustIngest(t, s, a); n != 300 {
		t.Fatalf("first ingest inserted %d, want 300", n)
	}
	if n := mustIngest(t, s, a); n != 0 {
		t.Fatalf("same batch again inserted %d, want 0", n)
	}
	// Overlapping: the last 100 of a and all of b.
	if n := mustIngest(t, s, append(append([]ingest.Entry{}, a[200:]...), b...)); n != 300 {
		t.Fatalf("overlapping batch inserted %d, want 300", n)
	}
	// An ID twice in one batch is stored once.
	c := tr.Entries(2)
	if n := mustIngest(t, s, []ingest.Entry{c[0], c[1], c[0]}); n != 2 {
		t.Fatalf("batch with a repeated ID inserted %d, want 2", n)
	}
	wantCount(t, s, "pe-dedup", 602)
	ids, err := s.RecordIDs(context.Background(), "pe-dedup")
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(a, b...), c...)
	for i, id := range ids {
		if id != all[i].ID {
			t.Fatalf("RecordIDs[%d] = %s, want %s (seq order)", i, id, all[i].ID)
		}
	}
}

func testConcurrentDedup(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	pool := storetest.NewTraffic("pe-race", t0).Entries(2000)
	const workers, batches = 4, 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range batches {
				// Overlapping windows in shuffled order: the same IDs
				// reach several transactions at once, as when two
				// gateways get a batch and its retransmission.
				off := rng.IntN(len(pool) - 500)
				batch := append([]ingest.Entry{}, pool[off:off+500]...)
				rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				n, err := s.Ingest(context.Background(), batch)
				mu.Lock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// Insert everything once more so the expected count is exact.
	total += mustIngest(t, s, pool)
	if total != len(pool) {
		t.Fatalf("inserted counts add up to %d, want %d", total, len(pool))
	}
	wantCount(t, s, "pe-race", int64(len(pool)))
}

func testRoundTrip(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	at := time.Date(2025, 3, 5, 9, 30, 15, 123456789, time.UTC)
	in := []ingest.Entry{
		{
			Record: wire.Record{ID: storetestID(), Station: "pe-rt", Kind: wire.KindCheckIn, Volunteer: "V00042",
				Card: "PE12345678", Service: "理发", At: at, Mono: 987654321, Boot: "boot-1", ClockSynced: false,
				Seq: 7, Counter: 4294967295, SUN: "sun-abc"},
			Time: at.Add(-time.Hour), ClockFlag: ingest.ClockCorrected, Received: at.Add(time.Minute),
		},
		{
			Record: wire.Record{ID: storetestID(), Station: "pe-rt", Kind: wire.KindServiceRequest,
				Service: "家电维修", Phone: "13800000000", Note: "冰箱不制冷，请下午来", At: at, Mono: 1,
				Boot: "boot-1", ClockSynced: true, Seq: 8},
			Time: at, Received: at.Add(time.Minute),
		},
		{
			Record: wire.Record{ID: storetestID(), Station: "pe-rt", Kind: wire.KindAutoCheckOut, Volunteer: "V00042",
				Ref: "0195f0c2-0000-7000-8000-000000000000", At: at, Mono: 2, Boot: "boot-2", Seq: 9, Review: true},
			Time: at, ClockFlag: ingest.ClockUncorrected, Received: at.Add(time.Minute),
		},
	}
	mustIngest(t, s, in)
	got, err := s.Records(context.Background(), "pe-rt", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
}

func testRecordsPaging(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	a := storetest.NewTraffic("pe-page", t0).Entries(25)
	mustIngest(t, s, storetest.NewTraffic("pe-other", t0).Entries(5))
	// Out of order across batches, as retransmissions arrive.
	mustIngest(t, s, a[10:])
	mustIngest(t, s, a[:10])
	var seen []string
	after := uint64(0)
	for {
		page, err := s.Records(ctx, "pe-page", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Seq <= after {
				t.Fatalf("seq %d after %d", e.Seq, after)
			}
			after = e.Seq
			seen = append(seen, e.ID)
		}
	}
	if len(seen) != 25 {
		t.Fatalf("paged %d records, want 25", len(seen))
	}
	for i := range a {
		if seen[i] != a[i].ID {
			t.Fatalf("record %d is %s, want %s", i, seen[i], a[i].ID)
		}
	}
}

func hours(t *testing.T, s *Store, volunteer string) *Hours {
	t.Helper()
	h, err := s.VolunteerHours(context.Background(), volunteer)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testSessionsEitherOrder(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	// In order: check-in, then its check-out in a later batch.
	in1 := rec("pe-s", 1, wire.KindCheckIn, "V1", "", 0)
	out1 := rec("pe-s", 2, wire.KindCheckOut, "V1", in1.ID, 90)
	mustIngest(t, s, []ingest.Entry{in1})
	if h := hours(t, s, "V1"); h.Open != 1 || h.Sessions != 0 || h.Hours != 0 {
		t.Fatalf("after check-in only: %+v", h)
	}
	mustIngest(t, s, []ingest.Entry{out1})
	// Reversed: the check-out lands first (its check-in's batch was lost
	// and retransmitted later).
	in2 := rec("pe-s", 3, wire.KindCheckIn, "V2", "", 0)
	out2 := rec("pe-s", 4, wire.KindCheckOut, "V2", in2.ID, 90)
	mustIngest(t, s, []ingest.Entry{out2})
	if h := hours(t, s, "V2"); h.Sessions != 0 || h.Open != 0 {
		t.Fatalf("check-out without its check-in counted: %+v", h)
	}
	mustIngest(t, s, []ingest.Entry{in2})
	for _, v := range []struct {
		vol     string
		in, out ingest.Entry
	}{{"V1", in1, out1}, {"V2", in2, out2}} {
		h := hours(t, s, v.vol)
		if h.Sessions != 1 || h.Open != 0 || h.Hours != 1.5 || len(h.List) != 1 {
			t.Fatalf("%s: %+v, want one closed session of 1.5 h", v.vol, h)
		}
		ss := h.List[0]
		want := Session{CheckIn: v.in.ID, CheckOut: v.out.ID, Station: "pe-s", Service: "量血压",
			Start: v.in.Time, End: v.out.Time, Seconds: 5400, Mono: true, Counted: true}
		if !reflect.DeepEqual(ss, want) {
			t.Fatalf("%s session:\n got %+v\nwant %+v", v.vol, ss, want)
		}
	}
	if h := hours(t, s, "nobody"); h.Sessions != 0 || h.Open != 0 || h.Hours != 0 || len(h.List) != 0 {
		t.Fatalf("unknown volunteer: %+v", h)
	}
}

func testHoursMonoAndTime(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	// Same boot: the wall clock jumped (NTP sync mid-session), mono did
	// not; mono wins. 30 minutes by mono, 10 hours by the clock.
	in := rec("pe-h", 1, wire.KindCheckIn, "V7", "", 0)
	out := rec("pe-h", 2, wire.KindCheckOut, "V7", in.ID, 30)
	out.At, out.Time = out.At.Add(10*time.Hour), out.Time.Add(10*time.Hour)
	// It reached the gateway after it was made, by the right clock (one
	// dated ahead of its arrival would be flagged as from the future).
	out.Received = out.Received.Add(10 * time.Hour)
	// Different boots (a power cut mid-session): mono restarted, so the
	// corrected times count. 2 hours by time; mono alone would be negative.
	in2 := rec("pe-h", 3, wire.KindCheckIn, "V7", "", 100)
	out2 := rec("pe-h", 4, wire.KindCheckOut, "V7", in2.ID, 220)
	out2.Boot, out2.Mono = "b2", int64(time.Minute)
	// Different boots and an uncorrectable clock that puts the check-out
	// before the check-in: zero, flagged.
	in3 := rec("pe-h", 5, wire.KindCheckIn, "V7", "", 300)
	out3 := rec("pe-h", 6, wire.KindCheckOut, "V7", in3.ID, 240)
	out3.Boot, out3.ClockFlag = "b3", ingest.ClockUncorrected
	mustIngest(t, s, []ingest.Entry{in, out, in2, out2, in3, out3})
	h := hours(t, s, "V7")
	if h.Sessions != 3 || h.Open != 0 || len(h.List) != 3 {
		t.Fatalf("%+v, want 3 closed sessions", h)
	}
	l := h.List
	if l[0].Seconds != 1800 || !l[0].Mono || l[0].Negative {
		t.Errorf("same boot: %+v, want 1800 s by mono", l[0])
	}
	if l[1].Seconds != 7200 || l[1].Mono || l[1].Negative {
		t.Errorf("different boots: %+v, want 7200 s by time", l[1])
	}
	if l[2].Seconds != 0 || l[2].Mono || !l[2].Negative || l[2].OutClock != ingest.ClockUncorrected {
		t.Errorf("negative: %+v, want 0 s, flagged", l[2])
	}
	if h.Hours != 2.5 {
		t.Errorf("Hours = %v, want 2.5", h.Hours)
	}
}

func testAutoCheckOut(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	in := rec("pe-auto", 1, wire.KindCheckIn, "V9", "", 0)
	auto := rec("pe-auto", 2, wire.KindAutoCheckOut, "V9", in.ID, 12*60)
	open2 := rec("pe-auto", 3, wire.KindCheckIn, "V9", "", 13*60)
	mustIngest(t, s, []ingest.Entry{in, auto, open2})
	h := hours(t, s, "V9")
	if h.Sessions != 1 || h.Open != 1 || h.Hours != 12 {
		t.Fatalf("%+v, want 1 closed session of 12 h and 1 open", h)
	}
	if ss := h.List[0]; !ss.Auto || !ss.Review || ss.CheckOut != auto.ID {
		t.Fatalf("auto check-out session %+v: want Auto and Review", ss)
	}
	if ss := h.List[1]; ss.CheckIn != open2.ID || ss.CheckOut != "" || !ss.End.IsZero() || ss.Seconds != 0 {
		t.Fatalf("open session %+v", ss)
	}
	// A second record closing the same check-in (against the kiosk's
	// rules) does not count the session twice.
	late := rec("pe-auto", 4, wire.KindCheckOut, "V9", in.ID, 14*60)
	mustIngest(t, s, []ingest.Entry{late})
	if h := hours(t, s, "V9"); h.Sessions != 1 || h.Hours != 12 || h.List[0].CheckOut != auto.ID {
		t.Fatalf("after a second closing record: %+v", h)
	}
}

func testClockFlags(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	in := rec("pe-clk", 1, wire.KindCheckIn, "V3", "", 0)
	in.ClockSynced, in.ClockFlag = false, ingest.ClockCorrected
	in.At = in.At.AddDate(-7, 0, 0) // the kiosk thought it was years ago
	out := rec("pe-clk", 2, wire.KindCheckOut, "V3", in.ID, 60)
	out.ClockSynced, out.ClockFlag = false, ingest.ClockUncorrected
	mustIngest(t, s, []ingest.Entry{in, out})
	got, err := s.Records(context.Background(), "pe-clk", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ClockFlag != ingest.ClockCorrected || got[1].ClockFlag != ingest.ClockUncorrected ||
		got[0].ClockSynced || !got[0].At.Equal(in.At) || !got[0].Time.Equal(in.Time) {
		t.Fatalf("records: %+v", got)
	}
	h := hours(t, s, "V3")
	if ss := h.List[0]; ss.InClock != ingest.ClockCorrected || ss.OutClock != ingest.ClockUncorrected || ss.Seconds != 3600 {
		t.Fatalf("session %+v: want in corrected, out uncorrected, 3600 s", ss)
	}
}

func testState(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	if _, _, err := s.State(ctx, "pe-st"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("State of an unknown station: %v, want ErrNotFound", err)
	}
	st := &wire.State{V: wire.Version, Station: "pe-st", Online: true, ConfigVersion: 12, ConfigError: "签名无效",
		Firmware: "1.4.2", Outbox: 17, Reader: wire.ReaderFailing,
		Clock: wire.Clock{At: t0.Add(123 * time.Nanosecond), Mono: 5e12, Boot: "boot-x", Synced: true}}
	seen := t0.Add(time.Hour)
	if err := s.SaveState(ctx, st, seen); err != nil {
		t.Fatal(err)
	}
	got, gotSeen, err := s.State(ctx, "pe-st")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) || !gotSeen.Equal(seen) {
		t.Fatalf("State = %+v at %v, want %+v at %v", got, gotSeen, st, seen)
	}
	// The last will, newer: replaces.
	will := &wire.State{V: wire.Version, Station: "pe-st", Online: false}
	if err := s.SaveState(ctx, will, seen.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A retained state delivered again, older: ignored.
	if err := s.SaveState(ctx, st, seen); err != nil {
		t.Fatal(err)
	}
	got, gotSeen, err = s.State(ctx, "pe-st")
	if err != nil {
		t.Fatal(err)
	}
	if got.Online || got.Outbox != 0 || !gotSeen.Equal(seen.Add(time.Minute)) {
		t.Fatalf("after the will and an older state: %+v at %v", got, gotSeen)
	}
}

func testStations(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	// pe-a: records and a state; pe-b: records only; pe-c: state only.
	a := storetest.NewTraffic("pe-a", t0).Entries(30)
	mustIngest(t, s, a)
	mustIngest(t, s, storetest.NewTraffic("pe-b", t0).Entries(4))
	stA := &wire.State{V: wire.Version, Station: "pe-a", Online: true, ConfigVersion: 3, Firmware: "1.0.0",
		Outbox: 2, Reader: wire.ReaderOK, Clock: wire.Clock{Synced: true, Boot: "x"}}
	if err := s.SaveState(ctx, stA, t0); err != nil { // older than the records
		t.Fatal(err)
	}
	stC := &wire.State{V: wire.Version, Station: "pe-c", Online: false, Reader: wire.ReaderAbsent}
	if err := s.SaveState(ctx, stC, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Stations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Station{
		{ID: "pe-a", Reported: true, Online: true, ConfigVersion: 3, Firmware: "1.0.0", Outbox: 2,
			Reader: wire.ReaderOK, ClockSynced: true, LastSeen: a[len(a)-1].Received, Since: t0, Records: 30},
		{ID: "pe-b", Records: 4},
		{ID: "pe-c", Reported: true, Reader: wire.ReaderAbsent, LastSeen: t0.Add(time.Hour), Since: t0.Add(time.Hour)},
	}
	got[1].LastSeen = time.Time{} // pe-b's depends on the generated traffic
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Stations:\n got %+v\nwant %+v", got, want)
	}
	wantCount(t, s, "", 34)
}

func testFailedBatch(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	batch := storetest.NewTraffic("pe-fail", t0).Entries(120)
	// The last entry breaks a constraint after the others were written in
	// the same transaction.
	batch[len(batch)-1].Mono = -1
	if _, err := s.Ingest(context.Background(), batch); err == nil {
		t.Fatal("Ingest of a batch with a bad record succeeded")
	}
	wantCount(t, s, "pe-fail", 0)
	// The store is still usable, and the good part goes in on retry.
	if n := mustIngest(t, s, batch[:len(batch)-1]); n != 119 {
		t.Fatalf("retry inserted %d, want 119", n)
	}
}

func testCancelledBatch(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	tr := storetest.NewTraffic("pe-cancel", t0)
	var stored int64
	cancelled := 0
	// Cancel at varied moments: before, during and after the commit. Each
	// batch must be wholly in or wholly out, never part.
	for i := range 20 {
		batch := tr.Entries(1000)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i)*300*time.Microsecond, cancel)
		_, err := s.Ingest(ctx, batch)
		cancel()
		n, cerr := s.CountRecords(context.Background(), "pe-cancel")
		if cerr != nil {
			t.Fatal(cerr)
		}
		// A cancel that lands after the commit but before its reply may
		// fail a call whose batch is stored; the gateway then does not
		// ack, the kiosk resends, and de-duplication absorbs it.
		switch {
		case n == stored+1000:
			stored = n
		case n == stored && err != nil:
			cancelled++
		default:
			t.Fatalf("trial %d: Ingest err=%v, count went %d -> %d: not all or nothing", i, err, stored, n)
		}
	}
	if cancelled == 0 {
		t.Log("no trial was cancelled before its commit")
	}
}

// TestPostgresRestart: PostgreSQL restarts between two batches; the store
// replaces its dead connections and goes on without losing or repeating
// anything.
func TestPostgresRestart(t *testing.T) {
	srv := pgtest.Start(t)
	s := open(t, pgtest.NewDatabase(t, srv))
	ctx := context.Background()
	tr := storetest.NewTraffic("pe-restart", t0)
	a, b := tr.Entries(500), tr.Entries(500)
	mustIngest(t, s, a)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The pooled connections died with the server: the store notices and
	// the very first read and write after the restart succeed.
	if _, err := s.Records(ctx, "pe-restart", 0, 10); err != nil {
		t.Fatalf("first read after the restart: %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, b); err != nil {
		t.Fatalf("first write after the restart: %v", err)
	}
	if n := mustIngest(t, s, append(a, b...)); n != 0 {
		t.Fatalf("re-sent everything: %d inserted, want 0", n)
	}
	wantCount(t, s, "pe-restart", 1000)
}
