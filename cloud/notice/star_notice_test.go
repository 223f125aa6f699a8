package notice_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/stars"
	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/gateway/wire"
)

// starInNotice stores an application of volunteer for level and has bob
// approve it through the star rules (notice for the rules' 7 working
// days from put): the award in notice.
func starInNotice(t *testing.T, s *store.Store, volunteer string, level int, put time.Time) *store.StarAward {
	t.Helper()
	ctx := context.Background()
	a, err := s.ApplyStar(ctx, store.StarAward{SubjectKind: store.SubjectVolunteer, Subject: volunteer, Level: level,
		Basis: "测试", Approver: stars.ApproveCounty, AppliedBy: "alice"}, put.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	svc := &stars.Service{Store: s, Now: func() time.Time { return put }}
	if a, err = svc.Approve(ctx, a.ID, "bob", "同意"); err != nil || a.State != store.StarNotice {
		t.Fatalf("approve: %+v %v", a, err)
	}
	return a
}

func starState(t *testing.T, s *store.Store, id int64) *store.StarAward {
	t.Helper()
	a, err := s.StarAward(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func addStations(t *testing.T, s *store.Store, put time.Time) {
	t.Helper()
	for _, r := range []store.Registration{
		{ID: "pe-simao-001", Name: "茶源站", County: "530802", Community: "530802001001", SecretHash: "x", Created: put},
		{ID: "pe-simao-009", Name: "无社区站", County: "530802", SecretHash: "x", Created: put},
	} {
		if err := s.AddStation(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// An objection to a star award in notice, by card tap at a station of
// the volunteer's community (Ref "star:<id>") or in the console, sends
// it back to its approver's queue: the notice pass does not award it
// past its notice_until, the approver cannot simply approve it again;
// dismissed after the period, it is awarded at once; dismissed within
// it, the notice resumes and the pass awards it at the end; upheld, it
// is rejected with the reason. A tap at a station that does not show the
// award, or a second tap by the same volunteer, is refused with a
// Chinese reason. On SQLite and PostgreSQL.
func TestStarObjection(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 10, 0) // a Monday
		register(t, s, put)
		addStations(t, s, put)
		svc := &stars.Service{Store: s, Now: func() time.Time { return put.Add(2 * time.Hour) }}
		a := starInNotice(t, s, "V1", 1, put)
		until := a.NoticeUntil
		if !until.After(put.Add(5 * 24 * time.Hour)) {
			t.Fatalf("notice until %s", until)
		}
		n, err := s.StationStarNotice(ctx, "pe-simao-001", put)
		if err != nil || len(n) != 1 || n[0].Ref != store.StarRef(a.ID) || n[0].Name != "王*明" || n[0].Level != 1 || n[0].Objected {
			t.Fatalf("star notice: %+v %v", n, err)
		}

		// By card tap: V2 at the station of V1's community (twice, and
		// once more ingested twice), V2 at a station without community.
		tr := storetest.NewTraffic("pe-simao-001", put.Add(time.Hour))
		es := tr.Entries(2)
		other := storetest.NewTraffic("pe-simao-009", put.Add(time.Hour)).Entries(1)
		es = append(es, other...)
		for i := range es {
			es[i].Kind, es[i].Volunteer, es[i].Ref, es[i].Note = wire.KindObjection, "V2", store.StarRef(a.ID), "服务时长不实"
			if err := es[i].Validate(); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if _, err := s.Ingest(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		if res := pass(t, s, put.Add(2*time.Hour)); res.Objections != 1 || res.Stars != 0 {
			t.Fatalf("pass: %+v", res)
		}
		for i, want := range []string{"", "已在处理中", "本站公示栏中没有"} {
			_, outcome, err := s.KioskObjectionOutcome(ctx, es[i].ID)
			if err != nil || (want == "" && outcome != "") || !strings.Contains(outcome, want) {
				t.Errorf("tap %d: outcome %q %v, want %q", i, outcome, err, want)
			}
		}
		held := starState(t, s, a.ID)
		if held.State != store.StarApplied || held.Objections != 1 || !held.NoticeUntil.Equal(until) || held.ApprovedBy != "bob" {
			t.Fatalf("held: %+v", held)
		}
		objs, err := s.StarObjections(ctx, a.ID)
		if err != nil || len(objs) != 1 || objs[0].Via != store.ViaKiosk || objs[0].RaisedBy != "V2" || objs[0].RecordID != es[0].ID ||
			objs[0].Reason != "服务时长不实" {
			t.Fatalf("objections: %+v %v", objs, err)
		}
		// Still shown, as objected; and in the approver's queue.
		if n, err := s.StationStarNotice(ctx, "pe-simao-001", until.Add(time.Hour)); err != nil || len(n) != 1 || !n[0].Objected {
			t.Fatalf("star notice held: %+v %v", n, err)
		}
		// A console objection while held adds to it.
		if _, x, err := svc.Object(ctx, a.ID, "carol", "本人未参加部分活动"); err != nil || x.Objections != 2 {
			t.Fatalf("console objection: %+v %v", x, err)
		}
		if _, _, err := svc.Object(ctx, a.ID, "carol", "再次"); !isConflict(err) {
			t.Fatalf("second objection by carol: %v", err)
		}
		// Past notice_until the pass does not award it.
		if res := pass(t, s, until.Add(24*time.Hour)); res.Stars != 0 {
			t.Fatalf("awarded under objection: %+v", res)
		}
		if x := starState(t, s, a.ID); x.State != store.StarApplied {
			t.Fatalf("after the period: %s", x.State)
		}
		// The approver cannot approve it again nor reject it plainly.
		if _, err := svc.Approve(ctx, a.ID, "bob", "同意"); !isConflict(err) {
			t.Fatalf("approve under objection: %v", err)
		}
		// carol raised one: she cannot resolve them.
		late := &stars.Service{Store: s, Now: func() time.Time { return until.Add(25 * time.Hour) }}
		if _, _, err := late.Resolve(ctx, a.ID, false, "carol", "不成立"); err == nil {
			t.Fatal("carol resolved her own objection")
		}
		if _, _, err := late.Resolve(ctx, a.ID, false, "bob", ""); err == nil {
			t.Fatal("resolved without a reason")
		}
		// Dismissed after the period: awarded at once.
		x, done, err := late.Resolve(ctx, a.ID, false, "bob", "经核实服务时长属实")
		if err != nil || x.State != store.StarAwarded || len(done) != 2 || done[0].State != store.ObjectionDismissed {
			t.Fatalf("dismissed: %+v %+v %v", x, done, err)
		}
		if f, _ := s.VolunteerStarFacts(ctx, []string{"V1"}, ""); f["V1"].Level != 1 {
			t.Fatalf("V1 level %d", f["V1"].Level)
		}
		if _, _, err := late.Resolve(ctx, a.ID, true, "bob", "再次"); !isConflict(err) {
			t.Fatalf("resolved twice: %v", err)
		}
		if _, _, err := late.Object(ctx, a.ID, "dave", "晚了"); !isConflict(err) {
			t.Fatalf("objection to an awarded star: %v", err)
		}

		// Dismissed within the period: notice resumes, the pass awards it
		// at its end.
		b := starInNotice(t, s, "V2", 1, put)
		if _, _, err := svc.Object(ctx, b.ID, "carol", "有疑问"); err != nil {
			t.Fatal(err)
		}
		if x, _, err := svc.Resolve(ctx, b.ID, false, "bob", "不成立"); err != nil || x.State != store.StarNotice || !x.NoticeUntil.Equal(b.NoticeUntil) {
			t.Fatalf("dismissed within: %+v %v", x, err)
		}
		if res := pass(t, s, b.NoticeUntil); res.Stars != 1 || starState(t, s, b.ID).State != store.StarAwarded ||
			!strings.Contains(strings.Join(res.Stations, ","), "pe-simao-001") {
			t.Fatalf("pass after dismissal: %+v", res)
		}
	})
}

// An upheld objection rejects the award with the reason; the volunteer
// may apply again later.
func TestStarObjectionUpheld(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 10, 0)
		register(t, s, put)
		addStations(t, s, put)
		a := starInNotice(t, s, "V1", 1, put)
		svc := &stars.Service{Store: s, Now: func() time.Time { return put.Add(time.Hour) }}
		if _, _, err := svc.Object(ctx, a.ID, "carol", "  "); err == nil {
			t.Fatal("objection without a reason")
		}
		if _, _, err := svc.Object(ctx, a.ID, "carol", "服务记录有误"); err != nil {
			t.Fatal(err)
		}
		x, done, err := svc.Resolve(ctx, a.ID, true, "bob", "部分记录重复")
		if err != nil || x.State != store.StarRejected || !strings.Contains(x.Reason, "部分记录重复") || x.Decided.IsZero() ||
			len(done) != 1 || done[0].State != store.ObjectionUpheld {
			t.Fatalf("upheld: %+v %+v %v", x, done, err)
		}
		if res := pass(t, s, a.NoticeUntil.Add(time.Hour)); res.Stars != 0 || starState(t, s, a.ID).State != store.StarRejected {
			t.Fatalf("pass after upheld: %+v", res)
		}
		if n, err := s.StationStarNotice(ctx, "pe-simao-001", put.Add(2*time.Hour)); err != nil || len(n) != 0 {
			t.Fatalf("rejected still shown: %+v %v", n, err)
		}
	})
}

func isConflict(err error) bool {
	var r *stars.Refusal
	return errors.As(err, &r) && r.Conflict
}

// Kiosk objections to stars that the station does not show are refused
// with a reason (an unknown award, a bad ref, an unregistered card); an
// organisation's star is objected to at a station of its linked
// community.
func TestKioskStarObjectionRefs(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 10, 0)
		register(t, s, put)
		addStations(t, s, put)
		a, err := s.ApplyStar(ctx, store.StarAward{SubjectKind: store.SubjectOrg, Subject: "O1", Level: 1, Basis: "测试",
			Approver: stars.ApproveCounty, AppliedBy: "alice"}, put.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		svc := &stars.Service{Store: s, Now: func() time.Time { return put }}
		if _, err := svc.Approve(ctx, a.ID, "bob", ""); err != nil {
			t.Fatal(err)
		}
		if n, err := s.StationStarNotice(ctx, "pe-simao-001", put); err != nil || len(n) != 1 || n[0].Name != "茶源社区志愿服务队" || n[0].Kind != store.SubjectOrg {
			t.Fatalf("org star notice: %+v %v", n, err)
		}
		es := storetest.NewTraffic("pe-simao-001", put.Add(time.Hour)).Entries(4)
		by := []struct{ volunteer, ref, want string }{
			{"V1", "star:999", "本站公示栏中没有"}, {"V1", "star:x", "本站公示栏中没有"},
			{"V9", store.StarRef(a.ID), "未注册"}, {"V1", store.StarRef(a.ID), ""},
		}
		for i := range es {
			es[i].Kind, es[i].Volunteer, es[i].Ref = wire.KindObjection, by[i].volunteer, by[i].ref
		}
		if _, err := s.Ingest(ctx, es); err != nil {
			t.Fatal(err)
		}
		if res := pass(t, s, put.Add(2*time.Hour)); res.Objections != 1 {
			t.Fatalf("pass: %+v", res)
		}
		for i, b := range by {
			_, outcome, err := s.KioskObjectionOutcome(ctx, es[i].ID)
			if err != nil || (b.want == "" && outcome != "") || !strings.Contains(outcome, b.want) {
				t.Errorf("tap %d: outcome %q %v, want %q", i, outcome, err, b.want)
			}
		}
		if objs, _ := s.StarObjections(ctx, a.ID); len(objs) != 1 || objs[0].Reason != "在站点公示栏刷卡提出异议" {
			t.Fatalf("objections %+v", objs)
		}
	})
}
