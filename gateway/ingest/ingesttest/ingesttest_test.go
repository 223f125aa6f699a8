package ingesttest_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"leifeng/gateway/ingest/ingesttest"
	"leifeng/gateway/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const station = "pe-simao-001"

func batch(t *testing.T, n int) ([]byte, []string) {
	t.Helper()
	now := time.Now().UTC()
	b := &wire.Batch{Station: station, Sent: wire.Clock{At: now, Boot: "b1", Synced: true}}
	var ids []string
	for i := range n {
		id, _ := wire.NewRecordID()
		ids = append(ids, id)
		b.Records = append(b.Records, wire.Record{ID: id, Station: station, Kind: wire.KindCheckIn,
			Volunteer: "V1", At: now, Boot: "b1", ClockSynced: true, Seq: uint64(i + 1)})
	}
	data, err := wire.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return data, ids
}

// The peer acks what a kiosk publishes, sealed with the key it was given
// (a kiosk that trusts that key opens it), refuses what it is told to, and
// holds its acks on demand while still counting what arrived.
func TestPeerAcksSigned(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	p := &ingesttest.Peer{Station: station, Key: key, KeyID: "cloud-1", Hours: map[string]float64{"V1": 2.5}}
	b := ingesttest.Start(t, "", p)

	acks := make(chan []byte, 4)
	kiosk := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID(station))
	if tok := kiosk.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer kiosk.Disconnect(50)
	if tok := kiosk.Subscribe(wire.StationTopic(station, wire.LeafAck), 1, func(_ paho.Client, m paho.Message) { acks <- m.Payload() }); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	publish := func(data []byte) {
		t.Helper()
		if tok := kiosk.Publish(wire.StationTopic(station, wire.LeafRecords), 1, false, data); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	trusted := map[string]ed25519.PublicKey{"cloud-1": key.Public().(ed25519.PublicKey)}

	data, ids := batch(t, 3)
	p.Reject(ids[2], "card revoked")
	publish(data)
	var ack *wire.Ack
	select {
	case payload := <-acks:
		var err error
		if ack, err = wire.OpenAck(payload, station, trusted); err != nil {
			t.Fatalf("the kiosk cannot open the ack: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ack")
	}
	if len(ack.IDs) != 2 || ack.IDs[0] != ids[0] || len(ack.Rejected) != 1 || ack.Rejected[0].ID != ids[2] ||
		len(ack.Hours) == 0 || ack.Hours[0].Hours != 2.5 {
		t.Fatalf("ack %+v", ack)
	}

	p.Hold(true)
	data, _ = batch(t, 2)
	publish(data)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n, batches := p.Stats(); n == 5 && batches == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second batch did not arrive")
		}
	}
	select {
	case <-acks:
		t.Fatal("an ack while held")
	case <-time.After(100 * time.Millisecond):
	}
	if got := p.FirstArrivals(); len(got) != 5 || got[0].ID != ids[0] || p.MaxBatch() != 3 {
		t.Fatalf("arrivals %d, max batch %d", len(got), p.MaxBatch())
	}
}
