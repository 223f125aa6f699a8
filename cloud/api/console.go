package api

import (
	"context"
	"errors"
	"net/http"

	"leifeng/cloud/access"
	"leifeng/cloud/console"
)

// The web console (cloud/console) is mounted under /console/. Its pages
// act for the user signed in on the API's session (the same HttpOnly,
// SameSite cookie as POST /api/v1/session, the same failure budgets) and
// carry the session's CSRF token; signing in, out and the password change
// are Login, Logout and ChangePassword.

func (a *api) consoleRoutes(mux *router, f *Fleet) {
	c := &console.Console{Store: f.Store, Fleet: f.Service, Sessions: consoleSessions{},
		Cards: f.Cards, Thresholds: f.Thresholds, Now: f.Now, Log: a.log.With("part", "console"),
		AcceptWithin: f.OrderPolicy.AcceptWithin}
	if f.Volunteers != nil {
		c.Vault, c.Volunteers = f.Volunteers.Vault, f.Volunteers
	}
	if ro := f.Rollouts; ro != nil {
		c.Rollouts, c.Upload, c.UploadMax = ro.Service, ro.Upload, ro.UploadMax
	}
	c.Audit = func(r *http.Request, action, target string, before, after any) error {
		e := AuditEntry(r.Context(), a.now(), action, target, http.StatusOK, before, after)
		e.Route, e.Remote = r.Pattern, remoteIP(r)
		return f.Store.Audit(context.WithoutCancel(r.Context()), e)
	}
	mux.Handle(console.Prefix, a.g.consoleUser(c.Handler()))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	})
}

// consoleUser puts the session's user in the request's context. The pages
// are for a browser: a bearer token does not open them.
func (g *guard) consoleUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			u, aerr := g.authenticate(r)
			if aerr != nil && aerr.Status >= 500 {
				aerr.Write(w)
				return
			}
			if u != nil {
				r = r.WithContext(access.WithUser(r.Context(), u))
			}
		}
		h.ServeHTTP(w, r)
	})
}

// consoleSessions is console.Sessions on the API's sign-in.
type consoleSessions struct{}

func (consoleSessions) Login(w http.ResponseWriter, r *http.Request, name, password string) error {
	_, err := Login(r, name, password)
	return consoleRefusal(err)
}

func (consoleSessions) Logout(w http.ResponseWriter, r *http.Request) { Logout(r) }

func (consoleSessions) CSRFToken(r *http.Request) string { return CSRFToken(r) }

func (consoleSessions) ChangePassword(r *http.Request, old, new string) error {
	return consoleRefusal(ChangePassword(r, old, new))
}

// consoleRefusal is an *AuthError as the console shows it.
func consoleRefusal(err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return &console.Refusal{Status: ae.Status, Zh: ae.Zh}
	}
	return err
}
