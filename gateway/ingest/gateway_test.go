package ingest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"leifeng/gateway/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// memStore is a Store in memory. The gateway's contract with a real
// database is tested in cloud/store and end to end in cloud/e2e; here it
// lets a test fail commits on demand.
type memStore struct {
	mu      sync.Mutex
	records map[string]Entry
	order   []string
	states  map[string]*wire.State
	fail    error
	// poison makes the database refuse a record whose volunteer it is, as
	// PostgreSQL refuses a value it cannot hold.
	poison string
	// flaky makes every commit of a batch holding this volunteer fail
	// with an error that does not say the data is at fault.
	flaky   string
	refused map[string]string
	calls   int
}

func newMemStore() *memStore {
	return &memStore{records: map[string]Entry{}, states: map[string]*wire.State{}, refused: map[string]string{}}
}

func (s *memStore) Refuse(_ context.Context, e Entry, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.refused[e.ID] = reason
	return nil
}

func (s *memStore) Ingest(_ context.Context, es []Entry) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return 0, s.fail
	}
	for _, e := range es {
		if s.poison != "" && e.Volunteer == s.poison {
			return 0, fmt.Errorf("%w: invalid byte sequence in %s", ErrRefused, e.ID)
		}
		if s.flaky != "" && e.Volunteer == s.flaky {
			return 0, fmt.Errorf("driver: unexpected reply for %s", e.ID)
		}
	}
	n := 0
	for _, e := range es {
		if _, ok := s.records[e.ID]; !ok {
			s.records[e.ID] = e
			s.order = append(s.order, e.ID)
			n++
		}
	}
	return n, nil
}

func (s *memStore) SaveState(_ context.Context, st *wire.State, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states[st.Station] = st
	return nil
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func (s *memStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func startBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = srv.AddHook(new(auth.AllowHook), nil)
	_ = srv.AddListener(listeners.NewNet("t", ln))
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "tcp://" + ln.Addr().String()
}

// harness is one gateway on an embedded broker, and a client standing in
// for the kiosks.
type harness struct {
	store   *memStore
	gw      *Gateway
	metrics *Metrics
	kiosk   paho.Client
	acks    chan *wire.Ack
}

func newHarness(t *testing.T, opt Options) *harness {
	return newHarnessWith(t, newMemStore(), nil, opt)
}

// newHarnessWith runs the gateway on st (or on store, if not nil, which
// wraps st) and opens its acks with the public half of opt.AckKey.
func newHarnessWith(t *testing.T, st *memStore, store Store, opt Options) *harness {
	url := startBroker(t)
	h := &harness{store: st, acks: make(chan *wire.Ack, 100)}
	if store == nil {
		store = st
	}
	decodeAck := wire.DecodeAck
	if opt.AckKey != nil {
		trusted := map[string]ed25519.PublicKey{opt.AckKeyID: opt.AckKey.Public().(ed25519.PublicKey)}
		decodeAck = func(data []byte, station string) (*wire.Ack, error) { return wire.OpenAck(data, station, trusted) }
	}
	h.metrics = NewMetrics(prometheus.NewRegistry())
	opt.Metrics = h.metrics
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h.gw = New(store, nil, opt)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.gw.Run(ctx) })
	cl, err := Connect(ctx, h.gw, ClientConfig{Broker: url, ClientID: "gw-test"})
	if err != nil {
		t.Fatal(err)
	}
	h.kiosk = paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("kiosks"))
	if tok := h.kiosk.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	tok := h.kiosk.Subscribe(wire.Prefix+"/stations/+/ack", 1, func(_ paho.Client, m paho.Message) {
		st, _, _ := wire.ParseStationTopic(m.Topic())
		a, err := decodeAck(m.Payload(), st)
		if err != nil {
			t.Errorf("gateway sent a bad ack: %v", err)
			return
		}
		h.acks <- a
	})
	tok.Wait()
	t.Cleanup(func() {
		h.kiosk.Disconnect(50)
		cl.Close()
		cancel()
		wg.Wait()
	})
	return h
}

func (h *harness) publish(t *testing.T, station string, payload []byte) {
	t.Helper()
	tok := h.kiosk.Publish(wire.StationTopic(station, wire.LeafRecords), 1, false, payload)
	tok.Wait()
	if tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func (h *harness) ack(t *testing.T) *wire.Ack {
	t.Helper()
	select {
	case a := <-h.acks:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no ack within 5 s")
		return nil
	}
}

func (h *harness) noAck(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case a := <-h.acks:
		t.Fatalf("unexpected ack %+v", a)
	case <-time.After(wait):
	}
}

func batch(t testing.TB, station string, n int) *wire.Batch {
	b := &wire.Batch{Station: station, Sent: wire.Clock{At: time.Now(), Mono: int64(time.Hour), Boot: "boot-1", Synced: true}}
	for i := range n {
		id, _ := wire.NewRecordID()
		b.Records = append(b.Records, wire.Record{ID: id, Station: station, Kind: wire.KindCheckIn,
			Volunteer: fmt.Sprintf("V%04d", i), At: time.Now(), Mono: int64(time.Minute), Boot: "boot-1",
			ClockSynced: true, Seq: uint64(i + 1)})
	}
	return b
}

func encode(t testing.TB, b *wire.Batch) []byte {
	data, err := wire.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCommitThenAck(t *testing.T) {
	h := newHarness(t, Options{})
	b := batch(t, "st-a", 10)
	h.publish(t, "st-a", encode(t, b))
	a := h.ack(t)
	if a.Station != "st-a" || len(a.IDs) != 10 || a.IDs[0] != b.Records[0].ID {
		t.Fatalf("ack %+v", a)
	}
	if h.store.count() != 10 {
		t.Fatalf("stored %d", h.store.count())
	}
	// The same batch again (the kiosk missed the ack): acked again, stored once.
	h.publish(t, "st-a", encode(t, b))
	if a := h.ack(t); len(a.IDs) != 10 {
		t.Fatalf("second ack %+v", a)
	}
	if h.store.count() != 10 || testutil.ToFloat64(h.metrics.RecordsDuplicate) != 10 {
		t.Fatal("duplicate stored or not counted")
	}
}

func TestNoAckWithoutCommit(t *testing.T) {
	h := newHarness(t, Options{StoreRetries: 1})
	h.store.setFail(errors.New("database is down"))
	b := batch(t, "st-a", 3)
	h.publish(t, "st-a", encode(t, b))
	h.noAck(t, 300*time.Millisecond)
	waitFor(t, "store_error counted", func() bool {
		return testutil.ToFloat64(h.metrics.BatchesRejected.WithLabelValues("store_error")) == 1
	})
	h.store.setFail(nil)
	h.publish(t, "st-a", encode(t, b))
	if a := h.ack(t); len(a.IDs) != 3 {
		t.Fatalf("ack after recovery %+v", a)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, Options{StationRate: 5, StationBurst: 5})
	good := batch(t, "st-a", 2)
	goodData := encode(t, good)
	dup := batch(t, "st-a", 3)
	dup.Records[2].ID = dup.Records[0].ID
	dup.V = wire.Version
	dupData, _ := json.Marshal(dup)

	cases := []struct {
		reason  string
		payload []byte
	}{
		{"malformed", []byte("not json at all \x00")},
		{"version", []byte(strings.Replace(string(goodData), `"v":1`, `"v":9`, 1))},
		{"station_mismatch", encode(t, batch(t, "st-b", 1))}, // published on st-a's topic below
		{"too_large", make([]byte, wire.MaxMessageBytes+10)},
	}
	for _, c := range cases {
		h.publish(t, "st-a", c.payload)
	}
	// A batch with a repeated ID stores and acks the first copy only.
	h.publish(t, "st-a", dupData)
	a := h.ack(t)
	if len(a.IDs) != 2 || a.IDs[0] != dup.Records[0].ID || a.IDs[1] != dup.Records[1].ID {
		t.Fatalf("ack of a batch with a repeated ID: %+v", a)
	}
	for _, c := range cases {
		if got := testutil.ToFloat64(h.metrics.BatchesRejected.WithLabelValues(c.reason)); got != 1 {
			t.Errorf("%s counted %v times", c.reason, got)
		}
	}
	// A flood from st-a is cut off at its limit...
	for range 20 {
		h.publish(t, "st-a", goodData)
	}
	// ...while st-c is served as usual.
	other := batch(t, "st-c", 4)
	h.publish(t, "st-c", encode(t, other))
	deadline := time.After(5 * time.Second)
	for {
		select {
		case a := <-h.acks:
			if a.Station == "st-c" {
				if len(a.IDs) != 4 {
					t.Fatalf("st-c ack %+v", a)
				}
				if testutil.ToFloat64(h.metrics.BatchesRejected.WithLabelValues("rate_limited")) == 0 {
					t.Fatal("flood not limited")
				}
				return
			}
		case <-deadline:
			t.Fatal("st-c was not served during st-a's flood")
		}
	}
}

func TestRejectedRecordsAreAcked(t *testing.T) {
	h := newHarness(t, Options{})
	b := batch(t, "st-a", 3)
	b.Records[1].Kind = "unknown_kind"
	b.V = wire.Version
	data, _ := json.Marshal(b)
	h.publish(t, "st-a", data)
	a := h.ack(t)
	if len(a.IDs) != 2 || len(a.Rejected) != 1 || a.Rejected[0].ID != b.Records[1].ID {
		t.Fatalf("ack %+v", a)
	}
}

func TestState(t *testing.T) {
	h := newHarness(t, Options{})
	data, _ := wire.EncodeState(&wire.State{Station: "st-a", Online: true, Outbox: 7})
	tok := h.kiosk.Publish(wire.StationTopic("st-a", wire.LeafState), 1, true, data)
	tok.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(h.metrics.StationsOnline) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("state not followed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if h.store.states["st-a"].Outbox != 7 {
		t.Fatal("state not saved")
	}
}

func TestCorrect(t *testing.T) {
	received := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	wrong := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) // the Pi booted with no RTC and no network
	b := &wire.Batch{Sent: wire.Clock{At: wrong.Add(time.Hour), Mono: int64(2 * time.Hour), Boot: "b2"}}
	b.Records = []wire.Record{
		{At: wrong, Mono: int64(time.Hour), Boot: "b2"},                                         // same boot: correctable
		{At: wrong, Mono: int64(time.Hour), Boot: "b1"},                                         // earlier boot: not
		{At: received.Add(-time.Minute), Mono: int64(time.Hour), Boot: "b1", ClockSynced: true}, // synced: kept
	}
	es := Correct(b, received)
	if !es[0].Time.Equal(received.Add(-time.Hour)) || es[0].ClockFlag != ClockCorrected {
		t.Errorf("same boot: %v %q", es[0].Time, es[0].ClockFlag)
	}
	if !es[1].Time.Equal(wrong) || es[1].ClockFlag != ClockUncorrected {
		t.Errorf("earlier boot: %v %q", es[1].Time, es[1].ClockFlag)
	}
	if !es[2].Time.Equal(received.Add(-time.Minute)) || es[2].ClockFlag != "" {
		t.Errorf("synced: %v %q", es[2].Time, es[2].ClockFlag)
	}
}

// Two gateways on one shared subscription split the stations' batches
// between them, and each batch is committed once.
func TestSharedSubscription(t *testing.T) {
	url := startBroker(t)
	store := newMemStore()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var clients []*Client
	var gws []*Gateway
	for i := range 2 {
		g := New(store, nil, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		wg.Go(func() { g.Run(ctx) })
		cl, err := Connect(ctx, g, ClientConfig{Broker: url, ClientID: fmt.Sprintf("gw-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
		gws = append(gws, g)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		cancel()
		wg.Wait()
	}()
	kiosk := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("k"))
	kiosk.Connect().Wait()
	defer kiosk.Disconnect(50)
	const n = 40
	for i := range n {
		st := fmt.Sprintf("st-%d", i%8)
		kiosk.Publish(wire.StationTopic(st, wire.LeafRecords), 1, false, encode(t, batch(t, st, 5))).Wait()
	}
	ingested := func() (float64, float64) {
		return testutil.ToFloat64(gws[0].opt.Metrics.RecordsIngested), testutil.ToFloat64(gws[1].opt.Metrics.RecordsIngested)
	}
	waitFor(t, "every record ingested", func() bool { a, b := ingested(); return a+b >= n*5 })
	a, b := ingested()
	if a+b != n*5 || a == 0 || b == 0 {
		t.Fatalf("gateways ingested %v and %v of %d: not shared", a, b, n*5)
	}
}

// waitFor polls cond for up to 10 s: the gateway counts after it commits,
// on its own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
