package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"leifeng/gateway/wire"
)

// A fixed key keeps the examples' output the same on every run; a real
// cloud generates its key once (leifeng-cloud keygen) and keeps it offline
// or in its data directory.
var cloudKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// The cloud signs a document once; every kiosk that trusts the key checks
// it before it reads a byte of it. A broker in between can replay the
// envelope but not change it.
func ExampleSeal() {
	env, err := wire.Seal(cloudKey, "cloud-1", []byte(`{"hello":"kiosk"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	trusted := map[string]ed25519.PublicKey{"cloud-1": cloudKey.Public().(ed25519.PublicKey)}
	payload, keyID, err := wire.Open(env, trusted)
	fmt.Println(string(payload), keyID, err)
	// Output: {"hello":"kiosk"} cloud-1 <nil>
}

// Open refuses an envelope signed by a key it does not trust, and one
// whose payload was altered on the way.
func ExampleOpen() {
	trusted := map[string]ed25519.PublicKey{"cloud-1": cloudKey.Public().(ed25519.PublicKey)}

	attacker := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, ed25519.SeedSize))
	forged, _ := wire.Seal(attacker, "cloud-1", []byte(`{"delete":"everything"}`))
	_, _, err := wire.Open(forged, trusted)
	fmt.Println(errors.Is(err, wire.ErrSignature))

	env, _ := wire.Seal(cloudKey, "cloud-1", []byte(`{"version":1}`))
	altered := bytes.Replace(env, []byte("eyJ2ZXJzaW9uIjoxfQ"), []byte("eyJ2ZXJzaW9uIjoyfQ"), 1) // base64 of the payload
	_, _, err = wire.Open(altered, trusted)
	fmt.Println(errors.Is(err, wire.ErrSignature))
	// Output:
	// true
	// true
}

// The gateway decodes a batch from a station's records topic: a record
// that is wrong is refused on its own (and named in the ack), the rest of
// the batch is stored.
func ExampleDecodeBatch() {
	boot := wire.Clock{At: time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC), Boot: "boot-1", Synced: true}
	rec := func(id, volunteer string, seq uint64) wire.Record {
		return wire.Record{
			ID: id, Station: "pe-simao-001", Kind: wire.KindCheckIn, Volunteer: volunteer,
			At: boot.At, Boot: boot.Boot, ClockSynced: true, Seq: seq,
		}
	}
	data, err := wire.EncodeBatch(&wire.Batch{Station: "pe-simao-001", Sent: boot, Records: []wire.Record{
		rec("0195f3a0-0000-7000-8000-000000000001", "V0001", 1),
		rec("0195f3a0-0000-7000-8000-000000000002", "", 2), // a check-in needs a volunteer
	}})
	fmt.Println("encode:", err)

	// A batch published on another station's topic is refused whole.
	_, _, err = wire.DecodeBatch(data, "pe-other-002")
	fmt.Println("other topic:", errors.Is(err, wire.ErrStationMismatch))

	b, bad, err := wire.DecodeBatch(data, "pe-simao-001")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range b.Records {
		fmt.Println("store", r.ID, r.Volunteer)
	}
	for _, r := range bad {
		fmt.Println("refuse", r.ID)
	}
	// Output:
	// encode: <nil>
	// other topic: true
	// store 0195f3a0-0000-7000-8000-000000000001 V0001
	// refuse 0195f3a0-0000-7000-8000-000000000002
}

// A gateway that holds the cloud's key seals its acks; a kiosk that trusts
// the key deletes from its outbox only what a sealed ack names.
func ExampleOpenAck() {
	sealed, err := wire.SealAck(cloudKey, "cloud-1", &wire.Ack{
		Station: "pe-simao-001",
		IDs:     []string{"0195f3a0-0000-7000-8000-000000000001"},
		Server:  time.Date(2026, 3, 5, 9, 0, 1, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	trusted := map[string]ed25519.PublicKey{"cloud-1": cloudKey.Public().(ed25519.PublicKey)}
	ack, err := wire.OpenAck(sealed, "pe-simao-001", trusted)
	fmt.Println(ack.IDs, err)

	unsigned, _ := wire.EncodeAck(&wire.Ack{Station: "pe-simao-001", IDs: ack.IDs})
	_, err = wire.OpenAck(unsigned, "pe-simao-001", trusted)
	fmt.Println("unsigned refused:", err != nil)
	// Output:
	// [0195f3a0-0000-7000-8000-000000000001] <nil>
	// unsigned refused: true
}
