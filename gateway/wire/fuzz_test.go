package wire

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// The fuzz targets check that no input panics a decoder and that whatever a
// decoder accepts satisfies the invariants the receiver relies on.

func FuzzDecodeBatch(f *testing.F) {
	data, _ := EncodeBatch(testBatch(f, "s1", 2))
	f.Add(data)
	f.Add([]byte(`{"v":1,"station":"s1","sent":{"boot":"b"},"records":[{"id":"x"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, bad, err := DecodeBatch(data, "s1")
		if err != nil {
			return
		}
		if b.Station != "s1" || len(b.Records)+len(bad) == 0 || len(b.Records) > MaxBatchRecords {
			t.Fatalf("accepted an invalid batch: %+v", b)
		}
		seen := map[string]bool{}
		for i := range b.Records {
			r := &b.Records[i]
			if err := r.Validate(); err != nil || r.Station != "s1" || seen[r.ID] {
				t.Fatalf("accepted an invalid record: %+v (%v)", r, err)
			}
			seen[r.ID] = true
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	data, _ := EncodeAck(&Ack{Station: "s1", IDs: []string{"a", "b"}})
	f.Add(data)
	data, _ = EncodeAck(&Ack{Station: "s1", IDs: []string{"a"}, Hours: []CountedHours{{Volunteer: "V1", Hours: 1.5}}})
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAck(data, "s1")
		if err == nil && (a.Station != "s1" || len(a.IDs)+len(a.Rejected) > MaxAckIDs || len(a.Hours) > MaxAckIDs) {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	data, _ := EncodeState(&State{Station: "s1", Online: true})
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeState(data, "s1")
		if err == nil && s.Station != "s1" {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte(`{"v":1,"station":"s1","name":"reboot","nonce":"0123456789","expires":"2030-01-01T00:00:00Z"}`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data, "s1", now)
		if err == nil && (c.Station != "s1" || !now.Before(c.Expires) || c.Name == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzOpen(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	env, _ := Seal(priv, "k", []byte("payload"))
	f.Add(env)
	trusted := map[string]ed25519.PublicKey{"k": pub}
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, _, err := Open(data, trusted)
		if err == nil && string(payload) != "payload" {
			// Only the one sealed payload carries a valid signature.
			t.Fatalf("opened a forged envelope: %q", payload)
		}
	})
}

func FuzzParseStationTopic(f *testing.F) {
	f.Add("leifeng/v1/stations/s1/records")
	f.Fuzz(func(t *testing.T, topic string) {
		st, leaf, err := ParseStationTopic(topic)
		if err == nil && (StationTopic(st, leaf) != topic || !ValidStationID(st)) {
			t.Fatalf("%q -> %q %q", topic, st, leaf)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	def := DefaultConfig()
	def.Version = 3
	def.Station = "s1"
	data, err := EncodeConfig(def)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"v":1,"version":2,"stars":[300,100]}`))
	f.Add([]byte(`{"v":1,"version":1,"menu":[{"id":"a","name":"x"},{"id":"a","name":"y"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeConfig(data)
		if err != nil {
			return
		}
		// Whatever is accepted is valid, and survives a round trip: what
		// the kiosk stores in bbolt is what it applies after a restart.
		if err := ValidateConfig(c); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		again, err := EncodeConfig(c)
		if err != nil {
			t.Fatalf("accepted config does not encode: %v", err)
		}
		if _, err := DecodeConfig(again); err != nil {
			t.Fatalf("accepted config does not decode again: %v", err)
		}
	})
}
