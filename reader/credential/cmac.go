package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// CMAC computes AES-CMAC (NIST SP 800-38B, RFC 4493) of msg under a 16-,
// 24- or 32-byte AES key.
func CMAC(key, msg []byte) ([]byte, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential: cmac: %w", err)
	}
	return cmacBlock(c, msg), nil
}

func cmacBlock(c cipher.Block, msg []byte) []byte {
	var l [16]byte
	c.Encrypt(l[:], l[:])
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(msg) + 15) / 16
	complete := n > 0 && len(msg)%16 == 0
	if n == 0 {
		n = 1
	}
	var last [16]byte
	tail := msg[(n-1)*16:]
	if complete {
		subtle.XORBytes(last[:], tail, k1[:])
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	var x [16]byte
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[i*16:(i+1)*16])
		c.Encrypt(x[:], x[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	c.Encrypt(x[:], x[:])
	return x[:]
}

// dbl multiplies by x in GF(2^128), the subkey step of CMAC.
func dbl(b [16]byte) [16]byte {
	var o [16]byte
	carry := b[0] >> 7
	for i := 0; i < 15; i++ {
		o[i] = b[i]<<1 | b[i+1]>>7
	}
	o[15] = b[15] << 1
	if carry != 0 {
		o[15] ^= 0x87
	}
	return o
}

// DiversifyKey derives a card key from a master key per NXP AN10922
// (AES-128): CMAC(master, 0x01 || uid || aid || system). The kiosk fleet
// holds master keys only; every card carries its own key.
func DiversifyKey(master, uid, aid, system []byte) ([]byte, error) {
	m := append([]byte{0x01}, uid...)
	m = append(m, aid...)
	m = append(m, system...)
	if len(m) > 32 {
		return nil, fmt.Errorf("credential: diversification input is %d bytes, at most 31 allowed", len(m)-1)
	}
	return CMAC(master, m)
}
