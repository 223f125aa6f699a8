package api

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/store"
)

// NewWithPatterns is New, also returning every pattern it registered on
// its mux, for the test that requires a login on each one.
func NewWithPatterns(s Store, gatherer prometheus.Gatherer, log *slog.Logger, f *Fleet, opts ...Option) (http.Handler, []string) {
	return build(s, gatherer, log, f, opts...)
}

// SeedUser adds a user to db, its password already changed unless
// mustChange, and returns an API token acting for it.
func SeedUser(t testing.TB, db *store.Store, name string, role access.Role, scope, password string, mustChange bool) string {
	t.Helper()
	hash, err := access.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u := store.User{User: access.User{Name: name, Role: role, Scope: scope, MustChangePassword: mustChange}, PasswordHash: hash, Created: time.Now()}
	if _, err := db.AddUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateToken(ctx, name, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
