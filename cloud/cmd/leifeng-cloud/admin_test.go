package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
	"leifeng/internal/pgtest"
)

const testAdminPassword = "correct horse battery"

// withStdin runs fn with the standard input of the commands set to text.
func withStdin(text string, fn func()) {
	old := stdin
	stdin = strings.NewReader(text)
	defer func() { stdin = old }()
	fn()
}

// adminToken makes, through the CLI, the city administrator "admin" in
// the database under data and an API token for it in a file (a token
// works before the initial password is changed); it returns the file.
func adminToken(t *testing.T, data string) string {
	t.Helper()
	ctx := context.Background()
	var err error
	withStdin(testAdminPassword+"\n", func() {
		err = run(ctx, []string{"admin", "add", "--user", "admin", "--role", "city", "--data", data}, io.Discard, io.Discard)
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--user", "admin", "--data", data}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func readToken(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// `admin add` on both databases: the first user must be a city
// administrator; the password comes from standard input, must meet the
// rules, is stored only as an argon2id hash (not in the SQLite file's
// bytes) and must be changed at the first sign-in; `token create` prints
// a token whose hash the database keeps; list, a new initial password,
// disable and revoke.
func TestAdminAndTokenCommands(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(t *testing.T, data string) []string
	}{
		{"sqlite", func(_ *testing.T, _ string) []string { return nil }},
		{"postgres", func(t *testing.T, _ string) []string { return []string{"--db", pgtest.NewDatabase(t, pgtest.Start(t))} }},
	} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			data := t.TempDir()
			db := append([]string{"--data", data}, be.dsn(t, data)...)
			cmd := func(input string, args ...string) (string, error) {
				var out bytes.Buffer
				var err error
				withStdin(input, func() { err = run(ctx, append(args, db...), &out, io.Discard) })
				return out.String(), err
			}
			const pw = "初始密码 initial-2026"
			if _, err := cmd(pw+"\n", "admin", "add", "--user", "li", "--role", "auditor"); !errors.Is(err, access.ErrFirstUserCity) ||
				!strings.Contains(err.Error(), "第一个用户必须是市级管理员") || !strings.Contains(err.Error(), "first user must be a city administrator") {
				t.Fatalf("first user an auditor: %v", err)
			}
			if _, err := cmd("short\n", "admin", "add", "--user", "admin", "--role", "city"); err == nil || !strings.Contains(err.Error(), "至少需要 10 个字符") {
				t.Fatalf("short password: %v", err)
			}
			var usage *cli.UsageError
			if _, err := cmd(pw+"\n", "admin", "add", "--user", "admin", "--role", "mayor"); !errors.As(err, &usage) {
				t.Fatalf("unknown role: %v", err)
			}
			if out, err := cmd(pw, "admin", "add", "--user", "admin", "--role", "city"); err != nil || !strings.Contains(out, "市级管理员") {
				t.Fatalf("admin add: %v %s", err, out)
			}
			if _, err := cmd(pw+"\n", "admin", "add", "--user", "admin", "--role", "city"); err == nil || !strings.Contains(err.Error(), "已存在") {
				t.Fatalf("admin add twice: %v", err)
			}
			if _, err := cmd(pw+"\n", "admin", "add", "--user", "zhang", "--role", "county", "--scope", "530802"); err == nil || !strings.Contains(err.Error(), "--scope") {
				t.Fatalf("an unknown county: %v", err)
			}
			if out, err := cmd(pw+"\n", "admin", "add", "--user", "li", "--role", "auditor"); err != nil || !strings.Contains(out, "审计员") {
				t.Fatalf("second user an auditor: %v %s", err, out)
			}
			if out, err := cmd("", "admin", "list"); err != nil || !strings.Contains(out, "admin") || !strings.Contains(out, "must change password") {
				t.Fatalf("admin list: %v\n%s", err, out)
			}
			tok, err := cmd("", "token", "create", "--user", "admin", "--name", "nightly push")
			tok = strings.TrimSpace(tok)
			if err != nil || !strings.HasPrefix(tok, store.TokenPrefix) || len(tok) < 40 {
				t.Fatalf("token create: %v %q", err, tok)
			}

			dsn := "sqlite:" + filepath.Join(data, "leifeng.db")
			if len(db) > 2 {
				dsn = db[3]
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.UserByName(ctx, "admin")
			if err != nil || u.Role != access.City || !u.MustChangePassword || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=65536") ||
				!access.VerifyPassword(u.PasswordHash, pw) {
				t.Fatalf("stored user: %+v %v", u, err)
			}
			if got, err := st.TokenUser(ctx, store.TokenHash(tok), time.Now()); err != nil || got.Name != "admin" {
				t.Fatalf("token's user: %+v %v", got, err)
			}
			if out, err := cmd("", "token", "list"); err != nil || !strings.Contains(out, "nightly push") {
				t.Fatalf("token list: %v\n%s", err, out)
			}
			if _, err := cmd("", "token", "revoke", "--id", "1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.TokenUser(ctx, store.TokenHash(tok), time.Now()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoked token: %v", err)
			}
			if err := st.SetPassword(ctx, u.ID, u.PasswordHash, false, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := cmd("forgotten-2026\n", "admin", "password", "--user", "admin"); err != nil {
				t.Fatal(err)
			}
			if u, err := st.UserByName(ctx, "admin"); err != nil || !u.MustChangePassword || !access.VerifyPassword(u.PasswordHash, "forgotten-2026") {
				t.Fatalf("after admin password: %+v %v", u, err)
			}
			if _, err := cmd("", "admin", "disable", "--user", "li"); err != nil {
				t.Fatal(err)
			}
			if u, err := st.UserByName(ctx, "li"); err != nil || u.Disabled.IsZero() {
				t.Fatalf("disabled: %+v %v", u, err)
			}
			if be.name == "sqlite" {
				st.Close()
				raw, err := os.ReadFile(filepath.Join(data, "leifeng.db"))
				if err != nil {
					t.Fatal(err)
				}
				wal, _ := os.ReadFile(filepath.Join(data, "leifeng.db-wal"))
				raw = append(raw, wal...)
				if bytes.Contains(raw, []byte(pw)) || bytes.Contains(raw, []byte("initial-2026")) || bytes.Contains(raw, []byte(tok)) {
					t.Fatal("a password or token in clear in the SQLite file")
				}
				if !bytes.Contains(raw, []byte("$argon2id$")) {
					t.Fatal("no argon2id hash in the SQLite file")
				}
			}
		})
	}
}

// A command that calls the API without a token says how to get one.
func TestAPICommandNeedsToken(t *testing.T) {
	t.Setenv(tokenEnv, "")
	err := run(context.Background(), []string{"review", "list", "--api", "http://127.0.0.1:1"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "token create") || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("%v", err)
	}
}
