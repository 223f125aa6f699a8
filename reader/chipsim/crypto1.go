package chipsim

import "math/bits"

// crypto1 is the MIFARE Classic stream cipher: a 48-bit LFSR whose state
// is kept as its odd and even bits, with a non-linear filter over 20 of
// them (Garcia et al., "Dismantling MIFARE Classic", 2008). Both the
// simulated MFRC522 and the simulated card run it, so what crosses the
// simulated air after authentication is the real ciphertext.
type crypto1 struct {
	odd, even uint32
}

const (
	lfPolyOdd  = 0x29CE5C
	lfPolyEven = 0x870804
)

func newCrypto1(key [6]byte) *crypto1 {
	k := uint64(key[0])<<40 | uint64(key[1])<<32 | uint64(key[2])<<24 | uint64(key[3])<<16 | uint64(key[4])<<8 | uint64(key[5])
	s := &crypto1{}
	for i := 47; i > 0; i -= 2 {
		s.odd = s.odd<<1 | uint32(k>>((i-1)^7)&1)
		s.even = s.even<<1 | uint32(k>>(i^7)&1)
	}
	return s
}

func filter(x uint32) uint32 {
	f := uint32(0xf22c0) >> (x & 0xf) & 16
	f |= uint32(0x6c9c0) >> (x >> 4 & 0xf) & 8
	f |= uint32(0x3c8b0) >> (x >> 8 & 0xf) & 4
	f |= uint32(0x1e458) >> (x >> 12 & 0xf) & 2
	f |= uint32(0x0d938) >> (x >> 16 & 0xf) & 1
	return uint32(0xEC57E80A) >> f & 1
}

// bit returns the next keystream bit and clocks the LFSR, feeding in in;
// with encrypted, in is ciphertext and the plaintext bit is fed instead.
func (s *crypto1) bit(in uint32, encrypted bool) uint32 {
	ks := filter(s.odd)
	feed := in & 1
	if encrypted {
		feed ^= ks
	}
	feed ^= uint32(bits.OnesCount32(s.odd&lfPolyOdd)+bits.OnesCount32(s.even&lfPolyEven)) & 1
	s.even = s.even<<1 | uint32(bits.OnesCount32(feed))&1
	s.odd, s.even = s.even, s.odd
	return ks
}

// word runs 32 clocks over in (bytes big endian, bits LSB first) and
// returns the keystream in the same order.
func (s *crypto1) word(in uint32, encrypted bool) uint32 {
	var ks uint32
	for i := 0; i < 32; i++ {
		ks |= s.bit(in>>(i^24), encrypted) << (i ^ 24)
	}
	return ks
}

// crypt encrypts or decrypts a frame of plaintext-fed bytes in place; the
// last byte has lastBits bits (0 meaning 8). Parity bits are not modelled:
// their keystream bit is read without clocking, so skipping them keeps the
// cipher in step.
func (s *crypto1) crypt(b []byte, lastBits int, encrypted bool) {
	for i := range b {
		n := 8
		if i == len(b)-1 && lastBits != 0 {
			n = lastBits
		}
		for j := 0; j < n; j++ {
			in := uint32(b[i] >> j & 1)
			ks := s.bit(in, encrypted)
			b[i] ^= byte(ks) << j
		}
	}
}

// prngSuccessor steps the card's 16-bit nonce LFSR n times.
func prngSuccessor(x uint32, n int) uint32 {
	x = bits.ReverseBytes32(x)
	for ; n > 0; n-- {
		x = x>>1 | (x>>16^x>>18^x>>19^x>>21)<<31
	}
	return bits.ReverseBytes32(x)
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func put32(x uint32) []byte { return []byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)} }
