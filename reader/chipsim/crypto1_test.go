package chipsim

import "testing"

// The mfkey64 example trace (proxmark3): UID 9c599b32, nt 82a4166c,
// {nr} a1e458ce, {ar} 6eea41e0, {at} 5cadf439 under key FFFFFFFFFFFF.
func TestCrypto1Trace(t *testing.T) {
	uid, nt := uint32(0x9c599b32), uint32(0x82a4166c)
	nrEnc, arEnc, atEnc := uint32(0xa1e458ce), uint32(0x6eea41e0), uint32(0x5cadf439)
	card := newCrypto1([6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	card.word(uid^nt, false)
	card.word(nrEnc, true)
	if ar := arEnc ^ card.word(0, false); ar != prngSuccessor(nt, 64) {
		t.Fatalf("ar %08x, want %08x", ar, prngSuccessor(nt, 64))
	}
	if at := atEnc ^ card.word(0, false); at != prngSuccessor(nt, 96) {
		t.Fatalf("at %08x, want %08x", at, prngSuccessor(nt, 96))
	}
}
