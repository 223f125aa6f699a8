package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/api"
	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
	"leifeng/firmware/releasetest"
	"leifeng/gateway/wire"
)

// hit is one request of a table and what must come back.
type hit struct {
	name   string
	method string
	path   string
	body   string
	// anon sends no token; otherwise the admin token goes along.
	anon bool
	// host replaces the Host header (the test server's address otherwise).
	host string
	want int
	// has must appear in the body.
	has string
}

// do sends h to c's server and returns the status and body.
func (c *testCloud) do(h hit) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if h.body != "" {
		rd = strings.NewReader(h.body)
	}
	req, err := http.NewRequest(h.method, c.srv.URL+h.path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if h.host != "" {
		req.Host = h.host
	}
	if !h.anon {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if h.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// run checks every hit of a table; an error status must come with a JSON
// body that says why.
func (c *testCloud) run(t *testing.T, hits []hit) {
	t.Helper()
	for _, h := range hits {
		code, body := c.do(h)
		if code != h.want || !strings.Contains(body, h.has) {
			t.Errorf("%s: %s %s: %d %s, want %d with %q", h.name, h.method, h.path, code, strings.TrimSpace(body), h.want, h.has)
			continue
		}
		if code >= 400 && code != http.StatusMethodNotAllowed && !strings.HasPrefix(h.path, "/console/") {
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("%s: %d without a JSON error: %s", h.name, code, body)
			}
		}
	}
}

// openRoutes are the patterns that answer without a login: the load
// balancer's health check, the login itself, the console's address (it
// leads to the login form) and the signed firmware files the kiosks fetch.
// The metrics hold no personal data. Every other pattern the API registers
// must answer 401 without one: the console's pages (under /console/) with
// the login form.
var openRoutes = map[string]bool{
	"GET /healthz":    true,
	"GET /metrics":    true,
	"/api/v1/session": true,
	"GET /console":    true,
	"GET /{$}":        true,
	"GET /firmware/":  true,
	// The public verification page of a certificate (certificates.go):
	// the masked name and the printed figures only.
	"GET /verify/{number}": true,
}

// guardedRequests turns every registered pattern not in openRoutes into a
// request that reaches it: wildcards filled in, a prefix pattern extended,
// a pattern without a method tried with GET and POST.
func guardedRequests(t *testing.T, patterns []string) []struct{ method, path, body string } {
	t.Helper()
	checkIn, err := wire.NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"id": "pe-simao-001", "code": "530802", "nonce": "n1", "action": "pause", "check_in": checkIn, "serial": "C2026-0000000001", "number": "PE2026ABCDEFGHJK", "year": "2026"}
	wild := regexp.MustCompile(`\{([a-z_$]*)(\.\.\.)?\}`)
	var out []struct{ method, path, body string }
	seen := map[string]bool{}
	for _, p := range patterns {
		if seen[p] {
			t.Fatalf("pattern %q registered twice", p)
		}
		seen[p] = true
		if openRoutes[p] {
			continue
		}
		methods := []string{"GET", "POST"}
		path := p
		if m, rest, ok := strings.Cut(p, " "); ok {
			methods, path = []string{m}, rest
		}
		path = wild.ReplaceAllStringFunc(path, func(w string) string {
			name := wild.FindStringSubmatch(w)[1]
			if name == "$" {
				return ""
			}
			v, ok := values[name]
			if !ok {
				t.Fatalf("pattern %q: no value for {%s}; add one to guardedRequests", p, name)
			}
			return v
		})
		if strings.HasSuffix(path, "/") {
			path += "x"
		}
		for _, m := range methods {
			out = append(out, struct{ method, path, body string }{m, path, "{}"})
		}
	}
	for p := range openRoutes {
		if !seen[p] {
			t.Errorf("open route %q is not registered: keep openRoutes to the routes that exist", p)
		}
	}
	return out
}

// Every route the API registers, except the few open ones, answers 401
// without the token and 421 to a Host header that names another site (DNS
// rebinding), before it looks at anything else; the open routes answer
// without a token. The routes come from the mux itself, so a route added
// without a guard fails here. On SQLite and PostgreSQL.
func TestRoutesAuthorisation(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) { testRoutesAuthorisation(t, be.dsn(t)) })
	}
}

func testRoutesAuthorisation(t *testing.T, dsn string) {
	// A budget for the table's failures (TestFailedAuthRateLimited tests it).
	c := newTestCloudOn(t, dsn, api.WithFailureLimit(1000, time.Millisecond))
	c.addStation("pe-simao-001", "思茅区")
	kit := releasetest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, patterns := api.NewWithPatterns(c.db, prometheus.NewRegistry(), log,
		&api.Fleet{Service: c.svc, Store: c.db, Cards: c.cards,
			Rollouts:   &api.Rollouts{Service: rollout.NewService(c.db, c.svc, "", log), Repo: kit.Repo.Dir},
			Volunteers: &api.Volunteers{Store: c.db, Vault: testVault(t)}},
		api.WithFailureLimit(1000, time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	c.srv = srv
	guarded := guardedRequests(t, patterns)
	if len(guarded) < 15 {
		t.Fatalf("only %d guarded requests from %v", len(guarded), patterns)
	}
	var hits []hit
	for _, g := range guarded {
		why := "login required"
		if strings.HasPrefix(g.path, "/console/") {
			why = "请先登录"
		}
		hits = append(hits,
			hit{name: "no token", method: g.method, path: g.path, body: g.body, anon: true, want: http.StatusUnauthorized, has: why},
			hit{name: "rebinding", method: g.method, path: g.path, body: g.body, host: "evil.example", want: http.StatusMisdirectedRequest, has: "unknown host name"},
			hit{name: "rebinding, no token", method: g.method, path: g.path, body: g.body, anon: true, host: "evil.example:80", want: http.StatusMisdirectedRequest})
	}
	hits = append(hits,
		hit{name: "health is open", method: "GET", path: "/healthz", anon: true, want: 200, has: `"ok":true`},
		hit{name: "metrics are open", method: "GET", path: "/metrics", anon: true, want: 200},
		hit{name: "console is open", method: "GET", path: "/console", anon: true, want: 200, has: `id="login"`}, // to the login form
		hit{name: "root", method: "GET", path: "/", anon: true, want: 200, has: `id="login"`},
		hit{name: "console on a foreign host", method: "GET", path: "/console", anon: true, host: "evil.example", want: http.StatusMisdirectedRequest},
		hit{name: "the token", method: "GET", path: "/api/v1/stations", want: 200},
		hit{name: "other method", method: "DELETE", path: "/api/v1/stations", want: http.StatusMethodNotAllowed},
		hit{name: "session: other method", method: "PUT", path: "/api/v1/session", anon: true, want: http.StatusMethodNotAllowed, has: "GET, POST or DELETE"},
	)
	c.run(t, hits)

	req, _ := http.NewRequest("GET", c.srv.URL+"/api/v1/stations", nil)
	req.Header.Set("Authorization", "Bearer not-the-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d, want 401", resp.StatusCode)
	}
}

// The record path's reads: parameters checked one by one, pages by seq.
func TestRecordsAndHours(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.session("pe-simao-001", "V1", 1, time.Hour)
	c.session("pe-simao-001", "V2", 3, 30*time.Minute)
	long := strings.Repeat("V", 65)
	c.run(t, []hit{
		{name: "no station", method: "GET", path: "/api/v1/records", want: 400, has: "station"},
		{name: "bad station", method: "GET", path: "/api/v1/records?station=Not%20A%20Station", want: 400, has: "station"},
		{name: "after not a number", method: "GET", path: "/api/v1/records?station=pe-simao-001&after=x", want: 400, has: "after"},
		{name: "after negative", method: "GET", path: "/api/v1/records?station=pe-simao-001&after=-1", want: 400, has: "after"},
		{name: "limit 0", method: "GET", path: "/api/v1/records?station=pe-simao-001&limit=0", want: 400, has: "limit"},
		{name: "limit too big", method: "GET", path: "/api/v1/records?station=pe-simao-001&limit=1001", want: 400, has: "limit"},
		{name: "limit not a number", method: "GET", path: "/api/v1/records?station=pe-simao-001&limit=ten", want: 400, has: "limit"},
		{name: "unknown station: empty page", method: "GET", path: "/api/v1/records?station=pe-nowhere-001", want: 200, has: `"records":[]`},
		{name: "hours of nobody", method: "GET", path: "/api/v1/volunteers/V9/hours", want: 200, has: `"volunteer":"V9"`},
		{name: "volunteer ID too long", method: "GET", path: "/api/v1/volunteers/" + long + "/hours", want: 400, has: "too long"},
	})

	page := func(q string) []wire.Record {
		t.Helper()
		code, body := c.do(hit{method: "GET", path: "/api/v1/records?station=pe-simao-001" + q})
		var p struct {
			Station string
			Records []wire.Record
		}
		if code != 200 || json.Unmarshal([]byte(body), &p) != nil || p.Station != "pe-simao-001" {
			t.Fatalf("records%s: %d %s", q, code, body)
		}
		return p.Records
	}
	if all := page(""); len(all) != 4 || all[0].Seq != 1 || all[3].Seq != 4 {
		t.Fatalf("all records: %+v", all)
	}
	if p := page("&limit=2"); len(p) != 2 || p[1].Seq != 2 {
		t.Fatalf("first page: %+v", p)
	}
	if p := page("&after=2&limit=2"); len(p) != 2 || p[0].Seq != 3 {
		t.Fatalf("second page: %+v", p)
	}
	if p := page("&after=4"); len(p) != 0 {
		t.Fatalf("past the end: %+v", p)
	}
	code, body := c.do(hit{method: "GET", path: "/api/v1/volunteers/V1/hours"})
	var h struct {
		Volunteer string
		Hours     float64
		Sessions  int
	}
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil || h.Volunteer != "V1" || h.Hours != 1 || h.Sessions != 1 {
		t.Fatalf("hours of V1: %d %s", code, body)
	}
}

// The fleet routes: bodies and targets checked, unknown stations 404,
// refused documents 400 or 422 with a Chinese message, commands followed
// to their outcome.
func TestFleetRoutes(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.mustPush("station", "pe-simao-001", setup)
	c.run(t, []hit{
		{name: "fleet view", method: "GET", path: "/api/v1/fleet", want: 200, has: `"pe-simao-001"`},
		{name: "stations", method: "GET", path: "/api/v1/stations", want: 200, has: `"pe-simao-001"`},
		{name: "fleet config", method: "GET", path: "/api/v1/config", want: 200, has: `"rules"`},
		{name: "station config", method: "GET", path: "/api/v1/config?station=pe-simao-001", want: 200, has: "学雷锋志愿服务站"},
		{name: "config of a bad ID", method: "GET", path: "/api/v1/config?station=BAD!", want: 404, has: "message_zh"},

		{name: "push: not JSON", method: "POST", path: "/api/v1/config", body: `{"station":`, want: 400, has: "body"},
		{name: "push: no target", method: "POST", path: "/api/v1/config", body: `{"doc":{}}`, want: 400, has: "exactly one"},
		{name: "push: two targets", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","all":true,"doc":{}}`, want: 400, has: "exactly one"},
		{name: "push: unknown field", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":{"menus":[]}}`, want: 400, has: "menus"},
		{name: "push: doc not an object", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":[1]}`, want: 400, has: "message_zh"},
		{name: "push: empty menu", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":{"menu":[]}}`, want: 422, has: "服务菜单"},
		{name: "push: unknown county", method: "POST", path: "/api/v1/config", body: `{"county":"无此县","doc":{"board":{"phone":"1"}}}`, want: 404, has: "尚未登记"},
		{name: "push: a county", method: "POST", path: "/api/v1/config", body: `{"county":"思茅区","doc":{"board":{"phone":"0879-1"}}}`, want: 200, has: `"pushed"`},

		{name: "command: not JSON", method: "POST", path: "/api/v1/stations/pe-simao-001/commands", body: `reboot`, want: 400, has: "body"},
		{name: "command: unknown", method: "POST", path: "/api/v1/stations/pe-simao-001/commands", body: `{"name":"format_disk"}`, want: 400, has: "want a command"},
		{name: "command: unknown station", method: "POST", path: "/api/v1/stations/pe-nowhere-001/commands", body: `{"name":"resync"}`, want: 404, has: "尚未登记"},
		{name: "commands of an unknown station", method: "GET", path: "/api/v1/stations/pe-nowhere-001/commands", want: 404, has: "尚未登记"},
		{name: "no commands yet", method: "GET", path: "/api/v1/stations/pe-simao-001/commands", want: 200, has: `"commands":[]`},
		{name: "status of an unknown command", method: "GET", path: "/api/v1/stations/pe-simao-001/commands/nope", want: 404, has: "找不到"},
		{name: "status at an unknown station", method: "GET", path: "/api/v1/stations/pe-nowhere-001/commands/nope", want: 404, has: "尚未登记"},

		{name: "presence", method: "GET", path: "/api/v1/stations/pe-simao-001/presence", want: 200, has: `"presence":[]`},
		{name: "presence of a bad ID", method: "GET", path: "/api/v1/stations/Bad.ID/presence", want: 400, has: "station ID"},
	})

	code, body := c.do(hit{method: "POST", path: "/api/v1/stations/pe-simao-001/commands", body: `{"name":"resync","ttl_seconds":60}`})
	var cmd wire.Command
	if code != 200 || json.Unmarshal([]byte(body), &cmd) != nil || cmd.Name != wire.CmdResync || cmd.Nonce == "" || cmd.Station != "pe-simao-001" {
		t.Fatalf("command: %d %s", code, body)
	}
	if left := time.Until(cmd.Expires); left <= 0 || left > time.Minute {
		t.Fatalf("command expires in %s, asked 60 s", left)
	}
	c.run(t, []hit{
		{name: "its status", method: "GET", path: "/api/v1/stations/pe-simao-001/commands/" + cmd.Nonce, want: 200, has: cmd.Nonce},
		{name: "listed", method: "GET", path: "/api/v1/stations/pe-simao-001/commands", want: 200, has: cmd.Nonce},
		{name: "in the fleet view", method: "GET", path: "/api/v1/fleet", want: 200, has: cmd.Nonce},
	})
}

// A database that fails turns every request into 500 (health into 503):
// the users are in the database too, so the token cannot be checked. The
// answer says what could not be done, in Chinese too, and no detail of
// the cause.
func TestDatabaseDown(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.db.Close()
	c.run(t, []hit{
		{name: "health", method: "GET", path: "/healthz", anon: true, want: 503, has: "database unreachable"},
		{name: "stations", method: "GET", path: "/api/v1/stations", want: 500, has: "稍后重试"},
		{name: "records", method: "GET", path: "/api/v1/records?station=pe-simao-001", want: 500, has: "稍后重试"},
		{name: "push", method: "POST", path: "/api/v1/config", body: `{"station":"pe-simao-001","doc":{"board":{"phone":"1"}}}`, want: 500, has: "稍后重试"},
		{name: "login", method: "POST", path: "/api/v1/session", body: `{"user":"admin","password":"x"}`, anon: true, want: 500, has: "稍后重试"},
	})
	for _, path := range []string{"/api/v1/stations", "/api/v1/records?station=pe-simao-001"} {
		if _, body := c.do(hit{method: "GET", path: path}); strings.Contains(body, "closed") || strings.Contains(body, "sql") {
			t.Errorf("%s: the database's error reached the client: %s", path, body)
		}
	}
}

// The console's session: a login with name and password gives a cookie
// that reads without a token; a change on the cookie needs the session's
// CSRF token, and one from another site is refused even with it; logging
// out ends it.
func TestConsoleSession(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.mustPush("station", "pe-simao-001", setup)
	jar := &cookieJar{}
	var csrf string
	send := func(method, path, body string, hdr map[string]string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(context.Background(), method, c.srv.URL+path, rd)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		jar.add(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		jar.keep(resp)
		data, _ := io.ReadAll(resp.Body)
		var out struct {
			CSRF string `json:"csrf_token"`
		}
		if json.Unmarshal(data, &out) == nil && out.CSRF != "" {
			csrf = out.CSRF
		}
		return resp.StatusCode, string(data)
	}
	if code, body := send("GET", "/api/v1/session", "", nil); code != 200 || !strings.Contains(body, `"logged_in":false`) {
		t.Fatalf("before login: %d %s", code, body)
	}
	for _, bad := range []string{``, `{"token":"` + c.token + `"}`, `not json`, `{"user":"admin","password":"guess"}`,
		`{"user":"admin","password":"` + strings.Repeat("x", 5000) + `"}`} {
		if code, _ := send("POST", "/api/v1/session", bad, nil); code != http.StatusUnauthorized {
			t.Fatalf("login with %.20q: %d, want 401", bad, code)
		}
	}
	if code, body := send("POST", "/api/v1/session", `{"user":"admin","password":"`+adminPassword+`"}`, nil); code != 200 || !strings.Contains(body, `"logged_in":true`) {
		t.Fatalf("login: %d %s", code, body)
	}
	if code, body := send("GET", "/api/v1/session", "", nil); code != 200 || !strings.Contains(body, `"user":"admin"`) || csrf == "" {
		t.Fatalf("after login: %d %s", code, body)
	}
	if code, _ := send("GET", "/api/v1/fleet", "", nil); code != 200 {
		t.Fatalf("read on the cookie: %d", code)
	}
	push := `{"station":"pe-simao-001","doc":{"board":{"phone":"0879-2"}}}`
	if code, body := send("POST", "/api/v1/config", push, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusForbidden || !strings.Contains(body, "message_zh") {
		t.Fatalf("change on the cookie without the CSRF token: %d %s, want 403", code, body)
	}
	if code, body := send("POST", "/api/v1/config", push, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", api.CSRFHeader: csrf}); code != http.StatusForbidden {
		t.Fatalf("change from another site: %d %s, want 403", code, body)
	}
	if code, body := send("POST", "/api/v1/config", push, map[string]string{"Sec-Fetch-Site": "same-origin", api.CSRFHeader: csrf}); code != 200 {
		t.Fatalf("change from the console: %d %s", code, body)
	}
	if code, _ := send("DELETE", "/api/v1/session", "", map[string]string{"Sec-Fetch-Site": "same-origin", api.CSRFHeader: csrf}); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := send("GET", "/api/v1/fleet", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("read after logout: %d, want 401", code)
	}
}

// cookieJar keeps the session cookie the way a browser does for one site.
type cookieJar struct{ c []*http.Cookie }

func (j *cookieJar) add(r *http.Request) {
	for _, c := range j.c {
		r.AddCookie(c)
	}
}

func (j *cookieJar) keep(resp *http.Response) {
	for _, n := range resp.Cookies() {
		kept := j.c[:0]
		for _, c := range j.c {
			if c.Name != n.Name {
				kept = append(kept, c)
			}
		}
		j.c = kept
		if n.MaxAge >= 0 && n.Value != "" {
			j.c = append(j.c, n)
		}
	}
}

// browser is one browser on the console: it keeps the session cookie and
// the CSRF token of the page it last read.
type browser struct {
	c    *testCloud
	http *http.Client
	csrf string
}

// consoleLogin signs the admin in on the console's form.
func (c *testCloud) consoleLogin() *browser {
	c.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{c: c, http: &http.Client{Jar: jar}}
	code, body := b.post("/console/login", url.Values{"name": {"admin"}, "password": {adminPassword}})
	if code != 200 || !strings.Contains(body, "退出") {
		c.t.Fatalf("console login: %d %s", code, body)
	}
	return b
}

func (b *browser) keep(body string) {
	const mark = `name="csrf_token" value="`
	if i := strings.Index(body, mark); i >= 0 {
		rest := body[i+len(mark):]
		b.csrf = rest[:strings.Index(rest, `"`)]
	}
}

func (b *browser) get(path string) (int, string) {
	b.c.t.Helper()
	resp, err := b.http.Get(b.c.srv.URL + path)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.keep(string(data))
	return resp.StatusCode, string(data)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.c.t.Helper()
	if b.csrf != "" && form.Get("csrf_token") == "" {
		form.Set("csrf_token", b.csrf)
	}
	resp, err := b.http.PostForm(b.c.srv.URL+path, form)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.keep(string(data))
	return resp.StatusCode, string(data)
}

// The console on the API's sessions: its pages answer 401 with the login
// form until the admin signs in (a wrong password is refused in Chinese
// and spends the failure budget); a console login also reads the JSON
// API; a change without the CSRF token is refused; logging out ends both.
func TestConsoleMounted(t *testing.T) {
	c := newTestCloud(t, api.WithFailureLimit(3, time.Hour))
	c.addStation("pe-simao-001", "思茅区")
	jar, _ := cookiejar.New(nil)
	anon := &browser{c: c, http: &http.Client{Jar: jar}}
	if code, body := anon.get("/console/stations"); code != 401 || !strings.Contains(body, "请先登录") {
		t.Fatalf("console before login: %d %s", code, body)
	}
	if code, body := anon.post("/console/login", url.Values{"name": {"admin"}, "password": {"guess"}}); code != 401 || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("wrong password: %d %s", code, body)
	}
	b := c.consoleLogin()
	code, body := b.get("/console/stations")
	if code != 200 || !strings.Contains(body, `data-station="pe-simao-001"`) || !strings.Contains(body, "admin · 市级管理员") {
		t.Fatalf("stations: %d %s", code, body)
	}
	if resp, err := b.http.Get(c.srv.URL + "/api/v1/fleet"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the API on the console's session: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	form := url.Values{"op": {"push"}, "target": {"station"}, "value": {"pe-simao-001"}, "phone": {"0879-2123456"}, "csrf_token": {"forged"}}
	if code, _ := b.post("/console/config", form); code != http.StatusForbidden {
		t.Fatalf("push without the CSRF token: %d", code)
	}
	form.Del("csrf_token")
	if code, body := b.post("/console/config", form); code != 200 || !strings.Contains(body, "已推送：pe-simao-001 v1") {
		t.Fatalf("push: %d %s", code, body)
	}
	// The push from the page is in the audit log, with who made it.
	es, err := c.db.AuditLog(context.Background(), store.AuditFilter{Action: "config.push"})
	if err != nil || len(es) != 1 || es[0].User != "admin" || es[0].Target != "station pe-simao-001" || !strings.Contains(string(es[0].After), "0879-2123456") {
		t.Fatalf("audit of the console's push: %+v %v", es, err)
	}
	if code, _ := b.post("/console/logout", url.Values{}); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := b.get("/console/stations"); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
	// Two more wrong passwords spend the budget of 3: now even the right
	// one is refused.
	anon.post("/console/login", url.Values{"name": {"admin"}, "password": {"guess"}})
	anon.post("/console/login", url.Values{"name": {"admin"}, "password": {"guess"}})
	if code, body := anon.post("/console/login", url.Values{"name": {"admin"}, "password": {adminPassword}}); code != http.StatusTooManyRequests || !strings.Contains(body, "登录失败次数过多") {
		t.Fatalf("login after the budget is spent: %d %s", code, body)
	}
}
