// Package ingesttest stands in for the cloud's side of the record path in
// tests of the kiosk's side: a real MQTT broker (mochi, in process, on a
// loopback port) and a Peer that decodes every batch with package wire,
// remembers what arrived and acks it as the gateway does, signed with a
// given key when the kiosk checks acks. A Peer can hold its acks, drop
// some, refuse records and report counted hours, which is what kiosk tests
// need and the real gateway (tested in package ingest) cannot be told to do.
package ingesttest

import (
	"crypto/ed25519"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"leifeng/gateway/wire"
)

// FreeAddr returns a loopback address with a port nobody listens on, for a
// broker that must come back on the same address after a restart.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Broker is a running in-process MQTT broker that lets every client in.
type Broker struct {
	srv  *mochi.Server
	addr string
	once sync.Once
	subs atomic.Int32
}

// Start starts a broker on addr ("" for a free loopback port) with peers
// attached through its inline client. It is stopped when the test ends,
// or earlier by Stop; a test restarts it by calling Start again on the
// same address with the same peers.
func Start(t testing.TB, addr string, peers ...*Peer) *Broker {
	t.Helper()
	ln, err := net.Listen("tcp", addrOr(addr))
	if err != nil {
		t.Fatal(err)
	}
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &Broker{srv: srv, addr: ln.Addr().String()}
	t.Cleanup(b.Stop)
	for _, p := range peers {
		p.attach(t, b)
	}
	return b
}

func addrOr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// URL is the broker's address as a kiosk's --mqtt flag takes it.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Stop closes the broker and every connection to it. Later calls do
// nothing.
func (b *Broker) Stop() { b.once.Do(func() { b.srv.Close() }) }

// Publish publishes payload on topic from inside the broker, as an attacker
// holding the broker, or the cloud pushing a retained config, would.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	return b.srv.Publish(topic, payload, retain, qos)
}

// Subscribe calls fn with the topic and payload of every message matching
// filter, retained ones included. fn runs on the broker's goroutine and
// must not block.
func (b *Broker) Subscribe(filter string, fn func(topic string, payload []byte)) error {
	// mochi keys inline subscriptions by filter and ID: each gets its own.
	id := int(b.subs.Add(1))
	return b.srv.Subscribe(filter, id, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload)
	})
}

// Peer plays the cloud's gateway for one station: it takes every batch
// the station publishes and acks each record in it. Set its fields before
// Start; change behaviour later only through its methods.
type Peer struct {
	// Station is the station whose records it takes.
	Station string
	// Key, if set, seals every ack as the cloud does, under KeyID; without
	// it acks are unsigned.
	Key   ed25519.PrivateKey
	KeyID string
	// Hours are the counted hours the ack reports for each volunteer.
	Hours map[string]float64
	// Drop, if set, is asked before each ack with the batch's index (from
	// 0) and the batch; true withholds that ack, as if it was lost.
	Drop func(n int, b *wire.Batch) bool

	mu      sync.Mutex
	arrived []wire.Record // every record of every batch, resends included
	batches []int         // records per batch
	reject  map[string]string
	hold    bool
}

// Reject makes the peer refuse record id with reason instead of storing it.
func (p *Peer) Reject(id, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reject == nil {
		p.reject = map[string]string{}
	}
	p.reject[id] = reason
}

// Hold withholds every ack (records are still taken and remembered) until
// Hold(false): a gateway that stores nothing.
func (p *Peer) Hold(hold bool) {
	p.mu.Lock()
	p.hold = hold
	p.mu.Unlock()
}

func (p *Peer) attach(t testing.TB, b *Broker) {
	t.Helper()
	err := b.Subscribe(wire.StationTopic(p.Station, wire.LeafRecords), func(_ string, payload []byte) {
		batch, bad, err := wire.DecodeBatch(payload, p.Station)
		if err != nil {
			t.Errorf("ingesttest: bad batch: %v", err)
			return
		}
		if len(bad) > 0 {
			t.Errorf("ingesttest: bad records: %v", bad)
		}
		p.mu.Lock()
		n := len(p.batches)
		p.arrived = append(p.arrived, batch.Records...)
		p.batches = append(p.batches, len(batch.Records))
		drop := p.hold || p.Drop != nil && p.Drop(n, batch)
		ack := &wire.Ack{Station: p.Station, Server: time.Now()}
		for _, r := range batch.Records {
			if h, ok := p.Hours[r.Volunteer]; ok {
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
		if p.Key != nil {
			data, err = wire.SealAck(p.Key, p.KeyID, ack)
		} else {
			data, err = wire.EncodeAck(ack)
		}
		if err != nil {
			t.Errorf("ingesttest: %v", err)
			return
		}
		if err := b.Publish(wire.StationTopic(p.Station, wire.LeafAck), data, false, 1); err != nil {
			t.Errorf("ingesttest: ack: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FirstArrivals returns the records in the order they first arrived, each
// once.
func (p *Peer) FirstArrivals() []wire.Record {
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

// Received counts how often each record ID arrived (more than once when
// the kiosk resent it).
func (p *Peer) Received() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]int, len(p.arrived))
	for _, r := range p.arrived {
		m[r.ID]++
	}
	return m
}

// Stats returns the records (resends included) and batches that arrived.
func (p *Peer) Stats() (records, batches int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arrived), len(p.batches)
}

// MaxBatch is the largest batch that arrived, 0 if none did.
func (p *Peer) MaxBatch() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.batches) == 0 {
		return 0
	}
	return slices.Max(p.batches)
}
