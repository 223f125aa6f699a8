package notice_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/notice"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// backends are the two databases every test here runs on.
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

func each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), be.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

// cstAt is day at hour:minute China Standard Time.
func cstAt(day string, hour, minute int) time.Time {
	t, err := time.ParseInLocation(calendar.Layout, day, calendar.CST)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// register stores a community and registered volunteers V1 (王小明) and
// V2 (李四) living there.
func register(t *testing.T, s *store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	res, err := s.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty, Population: 300000},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship, Population: 90000},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 8000},
	}, now)
	ok(t, res, err)
	res, err = s.SaveOrganisations(ctx, []people.Organisation{
		{ID: "O1", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001"},
	}, now)
	ok(t, res, err)
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var vs []people.Volunteer
	for _, v := range []people.Volunteer{
		{ID: "V1", Name: "王小明", IDNumber: "530802199003071236", Community: "530802001001", Phone: "13987912345", Orgs: []string{"O1"},
			RegisteredOn: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{ID: "V2", Name: "李四", IDNumber: "530821198506151232", Community: "530802001001", Phone: "13987912346", Orgs: []string{"O1"},
			RegisteredOn: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := v.Check(vault, now); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	res, err = s.RegisterVolunteers(ctx, vs, now)
	ok(t, res, err)
}

func ok(t *testing.T, res []people.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("row %d: %v", i, r.Err)
		}
	}
}

// inNotice is a card record of volunteer at station, put in notice at
// put until until.
func inNotice(id, volunteer, station, day string, cents int64, put, until time.Time) store.ServiceRecord {
	return store.ServiceRecord{ID: id, Ledger: store.LedgerCard, Volunteer: volunteer, Org: "O1", OrgName: "茶源社区志愿服务队",
		Community: "530802001001", Station: station, ActivityName: "社区助老", Day: day, Start: put.Add(-3 * time.Hour),
		End: put.Add(-time.Hour), RawSeconds: 7200, CountedCents: cents, RuleVersion: 1, Status: store.StatusNotice,
		Reasons: []string{}, NoticeUntil: until, CheckIn: strings.TrimPrefix(id, "tap:")}
}

func finalCents(t *testing.T, s *store.Store, volunteer string) int64 {
	t.Helper()
	f, err := s.VolunteerStarFacts(context.Background(), []string{volunteer}, "")
	if err != nil {
		t.Fatal(err)
	}
	return f[volunteer].Cents
}

func pass(t *testing.T, s *store.Store, at time.Time) notice.Result {
	t.Helper()
	var told []string
	p := &notice.Pass{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return at },
		Changed: func(_ context.Context, stations []string) error { told = stations; return nil }}
	res, err := p.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(told, ",") != strings.Join(res.Stations, ",") {
		t.Fatalf("told %v of the changed stations %v", told, res.Stations)
	}
	return res
}

func status(t *testing.T, s *store.Store, id string) *store.ServiceRecord {
	t.Helper()
	r, err := s.ServiceRecord(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The notice period skips a public holiday, with the shipped 2026
// calendar's rows: a record put in notice on Wednesday 30 September for
// 3 working days is not final on 6 October (as weekends alone would
// have it) nor on the holiday's last day, but at the start of 11 October:
// 1–7 October are off, Thursday 8, Friday 9 and Saturday 10 (worked,
// 调休) are the three days.
func TestNoticeSkipsHoliday(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if years, err := notice.EnsureHolidays(ctx, s); err != nil || len(years) != 1 || years[0] != 2026 {
			t.Fatalf("shipped calendar: %v %v", years, err)
		}
		if years, err := notice.EnsureHolidays(ctx, s); err != nil || len(years) != 0 {
			t.Fatalf("second start stores again: %v %v", years, err)
		}
		cal, err := calendar.Load(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		put := cstAt("2026-09-30", 15, 0)
		until := cal.After(put, 3)
		if want := cstAt("2026-10-11", 0, 0); !until.Equal(want) {
			t.Fatalf("notice until %s, want %s", until, want)
		}
		register(t, s, put)
		if _, err := s.PutServiceRecords(ctx, []store.ServiceRecord{inNotice("tap:N1", "V1", "pe-simao-001", "2026-09-30", 150, put, until)}, "hours", put); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{cstAt("2026-10-06", 0, 0), cstAt("2026-10-09", 12, 0), cstAt("2026-10-10", 23, 59)} {
			if res := pass(t, s, at); res.Final != 0 || status(t, s, "tap:N1").Status != store.StatusNotice {
				t.Fatalf("at %s: %+v, still in notice expected", at, res)
			}
			if c := finalCents(t, s, "V1"); c != 0 {
				t.Fatalf("at %s: %d counted before the notice ended", at, c)
			}
		}
		if res := pass(t, s, cstAt("2026-10-11", 0, 0)); res.Final != 1 || strings.Join(res.Stations, ",") != "pe-simao-001" {
			t.Fatalf("at the end of the notice: %+v", res)
		}
		r := status(t, s, "tap:N1")
		if r.Status != store.StatusFinal || !r.Final.Equal(cstAt("2026-10-11", 0, 0)) || finalCents(t, s, "V1") != 150 {
			t.Fatalf("after the notice: %+v", r)
		}
		ev, _ := s.ServiceRecordEvents(ctx, "tap:N1")
		if last := ev[len(ev)-1]; last.Action != "final" || last.From != store.StatusNotice || last.To != store.StatusFinal {
			t.Fatalf("events: %+v", ev)
		}
	})
}

// A record under objection does not count until resolved: raised in
// the console while in notice, it stays out of the hours past its notice
// period; dismissed after the period, it is final then (and counts). An
// upheld objection sends its record to the station's review with the
// reason 'objection' and a sentence for the volunteer. Whoever raised an
// objection cannot resolve it, nor can one be resolved twice.
func TestObjectionHoldsRecord(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 18, 0)
		until := cstAt("2026-11-06", 0, 0)
		register(t, s, put)
		if _, err := s.PutServiceRecords(ctx, []store.ServiceRecord{
			inNotice("tap:A", "V1", "pe-simao-001", "2026-11-02", 200, put, until),
			inNotice("tap:B", "V1", "pe-simao-001", "2026-11-02", 100, put, until),
			{ID: "tap:C", Ledger: store.LedgerCard, Volunteer: "V1", Day: "2026-11-01", Status: store.StatusReview, Reasons: []string{"auto_check_out"}},
		}, "hours", put); err != nil {
			t.Fatal(err)
		}
		o, rec, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:A", Via: store.ViaConsole, RaisedBy: "manager", Reason: "当天活动下午三点就结束了"}, put.Add(time.Hour))
		if err != nil || o.State != store.ObjectionOpen || rec.Status != store.StatusObjected || o.Station != "pe-simao-001" {
			t.Fatalf("raise: %+v %+v %v", o, rec, err)
		}
		if _, _, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:C", Via: store.ViaConsole, RaisedBy: "manager", Reason: "x"}, put); !errors.Is(err, store.ErrNotInNotice) {
			t.Fatalf("objection to a record in review: %v", err)
		}
		if _, _, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:A", Via: store.ViaConsole, RaisedBy: "manager", Reason: "再说一次"}, put.Add(2*time.Hour)); !errors.Is(err, store.ErrAlreadyObjected) {
			t.Fatalf("the same person's second objection: %v", err)
		}
		// B's period is over though the pass has not run: too late.
		if _, _, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:B", Via: store.ViaConsole, RaisedBy: "simao", Reason: "x"}, until); !errors.Is(err, store.ErrNotInNotice) {
			t.Fatalf("objection after the period: %v", err)
		}
		// Past the notice period: B is final, A is held.
		if res := pass(t, s, cstAt("2026-11-09", 9, 0)); res.Final != 1 {
			t.Fatalf("pass: %+v", res)
		}
		if a := status(t, s, "tap:A"); a.Status != store.StatusObjected || finalCents(t, s, "V1") != 100 {
			t.Fatalf("A under objection: %s, %d counted; want objected and 100 (B only)", a.Status, finalCents(t, s, "V1"))
		}
		if _, _, err := s.ResolveObjection(ctx, o.ID, false, "manager", "核实无误", cstAt("2026-11-09", 10, 0)); !errors.Is(err, store.ErrOwnObjection) {
			t.Fatalf("resolved by who raised it: %v", err)
		}
		o2, rec, err := s.ResolveObjection(ctx, o.ID, false, "zhanzhang", "核对签到表，时间无误", cstAt("2026-11-09", 10, 0))
		if err != nil || o2.State != store.ObjectionDismissed || rec.Status != store.StatusFinal || finalCents(t, s, "V1") != 300 {
			t.Fatalf("dismissed after the period: %+v %+v %v", o2, rec, err)
		}
		if _, _, err := s.ResolveObjection(ctx, o.ID, true, "zhanzhang", "again", cstAt("2026-11-09", 10, 0)); !errors.Is(err, store.ErrObjectionClosed) {
			t.Fatalf("resolved twice: %v", err)
		}

		// Upheld: to review, reason objection, the station's.
		if _, err := s.PutServiceRecords(ctx, []store.ServiceRecord{inNotice("tap:D", "V1", "pe-simao-001", "2026-11-10", 150, put, cstAt("2026-11-14", 0, 0))}, "hours", put); err != nil {
			t.Fatal(err)
		}
		d1, _, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:D", Via: store.ViaKiosk, RaisedBy: "V2", Reason: "他那天不在"}, cstAt("2026-11-11", 9, 0))
		if err != nil {
			t.Fatal(err)
		}
		d2, _, err := s.RaiseObjection(ctx, store.Objection{Record: "tap:D", Via: store.ViaConsole, RaisedBy: "simao", Reason: "同上"}, cstAt("2026-11-11", 9, 30))
		if err != nil {
			t.Fatal(err)
		}
		_, rec, err = s.ResolveObjection(ctx, d1.ID, true, "zhanzhang", "监控显示当天未到站", cstAt("2026-11-11", 10, 0))
		if err != nil || rec.Status != store.StatusReview || rec.Reviewer != "station" || rec.Reasons[len(rec.Reasons)-1] != hours.ReasonObjection ||
			rec.Outcome != "11月10日 社区助老：1.5小时，异议成立，待重新审核" {
			t.Fatalf("upheld: %+v %v", rec, err)
		}
		if o, err := s.Objection(ctx, d2.ID); err != nil || o.State != store.ObjectionUpheld {
			t.Fatalf("the other objection: %+v %v", o, err)
		}
		if c := finalCents(t, s, "V1"); c != 300 {
			t.Fatalf("an upheld record counted: %d", c)
		}
	})
}

// A dismissed objection inside the notice period puts the record back in
// notice, and the next pass after the period makes it final; with two
// objections open, dismissing one keeps the record held.
func TestDismissWithinNotice(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 18, 0)
		register(t, s, put)
		if _, err := s.PutServiceRecords(ctx, []store.ServiceRecord{inNotice("tap:E", "V2", "pe-simao-001", "2026-11-02", 100, put, cstAt("2026-11-06", 0, 0))}, "hours", put); err != nil {
			t.Fatal(err)
		}
		a, _, _ := s.RaiseObjection(ctx, store.Objection{Record: "tap:E", Via: store.ViaConsole, RaisedBy: "u1", Reason: "一"}, put)
		b, _, _ := s.RaiseObjection(ctx, store.Objection{Record: "tap:E", Via: store.ViaConsole, RaisedBy: "u2", Reason: "二"}, put)
		if _, rec, err := s.ResolveObjection(ctx, a.ID, false, "boss", "不成立", cstAt("2026-11-03", 9, 0)); err != nil || rec.Status != store.StatusObjected {
			t.Fatalf("one of two dismissed: %+v %v", rec, err)
		}
		if _, rec, err := s.ResolveObjection(ctx, b.ID, false, "boss", "不成立", cstAt("2026-11-03", 9, 0)); err != nil || rec.Status != store.StatusNotice {
			t.Fatalf("both dismissed within the period: %+v %v", rec, err)
		}
		if res := pass(t, s, cstAt("2026-11-06", 0, 0)); res.Final != 1 || finalCents(t, s, "V2") != 100 {
			t.Fatalf("final after the period: %+v", res)
		}
	})
}

// A kiosk's objection record is applied once, even when the kiosk sends
// it twice and the pass runs twice; any registered volunteer may object
// to a record in that station's notice; an unregistered card, a record
// of another station, a second tap by the same volunteer and a record no
// longer in notice are refused with a Chinese reason kept for the record. The station's notice shows the
// objected record, masked.
func TestKioskObjection(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		put := cstAt("2026-11-02", 18, 0)
		register(t, s, put)
		if _, err := s.PutServiceRecords(ctx, []store.ServiceRecord{
			inNotice("tap:K1", "V1", "pe-simao-001", "2026-11-02", 150, put, cstAt("2026-11-06", 0, 0)),
			inNotice("tap:K2", "V1", "pe-simao-002", "2026-11-02", 100, put, cstAt("2026-11-06", 0, 0)),
		}, "hours", put); err != nil {
			t.Fatal(err)
		}
		n, err := s.StationNotice(ctx, "pe-simao-001", put)
		if err != nil || len(n) != 1 || n[0].Name != "王*明" || n[0].Objected || n[0].Activity != "社区助老" || n[0].Cents != 150 {
			t.Fatalf("notice before: %+v %v", n, err)
		}
		tr := storetest.NewTraffic("pe-simao-001", put.Add(time.Hour))
		es := tr.Entries(4)
		by := []struct{ volunteer, ref string }{{"V2", "tap:K1"}, {"V9", "tap:K1"}, {"V2", "tap:K2"}, {"V2", "tap:K1"}}
		for i := range es {
			es[i].Kind, es[i].Volunteer, es[i].Ref, es[i].Note = wire.KindObjection, by[i].volunteer, by[i].ref, "时长不对"
			if err := es[i].Validate(); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if _, err := s.Ingest(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		if res := pass(t, s, put.Add(2*time.Hour)); res.Objections != 1 || strings.Join(res.Stations, ",") != "pe-simao-001" {
			t.Fatalf("first pass: %+v", res)
		}
		if res := pass(t, s, put.Add(3*time.Hour)); res.Objections != 0 || len(res.Stations) != 0 {
			t.Fatalf("second pass applied again: %+v", res)
		}
		list, err := s.Objections(ctx, store.ObjectionFilter{Record: "tap:K1"})
		if err != nil || len(list) != 1 || list[0].RaisedBy != "V2" || list[0].Via != store.ViaKiosk || list[0].RecordID != es[0].ID || list[0].Reason != "时长不对" {
			t.Fatalf("objections: %+v %v", list, err)
		}
		for i, want := range []string{"", "未注册", "本站公示栏中没有", "已在处理中"} {
			_, outcome, err := s.KioskObjectionOutcome(ctx, es[i].ID)
			if err != nil || (want == "" && outcome != "") || !strings.Contains(outcome, want) {
				t.Errorf("record %d: outcome %q %v, want %q", i, outcome, err, want)
			}
		}
		if st := status(t, s, "tap:K1").Status; st != store.StatusObjected {
			t.Fatalf("K1: %s", st)
		}
		n, err = s.StationNotice(ctx, "pe-simao-001", put.Add(4*time.Hour))
		if err != nil || len(n) != 1 || !n[0].Objected {
			t.Fatalf("notice after: %+v %v", n, err)
		}
		// K2 made final, then objected to at its own station: too late.
		pass(t, s, cstAt("2026-11-06", 0, 0))
		late := storetest.NewTraffic("pe-simao-002", cstAt("2026-11-06", 9, 0)).Entries(1)
		late[0].Kind, late[0].Volunteer, late[0].Ref = wire.KindObjection, "V2", "tap:K2"
		if _, err := s.Ingest(ctx, late); err != nil {
			t.Fatal(err)
		}
		if res := pass(t, s, cstAt("2026-11-06", 9, 5)); res.Objections != 0 {
			t.Fatalf("late objection applied: %+v", res)
		}
		if _, outcome, _ := s.KioskObjectionOutcome(ctx, late[0].ID); !strings.Contains(outcome, "已不在公示期") {
			t.Fatalf("late outcome %q", outcome)
		}
	})
}

// Bad lines of a holiday file are each reported with their line and
// what to do, in Chinese, and nothing is taken; 休/班 stand for the kinds.
func TestParseHolidays(t *testing.T) {
	good := "day,kind,name\n2026-10-01,休,国庆节\n# 调休\n2026-10-10,班,国庆节调休上班\n"
	days, err := notice.ParseHolidays(strings.NewReader(good), 2026)
	if err != nil || len(days) != 2 || days[0].Kind != store.HolidayOff || days[1].Kind != store.HolidayWorkday || days[1].Name != "国庆节调休上班" {
		t.Fatalf("good file: %+v %v", days, err)
	}
	bad := "day,kind,name\n" + // 1
		"2026-10-01,holiday,国庆节\n" + // 2
		"2026-13-01,holiday,x\n" + // 3
		"2025-10-01,holiday,x\n" + // 4
		"2026-10-02,rest,x\n" + // 5
		"2026-10-09,workday,x\n" + // 6 (a Friday)
		"2026-10-01,holiday,again\n" + // 7
		"2026-10-05\n" // 8
	_, err = notice.ParseHolidays(strings.NewReader(bad), 2026)
	var fe *notice.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("bad file: %v", err)
	}
	want := []struct {
		line int
		has  string
	}{
		{3, "日期“2026-13-01”看不懂"}, {4, "不在 2026 年"}, {5, "类型“rest”不对"}, {6, "是星期五，本来就是工作日"},
		{7, "在第2行已经写过"}, {8, "应有 2 或 3 列"},
	}
	if len(fe.Lines) != len(want) {
		t.Fatalf("%d lines refused, want %d:\n%v", len(fe.Lines), len(want), err)
	}
	for i, w := range want {
		if fe.Lines[i].Line != w.line || !strings.Contains(fe.Lines[i].Zh, w.has) {
			t.Errorf("refusal %d: %s; want line %d with %q", i, fe.Lines[i], w.line, w.has)
		}
	}
	if !strings.Contains(err.Error(), "第3行：") {
		t.Errorf("message %q lacks the line", err)
	}
	days, err = notice.DefaultHolidays(2026)
	if err != nil || len(days) != 25 {
		t.Fatalf("shipped 2026: %d days, %v", len(days), err)
	}
}
