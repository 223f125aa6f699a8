package stars_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

func day(s string) time.Time {
	t, err := time.ParseInLocation(calendar.Layout, s, calendar.CST)
	if err != nil {
		panic(err)
	}
	return t
}

// Hand-written levels under the default ladder (100/300/600/1000/1500 h,
// tenure 0/6/12/12/12 months since the previous star).
func TestJudge(t *testing.T) {
	r := stars.Default()
	now := day("2026-11-29")
	for _, tc := range []struct {
		name     string
		f        store.StarFacts
		next     int
		eligible bool
		why      string
	}{
		{"new volunteer, 99.5 h", store.StarFacts{Cents: 9950, Registered: day("2026-01-01")}, 1, false, "距一星志愿者还差 0.5 小时"},
		{"exactly 100 h", store.StarFacts{Cents: 10000, Registered: day("2026-11-28")}, 1, true, "可申请升级为一星志愿者"},
		{"700 h, no star yet: one star at a time", store.StarFacts{Cents: 70000, Registered: day("2020-01-01")}, 1, true, "一星"},
		{"1★ and 320 h, star 3 months old", store.StarFacts{Cents: 32000, Level: 1, LevelAt: day("2026-08-15")}, 2, false, "2027年2月15日起可申请二星"},
		{"1★ and 320 h, star 6 months old", store.StarFacts{Cents: 32000, Level: 1, LevelAt: day("2026-05-29")}, 2, true, "二星"},
		{"2★ and 599.99 h", store.StarFacts{Cents: 59999, Level: 2, LevelAt: day("2025-01-01")}, 3, false, "还差 0.01 小时"},
		{"3★ applied for 4★", store.StarFacts{Cents: 120000, Level: 3, LevelAt: day("2024-01-01"), Pending: 4}, 4, false, "四星申请正在审批或公示中"},
		{"5★", store.StarFacts{Cents: 900000, Level: 5}, 0, false, "已是五星"},
	} {
		s := r.Judge("V", tc.f, now)
		if s.Next != tc.next || s.Eligible != tc.eligible || !strings.Contains(s.Why, tc.why) {
			t.Errorf("%s: next %d eligible %v %q; want %d %v %q", tc.name, s.Next, s.Eligible, s.Why, tc.next, tc.eligible, tc.why)
		}
	}
	// Tenure from registration: 6 months after registering for 2★ even
	// with a fresh 1★.
	r.TenureFrom = stars.FromRegistration
	if s := r.Judge("V", store.StarFacts{Cents: 32000, Level: 1, LevelAt: day("2026-11-01"), Registered: day("2026-01-01")}, now); !s.Eligible {
		t.Errorf("from registration: %+v", s)
	}
}

// Organisations: every criterion of the next level must hold; the
// missing ones are named.
func TestJudgeOrg(t *testing.T) {
	r := stars.Default()
	four := 4.5
	s := r.JudgeOrg("O", store.StarFacts{Members: 12, Cents: 60000, VisitMonths: 3})
	if s.Next != 1 || !s.Eligible {
		t.Errorf("1★ organisation: %+v", s)
	}
	s = r.JudgeOrg("O", store.StarFacts{Level: 1, Members: 25, Cents: 200000, VisitMonths: 5, Rating: &four})
	if s.Next != 2 || s.Eligible || !strings.Contains(s.Why, "近12个月到结对社区服务 5 个月（需 6 个月）") || strings.Contains(s.Why, "评价") {
		t.Errorf("2★ short of visits: %+v", s)
	}
	s = r.JudgeOrg("O", store.StarFacts{Level: 1, Members: 25, Cents: 200000, VisitMonths: 6})
	if s.Eligible || !strings.Contains(s.Why, "尚无评价") {
		t.Errorf("2★ without ratings: %+v", s)
	}
}

func TestRulesCheck(t *testing.T) {
	for name, edit := range map[string]func(r *stars.Rules){
		"falling hours":  func(r *stars.Rules) { r.Hours[2] = 200 },
		"four levels":    func(r *stars.Rules) { r.Hours = r.Hours[:4] },
		"province":       func(r *stars.Rules) { r.Approvers[4] = "province" },
		"notice":         func(r *stars.Rules) { r.NoticeDays = -1 },
		"org rating > 5": func(r *stars.Rules) { r.Org.Levels[0].MinRating = 6 },
	} {
		r := stars.Default()
		r.Hours = append([]float64(nil), r.Hours...)
		r.Approvers = append([]string(nil), r.Approvers...)
		edit(&r)
		var re *stars.RuleError
		if err := r.Check(); !errors.As(err, &re) || re.Zh == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := stars.Default().Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := stars.Parse([]byte(`{"hours": [1,2,3,4,5], "frobnicate": 1}`)); err == nil {
		t.Error("unknown field taken")
	}
}

// The flow on both databases: hours from final records only (both
// ledgers), eligibility for the kiosk, an application, approval by
// someone else, five working days of notice (over a weekend), the award,
// and the next star's tenure counted from it; annual counting.
func TestStarFlow(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, be.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			now := day("2026-11-27").Add(10 * time.Hour) // a Friday
			setup(t, s, now)
			clock := now
			svc := &stars.Service{Store: s, Now: func() time.Time { return clock }}
			// V1: 60 h card final + 45 h manual final + 30 h in notice
			// (not counted) = 105 h; V2: 80 h imported in 2025.
			recs := []store.ServiceRecord{
				rec("tap:1", "V1", store.LedgerCard, "2026-10-01", 6000, store.StatusFinal),
				rec("man:2", "V1", store.LedgerManual, "2026-10-02", 4500, store.StatusFinal),
				rec("tap:3", "V1", store.LedgerCard, "2026-11-26", 3000, store.StatusNotice),
				rec("imp:4", "V2", store.LedgerImported, "2025-05-01", 8000, store.StatusFinal),
				rec("tap:5", "V2", store.LedgerCard, "2026-11-01", 3000, store.StatusFinal),
			}
			if _, err := s.PutServiceRecords(ctx, recs, "test", now); err != nil {
				t.Fatal(err)
			}
			el, err := svc.Eligible(ctx, []string{"V1", "V2", "V9"})
			if err != nil || el["V1"] != 1 || el["V2"] != 1 || el["V9"] != 0 {
				t.Fatalf("eligible: %v %v", el, err)
			}
			sts, err := svc.Standings(ctx, []string{"V1", "V2", "V9"})
			if err != nil || len(sts) != 2 || sts["V2"].Hours != 110 || sts["V2"].Level != 0 {
				t.Fatalf("standings: %+v %v", sts, err)
			}
			st, err := svc.Volunteer(ctx, "V1")
			if err != nil || st.Hours != 105 || st.Level != 0 || !st.Eligible {
				t.Fatalf("V1: %+v %v", st, err)
			}
			if _, err := svc.Volunteer(ctx, "V9"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unregistered: %v", err)
			}
			a, err := svc.Apply(ctx, store.SubjectVolunteer, "V1", "manager")
			if err != nil || a.Level != 1 || a.Approver != stars.ApproveCounty || a.State != store.StarApplied || !strings.Contains(a.Basis, "105 小时") {
				t.Fatalf("apply: %+v %v", a, err)
			}
			var refusal *stars.Refusal
			if _, err := svc.Apply(ctx, store.SubjectVolunteer, "V1", "manager"); !errors.As(err, &refusal) {
				t.Fatalf("apply twice: %v", err)
			}
			if el, _ := svc.Eligible(ctx, []string{"V1"}); el["V1"] != 0 {
				t.Fatalf("eligible while applied: %v", el)
			}
			if _, err := svc.Approve(ctx, a.ID, "manager", ""); !errors.As(err, &refusal) {
				t.Fatalf("applicant approves: %v", err)
			}
			a, err = svc.Approve(ctx, a.ID, "simao", "同意")
			// Five working days after Friday 27 November: 30 Nov – 4 Dec,
			// awarded from Saturday 5 December.
			if err != nil || a.State != store.StarNotice || !a.NoticeUntil.Equal(day("2026-12-05")) {
				t.Fatalf("approve: %+v %v", a, err)
			}
			if n, err := s.AwardDueStars(ctx, day("2026-12-04").Add(23*time.Hour)); err != nil || n != 0 {
				t.Fatalf("awarded early: %d %v", n, err)
			}
			clock = day("2026-12-05")
			if n, err := svc.AwardDue(ctx); err != nil || n != 1 {
				t.Fatalf("award: %d %v", n, err)
			}
			st, _ = svc.Volunteer(ctx, "V1")
			if st.Level != 1 || st.Next != 2 || st.Eligible || len(st.Awards) != 1 || st.Awards[0].State != store.StarAwarded {
				t.Fatalf("after the award: %+v", st)
			}
			// Rejection needs a reason.
			b, err := svc.Apply(ctx, store.SubjectVolunteer, "V2", "manager")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Reject(ctx, b.ID, "simao", " "); !errors.As(err, &refusal) {
				t.Fatalf("reject without reason: %v", err)
			}
			if b, err = svc.Reject(ctx, b.ID, "simao", "服务记录待核实"); err != nil || b.State != store.StarRejected {
				t.Fatalf("reject: %+v %v", b, err)
			}
			// Annual counting: V2 has 30 h in 2026.
			r := stars.Default()
			r.Annual = true
			if err := svc.SetRules(ctx, r); err != nil {
				t.Fatal(err)
			}
			if st, _ := svc.Volunteer(ctx, "V2"); st.Hours != 30 || st.Eligible {
				t.Fatalf("annual: %+v", st)
			}
			r.Hours[0] = 0
			var re *stars.RuleError
			if err := svc.SetRules(ctx, r); !errors.As(err, &re) {
				t.Fatalf("bad rules stored: %v", err)
			}

			// The organisation (still annual): 2 members, 105+30 h in 2026, visits in 2 months.
			org, err := svc.Org(ctx, "O1")
			if err != nil || org.Facts.Members != 2 || org.Facts.VisitMonths != 2 || org.Hours != 135 || org.Next != 1 || org.Eligible {
				t.Fatalf("organisation: %+v %v", org, err)
			}
			r = stars.Default()
			r.Org.Levels[0] = stars.OrgLevel{Members: 2, Hours: 200, VisitMonths: 2}
			if err := svc.SetRules(ctx, r); err != nil {
				t.Fatal(err)
			}
			oa, err := svc.Apply(ctx, store.SubjectOrg, "O1", "org-admin")
			if err != nil || oa.Level != 1 || oa.SubjectKind != store.SubjectOrg || len(oa.Areas) != 2 {
				t.Fatalf("organisation applies: %+v %v", oa, err)
			}
		})
	}
}

func rec(id, volunteer, ledger, d string, cents int64, status string) store.ServiceRecord {
	return store.ServiceRecord{ID: id, Ledger: ledger, Volunteer: volunteer, Org: "O1", Community: "530802001001",
		Station: "pe-simao-001", ActivityName: "社区助老", Day: d, CountedCents: cents, Status: status, Reasons: []string{}}
}

func setup(t *testing.T, s *store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	check := func(res []people.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	check(s.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty, Population: 300000},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship, Population: 90000},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 8000},
	}, now))
	check(s.SaveOrganisations(ctx, []people.Organisation{{ID: "O1", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001"}}, now))
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var vs []people.Volunteer
	for _, v := range []people.Volunteer{
		{ID: "V1", Name: "王小明", IDNumber: "530802199003071236", Community: "530802001001", Phone: "13987912345", Orgs: []string{"O1"}, RegisteredOn: day("2024-03-05")},
		{ID: "V2", Name: "李四", IDNumber: "530821198506151232", Community: "530802001001", Phone: "13987912346", Orgs: []string{"O1"}, RegisteredOn: day("2025-01-05")},
	} {
		if err := v.Check(vault, now); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	check(s.RegisterVolunteers(ctx, vs, now))
}
