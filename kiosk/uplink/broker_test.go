package uplink

import (
	"crypto/ed25519"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"leifeng/gateway/wire"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// broker is a real in-process MQTT broker with a gateway stand-in (peer)
// attached through the broker's inline client.
type broker struct {
	srv  *mochi.Server
	once sync.Once
}

func startBroker(t testing.TB, addr string, p *peer) *broker {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &broker{srv: srv}
	if p != nil {
		p.attach(t, srv)
	}
	t.Cleanup(b.stop)
	return b
}

func (b *broker) stop() { b.once.Do(func() { b.srv.Close() }) }

// peer is the tiny gateway of these tests: it decodes every batch with
// wire, remembers what arrived, and acks (unless told not to).
type peer struct {
	station string

	mu      sync.Mutex
	arrived []wire.Record // every record of every batch, resends included
	batches []int         // records per batch
	// drop, if set, is asked before each ack; true withholds it.
	drop func(n int, b *wire.Batch) bool
	// reject names records to refuse instead of store.
	reject map[string]string
	// key, if set, seals every ack as the cloud does, under keyID; hours
	// are the counted hours it reports for each volunteer.
	key   ed25519.PrivateKey
	keyID string
	hours map[string]float64
}

func (p *peer) attach(t testing.TB, srv *mochi.Server) {
	err := srv.Subscribe(wire.StationTopic(p.station, wire.LeafRecords), 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		b, bad, err := wire.DecodeBatch(pk.Payload, p.station)
		if err != nil {
			t.Errorf("peer: bad batch: %v", err)
			return
		}
		if len(bad) > 0 {
			t.Errorf("peer: bad records: %v", bad)
		}
		p.mu.Lock()
		n := len(p.batches)
		p.arrived = append(p.arrived, b.Records...)
		p.batches = append(p.batches, len(b.Records))
		drop := p.drop != nil && p.drop(n, b)
		ack := &wire.Ack{Station: p.station, Server: time.Now()}
		for _, r := range b.Records {
			if h, ok := p.hours[r.Volunteer]; ok {
				ack.Hours = append(ack.Hours, wire.CountedHours{Volunteer: r.Volunteer, Hours: h, AsOf: ack.Server})
			}
			if reason, ok := p.reject[r.ID]; ok {
				ack.Rejected = append(ack.Rejected, wire.Rejection{ID: r.ID, Reason: reason})
			} else {
				ack.IDs = append(ack.IDs, r.ID)
			}
		}
		p.mu.Unlock()
		if drop {
			return
		}
		var data []byte
		if p.key != nil {
			data, err = wire.SealAck(p.key, p.keyID, ack)
		} else {
			data, err = wire.EncodeAck(ack)
		}
		if err != nil {
			t.Errorf("peer: %v", err)
			return
		}
		if err := srv.Publish(wire.StationTopic(p.station, wire.LeafAck), data, false, 1); err != nil {
			t.Errorf("peer: ack: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// firstArrivals returns record IDs in the order they first arrived.
func (p *peer) firstArrivals() []wire.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []wire.Record
	for _, r := range p.arrived {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

func (p *peer) stats() (records, batches int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arrived), len(p.batches)
}

func (p *peer) maxBatch() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Max(p.batches)
}

type (
	mochiClient = mochi.Client
	mochiSub    = packets.Subscription
	mochiPacket = packets.Packet
)
