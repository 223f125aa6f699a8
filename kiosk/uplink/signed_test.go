package uplink

import (
	"crypto/ed25519"
	"testing"
	"time"

	"leifeng/gateway/ingest/ingesttest"
	"leifeng/gateway/wire"
)

// A compromised broker publishes acks on the station's ack topic: unsigned,
// signed with a key of its own under the cloud's key ID, and a genuine
// sealed ack meant for another station. None deletes anything; the real,
// sealed ack still drains the outbox, and the hours it carries are kept.
func TestForgedAckIgnored(t *testing.T) {
	cloudPub, cloudKey, _ := ed25519.GenerateKey(nil)
	_, attackerKey, _ := ed25519.GenerateKey(nil)
	addr := ingesttest.FreeAddr(t)
	hold := make(chan struct{})
	p := &ingesttest.Peer{Station: station, Key: cloudKey, KeyID: "cloud-1", Hours: map[string]float64{"V000000": 42.5},
		Drop: func(int, *wire.Batch) bool {
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
	start(t, st, addr, Config{AckTimeout: 300 * time.Millisecond,
		AckKeys: map[string]ed25519.PublicKey{"cloud-1": cloudPub}})
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := p.Stats(); n == 0; n, _ = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatal("nothing arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	forged := &wire.Ack{Station: station, IDs: ids, Server: time.Now(),
		Hours: []wire.CountedHours{{Volunteer: "V000000", Hours: 9999, AsOf: time.Now().Add(time.Hour)}}}
	unsigned, _ := wire.EncodeAck(forged)
	attacker, _ := wire.SealAck(attackerKey, "cloud-1", forged)
	wrongStation, _ := wire.SealAck(cloudKey, "cloud-1", &wire.Ack{Station: "pe-other-002", IDs: ids})
	topic := wire.StationTopic(station, wire.LeafAck)
	for _, payload := range [][]byte{unsigned, attacker, wrongStation} {
		if err := b.Publish(topic, payload, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	// The kiosk has had them for a while (it resends every 300 ms, so it
	// is running); nothing left the outbox.
	time.Sleep(time.Second)
	if st.Depth() != 10 {
		t.Fatalf("forged acks deleted %d records", 10-st.Depth())
	}
	if _, _, ok := st.Hours("V000000"); ok {
		t.Fatal("hours from a forged ack kept")
	}
	close(hold)
	drained(t, st, 10*time.Second)
	inOrder(t, p, ids)
	h, asOf, ok := st.Hours("V000000")
	if !ok || h != 42.5 || asOf.IsZero() {
		t.Fatalf("hours from the real ack: %v %v %v, want 42.5", h, asOf, ok)
	}
}

// A kiosk that trusts the cloud's key does not obey a plain ack even from
// a peer that means well: acks are sealed or nothing.
func TestUnsignedAckNotObeyedWithKeys(t *testing.T) {
	cloudPub, _, _ := ed25519.GenerateKey(nil)
	addr := ingesttest.FreeAddr(t)
	p := &ingesttest.Peer{Station: station} // plain acks
	ingesttest.Start(t, addr, p)
	st := openStore(t)
	fill(t, st, 3)
	start(t, st, addr, Config{AckTimeout: 200 * time.Millisecond,
		AckKeys: map[string]ed25519.PublicKey{"cloud-1": cloudPub}})
	deadline := time.Now().Add(5 * time.Second)
	for _, batches := p.Stats(); batches < 3; _, batches = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatal("the kiosk did not resend")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Depth() != 3 {
		t.Fatalf("plain acks deleted %d records", 3-st.Depth())
	}
}
