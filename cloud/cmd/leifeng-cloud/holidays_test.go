package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

// `holidays set` and `holidays list` on both databases: a file with bad
// lines names each (line and reason) and stores nothing; a good one
// replaces the year, is listed, and is in the audit log.
func TestHolidaysCommand(t *testing.T) {
	for _, be := range cliBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			flags := append([]string{"--data", dir}, be.db(t)...)
			cmd := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(append([]string{"holidays"}, args...), flags...), &out, io.Discard)
				return out.String(), err
			}
			write := func(name, text string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			bad := write("bad.csv", "day,kind,name\n2026-10-01,休,国庆节\n2026-10-32,休,x\n2026-10-09,班,x\n")
			out, err := cmd("set", "--year", "2026", bad)
			if err == nil || !strings.Contains(out, "第3行：日期“2026-10-32”看不懂") || !strings.Contains(out, "第4行：2026-10-09 是星期五，本来就是工作日") {
				t.Fatalf("bad file: %q %v", out, err)
			}
			if out, err := cmd("list"); err != nil || out != "" {
				t.Fatalf("stored after a bad file: %q %v", out, err)
			}
			good := write("2026.csv", "2026-10-01,休,国庆节\n2026-10-10,班,国庆节调休上班\n")
			if out, err := cmd("set", good, "--year", "2026"); err != nil || !strings.Contains(out, "2 天已保存") {
				t.Fatalf("set: %q %v", out, err)
			}
			if out, err := cmd("list", "--year", "2026"); err != nil || out != "2026-10-01\tholiday\t国庆节\n2026-10-10\tworkday\t国庆节调休上班\n" {
				t.Fatalf("list: %q %v", out, err)
			}
			if out, err := cmd("list", "--year", "2027"); err != nil || out != "" {
				t.Fatalf("list 2027: %q %v", out, err)
			}
			for _, args := range [][]string{{"set", good}, {"set", "--year", "2026"}, {"list", "x"}, {"frobnicate"}, {"list", "--year", "26"}} {
				var usage *cli.UsageError
				if _, err := cmd(args...); !errors.As(err, &usage) {
					t.Errorf("holidays %v: %v, want a usage error", args, err)
				}
			}
			d := &dataFlags{data: dir}
			if len(flags) > 2 {
				d.db = flags[3]
			}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			log, err := st.AuditLog(ctx, store.AuditFilter{Action: "holidays.set", Limit: 5})
			if err != nil || len(log) != 1 || !strings.Contains(string(log[0].After), "国庆节调休上班") || log[0].Via != "cli" {
				t.Fatalf("audit: %+v %v", log, err)
			}
		})
	}
}

// A new cloud stores the shipped 2026 calendar at its first start: its
// API lists 国庆节 and the worked Saturday after it.
func TestServeShipsHolidays(t *testing.T) {
	data := t.TempDir()
	u := startServe(t, "--data", data, "--notice-every", "50ms")
	token, err := os.ReadFile(adminToken(t, data))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u.http+"/api/v1/holidays?year=2026", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Days []store.Holiday `json:"days"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET holidays: %d %v", resp.StatusCode, err)
	}
	found := map[string]string{}
	for _, d := range got.Days {
		found[d.Day] = d.Kind + " " + d.Name
	}
	if len(got.Days) != 25 || found["2026-10-01"] != "holiday 国庆节" || found["2026-10-10"] != "workday 国庆节调休上班" {
		t.Fatalf("shipped calendar: %+v", got.Days)
	}
}
