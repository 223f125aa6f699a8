package fleet

import (
	"context"
	"testing"
	"time"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Star awards in public notice (星级认定公示) are in the notice list of
// the stations of their subject's community, on SQLite and PostgreSQL: a
// volunteer's by their home community (name masked), an organisation's by
// its linked community (its name in Org); an award held by an objection
// is shown as objected; applications not yet approved, and awards whose
// notice is over, are not shown; an older kiosk reads the line as a
// record whose activity says what it is.
func TestStationDocumentStarNotice(t *testing.T) {
	for _, be := range dbBackends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			s, st := serviceOn(t, be.dsn(t, dir), dir, &now)
			testStationDocumentStarNotice(t, s, st, &now)
		})
	}
}

func testStationDocumentStarNotice(t *testing.T, s *Service, st *store.Store, now *time.Time) {
	ctx := context.Background()
	if _, err := s.AddStationIn(ctx, "st-b", "南屏站", "530802", "530802001002", "tcp://127.0.0.1:1883"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveOrganisations(ctx, []people.Organisation{
		{ID: "O1", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001"},
	}, *now); err != nil {
		t.Fatal(err)
	}
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var vs []people.Volunteer
	for _, v := range []people.Volunteer{
		{ID: "V1", Name: "陈小红", IDNumber: "530802199003071236", Community: "530802001001", Phone: "13987912345"},
		{ID: "V2", Name: "李四", IDNumber: "530821198506151232", Community: "530802001002", Phone: "13987912346"},
		{ID: "V3", Name: "王五", IDNumber: "530802199003071252", Community: "530802001001", Phone: "13987912347"},
		{ID: "V4", Name: "赵六", IDNumber: "530802199003071279", Community: "530802001001", Phone: "13987912348"},
	} {
		v.RegisteredOn = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := v.Check(vault, *now); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if res, err := st.RegisterVolunteers(ctx, vs, *now); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	until := now.Add(72 * time.Hour)
	award := func(kind, subject string, level int, state string, until time.Time) int64 {
		t.Helper()
		a, err := st.ApplyStar(ctx, store.StarAward{SubjectKind: kind, Subject: subject, Level: level, Basis: "测试",
			Approver: "county", AppliedBy: "alice"}, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if state != store.StarApplied {
			if _, err := st.DecideStar(ctx, a.ID, func(x *store.StarAward) error {
				x.State, x.ApprovedBy, x.NoticeUntil = state, "bob", until
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	v1 := award(store.SubjectVolunteer, "V1", 3, store.StarNotice, until)
	v2 := award(store.SubjectVolunteer, "V2", 1, store.StarNotice, until)
	o1 := award(store.SubjectOrg, "O1", 2, store.StarNotice, until.Add(time.Hour))
	award(store.SubjectVolunteer, "V3", 1, store.StarApplied, time.Time{})          // not approved yet
	award(store.SubjectVolunteer, "V4", 2, store.StarNotice, now.Add(-time.Minute)) // notice over
	if err := s.RefreshStations(ctx, []string{"st-a", "st-b"}); err != nil {
		t.Fatal(err)
	}
	notice := func(station string) []wire.NoticeRecord {
		t.Helper()
		cur, err := s.stored(ctx, StationScope(station))
		if err != nil || cur == nil {
			t.Fatalf("document of %s: %v %v", station, cur, err)
		}
		return cur.Notice
	}
	a := notice("st-a")
	want := []wire.NoticeRecord{
		{ID: store.StarRef(o1), Kind: wire.NoticeStar, Level: 2, Org: "茶源社区志愿服务队", Day: "2026-11-19",
			Activity: "星级认定公示：拟认定为二星级志愿服务组织", Until: until.Add(time.Hour)},
		{ID: store.StarRef(v1), Kind: wire.NoticeStar, Level: 3, Name: "陈*红", Day: "2026-11-19",
			Activity: "星级认定公示：拟认定为三星级志愿者", Until: until},
	}
	if len(a) != len(want) {
		t.Fatalf("st-a notice %+v, want %+v", a, want)
	}
	for i := range want {
		if a[i] != want[i] {
			t.Fatalf("st-a notice[%d] %+v, want %+v", i, a[i], want[i])
		}
	}
	if b := notice("st-b"); len(b) != 1 || b[0].ID != store.StarRef(v2) || b[0].Name != "李*" || b[0].Level != 1 {
		t.Fatalf("st-b notice %+v", b)
	}
	// The document passes the kiosk's validation.
	cur, _ := s.stored(ctx, StationScope("st-a"))
	if err := wire.ValidateConfig(cur); err != nil {
		t.Fatal(err)
	}
	// An objection holds V1's award: still shown, as objected.
	if _, _, err := st.RaiseStarObjection(ctx, store.StarObjection{Award: v1, Via: store.ViaConsole, RaisedBy: "carol",
		Reason: "时长有误"}, *now); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshStations(ctx, []string{"st-a"}); err != nil {
		t.Fatal(err)
	}
	if a := notice("st-a"); len(a) != 2 || a[1].ID != store.StarRef(v1) || !a[1].Objected || a[0].Objected {
		t.Fatalf("st-a notice after objection %+v", a)
	}
}
