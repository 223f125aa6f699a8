package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
)

// Users, tokens and console sessions on both databases.
func TestUsers(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			ctx := context.Background()
			hash, err := access.HashPassword("a long enough password")
			if err != nil {
				t.Fatal(err)
			}
			user := func(name string, role access.Role, scope string) User {
				return User{User: access.User{Name: name, Role: role, Scope: scope, MustChangePassword: true}, PasswordHash: hash, Created: t0}
			}
			if _, err := s.AddUser(ctx, user("li", access.County, "530802")); !errors.Is(err, access.ErrFirstUserCity) {
				t.Fatalf("first user a county administrator: %v", err)
			}
			if _, err := s.AddUser(ctx, User{User: access.User{Name: "admin", Role: access.City}, PasswordHash: "plain", Created: t0}); err == nil {
				t.Fatal("a password that is not an argon2id hash was stored")
			}
			id, err := s.AddUser(ctx, user("admin", access.City, ""))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddUser(ctx, user("admin", access.City, "")); !errors.Is(err, ErrExists) {
				t.Fatalf("the same name twice: %v", err)
			}
			for _, bad := range []User{user("li", access.County, "530802"), user("li", access.Station, "pe-none"), user("li", access.Org, "o1"),
				user("li", access.City, "530802"), user("li", access.Station, "")} {
				if _, err := s.AddUser(ctx, bad); !errors.Is(err, ErrUnknownScope) {
					t.Fatalf("%s %q: %v, want an unknown scope", bad.Role, bad.Scope, err)
				}
			}
			if _, err := s.SaveAreas(ctx, []people.Area{{Code: "530800", Name: "普洱市", Level: people.LevelCity},
				{Code: "530802", Name: "思茅区", Parent: "530800", Level: people.LevelCounty}}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.AddStation(ctx, Registration{ID: "pe-a", County: "思茅区", Created: t0}); err != nil {
				t.Fatal(err)
			}
			for _, good := range []User{user("li", access.County, "530802"), user("wang", access.Station, "pe-a"), user("zhao", access.Auditor, "530800")} {
				if _, err := s.AddUser(ctx, good); err != nil {
					t.Fatalf("%s %q: %v", good.Role, good.Scope, err)
				}
			}
			u, err := s.UserByName(ctx, "li")
			if err != nil || u.Role != access.County || u.Scope != "530802" || !u.MustChangePassword || u.PasswordHash != hash || !u.Created.Equal(t0) {
				t.Fatalf("stored user %+v %v", u, err)
			}
			if err := s.SetPassword(ctx, u.ID, hash, false, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if u, _ := s.UserByID(ctx, u.ID); u.MustChangePassword || !u.PasswordSet.Equal(t0.Add(time.Hour)) {
				t.Fatalf("after the change %+v", u)
			}
			if us, err := s.Users(ctx); err != nil || len(us) != 4 || us[0].Name != "admin" {
				t.Fatalf("users %+v %v", us, err)
			}

			tok, tid, err := s.CreateToken(ctx, "admin", "cron", t0)
			if err != nil || !strings.HasPrefix(tok, TokenPrefix) {
				t.Fatalf("token %q %v", tok, err)
			}
			if got, err := s.TokenUser(ctx, TokenHash(tok), t0.Add(2*time.Minute)); err != nil || got.ID != id {
				t.Fatalf("token's user %+v %v", got, err)
			}
			if ts, err := s.Tokens(ctx, "admin"); err != nil || len(ts) != 1 || ts[0].Name != "cron" || !ts[0].LastUsed.Equal(t0.Add(2*time.Minute)) {
				t.Fatalf("tokens %+v %v", ts, err)
			}
			if _, err := s.TokenUser(ctx, TokenHash(tok+"x"), t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a wrong token: %v", err)
			}
			if err := s.RevokeToken(ctx, tid, t0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenUser(ctx, TokenHash(tok), t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a revoked token: %v", err)
			}
			tok2, _, _ := s.CreateToken(ctx, "li", "", t0)
			if err := s.DisableUser(ctx, "li", t0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenUser(ctx, TokenHash(tok2), t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a disabled user's token: %v", err)
			}
			if _, _, err := s.CreateToken(ctx, "li", "", t0); err == nil {
				t.Fatal("a token for a disabled user")
			}
			if err := s.DisableUser(ctx, "nobody", t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("disable nobody: %v", err)
			}

			now := t0
			ss := Sessions{S: s, Now: func() time.Time { return now }}
			if err := ss.Commit("cookie-token", []byte{0, 1, 2, 0xff}, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if b, ok, err := ss.Find("cookie-token"); err != nil || !ok || string(b) != "\x00\x01\x02\xff" {
				t.Fatalf("find %v %v %v", b, ok, err)
			}
			var stored string
			if err := s.b.query(ctx, `SELECT token_hash FROM web_sessions`, nil, func(r rows) error { return r.Scan(&stored) }); err != nil || stored != TokenHash("cookie-token") {
				t.Fatalf("the session's key is %q, want the token's hash: %v", stored, err)
			}
			if err := ss.Commit("cookie-token", []byte("new"), t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			now = t0.Add(90 * time.Minute)
			if b, ok, _ := ss.Find("cookie-token"); !ok || string(b) != "new" {
				t.Fatalf("after a second commit: %q %v", b, ok)
			}
			now = t0.Add(3 * time.Hour)
			if _, ok, _ := ss.Find("cookie-token"); ok {
				t.Fatal("an expired session was found")
			}
			if err := ss.Commit("other", []byte("x"), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			n := 0
			s.b.query(ctx, `SELECT COUNT(*) FROM web_sessions`, nil, func(r rows) error { return r.Scan(&n) })
			if n != 1 {
				t.Fatalf("%d sessions stored, want the live one only", n)
			}
			if err := ss.Delete("other"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := ss.Find("other"); ok {
				t.Fatal("a deleted session was found")
			}
		})
	}
}
