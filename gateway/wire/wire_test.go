package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func testRecord(t testing.TB, station string, kind Kind) Record {
	t.Helper()
	id, err := NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	r := Record{ID: id, Station: station, Kind: kind, Volunteer: "V0001", Card: "C1",
		At: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), Mono: 5e9, Boot: "b1", ClockSynced: true, Seq: 1}
	if kind.Closes() {
		r.Ref, _ = NewRecordID()
	}
	return r
}

func testBatch(t testing.TB, station string, n int) *Batch {
	b := &Batch{Station: station, Sent: Clock{At: time.Now(), Mono: 6e9, Boot: "b1", Synced: true}}
	for i := 0; i < n; i++ {
		b.Records = append(b.Records, testRecord(t, station, KindCheckIn))
	}
	return b
}

func TestTopics(t *testing.T) {
	topic := StationTopic("pe-simao-001", LeafRecords)
	if topic != "leifeng/v1/stations/pe-simao-001/records" {
		t.Fatal(topic)
	}
	st, leaf, err := ParseStationTopic(topic)
	if err != nil || st != "pe-simao-001" || leaf != LeafRecords {
		t.Fatal(st, leaf, err)
	}
	for _, bad := range []string{
		"leifeng/v1/stations/Bad/records", "leifeng/v1/stations/a/b/c", "leifeng/v2/stations/a/records",
		"leifeng/v1/stations/a", "leifeng/v1/stations/-a/records", "leifeng/v1/stations/a+/records",
	} {
		if _, _, err := ParseStationTopic(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if ValidStationID(strings.Repeat("a", 65)) || !ValidStationID(strings.Repeat("a", 64)) {
		t.Error("station ID length limit")
	}
}

func TestBatchRoundTrip(t *testing.T) {
	b := testBatch(t, "s1", 3)
	data, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	got, bad, err := DecodeBatch(data, "s1")
	if err != nil || len(bad) != 0 || len(got.Records) != 3 || got.Records[2].ID != b.Records[2].ID {
		t.Fatal(got, bad, err)
	}
}

func TestBatchRejections(t *testing.T) {
	ok := testBatch(t, "s1", 2)
	okData, _ := EncodeBatch(ok)
	big := testBatch(t, "s1", 1)
	big.Records = make([]Record, MaxBatchRecords+1)
	big.V = Version
	bigData, _ := json.Marshal(big)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"garbage", []byte("\x00\x01garbage"), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"trailing", append(append([]byte{}, okData...), []byte(`{"v":1}`)...), ErrMalformed},
		{"no version", []byte(`{"station":"s1"}`), ErrVersion},
		{"future version", []byte(strings.Replace(string(okData), `"v":1`, `"v":2`, 1)), ErrVersion},
		{"other station", []byte(strings.Replace(string(okData), `"station":"s1"`, `"station":"s2"`, 1)), ErrStationMismatch},
		{"oversized bytes", make([]byte, MaxMessageBytes+1), ErrTooLarge},
		{"too many records", bigData, ErrTooLarge},
		{"no records", []byte(`{"v":1,"station":"s1","sent":{"boot":"b"},"records":[]}`), ErrInvalid},
		{"no clock", []byte(`{"v":1,"station":"s1","records":[{}]}`), ErrInvalid},
	}
	for _, c := range cases {
		_, _, err := DecodeBatch(c.data, "s1")
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestBatchBadRecords(t *testing.T) {
	b := testBatch(t, "s1", 6)
	b.Records[1].Kind = "dance"
	b.Records[2].Station = "s2"
	b.Records[3].ID = b.Records[0].ID
	b.Records[4].Kind = KindCheckOut // no ref
	b.V = Version
	data, _ := json.Marshal(b)
	got, bad, err := DecodeBatch(data, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 2 || got.Records[0].ID != b.Records[0].ID || got.Records[1].ID != b.Records[5].ID {
		t.Fatalf("kept %v", got.Records)
	}
	// The repeated ID is not rejected: its first copy is stored.
	if len(bad) != 3 {
		t.Fatalf("rejected %v", bad)
	}
}

func TestRecordValidate(t *testing.T) {
	r := testRecord(t, "s1", KindCheckOut)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Record){
		"uuid v4":      func(r *Record) { r.ID = "3b241101-e2bb-4255-8caf-4136c566a962" },
		"upper id":     func(r *Record) { r.ID = strings.ToUpper(r.ID) },
		"no volunteer": func(r *Record) { r.Volunteer = "" },
		"no ref":       func(r *Record) { r.Ref = "" },
		"no time":      func(r *Record) { r.At = time.Time{} },
		"no boot":      func(r *Record) { r.Boot = "" },
		"long note":    func(r *Record) { r.Note = strings.Repeat("x", 300) },
		"bad utf8":     func(r *Record) { r.Card = "\xff" },
	} {
		c := r
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	sr := testRecord(t, "s1", KindServiceRequest)
	sr.Volunteer = ""
	if err := sr.Validate(); err != nil {
		t.Errorf("a service request needs no volunteer: %v", err)
	}
}

func TestAckStateCommand(t *testing.T) {
	data, _ := EncodeAck(&Ack{Station: "s1", IDs: []string{"a"}, Server: time.Now()})
	if a, err := DecodeAck(data, "s1"); err != nil || a.IDs[0] != "a" {
		t.Fatal(a, err)
	}
	if _, err := DecodeAck(data, "s2"); !errors.Is(err, ErrStationMismatch) {
		t.Fatal(err)
	}
	data, _ = EncodeState(&State{Station: "s1", Online: true, Outbox: 3})
	if s, err := DecodeState(data, "s1"); err != nil || s.Outbox != 3 {
		t.Fatal(s, err)
	}
	now := time.Now()
	cmd, _ := json.Marshal(Command{V: 1, Station: "s1", Name: "reboot", Nonce: "0123456789", Expires: now.Add(time.Minute)})
	if _, err := DecodeCommand(cmd, "s1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeCommand(cmd, "s1", now.Add(2*time.Minute)); !errors.Is(err, ErrInvalid) {
		t.Fatal("expired command accepted")
	}
	if _, err := DecodeCommand(cmd, "s2", now); !errors.Is(err, ErrStationMismatch) {
		t.Fatal("command for another station accepted")
	}
}

func TestEnvelope(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, otherPriv, _ := ed25519.GenerateKey(nil)
	trusted := map[string]ed25519.PublicKey{"cfg-1": pub}
	payload := []byte(`{"version":7,  "name":"站"}`)
	env, err := Seal(priv, "cfg-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	got, key, err := Open(env, trusted)
	if err != nil || string(got) != string(payload) || key != "cfg-1" {
		t.Fatal(string(got), key, err)
	}
	forged, _ := Seal(otherPriv, "cfg-1", payload)
	if _, _, err := Open(forged, trusted); !errors.Is(err, ErrSignature) {
		t.Error("forged envelope opened")
	}
	untrusted, _ := Seal(otherPriv, "cfg-2", payload)
	if _, _, err := Open(untrusted, map[string]ed25519.PublicKey{"cfg-1": pub, "cfg-x": otherPub}); !errors.Is(err, ErrSignature) {
		t.Error("envelope by an untrusted key opened")
	}
	var e Envelope
	_ = json.Unmarshal(env, &e)
	e.Payload[len(e.Payload)-2] ^= 1
	tampered, _ := json.Marshal(e)
	if _, _, err := Open(tampered, trusted); !errors.Is(err, ErrSignature) {
		t.Error("tampered envelope opened")
	}
	if _, _, err := Open(env[:len(env)/2], trusted); !errors.Is(err, ErrMalformed) {
		t.Error("truncated envelope opened")
	}
}

func TestReason(t *testing.T) {
	_, _, err := DecodeBatch([]byte("x"), "s1")
	if Reason(err) != "malformed" || Reason(nil) != "" || Reason(errors.New("x")) != "other" {
		t.Fatal(Reason(err))
	}
}

// TestExpiredReasonInChinaTime: the reason of a refused command names its
// expiry as a person at the station reads a clock (+08:00), not in the
// zone of the machine that refused it.
func TestExpiredReasonInChinaTime(t *testing.T) {
	expires := time.Date(2026, 3, 1, 1, 30, 0, 0, time.UTC)
	cmd, _ := json.Marshal(Command{V: 1, Station: "s1", Name: "reboot", Nonce: "0123456789", Expires: expires})
	_, err := DecodeCommand(cmd, "s1", expires.Add(time.Minute).In(time.FixedZone("PST", -8*3600)))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired command: %v", err)
	}
	if !strings.Contains(err.Error(), "expired at 2026-03-01T09:30:00+08:00") {
		t.Fatalf("reason %q does not name the expiry in China Standard Time", err)
	}
}
