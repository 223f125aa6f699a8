package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/api"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/cli"
)

// `leifeng-cloud review` against the cloud's API: list shows the flagged
// session, approve makes it count (the token from --token-file), reject takes
// another out of the queue, rejected and clones list what the store kept;
// a missing check-in is a usage error.
func TestReviewCLI(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(data, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokenFile := adminToken(t, data)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(db, prometheus.NewRegistry(), log, &api.Fleet{Store: db}))
	defer srv.Close()

	long := func(volunteer string, seq uint64, start time.Time) string {
		in, _ := wire.NewRecordID()
		out, _ := wire.NewRecordID()
		end := start.Add(20 * time.Hour)
		es := []ingest.Entry{
			{Record: wire.Record{ID: in, Station: "pe-simao-001", Kind: wire.KindCheckIn, Volunteer: volunteer, At: start, Mono: 1,
				Boot: "b", ClockSynced: true, Seq: seq}, Time: start, Received: start},
			{Record: wire.Record{ID: out, Station: "pe-simao-001", Kind: wire.KindCheckOut, Volunteer: volunteer, Ref: in, At: end,
				Mono: 1 + int64(20*time.Hour), Boot: "b", ClockSynced: true, Seq: seq + 1}, Time: end, Received: end},
		}
		if _, err := db.Ingest(ctx, es); err != nil {
			t.Fatal(err)
		}
		return in
	}
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	a := long("V1", 1, t0)
	b := long("V2", 3, t0.Add(time.Hour))

	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(append([]string{"review"}, args...), "--api", srv.URL, "--data", data, "--token-file", tokenFile), &out, io.Discard)
		return out.String(), err
	}
	out, err := cmd("list")
	if err != nil || !strings.Contains(out, a) || !strings.Contains(out, b) || !strings.Contains(out, "too_long") || !strings.Contains(out, "北京时间") {
		t.Fatalf("review list: %v\n%s", err, out)
	}
	if out, err = cmd("approve", a, "--note", "核实：全天驻点"); err != nil || !strings.Contains(out, "approved: it counts") || !strings.Contains(out, "by admin") {
		t.Fatalf("review approve: %v\n%s", err, out)
	}
	if h, err := db.VolunteerHours(ctx, "V1"); err != nil || h.Hours != 20 {
		t.Fatalf("V1 after approval: %+v, %v", h, err)
	}
	if out, err = cmd("reject", b); err != nil || !strings.Contains(out, "does not count") {
		t.Fatalf("review reject: %v\n%s", err, out)
	}
	if out, err = cmd("list"); err != nil || strings.Contains(out, a) || strings.Contains(out, b) {
		t.Fatalf("review list after decisions: %v\n%s", err, out)
	}
	unknown, _ := wire.NewRecordID()
	if _, err = cmd("approve", unknown); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("approve an unknown session: %v", err)
	}

	refused := ingest.Entry{Record: wire.Record{ID: unknown, Station: "pe-simao-001", Kind: wire.KindCheckIn, Volunteer: "V3", At: t0}, Time: t0, Received: t0}
	if err := db.Refuse(ctx, refused, "seq out of range"); err != nil {
		t.Fatal(err)
	}
	if out, err = cmd("rejected", "--station", "pe-simao-001"); err != nil || !strings.Contains(out, unknown) || !strings.Contains(out, "seq out of range") {
		t.Fatalf("review rejected: %v\n%s", err, out)
	}
	if out, err = cmd("clones"); err != nil || !strings.HasPrefix(out, "CARD") {
		t.Fatalf("review clones: %v\n%s", err, out)
	}

	var usage *cli.UsageError
	if _, err := cmd("approve"); !errors.As(err, &usage) {
		t.Fatalf("approve without a check-in: %v, want a usage error", err)
	}
	if err := run(ctx, []string{"review"}, io.Discard, io.Discard); !errors.As(err, &usage) {
		t.Fatalf("review without a command: %v", err)
	}
}
