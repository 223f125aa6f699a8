package credential

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// NXP AN12196, the encrypted PICC data example with zero keys.
func TestSUNAN12196(t *testing.T) {
	keys := SUNKeys{MetaRead: make([]byte, 16), FileRead: make([]byte, 16)}
	payload := []byte("e=EF963FF7828658A599F3041510671E88&c=94EED9EE65337086")
	s, err := VerifySUN(keys, payload)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%X", s.UID) != "04DE5F1EACC040" || s.Counter != 0x3D {
		t.Fatalf("%X %d", s.UID, s.Counter)
	}
	mac, _ := SDMMAC(keys.FileRead, s.UID, s.Counter, nil)
	if fmt.Sprintf("%X", mac) != "94EED9EE65337086" {
		t.Fatalf("mac %X", mac)
	}
	enc, _ := EncryptPICCData(keys.MetaRead, s.UID, s.Counter, [5]byte{0xDA, 0x5C, 0xF6, 0x09, 0x41})
	if fmt.Sprintf("%X", enc) != "EF963FF7828658A599F3041510671E88" {
		t.Fatalf("picc %X", enc)
	}
	bad := bytes.Clone(payload)
	bad[40] = 'F'
	if _, err := VerifySUN(keys, bad); !errors.Is(err, ErrForged) {
		t.Fatalf("bad MAC: %v", err)
	}
	if _, err := VerifySUN(keys, payload[:20]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short: %v", err)
	}
}

func TestCardSUNKeysDiffer(t *testing.T) {
	m := SUNKeys{MetaRead: bytes.Repeat([]byte{1}, 16), FileRead: bytes.Repeat([]byte{2}, 16)}
	a, _ := CardSUNKeys(m, []byte{4, 1, 1, 1, 1, 1, 1})
	b, _ := CardSUNKeys(m, []byte{4, 1, 1, 1, 1, 1, 2})
	if bytes.Equal(a.MetaRead, b.MetaRead) || bytes.Equal(a.FileRead, b.FileRead) || bytes.Equal(a.MetaRead, a.FileRead) {
		t.Fatal("diversified keys collide")
	}
}
