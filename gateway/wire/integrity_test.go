package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// A NUL or another control character in any string of a record is refused
// at validation, so it never reaches a database that would refuse the whole
// batch (PostgreSQL refuses NUL in text).
func TestValidateRefusesControlCharacters(t *testing.T) {
	set := map[string]func(r *Record, v string){
		"volunteer": func(r *Record, v string) { r.Volunteer = v },
		"card":      func(r *Record, v string) { r.Card = v },
		"service":   func(r *Record, v string) { r.Service = v },
		"ref":       func(r *Record, v string) { r.Ref = v },
		"boot":      func(r *Record, v string) { r.Boot = v },
		"phone":     func(r *Record, v string) { r.Phone = v },
		"note":      func(r *Record, v string) { r.Note = v },
		"sun":       func(r *Record, v string) { r.SUN = v },
	}
	for field, f := range set {
		for _, bad := range []string{"V\x00001", "a\x1bb", "x\x7f", "x\u0085", "张\u202e三", "a\u2066b", "a\rb"} {
			r := testRecord(t, "s1", KindCheckIn)
			f(&r, bad)
			if err := r.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), field) {
				t.Errorf("%s=%q: %v, want ErrInvalid naming the field", field, bad, err)
			}
		}
	}
	// A NUL in ref is refused on every kind, with the same reason code the
	// other fields' control characters get, and alone in its batch.
	for _, k := range []Kind{KindCheckIn, KindServiceRequest, KindCheckOut, KindAutoCheckOut} {
		r := testRecord(t, "s1", k)
		r.Ref += "\x00"
		if err := r.Validate(); Reason(err) != "invalid" {
			t.Errorf("%s with a NUL in ref: %v (reason %q), want reason invalid", k, err, Reason(err))
		}
	}
	rb := testBatch(t, "s1", 2)
	rb.Records[0].Ref = "x\x00"
	rraw, _ := encodeUnchecked(rb)
	if got, bad, err := DecodeBatch(rraw, "s1"); err != nil || len(got.Records) != 1 || len(bad) != 1 ||
		bad[0].ID != rb.Records[0].ID || !strings.Contains(bad[0].Reason, "field ref") {
		t.Errorf("DecodeBatch with a NUL ref = %+v, %+v, %v; want it refused alone, naming ref", got, bad, err)
	}
	// A resident's note may run over lines; names and menus may be any
	// ordinary Chinese.
	r := testRecord(t, "s1", KindServiceRequest)
	r.Note, r.Service, r.Volunteer = "独居老人\n住3栋2单元\t下午在家", "关爱空巢老人", "王小明"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	// The poison record is refused alone; the rest of its batch goes on.
	b := testBatch(t, "s1", 3)
	b.Records[1].Volunteer = "V\x00"
	raw, _ := encodeUnchecked(b)
	got, bad, err := DecodeBatch(raw, "s1")
	if err != nil || len(got.Records) != 2 || len(bad) != 1 || bad[0].ID != b.Records[1].ID {
		t.Fatalf("DecodeBatch = %+v, %+v, %v; want 2 good and the NUL one refused", got, bad, err)
	}
}

// encodeUnchecked marshals a batch as a vandal would, without EncodeBatch's
// checks.
func encodeUnchecked(b *Batch) ([]byte, error) {
	b.V = Version
	return json.Marshal(b)
}

func TestSealedAck(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	trusted := map[string]ed25519.PublicKey{"cloud-1": pub}
	asOf := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	a := &Ack{Station: "s1", IDs: []string{"x"}, Server: asOf,
		Hours: []CountedHours{{Volunteer: "V1", Hours: 12.5, AsOf: asOf}}}
	data, err := SealAck(priv, "cloud-1", a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenAck(data, "s1", trusted)
	if err != nil || len(got.IDs) != 1 || len(got.Hours) != 1 || got.Hours[0].Hours != 12.5 || !got.Hours[0].AsOf.Equal(asOf) {
		t.Fatalf("OpenAck = %+v, %v", got, err)
	}
	if _, err := OpenAck(data, "s2", trusted); !errors.Is(err, ErrStationMismatch) {
		t.Errorf("sealed ack for s1 opened for s2: %v", err)
	}
	plain, _ := EncodeAck(a)
	forged, _ := SealAck(other, "cloud-1", a)
	for name, d := range map[string][]byte{"unsigned": plain, "forged": forged} {
		if _, err := OpenAck(d, "s1", trusted); !errors.Is(err, ErrSignature) {
			t.Errorf("%s ack: %v, want ErrSignature", name, err)
		}
	}
}
