package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"leifeng/cloud/store"
	"leifeng/internal/cli"
	"leifeng/internal/pgtest"
)

// cliBackends are the databases the commands that open one are tested on:
// SQLite under --data, and PostgreSQL by the flags db returns.
var cliBackends = []struct {
	name string
	db   func(t *testing.T) []string
}{
	{"sqlite", func(*testing.T) []string { return nil }},
	{"postgres", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t, pgtest.Start(t))} }},
}

// `settings set leading-office` and `settings get` on both databases:
// the default names no office; a set name is what get prints and what the
// store (so the console) gives; "" goes back to the default; the change is
// in the audit log with the before and after.
func TestSettingsCommand(t *testing.T) {
	for _, be := range cliBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			flags := append([]string{"--data", t.TempDir()}, be.db(t)...)
			cmd := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(append([]string{"settings"}, args...), flags...), &out, io.Discard)
				return out.String(), err
			}
			if out, err := cmd("get", "leading-office"); err != nil || out != "志愿服务主管部门\n" {
				t.Fatalf("get before any set: %q %v", out, err)
			}
			if out, err := cmd("set", "leading-office", "中共普洱市委社会工作部"); err != nil || !strings.Contains(out, "中共普洱市委社会工作部") {
				t.Fatalf("set: %q %v", out, err)
			}
			if out, err := cmd("get"); err != nil || out != "leading-office\t中共普洱市委社会工作部\npublic-url\t\n" {
				t.Fatalf("get all: %q %v", out, err)
			}
			for _, bad := range [][]string{{"set", "leading-office"}, {"set", "mayor", "x"}, {"frobnicate"}, {"get", "leading-office", "x"}} {
				var usage *cli.UsageError
				if _, err := cmd(bad...); !errors.As(err, &usage) {
					t.Errorf("settings %v: %v, want a usage error", bad, err)
				}
			}
			d := &dataFlags{data: flags[1]}
			if len(flags) > 2 {
				d.db = flags[3]
			}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if name, err := st.LeadingOffice(ctx); err != nil || name != "中共普洱市委社会工作部" {
				t.Fatalf("the store's leading office: %q %v", name, err)
			}
			log, err := st.AuditLog(ctx, store.AuditFilter{Action: "settings.leading_office", Limit: 5})
			if err != nil || len(log) != 1 || string(log[0].Before) != `{"name":"志愿服务主管部门"}` ||
				string(log[0].After) != `{"name":"中共普洱市委社会工作部"}` || log[0].Via != "cli" {
				t.Fatalf("audit: %+v %v", log, err)
			}
			if out, err := cmd("set", "leading-office", ""); err != nil || !strings.Contains(out, "志愿服务主管部门") {
				t.Fatalf("set back to the default: %q %v", out, err)
			}
			// The public address of the certificates' QR codes.
			if _, err := cmd("set", "public-url", "ftp://x"); err == nil {
				t.Error("set public-url ftp://x: no error")
			}
			if out, err := cmd("set", "public-url", "https://leifeng.puer.example/"); err != nil || out != "public-url: https://leifeng.puer.example\n" {
				t.Fatalf("set public-url: %q %v", out, err)
			}
			if out, err := cmd("get", "public-url"); err != nil || out != "https://leifeng.puer.example\n" {
				t.Fatalf("get public-url: %q %v", out, err)
			}
			if u, err := st.PublicURL(ctx); err != nil || u != "https://leifeng.puer.example" {
				t.Fatalf("the store's public url: %q %v", u, err)
			}
		})
	}
}
