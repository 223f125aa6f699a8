package natsjs_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"leifeng/gateway/ingest"
	"leifeng/gateway/ingest/natsjs"
	"leifeng/gateway/wire"
	"leifeng/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStore stores in memory and fails the first fail commits.
type memStore struct {
	mu      sync.Mutex
	fail    int
	commits int
	ids     map[string]int
}

func (s *memStore) Ingest(_ context.Context, es []ingest.Entry) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	if s.fail > 0 {
		s.fail--
		return 0, errors.New("database unavailable")
	}
	n := 0
	for _, e := range es {
		if s.ids[e.ID] == 0 {
			n++
		}
		s.ids[e.ID]++
	}
	return n, nil
}

func (s *memStore) Refuse(context.Context, ingest.Entry, string) error { return nil }

func (s *memStore) SaveState(context.Context, *wire.State, time.Time) error { return nil }

func (s *memStore) stored(id string) (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id], s.commits
}

func mqttClient(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func batch(t *testing.T, station string) (string, []byte) {
	t.Helper()
	id, err := wire.NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	data, err := wire.EncodeBatch(&wire.Batch{Station: station, Sent: wire.Clock{At: now, Mono: 10, Boot: "b", Synced: true},
		Records: []wire.Record{{ID: id, Station: station, Kind: wire.KindCheckIn, Volunteer: "V1", Card: "C", At: now, Mono: 1, Boot: "b", ClockSynced: true, Seq: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return id, data
}

// What nats-server 2.9 does to a QoS 1 message nobody consumes (drops
// it after its PUBACK), and what the gateway's consumer, made first,
// changes; then a batch whose commit fails stays unacknowledged in
// JetStream and comes again until it is stored, once, and acked to the
// kiosk on its MQTT topic.
func TestConsumerFirstAndAckAfterCommit(t *testing.T) {
	c := natstest.Start(t, natstest.Options{Nodes: 1})
	url := c.Nodes[0].MQTTURL("tcp")
	kiosk := mqttClient(t, url, "st-a")
	early, data := batch(t, "st-a")
	if tok := kiosk.Publish(wire.StationTopic("st-a", wire.LeafRecords), 1, false, data); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := natsjs.Dial(ctx, natsjs.Config{URLs: c.ClientURLs(), Replicas: 1, RetryDelay: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waiting, _, err := cl.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if waiting != 0 {
		t.Fatalf("%d batches kept from before the consumer; nats-server 2.9 drops them", waiting)
	}

	acks := make(chan []byte, 4)
	kiosk.Subscribe(wire.StationTopic("st-a", wire.LeafAck), 0, func(_ paho.Client, m paho.Message) { acks <- m.Payload() }).Wait()
	st := &memStore{fail: 2, ids: map[string]int{}}
	// One try per delivery: each failed commit goes back to JetStream.
	gw := ingest.New(st, cl, ingest.Options{StoreRetries: 1, Logger: slog.New(slog.DiscardHandler)})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { gw.Run(runCtx) })
	wg.Go(func() { cl.Run(runCtx, gw) })

	id, data := batch(t, "st-a")
	if tok := kiosk.Publish(wire.StationTopic("st-a", wire.LeafRecords), 1, false, data); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case payload := <-acks:
		ack, err := wire.DecodeAck(payload, "st-a")
		if err != nil {
			t.Fatal(err)
		}
		if len(ack.IDs) != 1 || ack.IDs[0] != id {
			t.Fatalf("ack names %v, want %s", ack.IDs, id)
		}
	case <-ctx.Done():
		t.Fatal("no ack on the kiosk's MQTT topic")
	}
	n, commits := st.stored(id)
	if n != 1 || commits != 3 {
		t.Fatalf("stored %d times in %d commits, want once after two failed commits, each delivered again", n, commits)
	}
	if n, _ := st.stored(early); n != 0 {
		t.Fatal("a batch from before the consumer was stored")
	}
	for {
		waiting, unacked, err := cl.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 0 && unacked == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d waiting, %d unacked in JetStream after the commit", waiting, unacked)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubject(t *testing.T) {
	if s, err := natsjs.Subject(wire.StationTopic("pe-001", wire.LeafAck)); err != nil || s != "leifeng.v1.stations.pe-001.ack" {
		t.Fatalf("subject %q, %v", s, err)
	}
	for _, bad := range []string{"leifeng/v1/stations/a.b/ack", "leifeng/v1/stations/+/ack", "leifeng/v1/#"} {
		if _, err := natsjs.Subject(bad); err == nil {
			t.Errorf("%q mapped to a subject", bad)
		}
	}
	if got := natsjs.Topic("leifeng.v1.stations.pe-001.state"); got != "leifeng/v1/stations/pe-001/state" {
		t.Fatalf("topic %q", got)
	}
}
