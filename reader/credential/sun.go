package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// SUNMIMEType is the NDEF record type into which NTAG 424 DNA mirrors its
// SUN message.
const SUNMIMEType = "application/vnd.leifeng.sun"

// sunPlaceholder is the SUN record payload as written at issue time; the
// chip overwrites the zeros with PICC data and MAC in ASCII hex on each read.
const sunPlaceholder = "e=00000000000000000000000000000000&c=0000000000000000"

// Offsets of the mirrors inside the SUN record payload.
const (
	sunPICCOffset = 2
	sunMACOffset  = 37
)

// piccDataTag says: UID mirrored, SDMReadCtr mirrored, UID length 7
// (NT4H2421Gx datasheet, 9.3.4).
const piccDataTag = 0xC7

// SUNKeys are an NTAG 424 DNA card's SDM keys: MetaRead decrypts the PICC
// data, FileRead derives the MAC session key. Both are AES-128.
type SUNKeys struct {
	MetaRead []byte
	FileRead []byte
}

// CardSUNKeys diversifies the fleet's SDM master keys for one card (NXP
// AN10922), so a key read out of one card opens no other.
func CardSUNKeys(master SUNKeys, uid []byte) (SUNKeys, error) {
	meta, err := DiversifyKey(master.MetaRead, uid, nil, []byte("leifeng-sun-meta"))
	if err != nil {
		return SUNKeys{}, err
	}
	file, err := DiversifyKey(master.FileRead, uid, nil, []byte("leifeng-sun-file"))
	if err != nil {
		return SUNKeys{}, err
	}
	return SUNKeys{MetaRead: meta, FileRead: file}, nil
}

// EncryptPICCData returns the encrypted PICC data the chip mirrors: AES-CBC
// with a zero IV under the MetaRead key of tag || UID || SDMReadCtr (LSB
// first) || pad (AN12196, 4.4). pad is 5 bytes of random filler.
func EncryptPICCData(metaRead, uid []byte, ctr uint32, pad [5]byte) ([]byte, error) {
	if len(uid) != 7 {
		return nil, fmt.Errorf("credential: SUN needs a 7-byte UID, got %d", len(uid))
	}
	c, err := aes.NewCipher(metaRead)
	if err != nil {
		return nil, err
	}
	p := make([]byte, 16)
	p[0] = piccDataTag
	copy(p[1:], uid)
	p[8], p[9], p[10] = byte(ctr), byte(ctr>>8), byte(ctr>>16)
	copy(p[11:], pad[:])
	cipher.NewCBCEncrypter(c, make([]byte, 16)).CryptBlocks(p, p)
	return p, nil
}

// SDMMAC computes the 8-byte SUN MAC (AN12196, 4.5): the session key is
// CMAC(FileRead, 3CC3 0001 0080 || UID || SDMReadCtr), the MAC is
// CMAC(session, input) truncated to its odd-indexed bytes.
func SDMMAC(fileRead, uid []byte, ctr uint32, input []byte) ([]byte, error) {
	sv2 := []byte{0x3C, 0xC3, 0x00, 0x01, 0x00, 0x80}
	sv2 = append(sv2, uid...)
	sv2 = append(sv2, byte(ctr), byte(ctr>>8), byte(ctr>>16))
	for len(sv2)%16 != 0 {
		sv2 = append(sv2, 0)
	}
	ses, err := CMAC(fileRead, sv2)
	if err != nil {
		return nil, err
	}
	full, err := CMAC(ses, input)
	if err != nil {
		return nil, err
	}
	mac := make([]byte, 8)
	for i := range mac {
		mac[i] = full[2*i+1]
	}
	return mac, nil
}

// SUN is a verified SUN message.
type SUN struct {
	UID     []byte
	Counter uint32
}

// ParseSUNRecord splits a mirrored SUN record payload into encrypted PICC
// data and MAC. Errors match ErrMalformed.
func ParseSUNRecord(payload []byte) (picc, mac []byte, err error) {
	if len(payload) != len(sunPlaceholder) || string(payload[:2]) != "e=" || string(payload[34:37]) != "&c=" {
		return nil, nil, fmt.Errorf("%w: SUN record %q", ErrMalformed, payload)
	}
	picc, err1 := hex.DecodeString(string(payload[sunPICCOffset : sunPICCOffset+32]))
	mac, err2 := hex.DecodeString(string(payload[sunMACOffset:]))
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("%w: SUN record is not hex", ErrMalformed)
	}
	return picc, mac, nil
}

// VerifySUN decrypts the PICC data of a SUN record payload and checks its
// MAC. A bad MAC or PICC data tag matches ErrForged. It does not check that
// the counter rose: that is the cloud's job (cloud/store), on the side
// that sees every tap.
func VerifySUN(keys SUNKeys, payload []byte) (SUN, error) {
	picc, mac, err := ParseSUNRecord(payload)
	if err != nil {
		return SUN{}, err
	}
	c, err := aes.NewCipher(keys.MetaRead)
	if err != nil {
		return SUN{}, fmt.Errorf("credential: SUN key: %w", err)
	}
	p := make([]byte, 16)
	cipher.NewCBCDecrypter(c, make([]byte, 16)).CryptBlocks(p, picc)
	if p[0] != piccDataTag {
		return SUN{}, fmt.Errorf("%w: SUN PICC data does not decrypt", ErrForged)
	}
	s := SUN{UID: append([]byte(nil), p[1:8]...), Counter: uint32(p[8]) | uint32(p[9])<<8 | uint32(p[10])<<16}
	want, err := SDMMAC(keys.FileRead, s.UID, s.Counter, nil)
	if err != nil {
		return SUN{}, err
	}
	if subtle.ConstantTimeCompare(want, mac) != 1 {
		return SUN{}, fmt.Errorf("%w: SUN MAC", ErrForged)
	}
	return s, nil
}
