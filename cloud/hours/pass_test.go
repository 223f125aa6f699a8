package hours

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// backends runs fn on a fresh SQLite and a fresh PostgreSQL database.
func backends(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/cloud.db" }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), b.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

// The city as the tests see it: two counties, three communities, an
// organisation linked to the first community, three stations.
const (
	county1 = "530802"
	county2 = "530821"
	comm1   = "530802001"
	comm2   = "530802002"
	comm3   = "530821001"
	orgA    = "org-a"
)

func setup(t *testing.T, st *store.Store) {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	for _, a := range []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity},
		{Code: county1, Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: county2, Name: "宁洱县", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802100", Name: "思茅镇", Parent: county1, Level: people.LevelTownship},
		{Code: "530821100", Name: "宁洱镇", Parent: county2, Level: people.LevelTownship},
		{Code: comm1, Name: "振兴社区", Parent: "530802100", Level: people.LevelCommunity},
		{Code: comm2, Name: "红旗社区", Parent: "530802100", Level: people.LevelCommunity},
		{Code: comm3, Name: "西门社区", Parent: "530821100", Level: people.LevelCommunity},
	} {
		if err := st.AddArea(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddOrganisation(ctx, people.Organisation{ID: orgA, Name: "振兴社区志愿者协会", Type: "社会组织",
		County: county1, Community: comm1}, now); err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Registration{
		{ID: "s1", Name: "振兴社区学雷锋志愿服务站", County: county1, Community: comm1, SecretHash: "x"},
		{ID: "s2", Name: "红旗社区学雷锋志愿服务站", County: county1, Community: comm2, SecretHash: "x"},
		{ID: "s3", Name: "西门社区学雷锋志愿服务站", County: county2, Community: comm3, SecretHash: "x"},
	} {
		if err := st.AddStation(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Station s3 opens 9:00–17:00; the others set no opening hours.
	doc, _ := json.Marshal(wire.Config{V: 1, Version: 1, Station: "s3",
		Board: &wire.Board{OpeningHours: "周一至周日 9:00-17:00"},
		Menu:  []wire.MenuCategory{{ID: "elder", Name: "助老服务", Items: []wire.MenuItem{{ID: "量血压", Name: "量血压服务"}}}},
	})
	if err := st.SaveConfig(ctx, store.ConfigDoc{Scope: "station:s3", Version: 1, Doc: doc, Pushed: now}); err != nil {
		t.Fatal(err)
	}
}

// kiosk makes a station's records as its kiosk would.
type kiosk struct {
	station string
	seq     uint64
}

func cst(day string, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, calendar.CST)
	if err != nil {
		panic(err)
	}
	return t
}

var base = cst("2026-10-01", "00:00")

func (k *kiosk) rec(kind wire.Kind, vol, ref string, at time.Time) ingest.Entry {
	k.seq++
	id, err := wire.NewRecordID()
	if err != nil {
		panic(err)
	}
	r := wire.Record{ID: id, Station: k.station, Kind: kind, Volunteer: vol, Ref: ref, Card: "C-" + vol,
		At: at, Mono: int64(at.Sub(base)), Boot: "boot-" + k.station, ClockSynced: true, Seq: k.seq, Service: "量血压"}
	if kind == wire.KindAutoCheckOut {
		r.Review = true
	}
	return ingest.Entry{Record: r, Time: at, Received: at.Add(time.Second)}
}

// session is a check-in and its check-out (or automatic check-out).
func (k *kiosk) session(vol string, from, to time.Time, auto bool, activity int64) []ingest.Entry {
	in := k.rec(wire.KindCheckIn, vol, "", from)
	in.Activity = activity
	kind := wire.KindCheckOut
	if auto {
		kind = wire.KindAutoCheckOut
	}
	return []ingest.Entry{in, k.rec(kind, vol, in.ID, to)}
}

func ingestAll(t *testing.T, st *store.Store, es ...[]ingest.Entry) {
	t.Helper()
	var all []ingest.Entry
	for _, e := range es {
		all = append(all, e...)
	}
	if _, err := st.Ingest(context.Background(), all); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, st *store.Store, vol string) []store.ServiceRecord {
	t.Helper()
	rs, err := st.ServiceRecords(context.Background(), store.ServiceRecordFilter{Volunteer: vol})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rs, func(a, b store.ServiceRecord) int { return a.Start.Compare(b.Start) })
	return rs
}

// want checks a record's hours, status, reasons, reviewer and where it
// is routed (station, organisation, community).
func want(t *testing.T, r store.ServiceRecord, cents int64, status string, reasons []string, reviewer, station, org, community string) {
	t.Helper()
	if r.CountedCents != cents || r.Status != status || !slices.Equal(r.Reasons, reasons) || r.Reviewer != reviewer ||
		r.Station != station || r.Org != org || r.Community != community {
		t.Errorf("%s: got %d %s %v %q at %s/%q/%s; want %d %s %v %q at %s/%q/%s (%s)", r.ID,
			r.CountedCents, r.Status, r.Reasons, r.Reviewer, r.Station, r.Org, r.Community,
			cents, status, reasons, reviewer, station, org, community, r.RuleNote)
	}
}

func TestPassAnomalies(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		s1, s2, s3 := &kiosk{station: "s1"}, &kiosk{station: "s2"}, &kiosk{station: "s3"}
		d := "2026-11-03" // a Tuesday
		now := cst(d, "20:00")
		ingestAll(t, st,
			s1.session("v-ok", cst(d, "09:00"), cst(d, "10:30"), false, 0),
			s1.session("v-auto", cst(d, "09:00"), cst(d, "11:00"), true, 0),
			// 6 h + 3 h = 9 h at s1 (organisation org-a by its community).
			s1.session("v-org", cst(d, "08:00"), cst(d, "14:00"), false, 0),
			s1.session("v-org", cst(d, "14:30"), cst(d, "17:30"), false, 0),
			// the same at s2, whose community has no organisation: the county.
			s2.session("v-orgless", cst(d, "08:00"), cst(d, "14:00"), false, 0),
			s2.session("v-orgless", cst(d, "14:30"), cst(d, "17:30"), false, 0),
			// 6.5 h + 6.5 h = 13 h: over the county cap.
			s1.session("v-county", cst(d, "00:30"), cst(d, "07:00"), false, 0),
			s1.session("v-county", cst(d, "07:30"), cst(d, "14:00"), false, 0),
			// s1 (思茅区) until 10:00, s3 (宁洱县, ≥ 30 km: 30 min at 60 km/h) at 10:10.
			s1.session("v-travel", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			s3.session("v-travel", cst(d, "10:10"), cst(d, "11:00"), false, 0),
			// six taps in eight minutes.
			s2.session("v-burst", cst(d, "09:00"), cst(d, "09:02"), false, 0),
			s2.session("v-burst", cst(d, "09:03"), cst(d, "09:05"), false, 0),
			s2.session("v-burst", cst(d, "09:06"), cst(d, "09:08"), false, 0),
			// s3 opens at 9:00.
			s3.session("v-early", cst(d, "07:00"), cst(d, "08:30"), false, 0),
			// overlapping sessions: the later one is flagged.
			s2.session("v-overlap", cst(d, "09:00"), cst(d, "11:00"), false, 0),
			s2.session("v-overlap", cst(d, "10:00"), cst(d, "10:30"), false, 0),
			// a forgotten check-out on Friday 23 October: 10 working
			// days end on Friday 6 November, within the 3 warning days.
			s1.session("v-late", cst("2026-10-23", "09:00"), cst("2026-10-23", "11:00"), true, 0),
		)
		res, err := Pass(ctx, st, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 17 {
			t.Errorf("created %d records, want 17 (%+v)", res.Created, res)
		}
		cal, _ := calendar.Load(ctx, st)
		r := records(t, st, "v-ok")
		want(t, r[0], 150, store.StatusNotice, []string{}, "", "s1", orgA, comm1)
		if !r[0].NoticeUntil.Equal(cst("2026-11-07", "00:00")) || !r[0].Deadline.Equal(cal.After(cst(d, "09:00"), 10)) ||
			r[0].ActivityName != "振兴社区学雷锋志愿服务站日常服务" || r[0].Place != "振兴社区学雷锋志愿服务站" ||
			r[0].OrgName != "振兴社区志愿者协会" || r[0].RawSeconds != 5400 || r[0].RuleVersion != 1 || r[0].Day != d ||
			r[0].RuleNote != "规则第1版：60分钟以上按0.5小时向下取整：90分钟计1.5小时" || r[0].Content != "量血压" {
			t.Errorf("v-ok: %+v", r[0])
		}
		want(t, records(t, st, "v-auto")[0], 200, store.StatusReview, []string{ReasonAutoCheckOut}, ReviewStation, "s1", orgA, comm1)
		r = records(t, st, "v-org")
		want(t, r[0], 600, store.StatusNotice, []string{}, "", "s1", orgA, comm1)
		want(t, r[1], 300, store.StatusReview, []string{ReasonOverOrgCap}, ReviewOrg, "s1", orgA, comm1)
		r = records(t, st, "v-orgless")
		want(t, r[1], 300, store.StatusReview, []string{ReasonOverOrgCap}, ReviewCounty, "s2", "", comm2)
		r = records(t, st, "v-county")
		want(t, r[0], 650, store.StatusNotice, []string{}, "", "s1", orgA, comm1)
		want(t, r[1], 650, store.StatusReview, []string{ReasonOverCountyCap}, ReviewCounty, "s1", orgA, comm1)
		r = records(t, st, "v-travel")
		want(t, r[0], 100, store.StatusNotice, []string{}, "", "s1", orgA, comm1)
		want(t, r[1], 100, store.StatusReview, []string{ReasonTravel}, ReviewStation, "s3", "", comm3)
		if r[1].Content != "量血压服务" || r[1].Category != "助老服务" {
			t.Errorf("s3's menu names the service: %q %q", r[1].Content, r[1].Category)
		}
		for _, x := range records(t, st, "v-burst") {
			want(t, x, 0, store.StatusReview, []string{ReasonBurst}, ReviewStation, "s2", "", comm2)
		}
		want(t, records(t, st, "v-early")[0], 150, store.StatusReview, []string{ReasonOutsideHours}, ReviewStation, "s3", "", comm3)
		r = records(t, st, "v-overlap")
		want(t, r[0], 200, store.StatusNotice, []string{}, "", "s2", "", comm2)
		want(t, r[1], 50, store.StatusReview, []string{ReasonFlagged}, ReviewStation, "s2", "", comm2)
		want(t, records(t, st, "v-late")[0], 200, store.StatusReview, []string{ReasonAutoCheckOut, ReasonDeadline}, ReviewStation, "s1", orgA, comm1)

		// Nothing dirty: a second pass changes nothing.
		if res, err := Pass(ctx, st, now); err != nil || len(res.Changes) != 0 || res.Days != 0 {
			t.Fatalf("second pass: %+v %v", res, err)
		}
		// Ten days on, v-auto's record (due at the end of 17 November)
		// is within 3 working days of its deadline: 'deadline' is added,
		// the reviewer stays the station.
		res, err = Pass(ctx, st, cst("2026-11-13", "09:00"))
		if err != nil {
			t.Fatal(err)
		}
		want(t, records(t, st, "v-auto")[0], 200, store.StatusReview, []string{ReasonAutoCheckOut, ReasonDeadline}, ReviewStation, "s1", orgA, comm1)
		if res.Deadline < 1 {
			t.Errorf("deadline pass: %+v", res)
		}
	})
}

func TestPassActivitiesAndRecount(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		d := "2026-11-03"
		now := cst(d, "20:00")
		// A chosen activity of 2 h with a 60% share, a meeting, and s2's default.
		rules := Default()
		rules.MinShare = 0.6
		if v, err := SetRules(ctx, st, rules, "city-admin", now); err != nil || v != 2 {
			t.Fatalf("set rules: %d %v", v, err)
		}
		act := &store.Activity{Title: "重阳敬老", Place: "振兴社区活动室", Org: orgA, Stations: []string{"s1"},
			Start: cst(d, "09:00"), End: cst(d, "11:00"), Category: "助老", Content: "陪伴老人", Lead: "王主任", Recorder: "李干事"}
		meeting := &store.Activity{Title: "志愿者例会", Org: orgA, Stations: []string{"s1"}, Kind: "meeting"}
		def := &store.Activity{Title: "红旗社区日常服务", Place: "红旗社区", Stations: []string{"s2"}, Default: true, Content: "日常服务"}
		for _, a := range []*store.Activity{act, meeting, def} {
			if err := st.CreateActivity(ctx, a, now); err != nil {
				t.Fatal(err)
			}
		}
		s1, s2 := &kiosk{station: "s1"}, &kiosk{station: "s2"}
		ingestAll(t, st,
			s1.session("v-act", cst(d, "09:00"), cst(d, "10:11"), false, act.ID),  // 71 min < 72
			s1.session("v-act2", cst(d, "09:00"), cst(d, "10:20"), false, act.ID), // 80 min
			s1.session("v-meet", cst(d, "14:00"), cst(d, "16:00"), false, meeting.ID),
			s2.session("v-def", cst(d, "09:00"), cst(d, "09:50"), false, 0),
		)
		// A session across midnight whose check-out comes in a later batch.
		night := s2.session("v-night", cst(d, "23:00"), cst("2026-11-04", "01:00"), false, 0)
		ingestAll(t, st, night[:1])
		if _, err := Pass(ctx, st, now); err != nil {
			t.Fatal(err)
		}
		r := records(t, st, "v-act")[0]
		if r.CountedCents != 0 || r.ActivityName != "重阳敬老" || r.Lead != "王主任" || r.Recorder != "李干事" ||
			r.Category != "助老" || r.Content != "陪伴老人" || r.Place != "振兴社区活动室" || r.Activity != act.ID ||
			r.RuleNote != "规则第2版：服务71分钟，不足活动时长120分钟的60%，不计时长" {
			t.Errorf("v-act: %+v", r)
		}
		if r := records(t, st, "v-act2")[0]; r.CountedCents != 100 {
			t.Errorf("v-act2: %d", r.CountedCents)
		}
		if r := records(t, st, "v-meet")[0]; r.CountedCents != 0 || r.RuleNote != "规则第2版：会议类活动不计时长" || r.Status != store.StatusNotice {
			t.Errorf("v-meet: %+v", r)
		}
		if r := records(t, st, "v-def")[0]; r.ActivityName != "红旗社区日常服务" || r.Activity != def.ID || r.CountedCents != 100 || r.Content != "日常服务" {
			t.Errorf("v-def: %+v", r)
		}
		if rs := records(t, st, "v-night"); len(rs) != 0 {
			t.Fatalf("open session made a record: %+v", rs)
		}
		ingestAll(t, st, night[1:])
		if _, err := Pass(ctx, st, now); err != nil {
			t.Fatal(err)
		}
		if rs := records(t, st, "v-night"); len(rs) != 1 || rs[0].Day != d || rs[0].CountedCents != 200 {
			t.Fatalf("night session: %+v", rs)
		}

		// A rule change alters no record counted already.
		before := records(t, st, "v-act2")[0]
		r3 := rules
		r3.MinShare = 0
		r3.Bands = []Band{{UpTo: 30, Hours: 0}, {UpTo: 60, Hours: 1}}
		r3.Step = 1
		if v, err := SetRules(ctx, st, r3, "city-admin", now); err != nil || v != 3 {
			t.Fatalf("set rules: %d %v", v, err)
		}
		// v-act2 taps again the same day: the new session is counted
		// under version 3 (40 minutes: 30–60 → 1 h; version 2 would give
		// 0.5 h), the day's first stays as version 2 counted it.
		ingestAll(t, st, s1.session("v-other", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			s1.session("v-act2", cst(d, "14:00"), cst(d, "14:40"), false, 0))
		if _, err := Pass(ctx, st, now); err != nil {
			t.Fatal(err)
		}
		day := records(t, st, "v-act2")
		if len(day) != 2 {
			t.Fatalf("v-act2: %+v", day)
		}
		if after := day[0]; after.CountedCents != 100 || after.RuleVersion != 2 || after.RuleNote != before.RuleNote ||
			!after.Updated.Equal(before.Updated) {
			t.Errorf("a rule change altered a counted record: %+v", after)
		}
		if r := day[1]; r.CountedCents != 100 || r.RuleVersion != 3 || r.RuleNote != "规则第3版：30–60分钟计1小时" {
			t.Errorf("the day's new session: %+v", r)
		}
		if evs, _ := st.ServiceRecordEvents(ctx, before.ID); len(evs) != 1 {
			t.Errorf("the kept record has events %+v", evs)
		}
		if r := records(t, st, "v-other")[0]; r.RuleVersion != 3 {
			t.Errorf("new record under version %d", r.RuleVersion)
		}
		// A final record is never recounted.
		if _, err := st.ChangeServiceRecord(ctx, records(t, st, "v-act")[0].ID, now, func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
			r.Status = store.StatusFinal
			return store.ServiceRecordEvent{Who: "test", Action: "final"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		res, err := Recount(ctx, st, []string{"v-act", "v-act2"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Recounted != 1 || len(res.Changes) != 1 || res.Changes[0].ID != before.ID {
			t.Fatalf("recount: %+v", res)
		}
		after := records(t, st, "v-act2")[0]
		if after.CountedCents != 100 || after.RuleVersion != 3 || !strings.HasPrefix(after.RuleNote, "规则第3版：60分钟以上按1小时向下取整") {
			t.Errorf("recounted: %+v", after)
		}
		if fin := records(t, st, "v-act")[0]; fin.Status != store.StatusFinal || fin.RuleVersion != 2 || fin.CountedCents != 0 {
			t.Errorf("final record recounted: %+v", fin)
		}
		evs, _ := st.ServiceRecordEvents(ctx, before.ID)
		if len(evs) != 2 || evs[1].Action != "recount" {
			t.Errorf("events: %+v", evs)
		}
	})
}

// A card tap at a bare station (no activity, no organisation linked to
// its community, no contact person, no manager) still fills all eight
// national fields truthfully from the station; a manager, then the
// board's contact person, become the lead.
func TestPassNationalFieldsBareStation(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		d := "2026-11-03"
		now := cst(d, "20:00")
		s2 := &kiosk{station: "s2"}
		ingestAll(t, st, s2.session("v-bare", cst(d, "09:00"), cst(d, "09:50"), false, 0))
		if _, err := Pass(ctx, st, now); err != nil {
			t.Fatal(err)
		}
		const name = "红旗社区学雷锋志愿服务站"
		check := func(lead string) {
			t.Helper()
			rs := records(t, st, "v-bare")
			if len(rs) != 1 {
				t.Fatalf("records: %+v", rs)
			}
			r := rs[0]
			fields := map[string]string{"活动名称": r.ActivityName, "日期": r.Day, "地点": r.Place, "服务内容": r.Content,
				"活动组织单位": r.OrgName, "活动负责人": r.Lead, "记录人": r.Recorder}
			for k, v := range fields {
				if v == "" {
					t.Errorf("%s empty: %+v", k, r)
				}
			}
			if r.Start.IsZero() || !r.End.After(r.Start) {
				t.Errorf("服务时间 %v–%v", r.Start, r.End)
			}
			if r.ActivityName != name+"日常服务" || r.Day != d || r.Place != name || r.Content != "量血压" ||
				r.OrgName != name || r.Org != "" || r.Lead != lead || r.Recorder != name+"刷卡终端" {
				t.Errorf("fields: %+v", fields)
			}
		}
		check(name)
		// A station manager for s2.
		if _, err := st.AddUser(ctx, store.User{User: access.User{Name: "city-admin", Role: access.City}, PasswordHash: "$argon2id$x", Created: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddUser(ctx, store.User{User: access.User{Name: "hq-manager", Role: access.Station, Scope: "s1,s2"}, PasswordHash: "$argon2id$x", Created: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := Recount(ctx, st, []string{"v-bare"}, now); err != nil {
			t.Fatal(err)
		}
		check("hq-manager")
		doc, _ := json.Marshal(wire.Config{V: 1, Version: 1, Station: "s2", Board: &wire.Board{ContactPerson: "杨站长"}})
		if err := st.SaveConfig(ctx, store.ConfigDoc{Scope: "station:s2", Version: 1, Doc: doc, Pushed: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := Recount(ctx, st, []string{"v-bare"}, now); err != nil {
			t.Fatal(err)
		}
		check("杨站长")
	})
}

// Passes marking deadlines at once mark each record once: the mark is
// checked again inside each record's transaction (one event, one
// 'deadline' reason); a record decided before is not marked.
func TestMarkDeadlinesOnce(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := cst("2026-11-03", "20:00")
		var recs []store.ServiceRecord
		for i := range 12 {
			recs = append(recs, store.ServiceRecord{ID: "tap:d" + string(rune('a'+i)), Ledger: store.LedgerCard, Volunteer: "v-d",
				Station: "s1", Day: "2026-10-23", Start: cst("2026-10-23", "09:00"), End: cst("2026-10-23", "10:00"),
				CountedCents: 100, Status: store.StatusReview, Reasons: []string{ReasonAutoCheckOut}, Reviewer: ReviewStation,
				Deadline: cst("2026-11-06", "00:00")})
		}
		if _, err := st.PutServiceRecords(ctx, recs, "test", now); err != nil {
			t.Fatal(err)
		}
		w, err := load(ctx, st, now)
		if err != nil {
			t.Fatal(err)
		}
		// A record decided: no longer in review, not marked.
		if _, err := st.ChangeServiceRecord(ctx, "tap:da", now, func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
			r.Status = store.StatusRejected
			return store.ServiceRecordEvent{Who: "manager", Action: "reject"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		const passes = 4
		counts := make(chan int, passes)
		errs := make(chan error, passes)
		for range passes {
			go func() {
				n, err := w.markDeadlines(ctx, st, now)
				counts <- n
				errs <- err
			}()
		}
		total := 0
		for range passes {
			total += <-counts
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if total != 11 {
			t.Errorf("marked %d times, want 11 (each record in review once)", total)
		}
		for _, r := range records(t, st, "v-d") {
			evs, _ := st.ServiceRecordEvents(ctx, r.ID)
			marks := 0
			for _, e := range evs {
				if e.Action == "deadline" {
					marks++
				}
			}
			want := 1
			if r.ID == "tap:da" {
				want = 0
			}
			if n := strings.Count(strings.Join(r.Reasons, ","), ReasonDeadline); n != want || marks != want {
				t.Errorf("%s: %d deadline reasons, %d events, want %d (%v)", r.ID, n, marks, want, r.Reasons)
			}
		}
	})
}
