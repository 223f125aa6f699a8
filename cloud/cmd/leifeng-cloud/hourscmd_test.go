package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/hours"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/cli"
)

// `hours rules show|set` and `hours recount` on both databases: version 1
// is the defaults; set stores a checked new version (a bad one is
// refused in Chinese and stores nothing); a record counted under version
// 1 keeps it until recount, which changes it and says so.
func TestHoursCommand(t *testing.T) {
	for _, be := range cliBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			flags := append([]string{"--data", dir}, be.db(t)...)
			cmd := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(append([]string{"hours"}, args...), flags...), &out, io.Discard)
				return out.String(), err
			}
			out, err := cmd("rules")
			if err != nil || !strings.Contains(out, `"current": 1`) || !strings.Contains(out, `"up_to_minutes": 45`) {
				t.Fatalf("rules show: %q %v", out, err)
			}
			// One volunteer's 80-minute session, counted under version 1.
			d := &dataFlags{data: dir}
			if len(flags) > 2 {
				d.db = flags[3]
			}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
			in := wire.Record{ID: "01a00000-0000-7000-8000-000000000001", Station: "s1", Kind: wire.KindCheckIn, Volunteer: "v1",
				At: start, Boot: "b", ClockSynced: true, Seq: 1}
			outRec := wire.Record{ID: "01a00000-0000-7000-8000-000000000002", Station: "s1", Kind: wire.KindCheckOut, Volunteer: "v1",
				Ref: in.ID, At: start.Add(80 * time.Minute), Mono: int64(80 * time.Minute), Boot: "b", ClockSynced: true, Seq: 2}
			if _, err := st.Ingest(ctx, []ingest.Entry{{Record: in, Time: in.At, Received: in.At}, {Record: outRec, Time: outRec.At, Received: outRec.At}}); err != nil {
				t.Fatal(err)
			}
			if _, err := hours.Pass(ctx, st, start.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			r := hours.Default()
			r.Step = 0.25
			doc, _ := json.Marshal(r)
			file := filepath.Join(dir, "rules.json")
			os.WriteFile(file, doc, 0o600)
			r.CountyCap = 4
			badDoc, _ := json.Marshal(r)
			bad := filepath.Join(dir, "bad.json")
			os.WriteFile(bad, badDoc, 0o600)
			if _, err := cmd("rules", "set", bad); err == nil || !strings.Contains(err.Error(), "必须小于县（区）审核上限") {
				t.Errorf("bad rules: %v", err)
			}
			if out, err := cmd("rules", "set", file); err != nil || !strings.Contains(out, "version 2 in force (was 1)") {
				t.Fatalf("rules set: %q %v", out, err)
			}
			rec, err := st.ServiceRecord(ctx, "tap:"+in.ID)
			if err != nil || rec.CountedCents != 100 || rec.RuleVersion != 1 {
				t.Fatalf("the rule change altered a counted record: %+v %v", rec, err)
			}
			out, err = cmd("recount", "--volunteer", "v1")
			if err != nil || !strings.Contains(out, "tap:"+in.ID+"\t2026-11-03\t1 h → 1.25 h") || !strings.Contains(out, "rules version 2: 1 volunteer(s), 1 day(s), 1 changed") {
				t.Fatalf("recount: %q %v", out, err)
			}
			if rec, _ := st.ServiceRecord(ctx, "tap:"+in.ID); rec.CountedCents != 125 || rec.RuleVersion != 2 {
				t.Errorf("after recount: %+v", rec)
			}
			if out, err := cmd("recount", "--all"); err != nil || !strings.Contains(out, "0 changed") {
				t.Errorf("recount --all again: %q %v", out, err)
			}
			for _, args := range [][]string{{"recount"}, {"recount", "--all", "--volunteer", "v1"}, {"rules", "set"}, {"rules", "drop"}, {"frob"}} {
				var usage *cli.UsageError
				if _, err := cmd(args...); !errors.As(err, &usage) {
					t.Errorf("hours %v: %v, want a usage error", args, err)
				}
			}
		})
	}
}

// serve runs the hours pass every --hours-every: a session stored while
// it runs becomes a service record, and the first pass stored the
// default rules as version 1.
func TestServeHoursPass(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	startServe(t, "--data", data, "--hours-every", "50ms")
	st, err := (&dataFlags{data: data}).open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	in := wire.Record{ID: "01a00000-0000-7000-8000-0000000000a1", Station: "s1", Kind: wire.KindCheckIn, Volunteer: "v9",
		At: start, Boot: "b", ClockSynced: true, Seq: 1}
	out := wire.Record{ID: "01a00000-0000-7000-8000-0000000000a2", Station: "s1", Kind: wire.KindCheckOut, Volunteer: "v9",
		Ref: in.ID, At: start.Add(50 * time.Minute), Mono: int64(50 * time.Minute), Boot: "b", ClockSynced: true, Seq: 2}
	if _, err := st.Ingest(ctx, []ingest.Entry{{Record: in, Time: in.At, Received: in.At}, {Record: out, Time: out.At, Received: out.At}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rec, err := st.ServiceRecord(ctx, "tap:"+in.ID)
		if err == nil {
			if rec.CountedCents != 100 || rec.RuleVersion != 1 || rec.Status != "notice" {
				t.Fatalf("record: %+v", rec)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no service record from the serve's hours pass: %v", err)
		}
	}
}
