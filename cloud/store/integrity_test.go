package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

func init() {
	suite = append(suite, []struct {
		name string
		run  func(t *testing.T, dsn newDSN)
	}{
		{"ForgedLongSessionFlagged", testForgedLongSession},
		{"OverlapCountsOnce", testOverlapCountsOnce},
		{"FutureEndFlagged", testFutureEnd},
		{"MaxSessionFromPushedConfig", testMaxSessionFromConfig},
		{"CountedHoursMatchesVolunteerHours", testCountedHours},
		{"CloneAlerts", testCloneAlerts},
		{"RefusedRecords", testRefused},
		{"RejectedSessionLeavesQueue", testRejectSession},
		{"KnownBeforeBatch", testKnownBefore},
	}...)
}

// session makes a closed session of volunteer at station from minute
// from to minute to (of t0), on one boot, received when each tap was made.
func session(station, volunteer string, seq uint64, from, to int) (in, out ingest.Entry) {
	in = rec(station, seq, wire.KindCheckIn, volunteer, "", from)
	out = rec(station, seq+1, wire.KindCheckOut, volunteer, in.ID, to)
	return in, out
}

func flagsOf(t *testing.T, h *Hours, checkIn string) Session {
	t.Helper()
	i := slices.IndexFunc(h.List, func(ss Session) bool { return ss.CheckIn == checkIn })
	if i < 0 {
		t.Fatalf("session %s not listed: %+v", checkIn, h.List)
	}
	return h.List[i]
}

// A stolen kiosk's credentials forge a 1,000-hour session 41 days long:
// it is stored, flagged, and counts nothing until a person approves it.
func testForgedLongSession(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	real1, real2 := session("pe-f", "V-forged", 1, 0, 120)
	in, out := session("pe-f", "V-forged", 3, 60*24, 60*24+1000*60)
	mustIngest(t, s, []ingest.Entry{real1, real2, in, out})
	wantCount(t, s, "pe-f", 4)
	h := hours(t, s, "V-forged")
	if h.Hours != 2 || h.Sessions != 2 || h.Flagged != 1 {
		t.Fatalf("%+v: want 2 h counted, the forged session flagged", h)
	}
	ss := flagsOf(t, h, in.ID)
	if ss.Counted || !slices.Contains(ss.Flags, FlagTooLong) || ss.Seconds != 1000*3600 || ss.End.Sub(ss.Start) < 41*24*time.Hour {
		t.Fatalf("forged session %+v: want flagged too_long, not counted, its length kept", ss)
	}
	// A session inside the forged one is not hidden by it.
	in3, out3 := session("pe-f2", "V-forged", 1, 60*48, 60*49)
	mustIngest(t, s, []ingest.Entry{in3, out3})
	if h := hours(t, s, "V-forged"); h.Hours != 3 || h.Flagged != 1 {
		t.Fatalf("a real session inside the forged one: %+v, want 3 h", h)
	}
	if err := s.ApproveSession(ctx, real1.ID, "审核员", "", t0); !errors.Is(err, ErrNotFlagged) {
		t.Fatalf("approving an unflagged session: %v, want ErrNotFlagged", err)
	}
	if err := s.ApproveSession(ctx, storetestID(), "审核员", "", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("approving an unknown session: %v, want ErrNotFound", err)
	}
	queue, err := s.FlaggedSessions(ctx, t0)
	if err != nil || len(queue) != 1 || queue[0].CheckIn != in.ID || queue[0].Volunteer != "V-forged" {
		t.Fatalf("review queue %+v, %v: want the forged session", queue, err)
	}
	if err := s.ApproveSession(ctx, in.ID, "审核员", "核实：长期驻点", t0); err != nil {
		t.Fatal(err)
	}
	h = hours(t, s, "V-forged")
	if ss := flagsOf(t, h, in.ID); !ss.Counted || !ss.Approved || !slices.Contains(ss.Flags, FlagTooLong) {
		t.Fatalf("after approval: %+v", h)
	}
	// Approved, it counts; the session inside it now overlaps a counted one.
	if h.Hours != 1002 || !slices.Contains(flagsOf(t, h, in3.ID).Flags, FlagOverlap) {
		t.Fatalf("after approval: %v h, %+v", h.Hours, h.List)
	}
	if queue, err := s.FlaggedSessions(ctx, t0); err != nil || len(queue) != 1 || queue[0].CheckIn != in3.ID {
		t.Fatalf("review queue after approval %+v, %v: want the session now overlapping", queue, err)
	}
}

// One volunteer in two overlapping sessions at two stations counts once,
// whichever arrives first; the earlier-starting one counts.
func testOverlapCountsOnce(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	a1, a2 := session("pe-oa", "V-twice", 1, 0, 120)
	b1, b2 := session("pe-ob", "V-twice", 1, 30, 150)
	c1, c2 := session("pe-ob", "V-twice", 3, 200, 260) // later, apart: counts
	mustIngest(t, s, []ingest.Entry{b1, b2})
	mustIngest(t, s, []ingest.Entry{c2, c1})
	mustIngest(t, s, []ingest.Entry{a1, a2})
	h := hours(t, s, "V-twice")
	if h.Hours != 3 || h.Sessions != 3 || h.Flagged != 1 {
		t.Fatalf("%+v: want 2 h + 1 h counted, the overlapping session flagged", h)
	}
	if ss := flagsOf(t, h, b1.ID); ss.Counted || !slices.Equal(ss.Flags, []string{FlagOverlap}) {
		t.Fatalf("overlapping session %+v", ss)
	}
	if ss := flagsOf(t, h, a1.ID); !ss.Counted || len(ss.Flags) != 0 {
		t.Fatalf("first session %+v", ss)
	}
}

// A check-out dated well after the gateway received it is flagged.
func testFutureEnd(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	in, out := session("pe-fut", "V-future", 1, 0, 60)
	out.Received = t0.Add(10 * time.Minute) // arrived 50 minutes before its own time
	ok1, ok2 := session("pe-fut", "V-future", 3, 120, 180)
	ok2.Received = ok2.Time.Add(-2 * time.Minute) // a kiosk clock a little fast
	mustIngest(t, s, []ingest.Entry{in, out, ok1, ok2})
	h := hours(t, s, "V-future")
	if ss := flagsOf(t, h, in.ID); ss.Counted || !slices.Equal(ss.Flags, []string{FlagFuture}) {
		t.Fatalf("future session %+v", ss)
	}
	if h.Hours != 1 || h.Flagged != 1 {
		t.Fatalf("%+v: want 1 h counted", h)
	}
}

// The maximum is the one the cloud pushed: the station's config, else the
// fleet's, else the built-in 12 h.
func testMaxSessionFromConfig(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	push := func(scope string, version uint64, minutes int) {
		doc, err := json.Marshal(&wire.Config{V: wire.Version, Version: version, Rules: &wire.Rules{MaxSessionMinutes: minutes}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveConfig(ctx, ConfigDoc{Scope: scope, Version: version, Doc: doc, Sealed: []byte("{}"), Pushed: t0}); err != nil {
			t.Fatal(err)
		}
	}
	in, out := session("pe-max", "V-max", 1, 0, 8*60) // 8 h
	mustIngest(t, s, []ingest.Entry{in, out})
	if h := hours(t, s, "V-max"); h.Hours != 8 {
		t.Fatalf("built-in 12 h maximum: %+v", h)
	}
	push("fleet", 1, 6*60)
	if h := hours(t, s, "V-max"); h.Hours != 0 || h.Flagged != 1 {
		t.Fatalf("fleet maximum 6 h: %+v", h)
	}
	push("station:pe-max", 1, 10*60)
	if h := hours(t, s, "V-max"); h.Hours != 8 {
		t.Fatalf("station maximum 10 h over the fleet's: %+v", h)
	}
	push("station:pe-max", 2, 4*60)
	if h := hours(t, s, "V-max"); h.Hours != 0 || !slices.Contains(h.List[0].Flags, FlagTooLong) {
		t.Fatalf("station maximum lowered to 4 h: %+v", h)
	}
}

func testCountedHours(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	a1, a2 := session("pe-ch", "V-a", 1, 0, 90)
	b1, b2 := session("pe-ch", "V-b", 3, 0, 30)
	f1, f2 := session("pe-ch", "V-b", 5, 100, 100+13*60)
	mustIngest(t, s, []ingest.Entry{a1, a2, b1, b2, f1, f2})
	got, err := s.CountedHours(context.Background(), []string{"V-a", "V-b", "V-none"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"V-a": 1.5, "V-b": 0.5, "V-none": 0}
	for v, w := range want {
		if got[v] != w || hours(t, s, v).Hours != w {
			t.Errorf("%s: CountedHours %v, VolunteerHours %v, want %v", v, got[v], hours(t, s, v).Hours, w)
		}
	}
}

// NTAG 424 DNA: a SUN message read twice, a counter that repeats or goes
// back in time order raise a clone alert, once; a counter rising with time
// does not, even when the older tap arrives later (a kiosk that was
// offline).
func testCloneAlerts(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	tap := func(station string, seq uint64, min int, counter uint32, sun string) ingest.Entry {
		e := rec(station, seq, wire.KindCheckIn, "V-424", "", min)
		e.Card, e.Counter, e.SUN = "PE-424-1", counter, sun
		return e
	}
	check := func(es ...ingest.Entry) int {
		t.Helper()
		mustIngest(t, s, es)
		n, err := s.CheckClones(ctx, es)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A kiosk that was offline delivers its older tap after a newer one.
	newer := tap("pe-c1", 1, 60, 11, "E=AA&C=11")
	older := tap("pe-c2", 1, 0, 10, "E=AA&C=10")
	if n := check(newer) + check(older); n != 0 {
		t.Fatalf("rising counters, late arrival: %d alerts", n)
	}
	// The read at counter 11 replayed at another station an hour later.
	replay := tap("pe-c3", 1, 120, 11, "E=AA&C=11")
	if n := check(replay); n != 1 {
		t.Fatalf("replayed SUN: %d alerts, want 1", n)
	}
	// Again (the batch resent): nothing new.
	if n := check(replay); n != 0 {
		t.Fatalf("replayed SUN checked twice: %d new alerts", n)
	}
	// A clone with a lower counter, later: it steps back from 10 and 11.
	back := tap("pe-c2", 2, 180, 9, "E=BB&C=09")
	if n := check(back); n != 3 {
		t.Fatalf("counter back: %d alerts, want 3 (below 10, 11 and the replayed 11)", n)
	}
	// A card without SUN data (MIFARE Classic) is never compared.
	plain := rec("pe-c1", 2, wire.KindCheckIn, "V-plain", "", 200)
	if n := check(plain); n != 0 {
		t.Fatalf("card without SUN: %d alerts", n)
	}
	alerts, err := s.CloneAlerts(ctx, "PE-424-1")
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, a := range alerts {
		reasons[a.Reason]++
		if a.Card != "PE-424-1" || a.Volunteer != "V-424" || a.RecordA >= a.RecordB {
			t.Errorf("alert %+v", a)
		}
	}
	// The replay repeats counter 11 with the same message: one replay alert.
	if len(alerts) != 4 || reasons[CloneSUNReplay] != 1 || reasons[CloneCounterBack] != 3 {
		t.Fatalf("alerts %+v", alerts)
	}
	// The repeat without the same message (a clone that makes its own).
	rep := tap("pe-c4", 1, 240, 11, "E=CC&C=11")
	if n := check(rep); n < 1 {
		t.Fatalf("repeated counter: %d alerts", n)
	}
	all, _ := s.CloneAlerts(ctx, "")
	if !slices.ContainsFunc(all, func(a CloneAlert) bool { return a.Reason == CloneCounterRepeat }) {
		t.Fatalf("no counter_repeat alert in %+v", all)
	}
}

// What the database cannot hold is refused with ingest.ErrRefused (not a
// transient failure), and Refuse keeps it apart from the records.
func testRefused(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	good := storetest10(t)
	big := rec("pe-ref", 99, wire.KindCheckIn, "V1", "", 0)
	big.Seq = math.MaxUint64
	future := rec("pe-ref", 98, wire.KindCheckIn, "V1", "", 0)
	future.At, future.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := []ingest.Entry{big, future}
	if s.b.dialect() == "postgres" {
		// PostgreSQL refuses NUL in text; wire.Validate keeps it from
		// the gateway, but the store must not mistake it for an outage.
		nul := rec("pe-ref", 97, wire.KindCheckIn, "V\x00001", "", 0)
		bad = append(bad, nul)
	}
	neg := rec("pe-ref", 96, wire.KindCheckIn, "V1", "", 0)
	neg.Mono = -1 // breaks a CHECK constraint
	bad = append(bad, neg)
	for _, e := range bad {
		if _, err := s.Ingest(ctx, append(append([]ingest.Entry{}, good...), e)); !errors.Is(err, ingest.ErrRefused) {
			t.Fatalf("record %+v: %v, want ErrRefused", e.Record, err)
		}
		if err := s.Refuse(ctx, e, "database_refused: test"); err != nil {
			t.Fatal(err)
		}
		if err := s.Refuse(ctx, e, "again"); err != nil {
			t.Fatal(err)
		}
	}
	wantCount(t, s, "pe-ref", 0)
	mustIngest(t, s, good)
	rs, err := s.RejectedRecords(ctx, "pe-ref")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(bad) {
		t.Fatalf("%d rejected records, want %d", len(rs), len(bad))
	}
	for _, r := range rs {
		var e ingest.Entry
		if err := json.Unmarshal(r.Record, &e); err != nil || e.ID != r.ID || r.Reason != "database_refused: test" {
			t.Fatalf("rejected record %+v: %v", r, err)
		}
	}
}

func storetest10(t *testing.T) []ingest.Entry {
	t.Helper()
	var out []ingest.Entry
	for i := range 10 {
		out = append(out, rec("pe-ref", uint64(i+1), wire.KindCheckIn, "V-ok", "", i))
	}
	return out
}

// The SQLite file, its write-ahead log and its index are created readable
// by their owner only, and a file an older version left open is tightened.
func TestSQLiteFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leifeng.db")
	s := open(t, "sqlite:"+path)
	mustIngest(t, s, storetest10(t))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
	s.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	s = open(t, "sqlite:"+path)
	mustIngest(t, s, storetest10(t))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s reopened: mode %o, want 600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// A session a person decides not to count leaves the review queue, stays
// out of the hours and says so; deciding again replaces the decision.
func testRejectSession(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	in, out := session("pe-rj", "V-rej", 1, 0, 1000*60)
	mustIngest(t, s, []ingest.Entry{in, out})
	if err := s.ReviewSession(ctx, in.ID, false, "审核员", "无法核实", t0); err != nil {
		t.Fatal(err)
	}
	if queue, err := s.FlaggedSessions(ctx, t0); err != nil || len(queue) != 0 {
		t.Fatalf("queue after rejection %+v, %v: want empty", queue, err)
	}
	h := hours(t, s, "V-rej")
	if ss := flagsOf(t, h, in.ID); h.Hours != 0 || ss.Counted || !ss.Rejected || ss.Approved {
		t.Fatalf("after rejection: %+v", h)
	}
	if err := s.ReviewSession(ctx, in.ID, true, "审核员", "补充材料后核实", t0); err != nil {
		t.Fatal(err)
	}
	if h := hours(t, s, "V-rej"); h.Hours != 1000 || flagsOf(t, h, in.ID).Rejected {
		t.Fatalf("approved after a rejection: %+v", h)
	}
}

// A station knows the volunteers listed for it and those who checked in
// there before the batch at hand, not one first seen in that very batch,
// nor one known only at another station.
func testKnownBefore(t *testing.T, dsn newDSN) {
	s := open(t, dsn(t))
	ctx := context.Background()
	if err := s.SaveVolunteers(ctx, "pe-kb", []RosterEntry{{ID: "V-listed"}}, t0); err != nil {
		t.Fatal(err)
	}
	earlier := rec("pe-kb", 1, wire.KindCheckIn, "V-back", "", 0)
	elsewhere := rec("pe-other", 1, wire.KindCheckIn, "V-new", "", 0)
	mustIngest(t, s, []ingest.Entry{earlier, elsewhere})
	batch := []ingest.Entry{
		rec("pe-kb", 2, wire.KindCheckOut, "V-back", earlier.ID, 30),
		rec("pe-kb", 3, wire.KindCheckIn, "V-back", "", 40),
		rec("pe-kb", 4, wire.KindCheckIn, "V-new", "", 41),
		rec("pe-kb", 5, wire.KindCheckIn, "V-listed", "", 42),
	}
	batch = append(batch, rec("pe-kb", 6, wire.KindCheckOut, "V-new", batch[2].ID, 50))
	mustIngest(t, s, batch)
	known, err := s.KnownBefore(ctx, "pe-kb", []string{"V-back", "V-new", "V-listed", "V-nobody"}, batch)
	if err != nil {
		t.Fatal(err)
	}
	if !known["V-back"] || !known["V-listed"] || known["V-new"] || known["V-nobody"] || len(known) != 2 {
		t.Fatalf("known before the batch: %v; want V-back and V-listed", known)
	}
	// The next batch: V-new checked in at pe-kb before it.
	next := []ingest.Entry{rec("pe-kb", 7, wire.KindCheckIn, "V-new", "", 60)}
	mustIngest(t, s, next)
	if known, err := s.KnownBefore(ctx, "pe-kb", []string{"V-new"}, next); err != nil || !known["V-new"] {
		t.Fatalf("V-new after an earlier batch: %v, %v", known, err)
	}
}
