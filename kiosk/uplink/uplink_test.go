package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/gateway/ingest/ingesttest"
	"leifeng/gateway/wire"
	"leifeng/kiosk/clock"
	"leifeng/kiosk/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const station = "pe-simao-001"

func logger() *slog.Logger {
	if os.Getenv("LEIFENG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fill appends n check-in records in groups (quicker than one fsync each)
// and returns their IDs in outbox order.
func fill(t testing.TB, st *store.Store, n int) []string {
	t.Helper()
	sys, err := clock.NewSystem()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i += 500 {
		var cs []store.Change
		for range min(500, n-i) {
			id, err := wire.NewRecordID()
			if err != nil {
				t.Fatal(err)
			}
			c := sys.Now()
			r := &wire.Record{ID: id, Station: station, Kind: wire.KindCheckIn, Volunteer: fmt.Sprintf("V%06d", len(ids)),
				Card: "SIM", At: c.At, Mono: c.Mono, Boot: c.Boot, ClockSynced: c.Synced}
			cs = append(cs, store.Change{Records: []*wire.Record{r}})
			ids = append(ids, id)
		}
		if err := st.Commit(cs...); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

type running struct {
	up     *Uplink
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, st *store.Store, addr string, cfg Config) *running {
	t.Helper()
	cfg.Broker = "tcp://" + addr
	cfg.Station = station
	cfg.Logger = logger()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	up, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{up: up, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- up.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- context.Canceled // later stops return at once
}

// drained waits until the outbox is empty.
func drained(t testing.TB, st *store.Store, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for st.Depth() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d records after %s", st.Depth(), within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inOrder checks that the records first arrived exactly in outbox order.
func inOrder(t testing.TB, p *ingesttest.Peer, ids []string) {
	t.Helper()
	got := p.FirstArrivals()
	if len(got) != len(ids) {
		t.Fatalf("%d distinct records arrived, %d sent", len(got), len(ids))
	}
	for i, r := range got {
		if r.ID != ids[i] {
			t.Fatalf("record %d arrived as %s (seq %d), want %s", i, r.ID, r.Seq, ids[i])
		}
	}
}

func TestDrainInOrder(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	p := &ingesttest.Peer{Station: station}
	ingesttest.Start(t, addr, p)
	st := openStore(t)
	ids := fill(t, st, 2500)
	start(t, st, addr, Config{})
	drained(t, st, 20*time.Second)
	inOrder(t, p, ids)
	if m := p.MaxBatch(); m != wire.MaxBatchRecords {
		t.Fatalf("largest batch %d records", m)
	}

	// A tap committed now wakes the sender at once.
	more := fill(t, st, 1)
	drained(t, st, 5*time.Second)
	inOrder(t, p, append(ids, more...))
}

func TestBrokerDownAtStart(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	st := openStore(t)
	ids := fill(t, st, 300)
	start(t, st, addr, Config{})
	time.Sleep(500 * time.Millisecond) // several failed attempts
	ids = append(ids, fill(t, st, 10)...)
	if st.Depth() != 310 {
		t.Fatalf("depth %d with no broker", st.Depth())
	}
	p := &ingesttest.Peer{Station: station}
	ingesttest.Start(t, addr, p)
	drained(t, st, 10*time.Second)
	inOrder(t, p, ids)
}

// TestBrokerRestart restarts the broker while batches are in flight and
// acks are on their way: nothing is lost, order holds, and the records
// whose acks died with the broker are resent.
func TestBrokerRestart(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	acked := make(chan struct{}, 1)
	p := &ingesttest.Peer{Station: station, Drop: func(n int, _ *wire.Batch) bool {
		if n == 2 {
			// The third batch is stored but its ack is lost with the broker.
			select {
			case acked <- struct{}{}:
			default:
			}
			return true
		}
		return false
	}}
	b := ingesttest.Start(t, addr, p)
	st := openStore(t)
	ids := fill(t, st, 5000)
	start(t, st, addr, Config{MaxBatch: 500, AckTimeout: time.Minute})
	select {
	case <-acked:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch arrived")
	}
	b.Stop()
	ids = append(ids, fill(t, st, 50)...) // taps while the broker is down
	if st.Depth() <= 50 {
		t.Fatalf("depth %d: the unacked batch left the outbox", st.Depth())
	}
	time.Sleep(300 * time.Millisecond)
	ingesttest.Start(t, addr, p)
	// AckTimeout is a minute: only the reconnect can trigger the resend.
	drained(t, st, 20*time.Second)
	inOrder(t, p, ids)
	if n, _ := p.Stats(); n <= len(ids) {
		t.Fatalf("%d records arrived for %d: the batch without ack was not resent", n, len(ids))
	}
}

func TestResendAfterMissingAck(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	p := &ingesttest.Peer{Station: station, Drop: func(n int, _ *wire.Batch) bool { return n == 0 }}
	ingesttest.Start(t, addr, p)
	st := openStore(t)
	ids := fill(t, st, 20)
	start(t, st, addr, Config{AckTimeout: time.Second})
	drained(t, st, 10*time.Second)
	inOrder(t, p, ids)
	// At least twice: a loaded machine may ack the resend after the timeout
	// too, and the same batch then goes a third time, whole.
	if n, batches := p.Stats(); batches < 2 || n != 20*batches {
		t.Fatalf("%d records in %d batches, want the whole batch again", n, batches)
	}
}

// TestBadAcks: acks naming unknown records, for another station, or not
// JSON at all change nothing and do not stop the uplink.
func TestBadAcks(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	var hold = make(chan struct{})
	p := &ingesttest.Peer{Station: station, Drop: func(int, *wire.Batch) bool {
		select {
		case <-hold:
			return false
		default:
			return true
		}
	}}
	b := ingesttest.Start(t, addr, p)
	st := openStore(t)
	ids := fill(t, st, 10)
	start(t, st, addr, Config{AckTimeout: 300 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := p.Stats(); n == 0; n, _ = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatal("nothing arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	unknown, _ := wire.NewRecordID()
	good, _ := wire.EncodeAck(&wire.Ack{Station: station, IDs: []string{unknown, "not-an-id"}})
	other, _ := wire.EncodeAck(&wire.Ack{Station: "pe-other-002", IDs: ids})
	topic := wire.StationTopic(station, wire.LeafAck)
	for _, payload := range [][]byte{good, other, []byte("garbage{"), []byte(`{"v":99,"station":"pe-simao-001","ids":[]}`), nil} {
		if err := b.Publish(topic, payload, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if st.Depth() != 10 {
		t.Fatalf("depth %d after bad acks", st.Depth())
	}
	close(hold)
	drained(t, st, 10*time.Second)
	inOrder(t, p, ids)
}

func TestRejected(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	p := &ingesttest.Peer{Station: station}
	ingesttest.Start(t, addr, p)
	st := openStore(t)
	ids := fill(t, st, 5)
	p.Reject(ids[1], "card revoked")
	start(t, st, addr, Config{})
	drained(t, st, 10*time.Second)
	rej, err := st.Rejections()
	if err != nil || len(rej) != 1 || rej[0].Record.ID != ids[1] || rej[0].Reason != "card revoked" {
		t.Fatalf("rejections %+v %v", rej, err)
	}
}

// TestState: the retained state says online with the outbox depth while
// connected, and offline after Run ends.
func TestState(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	b := ingesttest.Start(t, addr) // no gateway: records stay
	states := make(chan *wire.State, 16)
	err := b.Subscribe(wire.StationTopic(station, wire.LeafState), func(_ string, payload []byte) {
		s, err := wire.DecodeState(payload, station)
		if err != nil {
			t.Errorf("state: %v", err)
			return
		}
		states <- s
	})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	fill(t, st, 3)
	r := start(t, st, addr, Config{StateDebounce: 50 * time.Millisecond, Firmware: "1.2.3"})
	r.up.SetReader(wire.ReaderOK)
	want := func(online bool, depth int, health string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case s := <-states:
				if s.Online == online && s.Outbox == depth && s.Reader == health && s.Firmware == "1.2.3" {
					return
				}
			case <-timeout:
				t.Fatalf("no state online=%v outbox=%d reader=%s", online, depth, health)
			}
		}
	}
	want(true, 3, wire.ReaderOK)
	fill(t, st, 2)
	want(true, 5, wire.ReaderOK)
	r.stop()
	want(false, 5, wire.ReaderOK)
}

func TestNewRefusesBadConfig(t *testing.T) {
	st := openStore(t)
	if _, err := New(st, Config{Station: "Bad ID", Broker: "tcp://x:1"}); err == nil {
		t.Fatal("bad station accepted")
	}
	if _, err := New(st, Config{Station: station}); err == nil {
		t.Fatal("no broker accepted")
	}
}

// waitLink waits for the uplink's connection state to become want,
// following the change notifications of Link.
func waitLink(t *testing.T, up *Uplink, want bool, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		online, changed := up.Link()
		if online == want {
			if up.Online() != want {
				t.Fatalf("Online() = %v, Link() = %v", !want, want)
			}
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("uplink online = %v after %s, want %v", online, within, want)
		}
	}
}

// TestOnline: the connection state follows the broker going down and
// coming back, and is offline once Run returns.
func TestOnline(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	st := openStore(t)
	r := start(t, st, addr, Config{})
	time.Sleep(100 * time.Millisecond) // failed attempts, no broker
	if r.up.Online() {
		t.Fatal("online with no broker")
	}
	p := &ingesttest.Peer{Station: station}
	b := ingesttest.Start(t, addr, p)
	waitLink(t, r.up, true, 10*time.Second)
	// A watcher taken now is woken by the loss.
	_, changed := r.up.Link()
	b.Stop()
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notified when the broker went away")
	}
	waitLink(t, r.up, false, time.Second)
	ingesttest.Start(t, addr, p)
	waitLink(t, r.up, true, 10*time.Second)
	r.stop()
	if r.up.Online() {
		t.Fatal("online after Run returned")
	}
}

// TestLastAck: the uplink reports the batch the cloud last acknowledged
// and the total since start, counted from what the acks took out of the
// outbox.
func TestLastAck(t *testing.T) {
	addr := ingesttest.FreeAddr(t)
	p := &ingesttest.Peer{Station: station}
	ingesttest.Start(t, addr, p)
	st := openStore(t)
	r := start(t, st, addr, Config{MaxBatch: 10})
	if a := r.up.LastAck(); !a.At.IsZero() || a.Batch != 0 || a.Total != 0 {
		t.Fatalf("before any ack: %+v", a)
	}
	fill(t, st, 25)
	drained(t, st, 10*time.Second)
	// Batches of 10, 10 and 5, acked in order: the last is the 5.
	for deadline := time.Now().Add(5 * time.Second); r.up.LastAck().Total != 25; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("acks: %+v", r.up.LastAck())
		}
	}
	if a := r.up.LastAck(); a.Batch != 5 || a.At.IsZero() {
		t.Fatalf("last batch: %+v, want 5 records with a time", a)
	}
}

// A cluster's nodes listed as one broker: with one node down the kiosk
// drains through another, and when that one stops it moves on to a node
// that is up again, all in order.
func TestBrokerList(t *testing.T) {
	st := openStore(t)
	p := &ingesttest.Peer{Station: station}
	down := ingesttest.FreeAddr(t)
	a := ingesttest.Start(t, "", p)
	up, err := New(st, Config{Broker: "tcp://" + down + ", " + a.URL(), Station: station, Logger: logger(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.brokers) != 2 {
		t.Fatalf("brokers %q", up.brokers)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- up.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ids := fill(t, st, 50)
	drained(t, st, 10*time.Second)
	a.Stop()
	b := ingesttest.Start(t, down, p)
	defer b.Stop()
	ids = append(ids, fill(t, st, 50)...)
	drained(t, st, 10*time.Second)
	inOrder(t, p, ids)
	if _, err := New(st, Config{Broker: " , ", Station: station}); err == nil {
		t.Fatal("a list of no brokers accepted")
	}
}
