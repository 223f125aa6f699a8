package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/notice"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// The end-to-end proof of issue 12 (HOURS.md): kiosk traffic of three
// stations in two counties, ingested by the gateway's path
// (store.Ingest), turned into service records by the hours pass, each
// anomaly in the queue of its reviewer and nobody else's; then the life
// of records through the API: notice over a public holiday, final,
// counted in the summary and the certificate; an objection holding a
// record until dismissed; an approval with the volunteer's outcome; a
// rule change that leaves counted records alone. The clock is injected
// (the API's, the hours pass's and the notice pass's are one).

// flowClock is the test's clock, moved by hand.
type flowClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *flowClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *flowClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// cstAt is day and hh:mm in China Standard Time.
func cstAt(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, calendar.CST)
	if err != nil {
		panic(err)
	}
	return t
}

// flowBoot is when the kiosks booted: their monotonic clock counts from it.
var flowBoot = cstAt("2026-10-01", "00:00")

// flowKiosk makes one station's records as its kiosk would.
type flowKiosk struct {
	station string
	seq     uint64
	entries *[]ingest.Entry
}

func (k *flowKiosk) rec(kind wire.Kind, vol, ref string, at time.Time) wire.Record {
	k.seq++
	id, err := wire.NewRecordID()
	if err != nil {
		panic(err)
	}
	r := wire.Record{ID: id, Station: k.station, Kind: kind, Volunteer: vol, Ref: ref, Card: "C-" + vol, At: at,
		Mono: int64(at.Sub(flowBoot)), Boot: "boot-" + k.station, ClockSynced: true, Seq: k.seq}
	if kind == wire.KindAutoCheckOut {
		r.Review = true
	}
	*k.entries = append(*k.entries, ingest.Entry{Record: r, Time: at, Received: at.Add(time.Second)})
	return r
}

// session is a check-in and its check-out (automatic if auto); it
// returns the ID of the service record the hours pass makes of it.
func (k *flowKiosk) session(vol, day, from, to string, auto bool) string {
	in := k.rec(wire.KindCheckIn, vol, "", cstAt(day, from))
	kind := wire.KindCheckOut
	if auto {
		kind = wire.KindAutoCheckOut
	}
	k.rec(kind, vol, in.ID, cstAt(day, to))
	return "tap:" + in.ID
}

// flowRecord is the part of a service record the test reads.
type flowRecord struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	Reasons      []string  `json:"reasons"`
	Reviewer     string    `json:"reviewer"`
	CountedCents int64     `json:"counted_cents"`
	RuleVersion  int64     `json:"rule_version"`
	RuleNote     string    `json:"rule_note"`
	NoticeUntil  time.Time `json:"notice_until"`
	Deadline     time.Time `json:"deadline"`
	Outcome      string    `json:"outcome"`
	NearDeadline bool      `json:"near_deadline"`
	ReasonsZh    []string  `json:"reasons_zh"`
}

func getJSON(t *testing.T, base, user, path string, v any) {
	t.Helper()
	code, body := as(t, base, user, "GET", path, "")
	if code != http.StatusOK {
		t.Fatalf("%s: GET %s: %d %s", user, path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: GET %s: %v: %s", user, path, err, body)
	}
}

// volunteerRecords is GET /api/v1/volunteers/{id}/service-records by id.
func volunteerRecords(t *testing.T, base, volunteer string) map[string]flowRecord {
	t.Helper()
	var out struct {
		Records []flowRecord `json:"records"`
	}
	getJSON(t, base, "city", "/api/v1/volunteers/"+volunteer+"/service-records", &out)
	m := map[string]flowRecord{}
	for _, r := range out.Records {
		m[r.ID] = r
	}
	return m
}

func summaryOf(t *testing.T, base, volunteer string) api.HoursSummary {
	t.Helper()
	var s api.HoursSummary
	getJSON(t, base, "city", "/api/v1/hours/summary?volunteer="+volunteer, &s)
	return s
}

func TestHoursFlow(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) { testHoursFlow(t, be.dsn(t)) })
	}
}

func testHoursFlow(t *testing.T, dsn string) {
	ctx := context.Background()
	c := newTestCloudOn(t, dsn)
	peopleFixture(t, c)
	hoursUsers(t, c.db)
	// The second county's station manager.
	tokens["manager3"] = api.SeedUser(t, c.db, "manager3", access.Station, "pe-ninger-001", "长城长城长城长城长城", false)
	// The fixture's own sessions were made at the wall clock; this
	// test's traffic is its own, so the pass must not count those.
	if _, err := c.db.ClaimDirty(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	clock := &flowClock{t: cstAt("2026-11-03", "23:00")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(c.db, prometheus.NewRegistry(), log, &api.Fleet{Service: c.svc, Store: c.db,
		Cards: c.cards, Volunteers: &api.Volunteers{Store: c.db, Vault: testVault(t)}, Now: clock.Now}))
	t.Cleanup(srv.Close)
	base := srv.URL
	notices := &notice.Pass{Store: c.db, Now: clock.Now}

	// Thursday 5 November is a public holiday this year (entered as data
	// by the city, beside what the calendar already holds).
	var hol struct {
		Days []store.Holiday `json:"days"`
	}
	getJSON(t, base, "city", "/api/v1/holidays?year=2026", &hol)
	hol.Days = append(hol.Days, store.Holiday{Day: "2026-11-05", Kind: "holiday", Name: "测试假日"})
	doc, _ := json.Marshal(hol)
	if code, body := as(t, base, "city", "PUT", "/api/v1/holidays/2026", string(doc)); code != http.StatusOK {
		t.Fatalf("holidays: %d %s", code, body)
	}
	// pe-ninger-001 opens 7:00–21:00 (its board); the others set none.
	c.mustPush("station", "pe-ninger-001", `{"board":{"opening_hours":"每天 7:00-21:00"}}`)

	var entries []ingest.Entry
	k1 := &flowKiosk{station: "pe-simao-001", entries: &entries}  // 思茅区, 茶源社区 (O2, under O1)
	k2 := &flowKiosk{station: "pe-simao-002", entries: &entries}  // 思茅区, 南屏社区 (no organisation)
	k3 := &flowKiosk{station: "pe-ninger-001", entries: &entries} // 宁洱县, 西门社区 (O3)

	// Friday 23 October: an automatic check-out left in review; its ten
	// working days end on Monday 9 November (5 November is off), within
	// the three warning days of Tuesday 3 November.
	late := k2.session("V3", "2026-10-23", "09:00", "11:00", true)
	// Sunday 1 November: 6 h + 3 h = 9 h over the organisation's cap at
	// O3's station, and the same at the station without organisation.
	v2day := k3.session("V2", "2026-11-01", "08:00", "14:00", false)
	capO3 := k3.session("V2", "2026-11-01", "14:30", "17:30", false)
	v3day := k2.session("V3", "2026-11-01", "08:00", "14:00", false)
	capNone := k2.session("V3", "2026-11-01", "14:30", "17:30", false)
	// Monday 2 November: a forgotten check-out; a clean session of 110
	// minutes; a burst of six taps in eight minutes; a tap after the
	// station closed.
	auto := k1.session("V1", "2026-11-02", "09:00", "11:00", true)
	clean := k1.session("V1", "2026-11-02", "14:00", "15:50", false)
	burst := []string{
		k2.session("V2", "2026-11-02", "09:00", "09:02", false),
		k2.session("V2", "2026-11-02", "09:03", "09:05", false),
		k2.session("V2", "2026-11-02", "09:06", "09:08", false),
	}
	outside := k3.session("V3", "2026-11-02", "21:30", "22:30", false)
	// Tuesday 3 November: 6 h + 3 h at O2's station (over 8 h: the
	// organisation); 6.5 h + 6.5 h at O3's (over 12 h: the county); at
	// 南屏 until 10:00 and at 宁洱 (another county, 30 km) at 10:10.
	v1day := k1.session("V1", "2026-11-03", "08:00", "14:00", false)
	capO2 := k1.session("V1", "2026-11-03", "14:30", "17:30", false)
	k3.session("V2", "2026-11-03", "07:00", "13:30", false)
	capCounty := k3.session("V2", "2026-11-03", "14:00", "20:30", false)
	objected := k2.session("V3", "2026-11-03", "09:00", "10:00", false)
	travel := k3.session("V3", "2026-11-03", "10:10", "11:00", false)
	if _, err := c.db.Ingest(ctx, entries); err != nil {
		t.Fatal(err)
	}
	// A manual entry (补录) for V1 by O1's administrator.
	code, body := as(t, base, "org", "POST", "/api/v1/volunteers/V1/manual-hours",
		entry("2026-11-02", "15:00", "17:00", "2", "敬老院签到表，李队长见证"))
	if code != http.StatusCreated {
		t.Fatalf("manual entry: %d %s", code, body)
	}
	manual := recordID(t, body)

	res, err := hours.Pass(ctx, c.db, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 17 { // every session above; the manual entry is the API's
		t.Errorf("the pass made %d records, want 17: %+v", res.Created, res)
	}

	// Each anomaly in the queue of its reviewer, and nobody else's.
	want := map[string][]string{
		"manager":       {auto},
		"manager2":      append([]string{late}, burst...),
		"manager3":      {outside, travel},
		"org":           {capO2},
		"org3":          {capO3},
		"simao":         {capNone, manual},
		"simao2":        {capNone, manual},
		"ninger":        {capCounty},
		"city":          {},
		"auditor":       {},
		"ninger-reader": {},
	}
	for u := range tokens {
		if _, ok := want[u]; !ok {
			t.Errorf("user %s has no expected queue", u)
		}
	}
	reasons := map[string][]string{
		auto: {hours.ReasonAutoCheckOut}, late: {hours.ReasonAutoCheckOut, hours.ReasonDeadline},
		outside: {hours.ReasonOutsideHours}, travel: {hours.ReasonTravel},
		capO2: {hours.ReasonOverOrgCap}, capO3: {hours.ReasonOverOrgCap}, capNone: {hours.ReasonOverOrgCap},
		capCounty: {hours.ReasonOverCountyCap}, manual: {hours.ReasonManual},
	}
	for _, b := range burst {
		reasons[b] = []string{hours.ReasonBurst}
	}
	for user, w := range want {
		got := []string{}
		for _, r := range reviewQueue(t, base, user) {
			got = append(got, r.ID)
			if !slices.Equal(r.Reasons, reasons[r.ID]) || r.Status != store.StatusReview || len(r.ReasonsZh) != len(r.Reasons) {
				t.Errorf("%s: %s: status %s, reasons %v (%v), want review for %v", user, r.ID, r.Status, r.Reasons, r.ReasonsZh, reasons[r.ID])
			}
			if r.ID == late && !r.NearDeadline {
				t.Errorf("%s: %s is not marked near its deadline: %+v", user, r.ID, r)
			}
		}
		w = slices.Clone(w)
		slices.Sort(w)
		slices.Sort(got)
		if !slices.Equal(got, w) {
			t.Errorf("%s's queue: %v, want %v", user, got, w)
		}
	}

	// The clean records are in notice until the end of the third
	// working day after the pass: Wednesday 4, (Thursday 5 off), Friday
	// 6, Monday 9 November.
	noticeEnd := cstAt("2026-11-10", "00:00")
	recs := volunteerRecords(t, base, "V1")
	for _, id := range []string{clean, v1day} {
		r := recs[id]
		if r.Status != store.StatusNotice || !r.NoticeUntil.Equal(noticeEnd) || r.RuleVersion != 1 {
			t.Errorf("%s: %+v, want notice until %v under rules 1", id, r, noticeEnd)
		}
	}
	if r := recs[clean]; r.CountedCents != 150 || !strings.Contains(r.RuleNote, "规则第1版") {
		t.Errorf("110 minutes under rules 1: %+v, want 1.5 h", r)
	}
	if r := recs[late]; r.ID != "" {
		t.Errorf("V3's record among V1's: %+v", r)
	}
	if d := volunteerRecords(t, base, "V3")[late].Deadline; !d.Equal(noticeEnd) {
		t.Errorf("deadline of %s: %v, want the end of 9 November", late, d)
	}

	// The station manager approves the automatic check-out: the
	// volunteer's outcome names the day, the hours and the notice.
	code, body = as(t, base, "manager", "POST", "/api/v1/hours/records/"+auto+"/approve", `{"reason":"已电话核实，签退时间无误"}`)
	if code != http.StatusOK {
		t.Fatalf("approve %s: %d %s", auto, code, body)
	}
	if r := volunteerRecords(t, base, "V1")[auto]; r.Status != store.StatusNotice || !r.NoticeUntil.Equal(noticeEnd) ||
		!strings.HasPrefix(r.Outcome, "11月2日 ") || !strings.Contains(r.Outcome, "：2小时，审核通过，公示至11月9日") {
		t.Errorf("approved %s: %+v", auto, r)
	}
	if got := reviewQueue(t, base, "manager"); len(got) != 0 {
		t.Errorf("manager's queue after the approval: %v", got)
	}

	// Friday 6 November: a volunteer objects at the 南屏 kiosk to V3's
	// record of 3 November; the notice pass takes it in.
	clock.set(cstAt("2026-11-06", "10:00"))
	var obj []ingest.Entry
	k2.entries = &obj
	o := k2.rec(wire.KindObjection, "V1", objected, clock.Now())
	o.Note = "那天上午我在站里，没有见到这位志愿者"
	obj[0].Record = o
	if _, err := c.db.Ingest(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if r, err := notices.Once(ctx); err != nil || r.Objections != 1 || r.Final != 0 {
		t.Fatalf("notice pass of 6 November: %+v %v", r, err)
	}
	if r := volunteerRecords(t, base, "V3")[objected]; r.Status != store.StatusObjected {
		t.Errorf("objected record: %+v", r)
	}
	// 南屏's public notice shows it under objection, the name masked.
	var board struct {
		Notice []store.NoticeEntry `json:"notice"`
	}
	getJSON(t, base, "manager2", "/api/v1/stations/pe-simao-002/notice", &board)
	shown := map[string]store.NoticeEntry{}
	for _, e := range board.Notice {
		shown[e.Record] = e
	}
	if e, ok := shown[objected]; !ok || !e.Objected || e.Name != "张*" || e.Cents != 100 {
		t.Errorf("南屏's notice: %+v, want %s objected, 张*, 1 h", board.Notice, objected)
	}
	if _, ok := shown[v3day]; !ok || len(shown) != 2 {
		t.Errorf("南屏's notice: %+v, want the two records of V3 in notice or objected", board.Notice)
	}

	// Saturday 7 November: without the holiday the notice would be over;
	// with it, nothing is final yet.
	// The same day, 宁洱县's administrator objects in the console to V2's
	// record of 1 November; not theirs to resolve, the station's manager
	// upholds it: the record goes back to review, in the station's queue
	// only, and is adjusted to 5 h, in notice again from now.
	code, body = as(t, base, "ninger", "POST", "/api/v1/hours/records/"+v2day+"/objection", `{"reason":"签到表显示当天下午才到站"}`)
	if code != http.StatusCreated {
		t.Fatalf("objection in the console: %d %s", code, body)
	}
	var oc struct {
		Objection store.Objection `json:"objection"`
	}
	json.Unmarshal([]byte(body), &oc)
	oid := strconv.FormatInt(oc.Objection.ID, 10)
	if code, body := as(t, base, "ninger", "POST", "/api/v1/hours/objections/"+oid+"/uphold", `{"reason":"自己提出的"}`); code != http.StatusForbidden {
		t.Errorf("the county resolves an objection of a station's record: %d %s", code, body)
	}
	if code, body := as(t, base, "manager3", "POST", "/api/v1/hours/objections/"+oid+"/uphold", `{"reason":"核对签到表，上午未到"}`); code != http.StatusOK ||
		!strings.Contains(body, `"status":"review"`) {
		t.Fatalf("uphold: %d %s", code, body)
	}
	for user := range tokens {
		in := slices.ContainsFunc(reviewQueue(t, base, user), func(r flowRecord) bool {
			return r.ID == v2day && r.Reviewer == hours.ReviewStation && slices.Equal(r.Reasons, []string{"objection"})
		})
		if in != (user == "manager3") {
			t.Errorf("%s's queue has the upheld record: %v", user, in)
		}
	}
	if code, body := as(t, base, "manager3", "POST", "/api/v1/hours/records/"+v2day+"/adjust", `{"reason":"上午未到站","hours":"5"}`); code != http.StatusOK {
		t.Fatalf("adjust: %d %s", code, body)
	}
	adjustedEnd := cstAt("2026-11-12", "00:00") // Monday 9, Tuesday 10, Wednesday 11
	if r := volunteerRecords(t, base, "V2")[v2day]; r.Status != store.StatusNotice || r.CountedCents != 500 ||
		!r.NoticeUntil.Equal(adjustedEnd) || !strings.Contains(r.Outcome, "由6小时调整为5小时（上午未到站），公示至11月11日") {
		t.Errorf("adjusted %s: %+v", v2day, r)
	}

	clock.set(cstAt("2026-11-07", "10:00"))
	if r, err := notices.Once(ctx); err != nil || r.Final != 0 {
		t.Fatalf("notice pass of 7 November: %+v %v", r, err)
	}
	if s := summaryOf(t, base, "V1"); s.Card != 0 || s.Total != 0 {
		t.Errorf("V1 counts before the notice is over: %+v", s)
	}

	// Tuesday 10 November: the notice is over. V1's clean records (1.5 h
	// + 6 h) and the approved one (2 h) are final; the objected one of
	// V3 is not.
	clock.set(cstAt("2026-11-10", "00:30"))
	if _, err := notices.Once(ctx); err != nil {
		t.Fatal(err)
	}
	recs = volunteerRecords(t, base, "V1")
	for _, id := range []string{clean, v1day, auto} {
		if recs[id].Status != store.StatusFinal {
			t.Errorf("%s after the notice: %+v", id, recs[id])
		}
	}
	s := summaryOf(t, base, "V1")
	if s.Card != 9.5 || s.Manual != 0 || s.Total != 9.5 || s.Pending.Card != 3 || s.Pending.Manual != 2 {
		t.Errorf("V1's summary: %+v, want 9.5 h by card final, 3 h by card and 2 h by hand pending", s)
	}
	if r := volunteerRecords(t, base, "V3")[objected]; r.Status != store.StatusObjected {
		t.Errorf("objected record after its period: %+v", r)
	}
	if r := volunteerRecords(t, base, "V3")[v3day]; r.Status != store.StatusFinal || r.CountedCents != 600 {
		t.Errorf("V3's clean record of 1 November: %+v, want final, 6 h", r)
	}
	if s := summaryOf(t, base, "V3"); s.Card != 6 {
		t.Errorf("V3's summary with the objection open: %+v, want 6 h (1 November)", s)
	}

	// The certificate counts the final hours: 9.5 h by card.
	code, _, _ = getAs(t, base, "org", "/api/v1/volunteers/V1/certificate.pdf?from=2026-11-01&to=2026-11-09&lead=%E8%B5%B5%E5%85%AD&contact=0879-2123456")
	if code != http.StatusOK {
		t.Fatalf("certificate: %d", code)
	}
	var certs struct {
		Certificates []api.CertificateView `json:"certificates"`
	}
	getJSON(t, base, "org", "/api/v1/volunteers/V1/certificates", &certs)
	if len(certs.Certificates) != 1 || certs.Certificates[0].CardHours != 9.5 || certs.Certificates[0].ManualHours != 0 ||
		certs.Certificates[0].TotalHours != 9.5 {
		t.Errorf("certificate figures: %+v, want 9.5 h by card", certs.Certificates)
	}

	// The objection is dismissed by 南屏's station manager: the period
	// is over, so the record is final and counts.
	var ol struct {
		Objections []api.ObjectionView `json:"objections"`
	}
	getJSON(t, base, "manager2", "/api/v1/hours/objections?mine=1", &ol)
	if len(ol.Objections) != 1 || ol.Objections[0].Record != objected {
		t.Fatalf("manager2's objections: %+v", ol.Objections)
	}
	code, body = as(t, base, "manager2", "POST", "/api/v1/hours/objections/"+strconv.FormatInt(ol.Objections[0].ID, 10)+"/dismiss", `{"reason":"签到记录与监控一致"}`)
	if code != http.StatusOK || !strings.Contains(body, `"status":"final"`) {
		t.Fatalf("dismiss: %d %s", code, body)
	}
	if s := summaryOf(t, base, "V3"); s.Card != 7 {
		t.Errorf("V3's summary after the dismissal: %+v, want 7 h", s)
	}

	// A rule change: half hours become quarter hours. What is counted
	// keeps its hours and version; a new session counts under version 2.
	var cur api.HourRules
	getJSON(t, base, "city", "/api/v1/hour-rules", &cur)
	next := cur.Rules
	next.Step = 0.25
	doc, _ = json.Marshal(next)
	if code, body := as(t, base, "city", "PUT", "/api/v1/hour-rules", string(doc)); code != http.StatusOK || !strings.Contains(body, `"current":2`) {
		t.Fatalf("rule change: %d %s", code, body)
	}
	entries = nil
	k1.entries = &entries
	fresh := k1.session("V1", "2026-11-10", "09:00", "10:50", false)
	// A kiosk that was offline syncs a session of 2 November late: the
	// day is counted again, its final records stay as they were.
	lateSync := k1.session("V1", "2026-11-02", "16:30", "17:50", false)
	if _, err := c.db.Ingest(ctx, entries); err != nil {
		t.Fatal(err)
	}
	clock.set(cstAt("2026-11-10", "12:00"))
	if _, err := hours.Pass(ctx, c.db, clock.Now()); err != nil {
		t.Fatal(err)
	}
	recs = volunteerRecords(t, base, "V1")
	if r := recs[clean]; r.CountedCents != 150 || r.RuleVersion != 1 || r.Status != store.StatusFinal {
		t.Errorf("counted under rules 1, after the change: %+v", r)
	}
	if r := recs[fresh]; r.CountedCents != 175 || r.RuleVersion != 2 || !strings.Contains(r.RuleNote, "规则第2版") ||
		r.Status != store.StatusNotice {
		t.Errorf("110 minutes under rules 2: %+v, want 1.75 h in notice", r)
	}
	if r := recs[auto]; r.CountedCents != 200 || r.RuleVersion != 1 || r.Status != store.StatusFinal || r.Outcome == "" {
		t.Errorf("approved under rules 1, after the change and a recount of its day: %+v", r)
	}
	if r := recs[lateSync]; r.CountedCents != 125 || r.RuleVersion != 2 || r.Status != store.StatusNotice {
		t.Errorf("80 minutes synced late, under rules 2: %+v, want 1.25 h in notice", r)
	}
	if s := summaryOf(t, base, "V1"); s.Card != 9.5 {
		t.Errorf("V1's final hours changed with the rules: %+v", s)
	}

	// Thursday 12 November: the adjusted record's new notice is over.
	// V2 counts 6.5 h (3 November) and 5 h (1 November, adjusted).
	clock.set(cstAt("2026-11-12", "08:00"))
	if _, err := notices.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if r := volunteerRecords(t, base, "V2")[v2day]; r.Status != store.StatusFinal || r.CountedCents != 500 {
		t.Errorf("adjusted record after its notice: %+v", r)
	}
	if s := summaryOf(t, base, "V2"); s.Card != 11.5 {
		t.Errorf("V2's summary: %+v, want 11.5 h", s)
	}
}

// reviewQueue is user's GET /api/v1/hours/review.
func reviewQueue(t *testing.T, base, user string) []flowRecord {
	t.Helper()
	var q struct {
		Records []flowRecord `json:"records"`
	}
	getJSON(t, base, user, "/api/v1/hours/review", &q)
	return q.Records
}
