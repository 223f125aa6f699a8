package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/broker"
	"leifeng/cloud/cards"
	"leifeng/cloud/console"
	"leifeng/cloud/fleet"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/internal/pgtest"
)

// backends are the databases every page test runs on.
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

// each runs f on every backend.
func each(t *testing.T, f func(t *testing.T, c *testConsole)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, newTestConsole(t, b.dsn(t))) })
	}
}

// sessions is console.Sessions for the tests: a cookie names a user of
// the users table; the password is the user's name reversed.
type sessions struct {
	mu    sync.Mutex
	users map[string]*access.User
	open  map[string]*access.User // session ID → user
	csrf  map[string]string
}

const cookie = "test_session"

func (s *sessions) Login(w http.ResponseWriter, r *http.Request, name, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok || password != reverse(name) {
		return console.ErrLoginRefused
	}
	id := rand.Text()
	cp := *u
	s.open[id], s.csrf[id] = &cp, rand.Text()
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: id, Path: "/", HttpOnly: true})
	return nil
}

func (s *sessions) Logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookie); err == nil {
		s.mu.Lock()
		delete(s.open, ck.Value)
		s.mu.Unlock()
	}
}

func (s *sessions) ChangePassword(r *http.Request, old, new string) error {
	u := access.UserFrom(r.Context())
	if old != reverse(u.Name) {
		return &console.Refusal{Status: http.StatusForbidden, Zh: "当前密码不正确，请重新输入。"}
	}
	if len(new) < 10 {
		return &console.Refusal{Status: http.StatusBadRequest, Zh: "新密码至少 10 位。"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.open {
		if v.Name == u.Name {
			v.MustChangePassword = false
		}
	}
	return nil
}

func (s *sessions) CSRFToken(r *http.Request) string {
	ck, err := r.Cookie(cookie)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.csrf[ck.Value]
}

// middleware puts the session's user in the context, as the cloud does.
func (s *sessions) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie(cookie); err == nil {
			s.mu.Lock()
			u := s.open[ck.Value]
			s.mu.Unlock()
			if u != nil {
				r = r.WithContext(access.WithUser(r.Context(), u))
			}
		}
		h.ServeHTTP(w, r)
	})
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

type testConsole struct {
	t *testing.T
	// audited are the changes the console recorded: "who action target".
	mu      sync.Mutex
	audited []string
	db      *store.Store
	svc     *fleet.Service
	srv     *httptest.Server
	sess    *sessions
	mqtt    string
}

// The users of the tests, one per role; the county is 思茅区 (530802).
var users = []*access.User{
	{ID: 1, Name: "city", Role: access.City},
	{ID: 2, Name: "simao", Role: access.County, Scope: "530802"},
	{ID: 3, Name: "manager", Role: access.Station, Scope: "pe-simao-001"},
	{ID: 4, Name: "orgadmin", Role: access.Org, Scope: "org-1"},
	{ID: 5, Name: "auditor", Role: access.Auditor},
	{ID: 6, Name: "newcomer", Role: access.City, MustChangePassword: true},
	{ID: 7, Name: "ninger", Role: access.County, Scope: "530821"},
}

func newTestConsole(t *testing.T, dsn string) *testConsole {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fleet.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Log: log, Auth: &broker.Auth{CloudUser: fleet.GatewayUser,
		CloudPassword: keys.GatewayPassword, Creds: fleet.Creds{Store: db}}})
	if err != nil {
		t.Fatal(err)
	}
	gw := ingest.New(db, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry())})
	var wg sync.WaitGroup
	wg.Go(func() { gw.Run(ctx) })
	cl, err := ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-test",
		Username: fleet.GatewayUser, Password: keys.GatewayPassword})
	if err != nil {
		t.Fatal(err)
	}
	vault, err := people.LoadVault(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := fleet.NewService(db, keys, cl, log)
	issuer, _, err := cards.LoadKey(dir, cards.DefaultKeyID)
	if err != nil {
		t.Fatal(err)
	}
	s := &sessions{users: map[string]*access.User{}, open: map[string]*access.User{}, csrf: map[string]string{}}
	for _, u := range users {
		s.users[u.Name] = u
	}
	c := &console.Console{Store: db, Fleet: svc, Sessions: s, Vault: vault, Log: log,
		Cards: cards.NewService(db, issuer, svc, log), Volunteers: &api.Volunteers{Store: db, Vault: vault, Log: log}}
	tc := &testConsole{t: t, db: db, svc: svc, sess: s, mqtt: br.URL()}
	c.Audit = func(r *http.Request, action, target string, before, after any) error {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		tc.audited = append(tc.audited, access.UserFrom(r.Context()).Name+" "+action+" "+target)
		return nil
	}
	srv := httptest.NewServer(s.middleware(c.Handler()))
	tc.srv = srv
	t.Cleanup(func() {
		srv.Close()
		cl.Close()
		cancel()
		wg.Wait()
		br.Close()
		db.Close()
	})
	tc.seed()
	return tc
}

// seed: the area tree of two counties, two stations of 思茅区 and one of
// 宁洱县, and an organisation of each county.
func (c *testConsole) seed() {
	c.t.Helper()
	c.importCSV(c.login("city"), "areas", "areas.csv", `code,name,parent,level,population
5308,普洱市,,city,2404954
530802,思茅区,5308,county,400000
530821,宁洱哈尼族彝族自治县,5308,county,180000
530802001,思茅街道,530802,township,90000
530802001001,南屏社区,530802001,community,12000
530821001,宁洱镇,530821,township,60000
530821001001,宁洱社区,530821001,community,8000
`, 200)
	c.importCSV(c.login("city"), "orgs", "orgs.csv", `id,name,type,county,community,parent
org-1,思茅区青年志愿服务队,志愿服务队,530802,530802001001,
org-2,宁洱县巾帼志愿服务队,志愿服务队,530821,530821001001,
`, 200)
	ctx := context.Background()
	for _, st := range [][3]string{{"pe-simao-001", "思茅区", "530802001001"}, {"pe-simao-002", "思茅区", "530802001001"},
		{"pe-ninger-001", "宁洱哈尼族彝族自治县", "530821001001"}} {
		if _, err := c.svc.AddStation(ctx, st[0], "", st[1], c.mqtt); err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.db.SetStationCommunity(ctx, st[0], st[2]); err != nil {
			c.t.Fatal(err)
		}
	}
}

// client is a browser of one user.
type client struct {
	c    *testConsole
	http *http.Client
	csrf string
}

// login signs name in through the login form.
func (c *testConsole) login(name string) *client {
	c.t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &client{c: c, http: &http.Client{Jar: jar}}
	code, body := cl.post("/console/login", url.Values{"name": {name}, "password": {reverse(name)}})
	if code != 200 {
		c.t.Fatalf("login %s: %d %s", name, code, body)
	}
	u, _ := url.Parse(c.srv.URL)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == cookie {
			c.sess.mu.Lock()
			cl.csrf = c.sess.csrf[ck.Value]
			c.sess.mu.Unlock()
		}
	}
	return cl
}

// anon is a browser nobody signed in on.
func (c *testConsole) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{c: c, http: &http.Client{Jar: jar}}
}

func (cl *client) get(path string) (int, string) {
	cl.c.t.Helper()
	resp, err := cl.http.Get(cl.c.srv.URL + path)
	if err != nil {
		cl.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form; the session's CSRF token goes along unless the form
// has one.
func (cl *client) post(path string, form url.Values) (int, string) {
	cl.c.t.Helper()
	if form.Get("csrf_token") == "" && cl.csrf != "" {
		form.Set("csrf_token", cl.csrf)
	}
	resp, err := cl.http.PostForm(cl.c.srv.URL+path, form)
	if err != nil {
		cl.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// upload posts a file form: csrf first, then fields, then the file.
func (cl *client) upload(path string, fields [][2]string, fileField, name, content string) (int, string) {
	cl.c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", cl.csrf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile(fileField, name)
	io.WriteString(fw, content)
	mw.Close()
	resp, err := cl.http.Post(cl.c.srv.URL+path, mw.FormDataContentType(), &buf)
	if err != nil {
		cl.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *testConsole) importCSV(cl *client, kind, name, content string, want int) string {
	c.t.Helper()
	code, body := cl.upload("/console/import", [][2]string{{"kind", kind}}, "file", name, content)
	if code != want {
		c.t.Fatalf("import %s: %d, want %d\n%s", name, code, want, body)
	}
	return body
}

func has(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: want %q in\n%s", what, w, body)
		}
	}
}

func hasNot(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("%s: %q must not be in\n%s", what, n, body)
		}
	}
}
