package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

const adminPW = "correct horse battery"

// authCloud is the API on a real database with a city administrator
// "admin" (password adminPW) and its API token.
type authCloud struct {
	h     http.Handler
	db    *store.Store
	token string
	build func(opts ...Option) http.Handler
}

// newAuthTestAPI is the API on a real SQLite store in a temporary directory.
func newAuthTestAPI(t *testing.T, opts ...Option) (http.Handler, string) {
	t.Helper()
	c := newAuthCloud(t, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"), opts...)
	return c.h, c.token
}

func newAuthCloud(t testing.TB, dsn string, opts ...Option) *authCloud {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := fleet.LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	build := func(more ...Option) http.Handler {
		f := &Fleet{Service: fleet.NewService(db, keys, nil, log), Store: db, Thresholds: fleet.DefaultThresholds}
		return New(db, prometheus.NewRegistry(), log, f, append(append([]Option{}, opts...), more...)...)
	}
	tok := SeedUser(t, db, "admin", access.City, "", adminPW, false)
	return &authCloud{h: build(), db: db, token: tok, build: build}
}

// dbs are the two databases the sign-in is tested on.
var dbs = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
}

// eachDB runs f on each of dbs.
func eachDB(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, be := range dbs {
		t.Run(be.name, func(t *testing.T) { f(t, be.dsn(t)) })
	}
}

func authHit(h http.Handler, method, target, host, token string) int {
	req := httptest.NewRequest(method, target, nil)
	req.Host = host
	req.RemoteAddr = "192.0.2.7:40000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// browser is one client of the API: its address, its cookie, its CSRF token.
type browser struct {
	t    testing.TB
	h    http.Handler
	addr string
	jar  []*http.Cookie
	csrf string
}

func newBrowser(t testing.TB, h http.Handler, addr string) *browser {
	return &browser{t: t, h: h, addr: addr}
}

// do sends a request from b (JSON body, X-CSRF-Token when b has one and
// csrf is true) and returns the response and its body decoded.
func (b *browser) do(method, path, body string, csrf bool, hdr ...string) (*http.Response, map[string]any) {
	b.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "localhost"
	req.RemoteAddr = b.addr + ":5000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range b.jar {
		req.AddCookie(c)
	}
	if csrf && b.csrf != "" {
		req.Header.Set(CSRFHeader, b.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, n := range resp.Cookies() {
		kept := b.jar[:0]
		for _, c := range b.jar {
			if c.Name != n.Name {
				kept = append(kept, c)
			}
		}
		b.jar = kept
		if n.MaxAge >= 0 && n.Value != "" {
			b.jar = append(b.jar, n)
		}
	}
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	if tok, ok := out["csrf_token"].(string); ok && tok != "" {
		b.csrf = tok
	}
	return resp, out
}

// login signs b in and returns the status.
func (b *browser) login(user, pw string) (int, map[string]any) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	resp, out := b.do("POST", "/api/v1/session", string(body), false)
	return resp.StatusCode, out
}

func TestHostHeader(t *testing.T) {
	h, tok := newAuthTestAPI(t, WithHosts("Cloud.Example.org"))
	for host, want := range map[string]int{
		"cloud.example.org":       200,
		"CLOUD.EXAMPLE.ORG.:8443": 200,
		"localhost:8080":          200,
		"127.0.0.1:8080":          200,
		"[::1]:8080":              200,
		"10.0.0.5":                200,
		"evil.example":            http.StatusMisdirectedRequest,
		"cloud.example.org.evil":  http.StatusMisdirectedRequest,
		"":                        http.StatusMisdirectedRequest,
	} {
		if got := authHit(h, "GET", "/api/v1/stations", host, tok); got != want {
			t.Errorf("Host %q: %d, want %d", host, got, want)
		}
	}
}

// After the failure budget an address waits, even with the right token;
// another address is not affected.
func TestFailedAuthRateLimited(t *testing.T) {
	h, tok := newAuthTestAPI(t, WithFailureLimit(3, time.Hour))
	for i := range 3 {
		if got := authHit(h, "GET", "/api/v1/volunteers/V1/hours", "localhost", "wrong"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, got)
		}
	}
	if got := authHit(h, "GET", "/api/v1/stations", "localhost", tok); got != http.StatusTooManyRequests {
		t.Fatalf("right token after the budget: %d, want 429", got)
	}
	req := httptest.NewRequest("GET", "/api/v1/stations", nil)
	req.Host, req.RemoteAddr = "localhost", "198.51.100.1:1"
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("another address: %d, want 200", rec.Code)
	}
}

// A login sets the session cookie as the browser must keep it.
func TestSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		var opts []Option
		if secure {
			opts = append(opts, WithTLS())
		}
		h, _ := newAuthTestAPI(t, opts...)
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"user":"admin","password":"`+adminPW+`"}`))
		req.Host = "localhost"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		c := rec.Result().Cookies()
		if rec.Code != 200 || len(c) != 1 || c[0].Name != sessionCookie || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Secure != secure {
			t.Fatalf("TLS %v: login %d, cookies %+v", secure, rec.Code, c)
		}
	}
}

// A console login ends with its lifetime: the cookie stops reading.
func TestSessionExpires(t *testing.T) {
	h, _ := newAuthTestAPI(t, WithSessionLifetime(2*time.Second))
	b := newBrowser(t, h, "192.0.2.1")
	if code, out := b.login("admin", adminPW); code != 200 {
		t.Fatalf("login %d %v", code, out)
	}
	if resp, _ := b.do("GET", "/api/v1/stations", "", false); resp.StatusCode != 200 {
		t.Fatalf("read on a fresh session: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, _ := b.do("GET", "/api/v1/stations", "", false); resp.StatusCode == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its lifetime")
		}
	}
}

// Sign-in on both databases: a right password gives a session that says
// who and which role, a wrong one or an unknown user 401 in Chinese; the
// session lives in the database, so a new process (a new handler on the
// same database) still knows it; logout ends it.
func TestLogin(t *testing.T) {
	for _, be := range dbs {
		t.Run(be.name, func(t *testing.T) {
			c := newAuthCloud(t, be.dsn(t))
			b := newBrowser(t, c.h, "192.0.2.1")
			for _, tc := range []struct{ user, pw string }{{"admin", "wrong password"}, {"nobody", adminPW}, {"admin", ""}} {
				code, out := b.login(tc.user, tc.pw)
				if zh, _ := out["message_zh"].(string); code != http.StatusUnauthorized || !strings.Contains(zh, "用户名或密码错误") {
					t.Fatalf("login %s/%q: %d %v, want 401 in Chinese", tc.user, tc.pw, code, out)
				}
			}
			if code, out := b.login("admin", adminPW); code != 200 || out["user"] != "admin" || out["role"] != "city" || out["csrf_token"] == "" {
				t.Fatalf("login: %d %v", code, out)
			}
			if resp, out := b.do("GET", "/api/v1/session", "", false); resp.StatusCode != 200 || out["logged_in"] != true ||
				out["user"] != "admin" || out["role_zh"] != "市级管理员" || out["must_change_password"] != false {
				t.Fatalf("who am I: %d %v", resp.StatusCode, out)
			}
			restarted := newBrowser(t, c.build(), b.addr)
			restarted.jar, restarted.csrf = b.jar, b.csrf
			if resp, _ := restarted.do("GET", "/api/v1/fleet", "", false); resp.StatusCode != 200 {
				t.Fatalf("session after a restart: %d", resp.StatusCode)
			}
			if resp, out := restarted.do("DELETE", "/api/v1/session", "", false); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("logout without the CSRF token: %d %v, want 403", resp.StatusCode, out)
			}
			if resp, _ := restarted.do("DELETE", "/api/v1/session", "", true); resp.StatusCode != 200 {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			b.jar = restarted.jar
			if resp, _ := b.do("GET", "/api/v1/fleet", "", false); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("read after logout: %d, want 401", resp.StatusCode)
			}
		})
	}
}

// The tenth try in a minute after nine wrong passwords is refused even
// with the right password: counted per user (from any address) and per
// address (for any user), with Retry-After and a reason in Chinese; a
// minute later the right password works again.
func TestTenthWrongPasswordRefused(t *testing.T) { eachDB(t, testTenthWrongPasswordRefused) }

func testTenthWrongPasswordRefused(t *testing.T, dsn string) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newAuthCloud(t, dsn, withClock(clock))
	SeedUser(t, c.db, "county1", access.City, "", "another long password", false)

	refused := func(b *browser, user, pw string) {
		t.Helper()
		code, out := b.login(user, pw)
		zh, _ := out["message_zh"].(string)
		if code != http.StatusTooManyRequests || !strings.Contains(zh, "登录失败次数过多") {
			t.Fatalf("%s from %s: %d %v, want 429", user, b.addr, code, out)
		}
	}

	t.Run("per user", func(t *testing.T) {
		for i := range 9 {
			b := newBrowser(t, c.h, "198.51.100."+string(rune('1'+i)))
			if code, _ := b.login("admin", "wrong password"); code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d, want 401", i+1, code)
			}
			advance(time.Second)
		}
		fresh := newBrowser(t, c.h, "203.0.113.50")
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"user":"admin","password":"`+adminPW+`"}`))
		req.Host, req.RemoteAddr = "localhost", "203.0.113.50:1"
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "51" {
			t.Fatalf("the tenth try, right password: %d Retry-After %q, want 429 after 51 s", rec.Code, rec.Header().Get("Retry-After"))
		}
		refused(fresh, "admin", adminPW)
		if code, _ := fresh.login("county1", "another long password"); code != 200 {
			t.Fatalf("another user meanwhile: %d", code)
		}
		advance(51 * time.Second)
		if code, out := fresh.login("admin", adminPW); code != 200 {
			t.Fatalf("a minute later: %d %v", code, out)
		}
	})
	t.Run("per address", func(t *testing.T) {
		advance(time.Hour)
		b := newBrowser(t, c.h, "192.0.2.99")
		for i := range 9 {
			if code, _ := b.login("guess"+string(rune('a'+i)), "wrong password"); code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d, want 401", i+1, code)
			}
		}
		refused(b, "admin", adminPW)
		if code, _ := newBrowser(t, c.h, "192.0.2.100").login("admin", adminPW); code != 200 {
			t.Fatalf("another address meanwhile: %d", code)
		}
		advance(time.Minute)
		if code, _ := b.login("admin", adminPW); code != 200 {
			t.Fatalf("a minute later: %d", code)
		}
	})
}

// A change on the session cookie needs the session's CSRF token, as a
// header or as a form field; a script's token needs none.
func TestCSRF(t *testing.T) { eachDB(t, testCSRF) }

func testCSRF(t *testing.T, dsn string) {
	c := newAuthCloud(t, dsn)
	b := newBrowser(t, c.h, "192.0.2.1")
	if code, _ := b.login("admin", adminPW); code != 200 {
		t.Fatal("login", code)
	}
	// The password change stands for any change: a refused request must
	// not reach the handler, whose answer on {} is "wrong password".
	const path = "/api/v1/session/password"
	resp, out := b.do("POST", path, `{}`, false)
	if zh, _ := out["message_zh"].(string); resp.StatusCode != http.StatusForbidden || !strings.Contains(zh, "刷新页面") {
		t.Fatalf("no CSRF token: %d %v, want 403", resp.StatusCode, out)
	}
	if resp, out := b.do("POST", path, `{}`, false, CSRFHeader, "forged"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a wrong CSRF token: %d %v, want 403", resp.StatusCode, out)
	}
	if resp, out := b.do("POST", path, `{}`, true); resp.StatusCode != http.StatusForbidden || out["error"] != "the current password is wrong" {
		t.Fatalf("with the CSRF token: %d %v, want the handler's answer", resp.StatusCode, out)
	}
	form := url.Values{CSRFField: {b.csrf}, "old": {"x"}}.Encode()
	if resp, out := b.do("POST", path, form, false, "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("CSRF token in a form: %d %v, want the handler's 400", resp.StatusCode, out)
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
	req.Host = "localhost"
	req.Header.Set("Authorization", "Bearer "+c.token)
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "the current password is wrong") {
		t.Fatalf("a token without CSRF: %d %s, want the handler's answer", rec.Code, rec.Body)
	}
}

// An API token acts for its user until revoked or the user is disabled;
// a disabled user's session ends too. On both databases.
func TestAPITokens(t *testing.T) {
	for _, be := range dbs {
		t.Run(be.name, func(t *testing.T) {
			c := newAuthCloud(t, be.dsn(t))
			ctx := context.Background()
			if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", c.token); got != 200 {
				t.Fatalf("token: %d", got)
			}
			second, id, err := c.db.CreateToken(ctx, "admin", "cron", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.db.RevokeToken(ctx, id, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", second); got != http.StatusUnauthorized {
				t.Fatalf("revoked token: %d, want 401", got)
			}
			if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", c.token); got != 200 {
				t.Fatalf("the other token after a revocation: %d", got)
			}
			b := newBrowser(t, c.h, "192.0.2.1")
			if code, _ := b.login("admin", adminPW); code != 200 {
				t.Fatal("login", code)
			}
			if err := c.db.DisableUser(ctx, "admin", time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", c.token); got != http.StatusUnauthorized {
				t.Fatalf("token of a disabled user: %d, want 401", got)
			}
			if resp, _ := b.do("GET", "/api/v1/fleet", "", false); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("session of a disabled user: %d, want 401", resp.StatusCode)
			}
			if code, _ := newBrowser(t, c.h, "192.0.2.2").login("admin", adminPW); code != http.StatusUnauthorized {
				t.Fatalf("login of a disabled user: %d, want 401", code)
			}
		})
	}
}

// An auditor reads, and every change is refused at the guard, by token
// or session; the auditor may still change the own password.
func TestAuditorChangesNothing(t *testing.T) { eachDB(t, testAuditorChangesNothing) }

func testAuditorChangesNothing(t *testing.T, dsn string) {
	c := newAuthCloud(t, dsn)
	tok := SeedUser(t, c.db, "shenji", access.Auditor, "", "auditor password 1", false)
	if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", tok); got != 200 {
		t.Fatalf("auditor reads: %d", got)
	}
	for _, p := range []string{"/api/v1/config", "/api/v1/stations/pe-simao-001/commands", "/api/v1/rollouts"} {
		req := httptest.NewRequest("POST", p, strings.NewReader(`{}`))
		req.Host = "localhost"
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("auditor POST %s: %d %s", p, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusForbidden && !strings.Contains(rec.Body.String(), "审计员只能查看") {
			t.Fatalf("auditor POST %s: %s", p, rec.Body)
		}
	}
	b := newBrowser(t, c.h, "192.0.2.1")
	if code, _ := b.login("shenji", "auditor password 1"); code != 200 {
		t.Fatal("login", code)
	}
	if resp, out := b.do("POST", "/api/v1/config", `{}`, true); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor's change on the session: %d %v, want 403", resp.StatusCode, out)
	}
	if resp, out := b.do("POST", "/api/v1/session/password", `{"old":"auditor password 1","new":"auditor password 2"}`, true); resp.StatusCode != 200 {
		t.Fatalf("auditor's own password: %d %v", resp.StatusCode, out)
	}
}

// A new user signed in with the initial password must change it before
// anything else; the new one must be 10 characters or more and not the
// name. A change ends the user's other sessions, a reset all of them.
func TestFirstLoginPasswordChange(t *testing.T) { eachDB(t, testFirstLoginPasswordChange) }

func testFirstLoginPasswordChange(t *testing.T, dsn string) {
	c := newAuthCloud(t, dsn)
	tok := SeedUser(t, c.db, "wangfang", access.City, "", "initial password", true)
	b := newBrowser(t, c.h, "192.0.2.1")
	if code, out := b.login("wangfang", "initial password"); code != 200 || out["must_change_password"] != true {
		t.Fatalf("login: %d %v", code, out)
	}
	other := newBrowser(t, c.h, "192.0.2.2")
	if code, _ := other.login("wangfang", "initial password"); code != 200 {
		t.Fatal("second login", code)
	}
	for _, req := range []struct{ method, path, body string }{{"GET", "/api/v1/fleet", ""}, {"POST", "/api/v1/config", "{}"}} {
		resp, out := b.do(req.method, req.path, req.body, true)
		if zh, _ := out["message_zh"].(string); resp.StatusCode != http.StatusForbidden || !strings.Contains(zh, "请先修改初始密码") {
			t.Fatalf("%s %s before the change: %d %v, want 403", req.method, req.path, resp.StatusCode, out)
		}
	}
	// An API token, made on the server, is not the initial password.
	if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", tok); got != 200 {
		t.Fatalf("token before the change: %d", got)
	}
	change := func(old, new string) (int, string) {
		body, _ := json.Marshal(map[string]string{"old": old, "new": new})
		resp, out := b.do("POST", "/api/v1/session/password", string(body), true)
		zh, _ := out["message_zh"].(string)
		return resp.StatusCode, zh
	}
	for _, tc := range []struct {
		old, new string
		want     int
		zh       string
	}{
		{"initial password", "short", 400, "至少需要 10 个字符"},
		{"initial password", "wangfang-2026", 400, "不能包含用户名"},
		{"initial password", "initial password", 400, "不能与当前密码相同"},
		{"wrong", "a better password", 403, "当前密码不正确"},
	} {
		if code, zh := change(tc.old, tc.new); code != tc.want || !strings.Contains(zh, tc.zh) {
			t.Fatalf("change %q → %q: %d %s, want %d %s", tc.old, tc.new, code, zh, tc.want, tc.zh)
		}
	}
	if code, zh := change("initial password", "a better password"); code != 200 {
		t.Fatalf("change: %d %s", code, zh)
	}
	if resp, _ := b.do("GET", "/api/v1/fleet", "", false); resp.StatusCode != 200 {
		t.Fatalf("after the change: %d", resp.StatusCode)
	}
	// The session opened elsewhere with the old password has ended.
	if resp, out := other.do("GET", "/api/v1/session", "", false); resp.StatusCode != 200 || out["logged_in"] != false {
		t.Fatalf("the other session after the change: %d %v", resp.StatusCode, out)
	}
	if got := authHit(c.h, "GET", "/api/v1/fleet", "localhost", tok); got != 200 {
		t.Fatalf("token after the change: %d", got)
	}
	if code, _ := newBrowser(t, c.h, "192.0.2.3").login("wangfang", "a better password"); code != 200 {
		t.Fatalf("login with the new password: %d", code)
	}
	// A new initial password set on the server (admin password) ends
	// the user's sessions.
	u, _ := c.db.UserByName(context.Background(), "wangfang")
	if err := c.db.SetPassword(context.Background(), u.ID, u.PasswordHash, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.do("GET", "/api/v1/fleet", "", false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after a reset: %d, want 401", resp.StatusCode)
	}
}

// A browser asking for a page without a login is shown the way to it.
func TestLoginRequiredPage(t *testing.T) {
	h, _ := newAuthTestAPI(t)
	req := httptest.NewRequest("GET", "/api/v1/fleet", nil)
	req.Host = "localhost"
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `/console/login?next=%2Fapi%2Fv1%2Ffleet`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
