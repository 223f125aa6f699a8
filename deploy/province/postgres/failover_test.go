// Package postgres holds the province's PostgreSQL pair and its monitor
// (setup scripts and the systemd unit beside this file; see the README's
// "The province database") and its tests: the pair failing over under a
// stream of records.
package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"leifeng/cloud/broker"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
	kstore "leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// failoverRun is one run of the scenario: kiosks tap, one tap each every
// tapEvery; killAfter into the stream the primary is killed; with more
// rounds, the dead node comes back as the standby and, killAfter later,
// the new primary is killed in turn. The kiosks go on tapping for tail
// after the last promotion.
type failoverRun struct {
	kiosks    int
	tapEvery  time.Duration
	killAfter time.Duration
	rounds    int
	tail      time.Duration
}

// kioskSim is a simulated kiosk: the real bbolt outbox and uplink, with
// taps written into the outbox as the kiosk's screen does.
type kioskSim struct {
	station string
	st      *kstore.Store
	mu      sync.Mutex // held while a tap is committed and its ID noted
	made    []string
}

func (k *kioskSim) tap(i int, at time.Time) error {
	id, err := wire.NewRecordID()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	err = k.st.Commit(kstore.Change{Records: []*wire.Record{{ID: id, Station: k.station, Kind: wire.KindCheckIn,
		Volunteer: fmt.Sprintf("V%06d", i), Card: "C", At: at, Mono: int64(i) * int64(time.Second),
		Boot: "boot-failover", ClockSynced: true}}})
	if err == nil {
		k.made = append(k.made, id)
	}
	return err
}

// acked is what the kiosk made and its outbox no longer holds: records
// the gateway acknowledged, which the kiosk will never send again.
func (k *kioskSim) acked(t *testing.T) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	pending, err := k.st.Oldest(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	in := make(map[string]bool, len(pending))
	for _, r := range pending {
		in[r.ID] = true
	}
	var out []string
	for _, id := range k.made {
		if !in[id] {
			out = append(out, id)
		}
	}
	return out
}

// TestPrimaryKilledMidStream: a gateway stores a stream from kiosks in a
// pg_auto_failover pair through the two-host DSN; the primary is killed
// with SIGKILL mid-stream; the standby is promoted, the gateway's store
// reconnects to it, and every record a kiosk made is stored exactly once —
// in particular every record acknowledged before the kill is on the new
// primary at once, because the primary acknowledged a commit only after
// its synchronous standby had it.
func TestPrimaryKilledMidStream(t *testing.T) {
	runFailover(t, failoverRun{kiosks: 5, tapEvery: 50 * time.Millisecond, killAfter: 2 * time.Second, rounds: 1, tail: 2 * time.Second})
}

func runFailover(t *testing.T, run failoverRun) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pair := pgtest.StartPair(t)
	start := time.Now()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	// Acks wait for the standby: the primary names it synchronous, and
	// commits wait for it (synchronous_commit on, the default).
	for name, want := range map[string]string{"synchronous_standby_names": "ANY 1 (pgautofailover_standby_2)", "synchronous_commit": "on"} {
		got, err := pair.Setting(ctx, 0, name)
		if err != nil || got != want {
			t.Fatalf("primary's %s = %q, %v; want %q", name, got, err, want)
		}
	}

	db, err := store.Open(ctx, pair.DSN())
	if err != nil {
		t.Fatal(err)
	}
	// Every kiosk comes from 127.0.0.1: lift the per-address cap.
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Log: log, MaxConnsPerAddr: 4 * run.kiosks})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		gwc    *ingest.Client
		kiosks []*kioskSim
	)
	defer func() { // in order: the uplinks and gateway stop before what they use closes
		cancel()
		if gwc != nil {
			gwc.Close()
		}
		wg.Wait()
		for _, k := range kiosks {
			k.st.Close()
		}
		br.Close()
		db.Close()
	}()
	gw := ingest.New(db, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry())})
	wg.Go(func() { gw.Run(ctx) })
	if gwc, err = ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-failover"}); err != nil {
		t.Fatal(err)
	}
	for i := range run.kiosks {
		station := fmt.Sprintf("pe-fo-%03d", i)
		st, err := kstore.Open(filepath.Join(t.TempDir(), "kiosk.db"))
		if err != nil {
			t.Fatal(err)
		}
		kiosks = append(kiosks, &kioskSim{station: station, st: st})
		up, err := uplink.New(st, uplink.Config{Broker: br.URL(), Station: station, Logger: log,
			AckTimeout: 2 * time.Second, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { up.Run(ctx) })
	}

	// The stream: every kiosk taps until stop.
	tapping := make(chan error, len(kiosks))
	stop := make(chan struct{})
	for _, k := range kiosks {
		go func() {
			tick := time.NewTicker(run.tapEvery)
			defer tick.Stop()
			for i := 0; ; i++ {
				if err := k.tap(i, time.Now()); err != nil {
					tapping <- err
					return
				}
				select {
				case <-stop:
					tapping <- nil
					return
				case <-tick.C:
				}
			}
		}()
	}
	stopped := false
	defer func() {
		if !stopped {
			close(stop)
		}
	}()

	var newPrimary *store.Store
	defer func() {
		if newPrimary != nil {
			newPrimary.Close()
		}
	}()
	var killedAt time.Time
	ackedBefore := 0
	for round := range run.rounds {
		time.Sleep(run.killAfter)
		var acked []string
		for _, k := range kiosks {
			acked = append(acked, k.acked(t)...)
		}
		if len(acked) <= ackedBefore {
			t.Fatalf("round %d: no record acknowledged since the last kill (%d in all)", round, len(acked))
		}
		ackedBefore = len(acked)
		killed, err := pair.KillPrimary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		killedAt = time.Now()
		promoteCtx, cancelPromote := context.WithTimeout(ctx, 90*time.Second)
		err = pair.WaitPromoted(promoteCtx, 1-killed)
		cancelPromote()
		if err != nil {
			t.Fatal(err)
		}
		promoted := time.Since(killedAt)

		// Every record acknowledged before the kill is on the new
		// primary now, before any kiosk could send it again (it never
		// will: its outbox let it go).
		if newPrimary != nil {
			newPrimary.Close()
		}
		if newPrimary, err = store.Open(ctx, pair.NodeDSN(1-killed)); err != nil {
			t.Fatal(err)
		}
		stored := storedIDs(t, newPrimary, kiosks)
		for _, id := range acked {
			if stored[id] == 0 {
				t.Fatalf("round %d: record %s was acknowledged before the primary died and is not on the new primary", round, id)
			}
		}
		t.Logf("round %d: node%d killed with %d records acknowledged; node%d promoted %.1fs later", round, killed+1, len(acked), 2-killed, promoted.Seconds())
		if round+1 < run.rounds {
			back, cancelBack := context.WithTimeout(ctx, 3*time.Minute)
			err := pair.Restart(back, killed)
			cancelBack()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("round %d: node%d back as the standby %.1fs after the kill", round, killed+1, time.Since(killedAt).Seconds())
		}
	}
	time.Sleep(run.tail)
	close(stop)
	stopped = true

	for range kiosks {
		if err := <-tapping; err != nil {
			t.Fatal(err)
		}
	}
	// Every outbox empties: the gateway stores on the new primary.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		depth := 0
		for _, k := range kiosks {
			depth += k.st.Depth()
		}
		if depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records still in the kiosks' outboxes two minutes after the stream ended", depth)
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(killedAt)

	// Exactly once: every record made is stored, once, and nothing else.
	stored := storedIDs(t, newPrimary, kiosks)
	made := 0
	for _, k := range kiosks {
		for _, id := range k.made {
			made++
			if n := stored[id]; n != 1 {
				t.Fatalf("record %s of %s stored %d times, want 1", id, k.station, n)
			}
		}
	}
	if len(stored) != made {
		t.Fatalf("%d records stored, %d made", len(stored), made)
	}
	t.Logf("%d kiosks, %d records, %d failovers: every outbox empty %.1fs after the last kill, every record stored once; whole run %.0fs",
		len(kiosks), made, run.rounds, drained.Seconds(), time.Since(start).Seconds())
}

// storedIDs counts each stored record ID of the kiosks' stations.
func storedIDs(t *testing.T, s *store.Store, kiosks []*kioskSim) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, k := range kiosks {
		ids, err := s.RecordIDs(context.Background(), k.station)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			out[id]++
		}
	}
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
