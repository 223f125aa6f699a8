package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
)

// newAuthTestAPI is the API on a real SQLite store in a temporary directory.
func newAuthTestAPI(t *testing.T, opts ...Option) (http.Handler, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := fleet.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f := &Fleet{Service: fleet.NewService(db, keys, nil, log), Store: db, AdminToken: keys.AdminToken, Thresholds: fleet.DefaultThresholds}
	return New(db, prometheus.NewRegistry(), log, f, opts...), keys.AdminToken
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
		h, tok := newAuthTestAPI(t, opts...)
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"token":"`+tok+`"}`))
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
	h, tok := newAuthTestAPI(t, WithSessionLifetime(2*time.Second))
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"token":"`+tok+`"}`))
	req.Host = "localhost"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 {
		t.Fatalf("login %d %+v", rec.Code, cookies)
	}
	read := func() int {
		req := httptest.NewRequest("GET", "/api/v1/stations", nil)
		req.Host = "localhost"
		req.AddCookie(cookies[0])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := read(); code != 200 {
		t.Fatalf("read on a fresh session: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); read() != http.StatusUnauthorized; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its lifetime")
		}
	}
}
