package api

import (
	"crypto/rand"
	"net/http"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/console"
)

// The web console (cloud/console) is mounted under /console/. Until the
// cloud has users, a console session is the admin's, opened with the admin
// token on the console's login page, and the admin acts as the city
// administrator. The session is the API's (the same HttpOnly, SameSite
// cookie, the same failure budget per address); it also holds the CSRF
// token every console form sends back.

func (a *api) consoleRoutes(mux *router, f *Fleet) {
	c := &console.Console{Store: f.Store, Fleet: f.Service, Sessions: consoleSessions{a.g}, TokenLogin: true,
		Vault: f.Vault, Thresholds: f.Thresholds, Now: f.Now, Log: a.log.With("part", "console")}
	if ro := f.Rollouts; ro != nil {
		c.Rollouts, c.Upload, c.UploadMax = ro.Service, ro.Upload, ro.UploadMax
	}
	mux.Handle(console.Prefix, a.g.consoleUser(c.Handler()))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	})
}

// consoleUser puts the session's user in the request's context.
func (g *guard) consoleUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who := g.sessions.GetString(r.Context(), "who"); who != "" {
			r = r.WithContext(access.WithUser(r.Context(), &access.User{Name: who, Role: access.City, Via: "session"}))
		}
		h.ServeHTTP(w, r)
	})
}

// consoleSessions is console.Sessions on the API's sessions.
type consoleSessions struct{ g *guard }

func (s consoleSessions) Login(w http.ResponseWriter, r *http.Request, _, password string) error {
	g := s.g
	if g.limiter(remoteIP(r)).Tokens() < 1 {
		return console.ErrLoginThrottled
	}
	if !g.tokenOK(password) {
		g.limiter(remoteIP(r)).Allow()
		g.log.Warn("api: console login failed", "remote", remoteIP(r))
		return console.ErrLoginRefused
	}
	// A new session ID at login: a cookie planted before cannot become a
	// logged-in session (fixation).
	if err := g.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	g.sessions.Put(r.Context(), "who", "admin")
	g.sessions.Put(r.Context(), "csrf", rand.Text())
	g.log.Info("audit", "who", "admin", "via", "token", "route", r.Pattern, "what", "console login", "remote", remoteIP(r),
		"expires", time.Now().Add(g.sessions.Lifetime).UTC())
	return nil
}

// ChangePassword: the admin token is not a password a person changes.
func (s consoleSessions) ChangePassword(r *http.Request, old, new string) error {
	return &console.Refusal{Status: http.StatusBadRequest,
		Zh: "云端还没有建立用户，管理令牌不能在这里修改：它在云端数据目录的 cloud-keys.json 里。"}
}

func (s consoleSessions) Logout(w http.ResponseWriter, r *http.Request) {
	s.g.sessions.Destroy(r.Context())
}

// CSRFToken is the session's token, made on first use for a session
// opened through POST /api/v1/session.
func (s consoleSessions) CSRFToken(r *http.Request) string {
	ctx := r.Context()
	if s.g.sessions.GetString(ctx, "who") == "" {
		return ""
	}
	tok := s.g.sessions.GetString(ctx, "csrf")
	if tok == "" {
		tok = rand.Text()
		s.g.sessions.Put(ctx, "csrf", tok)
	}
	return tok
}
