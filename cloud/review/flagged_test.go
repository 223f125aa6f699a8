package review_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/review"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// The two review queues agree, on SQLite and PostgreSQL: a flagged
// session approved in the old queue (store.ReviewSession, `leifeng-cloud
// review approve`) marks its day for the hours pass, whose next run
// takes the service record out of review; a card record held as flagged
// and decided in the hours queue (approve or reject) writes the
// session's decision in the old queue, which no longer lists it.
func TestFlaggedQueuesAgree(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/cloud.db" }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, b.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			testFlaggedQueuesAgree(t, st)
		})
	}
}

func testFlaggedQueuesAgree(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(hhmm string) time.Time {
		x, _ := time.ParseInLocation("2006-01-02 15:04", "2026-11-03 "+hhmm, calendar.CST)
		return x
	}
	now := at("20:00")
	var seq uint64
	tap := func(kind wire.Kind, vol, ref string, t time.Time) ingest.Entry {
		seq++
		id, _ := wire.NewRecordID()
		return ingest.Entry{Record: wire.Record{ID: id, Station: "s2", Kind: kind, Volunteer: vol, Ref: ref, Card: "C-" + vol,
			At: t, Mono: t.UnixNano(), Boot: "b", ClockSynced: true, Seq: seq}, Time: t, Received: t}
	}
	// Each volunteer's second session overlaps the first: flagged.
	var all []ingest.Entry
	for _, v := range []string{"V1", "V2", "V3", "V4"} {
		for _, s := range [][2]string{{"09:00", "11:00"}, {"10:00", "10:30"}} {
			in := tap(wire.KindCheckIn, v, "", at(s[0]))
			all = append(all, in, tap(wire.KindCheckOut, v, in.ID, at(s[1])))
		}
	}
	if _, err := st.Ingest(ctx, all); err != nil {
		t.Fatal(err)
	}
	if _, err := hours.Pass(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	flaggedRec := func(v string) store.ServiceRecord {
		t.Helper()
		rs, err := st.ServiceRecords(ctx, store.ServiceRecordFilter{Volunteer: v})
		if err != nil || len(rs) != 2 {
			t.Fatalf("%s: %+v %v", v, rs, err)
		}
		slices.SortFunc(rs, func(a, b store.ServiceRecord) int { return a.Start.Compare(b.Start) })
		return rs[1]
	}
	queued := func() []string {
		t.Helper()
		fs, err := st.FlaggedSessions(ctx, at("00:00"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Volunteer)
		}
		return out
	}
	for _, v := range []string{"V1", "V2", "V3", "V4"} {
		if r := flaggedRec(v); r.Status != store.StatusReview || !slices.Equal(r.Reasons, []string{hours.ReasonFlagged}) {
			t.Fatalf("%s: %+v", v, r)
		}
	}
	if q := queued(); !slices.Equal(q, []string{"V1", "V2", "V3", "V4"}) {
		t.Fatalf("old queue %v", q)
	}

	// The old queue approves V1's session: its day is dirty, and the
	// next pass puts the record in notice (1 overlapping half hour: 0.5 h).
	r1 := flaggedRec("V1")
	if err := st.ReviewSession(ctx, r1.CheckIn, true, "manager", "核实无误", now); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DirtyCount(ctx); err != nil || n != 1 {
		t.Fatalf("dirty days after the old queue's approval: %d %v", n, err)
	}
	if _, err := hours.Pass(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	if r := flaggedRec("V1"); r.Status != store.StatusNotice || len(r.Reasons) != 0 || r.CountedCents != 50 {
		t.Errorf("V1 after the old queue's approval: %+v", r)
	}

	// The hours queue approves V2's record and rejects V3's: the old
	// queue has both decisions.
	u := &access.User{Name: "manager", Role: access.Station, Scope: "s2"}
	sc := &access.Scope{Role: access.Station, Stations: map[string]bool{"s2": true}}
	if _, err := review.Decide(ctx, st, u, sc, flaggedRec("V2").ID, review.Decision{Action: review.ActionApprove}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := review.Decide(ctx, st, u, sc, flaggedRec("V3").ID, review.Decision{Action: review.ActionReject, Reason: "重复签到"}, now); err != nil {
		t.Fatal(err)
	}
	if q := queued(); !slices.Equal(q, []string{"V4"}) {
		t.Errorf("old queue after the hours decisions: %v, want V4's only", q)
	}
	for v, approved := range map[string]bool{"V2": true, "V3": false} {
		h, err := st.VolunteerHours(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(h.List, func(s store.Session) bool { return s.CheckIn == flaggedRec(v).CheckIn })
		if i < 0 || h.List[i].Approved != approved {
			t.Errorf("%s's session in the old queue: %+v", v, h.List)
		}
	}
	// A pass after the decisions changes neither record.
	if err := st.MarkDirty(ctx, []store.DirtyDay{{Volunteer: "V2", Day: "2026-11-03"}, {Volunteer: "V3", Day: "2026-11-03"}}); err != nil {
		t.Fatal(err)
	}
	if res, err := hours.Pass(ctx, st, now); err != nil || len(res.Changes) != 0 {
		t.Errorf("pass after the decisions: %+v %v", res, err)
	}
	if r := flaggedRec("V3"); r.Status != store.StatusRejected {
		t.Errorf("V3: %+v", r)
	}

	// The old queue rejects V4's session: the next pass rejects the
	// record, with an outcome for the volunteer, and later passes leave
	// it so.
	r4 := flaggedRec("V4")
	if err := st.ReviewSession(ctx, r4.CheckIn, false, "manager", "重复签到", now); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := hours.Pass(ctx, st, now); err != nil {
			t.Fatal(err)
		}
		if r := flaggedRec("V4"); r.Status != store.StatusRejected || r.Outcome != "11月3日 "+r.ActivityName+"：未通过审核（异常记录审核不予认定）" {
			t.Errorf("V4 after the old queue's rejection: %+v", r)
		}
		if err := st.MarkDirty(ctx, []store.DirtyDay{{Volunteer: "V4", Day: "2026-11-03"}}); err != nil {
			t.Fatal(err)
		}
	}
}
