package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/people"
	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
	"leifeng/firmware/releasetest"
	"leifeng/internal/pgtest"
)

// The users of the scope tests, by name, each with an API token
// (seedUsers).
var testUsers = map[string]*access.User{
	"city":          {Name: "city", Role: access.City},
	"simao":         {Name: "simao", Role: access.County, Scope: "530802"},
	"ninger":        {Name: "ninger", Role: access.County, Scope: "530821"},
	"manager":       {Name: "manager", Role: access.Station, Scope: "pe-simao-001"},
	"org":           {Name: "org", Role: access.Org, Scope: "O1"},
	"auditor":       {Name: "auditor", Role: access.Auditor},
	"ninger-reader": {Name: "ninger-reader", Role: access.Auditor, Scope: "530821"},
}

// tokens are the testUsers' API tokens in the cloud a scope test runs
// (one at a time).
var tokens map[string]string

func seedUsers(t *testing.T, db *store.Store) {
	t.Helper()
	tokens = map[string]string{}
	for name, u := range testUsers {
		tokens[name] = api.SeedUser(t, db, name, u.Role, u.Scope, "长城长城长城长城长城", false)
	}
}

// as sends a request with user's token.
func as(t *testing.T, base, user, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokens[user])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// peopleFixture: two counties of Pu'er, three communities, four stations
// (one without a community), organisations O1 > O2 in 思茅区 and O3 in
// 宁洱县, volunteers V1 (lives at the first station's community, in O2),
// V2 (lives in 宁洱县, served at pe-simao-001), V3 (lives in the second
// 思茅 community).
func peopleFixture(t *testing.T, c *testCloud) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	res, err := c.db.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty, Population: 300000},
		{Code: "530821", Name: "宁洱哈尼族彝族自治县", Parent: "5308", Level: people.LevelCounty, Population: 180000},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship, Population: 90000},
		{Code: "530821001", Name: "宁洱镇", Parent: "530821", Level: people.LevelTownship, Population: 60000},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 8000},
		{Code: "530802001002", Name: "南屏社区", Parent: "530802001", Level: people.LevelCommunity, Population: 7000},
		{Code: "530821001001", Name: "西门社区", Parent: "530821001", Level: people.LevelCommunity, Population: 5000},
	}, now)
	mustResults(t, res, err)
	res, err = c.db.SaveOrganisations(ctx, []people.Organisation{
		{ID: "O1", Name: "思茅区志愿服务联合会", County: "530802"},
		{ID: "O2", Name: "茶源社区志愿服务队", County: "530802", Community: "530802001001", Parent: "O1"},
		{ID: "O3", Name: "宁洱县志愿服务队", County: "530821", Community: "530821001001"},
	}, now)
	mustResults(t, res, err)
	vault := testVault(t)
	var vs []people.Volunteer
	for _, v := range []people.Volunteer{
		{ID: "V1", Name: "王小明", IDNumber: "530802199003071236", Community: "530802001001", Phone: "13987912345", Orgs: []string{"O2"}},
		{ID: "V2", Name: "李四", IDNumber: "530821198506151232", Community: "530821001001", Phone: "13987912346", Orgs: []string{"O3"}},
		{ID: "V3", Name: "张三", IDNumber: "530802200101014564", Community: "530802001002", Phone: "13987912347"},
	} {
		if err := v.Check(vault, now); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	res, err = c.db.RegisterVolunteers(ctx, vs, now)
	mustResults(t, res, err)
	for id, community := range map[string]string{"pe-simao-001": "530802001001", "pe-simao-002": "530802001002",
		"pe-ninger-001": "530821001001", "pe-nocomm": ""} {
		b, err := c.svc.AddStationIn(ctx, id, "", "", community, c.broker)
		if err != nil {
			t.Fatal(err)
		}
		c.bundles[id] = b
	}
	c.session("pe-simao-001", "V2", 1, time.Hour)
	c.session("pe-ninger-001", "V2", 1, time.Hour)
	c.session("pe-simao-002", "V3", 1, time.Hour)
}

func mustResults(t *testing.T, res []people.Result, err error) {
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

// scopeBackends are the two databases the scope tests run on.
var scopeBackends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

// scopeHit is one request of a scope table.
type scopeHit struct {
	user, method, path, body string
	want                     int
	has, hasNot              []string
}

func runScope(t *testing.T, base string, hits []scopeHit) {
	t.Helper()
	for _, h := range hits {
		code, body := as(t, base, h.user, h.method, h.path, h.body)
		if code != h.want {
			t.Errorf("%s: %s %s: %d %s, want %d", h.user, h.method, h.path, code, strings.TrimSpace(body), h.want)
			continue
		}
		for _, s := range h.has {
			if !strings.Contains(body, s) {
				t.Errorf("%s: %s %s: %s lacks %q", h.user, h.method, h.path, strings.TrimSpace(body), s)
			}
		}
		for _, s := range h.hasNot {
			if strings.Contains(body, s) {
				t.Errorf("%s: %s %s: %s shows %q, out of scope", h.user, h.method, h.path, strings.TrimSpace(body), s)
			}
		}
		if code >= 400 && code != http.StatusMethodNotAllowed {
			var e struct {
				Error     string `json:"error"`
				MessageZh string `json:"message_zh"`
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" || e.MessageZh == "" {
				t.Errorf("%s: %s %s: %d without a JSON error: %s", h.user, h.method, h.path, code, body)
			}
		}
	}
}

// Each role sees and changes only its scope, through the API directly,
// on SQLite and PostgreSQL: a county administrator gets 404 for another
// county's stations, volunteers and records; a station manager cannot
// edit another station but can edit its own; an organisation
// administrator sees only its volunteers; an auditor reads and every
// change of its is refused; the audit log keeps the before and after of a
// station's community and no route changes it.
func TestScopes(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			t.Run("County", func(t *testing.T) { testCountyScope(t, c) })
			t.Run("StationManager", func(t *testing.T) { testStationScope(t, c) })
			t.Run("Org", func(t *testing.T) { testOrgScope(t, c) })
			t.Run("Auditor", func(t *testing.T) { testAuditorScope(t, c) })
			t.Run("Audit", func(t *testing.T) { testAuditLog(t, c) })
			t.Run("CardsAndRegister", func(t *testing.T) { testCardsAndRegister(t, c) })
		})
	}
}

func testCountyScope(t *testing.T, c *testCloud) {
	base := c.srv.URL
	runScope(t, base, []scopeHit{
		{user: "simao", method: "GET", path: "/api/v1/stations", want: 200,
			has: []string{"pe-simao-001", "pe-simao-002"}, hasNot: []string{"pe-ninger-001", "pe-nocomm"}},
		{user: "simao", method: "GET", path: "/api/v1/fleet", want: 200,
			has: []string{"pe-simao-001"}, hasNot: []string{"pe-ninger-001", "pe-nocomm"}},
		{user: "city", method: "GET", path: "/api/v1/stations", want: 200, has: []string{"pe-simao-001", "pe-ninger-001", "pe-nocomm"}},
		{user: "simao", method: "GET", path: "/api/v1/records?station=pe-simao-001", want: 200, has: []string{"V2"}},
		{user: "simao", method: "GET", path: "/api/v1/records?station=pe-ninger-001", want: 404, hasNot: []string{"V2"}},
		{user: "simao", method: "GET", path: "/api/v1/records?station=pe-nocomm", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/stations/pe-ninger-001/presence", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/stations/pe-ninger-001/commands", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/config?station=pe-ninger-001", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/config?station=pe-simao-001", want: 200},
		{user: "simao", method: "GET", path: "/api/v1/config", want: 403, has: []string{"市级管理员"}},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V1", want: 200,
			has: []string{"王小明", "5308**********1236"}, hasNot: []string{"530802199003071236"}},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V3", want: 200},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V2", want: 404, hasNot: []string{"李四"}},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V2/hours", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V3/hours", want: 200, has: []string{`"hours":1`}},
		{user: "ninger", method: "GET", path: "/api/v1/volunteers/V2", want: 200, has: []string{"李四"}},
		{user: "simao", method: "GET", path: "/api/v1/organisations", want: 200, has: []string{"O1", "O2"}, hasNot: []string{"O3"}},
		{user: "simao", method: "GET", path: "/api/v1/organisations/O3", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/organisations/O2", want: 200},
		{user: "simao", method: "GET", path: "/api/v1/areas", want: 200, has: []string{"530802001001"}, hasNot: []string{"530821", `"code":"5308",`}},
		{user: "simao", method: "GET", path: "/api/v1/review/sessions", want: 200},
		{user: "simao", method: "GET", path: "/api/v1/audit", want: 403},
		// Changes out of scope: 404, and nothing happens.
		{user: "simao", method: "PATCH", path: "/api/v1/stations/pe-ninger-001", body: `{"community":"530802001001"}`, want: 404},
		{user: "simao", method: "PATCH", path: "/api/v1/stations/pe-simao-002", body: `{"community":"530821001001"}`, want: 422},
		{user: "simao", method: "POST", path: "/api/v1/stations/pe-ninger-001/commands", body: `{"name":"reboot"}`, want: 404},
		{user: "simao", method: "POST", path: "/api/v1/config", body: `{"station":"pe-ninger-001","doc":{"board":{"phone":"1"}}}`, want: 404},
		{user: "simao", method: "POST", path: "/api/v1/config", body: `{"all":true,"doc":{"board":{"phone":"1"}}}`, want: 403},
		{user: "simao", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":{"board":{"phone":"0879-2123456"}}}`, want: 200},
		{user: "simao", method: "POST", path: "/api/v1/stations/pe-simao-001/commands", body: `{"name":"reboot"}`, want: 200},
		// A county by its area code: the stations of its communities.
		{user: "simao", method: "POST", path: "/api/v1/config", body: `{"county":"530802","doc":{"announcements":[{"title":"端午节"}]}}`, want: 200,
			has: []string{"pe-simao-001", "pe-simao-002"}, hasNot: []string{"pe-ninger-001", "pe-nocomm"}},
		{user: "ninger", method: "POST", path: "/api/v1/config", body: `{"county":"530802","doc":{"announcements":[{"title":"端午节"}]}}`, want: 404},
		{user: "city", method: "GET", path: "/api/v1/stations", want: 200, has: []string{`"id":"pe-ninger-001","registered":true,"community":"530821001001"`}},
	})
	// Out of scope and missing answer alike: the same body but for the ID.
	for _, p := range []string{"/api/v1/stations/%s/commands", "/api/v1/records?station=%s", "/api/v1/config?station=%s"} {
		_, missing := as(t, base, "city", "GET", strings.ReplaceAll(p, "%s", "pe-missing-009"), "")
		_, hidden := as(t, base, "simao", "GET", strings.ReplaceAll(p, "%s", "pe-ninger-001"), "")
		if p != "/api/v1/records?station=%s" && strings.ReplaceAll(missing, "pe-missing-009", "pe-ninger-001") != hidden {
			t.Errorf("%s: out of scope %s differs from missing %s", p, hidden, missing)
		}
		_, missingHere := as(t, base, "simao", "GET", strings.ReplaceAll(p, "%s", "pe-missing-009"), "")
		if strings.ReplaceAll(missingHere, "pe-missing-009", "pe-ninger-001") != hidden {
			t.Errorf("%s: for a county, out of scope %s differs from missing %s", p, hidden, missingHere)
		}
	}
	_, missing := as(t, base, "simao", "GET", "/api/v1/volunteers/V9", "")
	_, hidden := as(t, base, "simao", "GET", "/api/v1/volunteers/V2", "")
	if strings.ReplaceAll(missing, "V9", "V2") != hidden {
		t.Errorf("volunteer out of scope %s differs from missing %s", hidden, missing)
	}
}

func testStationScope(t *testing.T, c *testCloud) {
	runScope(t, c.srv.URL, []scopeHit{
		{user: "manager", method: "GET", path: "/api/v1/stations", want: 200, has: []string{"pe-simao-001"}, hasNot: []string{"pe-simao-002", "pe-ninger-001"}},
		{user: "manager", method: "PATCH", path: "/api/v1/stations/pe-simao-002", body: `{"name":"别的站"}`, want: 404},
		{user: "manager", method: "PATCH", path: "/api/v1/stations/pe-simao-001", body: `{"name":"茶源社区学雷锋志愿服务站"}`, want: 200, has: []string{"茶源社区学雷锋志愿服务站"}},
		{user: "manager", method: "PATCH", path: "/api/v1/stations/pe-simao-001", body: `{"community":"530821001001"}`, want: 403},
		{user: "manager", method: "POST", path: "/api/v1/stations/pe-simao-002/commands", body: `{"name":"reboot"}`, want: 404},
		{user: "manager", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-002","doc":{"board":{"phone":"1"}}}`, want: 404},
		{user: "manager", method: "GET", path: "/api/v1/records?station=pe-simao-001", want: 200},
		{user: "manager", method: "GET", path: "/api/v1/records?station=pe-simao-002", want: 404},
		// V1 lives in the station's community, V2 served there, V3 neither.
		{user: "manager", method: "GET", path: "/api/v1/volunteers/V1", want: 200},
		{user: "manager", method: "GET", path: "/api/v1/volunteers/V2", want: 200},
		{user: "manager", method: "GET", path: "/api/v1/volunteers/V3", want: 404},
		{user: "manager", method: "GET", path: "/api/v1/volunteers/V3/hours", want: 404},
		{user: "manager", method: "GET", path: "/api/v1/organisations", want: 200, has: []string{`"id":"O2"`}, hasNot: []string{`"id":"O1"`, "O3"}},
	})
}

func testOrgScope(t *testing.T, c *testCloud) {
	runScope(t, c.srv.URL, []scopeHit{
		{user: "org", method: "GET", path: "/api/v1/volunteers/V1", want: 200, has: []string{"王小明"}},
		{user: "org", method: "GET", path: "/api/v1/volunteers/V2", want: 404},
		{user: "org", method: "GET", path: "/api/v1/volunteers/V3", want: 404},
		{user: "org", method: "GET", path: "/api/v1/volunteers/V1/hours", want: 200},
		{user: "org", method: "GET", path: "/api/v1/organisations", want: 200, has: []string{"O1", "O2"}, hasNot: []string{"O3"}},
		{user: "org", method: "GET", path: "/api/v1/stations", want: 200, hasNot: []string{"pe-"}},
		{user: "org", method: "GET", path: "/api/v1/records?station=pe-simao-001", want: 404},
		{user: "org", method: "PATCH", path: "/api/v1/stations/pe-simao-001", body: `{"name":"x"}`, want: 404},
	})
}

func testAuditorScope(t *testing.T, c *testCloud) {
	runScope(t, c.srv.URL, []scopeHit{
		{user: "auditor", method: "GET", path: "/api/v1/stations", want: 200, has: []string{"pe-simao-001", "pe-ninger-001"}},
		{user: "auditor", method: "GET", path: "/api/v1/volunteers/V2", want: 200},
		{user: "auditor", method: "GET", path: "/api/v1/audit", want: 200, has: []string{`"action":"station.edit"`}},
		{user: "auditor", method: "PATCH", path: "/api/v1/stations/pe-simao-001", body: `{"name":"x"}`, want: 403, has: []string{"审计员"}},
		{user: "auditor", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":{"board":{"phone":"1"}}}`, want: 403},
		{user: "auditor", method: "POST", path: "/api/v1/stations/pe-simao-001/commands", body: `{"name":"reboot"}`, want: 403},
		{user: "ninger-reader", method: "GET", path: "/api/v1/stations", want: 200, has: []string{"pe-ninger-001"}, hasNot: []string{"pe-simao"}},
		{user: "ninger-reader", method: "GET", path: "/api/v1/volunteers/V1", want: 404},
		{user: "ninger-reader", method: "GET", path: "/api/v1/audit", want: 403},
	})
}

// The audit log: who changed a station's community, with the before and
// after; refused attempts and personal reads are in it too; no route
// changes it, and neither can SQL.
func testAuditLog(t *testing.T, c *testCloud) {
	base := c.srv.URL
	if code, body := as(t, base, "city", "PATCH", "/api/v1/stations/pe-nocomm", `{"community":"530821001001"}`); code != 200 {
		t.Fatalf("city moves pe-nocomm: %d %s", code, body)
	}
	code, body := as(t, base, "auditor", "GET", "/api/v1/audit?user=city&action=station.edit&limit=1", "")
	var page struct {
		Entries    []store.AuditEntry `json:"entries"`
		NextBefore string             `json:"next_before"`
	}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Entries) != 1 {
		t.Fatalf("audit log: %d %s (%v)", code, body, err)
	}
	e := page.Entries[0]
	if e.User != "city" || e.Role != "city" || e.Via != "token" || e.Target != "station pe-nocomm" || e.Status != 200 ||
		string(e.Before) != `{"community":"","name":""}` || string(e.After) != `{"community":"530821001001","name":""}` ||
		e.Route != "PATCH /api/v1/stations/{id}" || time.Since(e.At) > time.Minute {
		t.Errorf("audit entry %+v", e)
	}
	// The county now sees it.
	if code, _ := as(t, base, "ninger", "GET", "/api/v1/records?station=pe-nocomm", ""); code != 200 {
		t.Errorf("ninger after the move: %d", code)
	}
	// Paging back by next_before reaches the earlier edits.
	if page.NextBefore == "" {
		t.Fatal("no next_before on a full page")
	}
	_, body = as(t, base, "city", "GET", "/api/v1/audit?action=station.edit&before="+page.NextBefore, "")
	if !strings.Contains(body, `"target":"station pe-simao-001"`) || strings.Contains(body, "pe-nocomm") {
		t.Errorf("the next page: %s", body)
	}
	// What else is in it: the reads, by filter. (An auditor's change is
	// refused by the sign-in guard before it reaches a route: it changed
	// nothing, so it is in the service log, not the audit log.)
	for q, want := range map[string]string{
		"?user=simao&action=records.read":                                 `"target":"station pe-ninger-001","status":404`,
		"?user=simao&action=volunteer.read":                               `"target":"volunteer V1","status":200`,
		"?from=2000-01-01&to=2000-01-02":                                  `"entries":[]`,
		"?user=city&to=" + time.Now().In(fleet.CST).Format(time.DateOnly): `"target":"station pe-nocomm"`,
		"?action=config.push&user=simao":                                  `"doc":{"board":{"phone":"0879-2123456"}}`,
		"?action=station.command&user=simao&from=2020-01-01":              `"command":"reboot"`,
	} {
		if _, body := as(t, base, "city", "GET", "/api/v1/audit"+q, ""); !strings.Contains(body, want) {
			t.Errorf("audit %s: %s lacks %s", q, body, want)
		}
	}
	// No route changes an entry.
	_, before := as(t, base, "city", "GET", "/api/v1/audit?user=city&action=station.edit", "")
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, p := range []string{"/api/v1/audit", "/api/v1/audit/1", "/api/v1/audit?id=1"} {
			if code, body := as(t, base, "city", m, p, `{"user":"nobody"}`); code < 400 {
				t.Errorf("%s %s: %d %s", m, p, code, body)
			}
		}
	}
	if _, after := as(t, base, "city", "GET", "/api/v1/audit?user=city&action=station.edit", ""); after != before {
		t.Errorf("the audit log changed:\n%s\n%s", before, after)
	}
}

// routes × roles: every guarded route the API registers, asked by each
// role about what lies outside its scope, answers 403 or 404 and never
// data; every change route refuses an auditor.
func TestRoutesScoped(t *testing.T) {
	c := newTestCloudOn(t, "", api.WithFailureLimit(1000, time.Millisecond))
	peopleFixture(t, c)
	seedUsers(t, c.db)
	kit := releasetest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, patterns := api.NewWithPatterns(c.db, prometheus.NewRegistry(), log,
		&api.Fleet{Service: c.svc, Store: c.db, Cards: c.cards,
			Rollouts: &api.Rollouts{Service: rollout.NewService(c.db, c.svc, "", log), Repo: kit.Repo.Dir,
				Upload: &rollout.Uploader{}},
			Volunteers: &api.Volunteers{Store: c.db, Vault: testVault(t)}},
		api.WithFailureLimit(1000, time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	guarded := guardedRequests(t, patterns)
	// pe-simao-001 and volunteer V3 lie outside the scopes of these users.
	outsiders := []string{"ninger", "ninger-reader", "org"}
	n := 0
	for _, g := range guarded {
		if g.path == "/metrics" {
			continue // no personal data: any signed-in user
		}
		if strings.HasPrefix(g.path, "/console/") {
			// The pages open on a session only (a token gets the
			// login form); cloud/console tests each page and role.
			continue
		}
		if g.path == "/api/v1/records" {
			g.path += "?station=pe-simao-001"
		}
		path := strings.NewReplacer("/volunteers/pe-simao-001", "/volunteers/V3", "/organisations/pe-simao-001", "/organisations/O2").Replace(g.path)
		for _, u := range outsiders {
			code, body := as(t, srv.URL, u, g.method, path, `{"name":"reboot","community":"530821001001"}`)
			ok := code == http.StatusNotFound || code == http.StatusForbidden ||
				(code == http.StatusOK && g.method == "GET" && !strings.Contains(body, "pe-simao-001") && !strings.Contains(body, "张三")) ||
				((code == http.StatusBadRequest || code == http.StatusUnprocessableEntity) && !strings.Contains(body, "pe-simao-001"))
			if !ok {
				t.Errorf("%s: %s %s: %d %s", u, g.method, path, code, strings.TrimSpace(body))
			}
			n++
		}
		if g.method != "GET" {
			if code, body := as(t, srv.URL, "auditor", g.method, path, `{}`); code != http.StatusForbidden {
				t.Errorf("auditor: %s %s: %d %s, want 403", g.method, path, code, strings.TrimSpace(body))
			}
		}
	}
	if n < 3*20 {
		t.Fatalf("only %d requests from %v", n, patterns)
	}
}

// The card desk and the volunteer register answer through the same
// scopes and write to the same audit log.
func testCardsAndRegister(t *testing.T, c *testCloud) {
	base := c.srv.URL
	code, body := as(t, base, "ninger", "POST", "/api/v1/volunteers/V2/cards", `{"uid":"04A23B1C558091","media":"ntag215","expires":"2029-12-31"}`)
	var issued struct {
		Card struct{ Serial string } `json:"card"`
	}
	if err := json.Unmarshal([]byte(body), &issued); code != 200 || err != nil || issued.Card.Serial == "" {
		t.Fatalf("ninger issues a card to V2: %d %s", code, body)
	}
	serial := issued.Card.Serial
	runScope(t, base, []scopeHit{
		{user: "simao", method: "POST", path: "/api/v1/volunteers/V2/cards", body: `{"uid":"04A23B1C558092","media":"ntag215","expires":"2029-12-31"}`, want: 404},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V2/cards", want: 404, hasNot: []string{serial}},
		{user: "simao", method: "POST", path: "/api/v1/cards/" + serial + "/revoke", body: `{"reason":"x"}`, want: 404},
		{user: "simao", method: "POST", path: "/api/v1/cards/" + serial + "/reissue", body: `{"uid":"04A23B1C558093","media":"ntag215","expires":"2029-12-31","reason":"x"}`, want: 404},
		{user: "auditor", method: "POST", path: "/api/v1/cards/" + serial + "/revoke", body: `{"reason":"x"}`, want: 403},
		{user: "ninger", method: "GET", path: "/api/v1/volunteers/V2/cards", want: 200, has: []string{serial}},
		{user: "simao", method: "GET", path: "/api/v1/volunteers?q=", want: 200, has: []string{`"V1"`, `"V3"`}, hasNot: []string{`"V2"`}},
		{user: "org", method: "GET", path: "/api/v1/volunteers?q=", want: 200, has: []string{`"V1"`}, hasNot: []string{`"V2"`, `"V3"`}},
		{user: "manager", method: "GET", path: "/api/v1/volunteers?q=", want: 200, has: []string{`"V1"`, `"V2"`}, hasNot: []string{`"V3"`}},
		{user: "simao", method: "GET", path: "/api/v1/volunteers/V2/history", want: 404},
		{user: "simao", method: "PATCH", path: "/api/v1/volunteers/V1", body: `{"phone":"13987912399"}`, want: 200},
		{user: "simao", method: "PATCH", path: "/api/v1/volunteers/V2", body: `{"phone":"13987912399"}`, want: 404},
		{user: "ninger", method: "POST", path: "/api/v1/cards/" + serial + "/revoke", body: `{"reason":"丢失"}`, want: 200},
	})
	for q, want := range map[string]string{
		"?action=card.issue&user=ninger":    `"target":"volunteer V2"`,
		"?action=card.revoke&user=ninger":   `"state":"revoked"`,
		"?action=volunteer.edit&user=simao": `"target":"volunteer V1"`,
		"?action=cards.read&user=simao":     `"status":404`,
	} {
		if _, body := as(t, base, "city", "GET", "/api/v1/audit"+q, ""); !strings.Contains(body, want) {
			t.Errorf("audit %s: %s lacks %s", q, body, want)
		}
	}
	if _, body := as(t, base, "city", "GET", "/api/v1/audit?action=volunteer.edit", ""); strings.Contains(body, "13987912399") {
		t.Errorf("the audit log keeps a phone number in clear: %s", body)
	}
}
