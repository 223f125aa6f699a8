package api

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// What a request's authentication costs on SQLite: an API token (one
// query, a write at most once a minute) against a session cookie (the
// session's row and the user's).
func BenchmarkAuthenticated(b *testing.B) {
	c := newAuthCloud(b, "sqlite:"+filepath.Join(b.TempDir(), "leifeng.db"))
	br := newBrowser(b, c.h, "192.0.2.1")
	if code, _ := br.login("admin", adminPW); code != 200 {
		b.Fatal("login", code)
	}
	req := func(set func(*http.Request)) {
		r := httptest.NewRequest("GET", "/api/v1/stations", nil)
		r.Host = "localhost"
		set(r)
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
	b.Run("token", func(b *testing.B) {
		for b.Loop() {
			req(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.token) })
		}
	})
	b.Run("session", func(b *testing.B) {
		for b.Loop() {
			req(func(r *http.Request) { r.AddCookie(br.jar[0]) })
		}
	})
}
