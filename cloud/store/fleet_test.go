package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// The roster and command tables on both databases.
func TestFleetTables(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			t.Run("Roster", func(t *testing.T) { testRoster(t, s) })
			t.Run("CommandOutcome", func(t *testing.T) { testCommandOutcome(t, s) })
		})
	}
}

// A station's roster is the volunteers listed for it and those who
// checked in there; listing again replaces the list; a name given once
// stays when a later push gives none.
func testRoster(t *testing.T, s *Store) {
	ctx := context.Background()
	if err := s.SaveVolunteers(ctx, "pe-a", []RosterEntry{{"V1", "王小明"}, {"V2", "欧阳娜娜"}}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVolunteers(ctx, "", []RosterEntry{{"V3", "张三"}}, t0); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, []ingest.Entry{rec("pe-b", 1, wire.KindCheckIn, "V3", "", 0), rec("pe-a", 1, wire.KindCheckIn, "V9", "", 0)})
	roster := func(station string) []RosterEntry {
		t.Helper()
		r, err := s.StationRoster(ctx, station)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got, want := roster("pe-a"), []RosterEntry{{"V1", "王小明"}, {"V2", "欧阳娜娜"}, {"V9", ""}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pe-a roster %v, want %v", got, want)
	}
	if got, want := roster("pe-b"), []RosterEntry{{"V3", "张三"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pe-b roster %v, want %v", got, want)
	}
	if err := s.SaveVolunteers(ctx, "pe-a", []RosterEntry{{"V2", ""}}, t0); err != nil {
		t.Fatal(err)
	}
	if got, want := roster("pe-a"), []RosterEntry{{"V2", "欧阳娜娜"}, {"V9", ""}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pe-a roster after listing V2 only: %v, want %v", got, want)
	}
}

// The first report of a command's nonce is its outcome; a later refusal
// of a replay of it does not overwrite that; a report without a nonce, or
// of another station, touches nothing.
func testCommandOutcome(t *testing.T, s *Store) {
	ctx := context.Background()
	sent := t0
	for _, c := range []Command{
		{Nonce: "n-ok-000001", Station: "pe-a", Name: "resync", Sent: sent, Expires: sent.Add(time.Minute)},
		{Nonce: "n-no-000002", Station: "pe-a", Name: "resync", Sent: sent.Add(time.Second), Expires: sent.Add(time.Minute)},
	} {
		if err := s.SaveCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	state := func(at time.Duration, last, nonce, station string) {
		t.Helper()
		st := &wire.State{V: wire.Version, Station: station, Online: true, LastCommand: last, LastCommandNonce: nonce}
		if err := s.SaveState(ctx, st, sent.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	state(2*time.Second, "resync: ok", "n-ok-000001", "pe-a")
	state(3*time.Second, "refused: replayed: resync nonce n-ok-000001", "n-ok-000001", "pe-a")
	state(4*time.Second, "refused: forged", "n-no-000002", "pe-b")
	c, err := s.CommandByNonce(ctx, "pe-a", "n-ok-000001")
	if err != nil || c.Outcome != "resync: ok" || !c.OutcomeAt.Equal(sent.Add(2*time.Second)) {
		t.Fatalf("command n-ok: %+v %v", c, err)
	}
	c, err = s.CommandByNonce(ctx, "pe-a", "n-no-000002")
	if err != nil || c.Outcome != "" {
		t.Fatalf("command n-no got another station's report: %+v %v", c, err)
	}
	cs, err := s.Commands(ctx, "pe-a", 10)
	if err != nil || len(cs) != 2 || cs[0].Nonce != "n-no-000002" {
		t.Fatalf("Commands newest first: %+v %v", cs, err)
	}
}
