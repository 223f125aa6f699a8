package attendance

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/store"
	"leifeng/reader"
)

// TestLogsNameNoVolunteer: the lines a check-in, a check-out and an
// automatic check-out write carry the record ID, the station and a short
// keyed reference, never the volunteer ID nor the card's serial. The reference is stable on one
// kiosk across restarts (it can follow a volunteer through the log) and
// differs between kiosks (the key is the kiosk's own); a card flagged for
// review (issued ahead of an unsynced clock) is written so.
func TestLogsNameNoVolunteer(t *testing.T) {
	const id, serial = "PE-530802-000123", "C2026-000123"
	dir := t.TempDir()
	var logs bytes.Buffer
	clk := newManualClock()
	open := func(path string) (*Book, *store.Store) {
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(st, Config{Station: station, Clock: clk, Debounce: time.Second, MaxSession: time.Hour,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return b, st
	}
	b, st := open(filepath.Join(dir, "a.db"))
	ctx := context.Background()
	in, err := b.Tap(ctx, reader.Tap{Volunteer: id, Card: serial, Review: true})
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	if out, err := b.Tap(ctx, reader.Tap{Volunteer: id, Card: serial}); err != nil || out.Kind != wire.KindCheckOut {
		t.Fatalf("check-out: %+v %v", out, err)
	}
	clk.advance(time.Minute)
	if _, err := b.Tap(ctx, reader.Tap{Volunteer: id, Card: serial}); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Hour)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep closed %d: %v", n, err)
	}
	ref := b.VolunteerRef(id)
	st.Close()

	if strings.Contains(logs.String(), id) {
		t.Fatalf("the log names the volunteer:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), serial) {
		t.Fatalf("the log names the card serial:\n%s", logs.String())
	}
	for _, want := range []string{"record=" + in.ID, "station=" + station, "volunteer_ref=" + ref, "review=true"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if len(ref) != 8 || ref == b.VolunteerRef("PE-530802-000124") {
		t.Fatalf("reference %q", ref)
	}
	again, st := open(filepath.Join(dir, "a.db"))
	if got := again.VolunteerRef(id); got != ref {
		t.Fatalf("reference changed across a restart: %s, %s", ref, got)
	}
	st.Close()
	other, st := open(filepath.Join(dir, "b.db"))
	defer st.Close()
	if other.VolunteerRef(id) == ref {
		t.Fatal("two kiosks give one volunteer the same reference")
	}
}
