package credential

import (
	"errors"
	"fmt"

	"leifeng/reader/ndef"
)

// ErrNoCredential reports a readable card that carries no volunteer
// credential: a blank or foreign card.
var ErrNoCredential = errors.New("credential: no volunteer credential on the card")

// NDEFMessage wraps an encoded credential in an NDEF message. With sun,
// a SUN record with zeroed mirrors follows for NTAG 424 DNA.
func NDEFMessage(cred []byte, sun bool) ([]byte, error) {
	recs := []ndef.Record{ndef.MediaRecord(MIMEType, cred)}
	if sun {
		recs = append(recs, ndef.MediaRecord(SUNMIMEType, []byte(sunPlaceholder)))
	}
	return ndef.Marshal(recs)
}

// FromNDEF extracts the credential payload, and the SUN record payload if
// present, from an NDEF message. A well-formed message without a
// credential record yields ErrNoCredential; bad bytes yield ErrMalformed.
func FromNDEF(msg []byte) (cred, sun []byte, err error) {
	recs, err := ndef.Parse(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cred, ok := ndef.Find(recs, MIMEType)
	if !ok {
		return nil, nil, ErrNoCredential
	}
	sun, _ = ndef.Find(recs, SUNMIMEType)
	return cred, sun, nil
}

// NTAGModel describes one NTAG21x part (NTAG213/215/216 datasheet, 8.5).
type NTAGModel struct {
	// Name is "ntag213", "ntag215" or "ntag216".
	Name string
	// Pages is the number of 4-byte pages.
	Pages int
	// CC is the data area size byte of the capability container (size/8).
	CC byte
	// Storage is the storage size byte of the GET_VERSION response.
	Storage byte
}

// NTAG21x parts.
var (
	NTAG213 = NTAGModel{Name: "ntag213", Pages: 45, CC: 0x12, Storage: 0x0F}
	NTAG215 = NTAGModel{Name: "ntag215", Pages: 135, CC: 0x3E, Storage: 0x11}
	NTAG216 = NTAGModel{Name: "ntag216", Pages: 231, CC: 0x6D, Storage: 0x13}
)

// NTAGModelByName returns the model called name.
func NTAGModelByName(name string) (NTAGModel, bool) {
	for _, m := range []NTAGModel{NTAG213, NTAG215, NTAG216} {
		if m.Name == name {
			return m, true
		}
	}
	return NTAGModel{}, false
}

// UserStart is the first page of user memory; the configuration pages
// (dynamic lock, CFG0, CFG1, PWD, PACK) are the last five.
const UserStart = 4

// UserBytes is the size of the user memory.
func (m NTAGModel) UserBytes() int { return (m.Pages - UserStart - 5) * 4 }

// NTAGMemory lays out a whole NTAG21x memory image for uid with msg in an
// NDEF Message TLV in user memory. Pages 0-2 hold the UID and its check
// bytes as in the datasheet (7-byte UIDs; other lengths are copied as is
// for simulated cards), page 3 the NFC Forum capability container.
func NTAGMemory(m NTAGModel, uid, msg []byte) ([]byte, error) {
	tlv := ndef.WrapTLV(msg)
	if len(tlv) > int(m.CC)*8 {
		return nil, fmt.Errorf("credential: NDEF of %d bytes does not fit %s (%d bytes)", len(tlv), m.Name, int(m.CC)*8)
	}
	mem := make([]byte, m.Pages*4)
	if len(uid) == 7 {
		copy(mem[0:3], uid[:3])
		mem[3] = 0x88 ^ uid[0] ^ uid[1] ^ uid[2]
		copy(mem[4:8], uid[3:])
		mem[8] = uid[3] ^ uid[4] ^ uid[5] ^ uid[6]
	} else {
		copy(mem[0:9], uid)
	}
	mem[9] = 0x48
	copy(mem[12:16], []byte{0xE1, 0x10, m.CC, 0x00})
	copy(mem[UserStart*4:], tlv)
	cfg0 := (m.Pages - 4) * 4
	copy(mem[cfg0:], []byte{0x04, 0x00, 0x00, 0xFF})
	return mem, nil
}

// MIFARE Classic keys and access bytes of NFC Forum-formatted cards (NXP
// AN1304 and AN10787).
var (
	// MADKeyA is the public key A of the MAD sector.
	MADKeyA = [6]byte{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5}
	// NDEFKeyA is the public key A of NDEF sectors.
	NDEFKeyA = [6]byte{0xD3, 0xF7, 0xD3, 0xF7, 0xD3, 0xF7}
	// madAccess: data read with A or B, write with B; trailer write with B.
	madAccess = [4]byte{0x78, 0x77, 0x88, 0xC1}
	// ndefReadOnly: data read with A or B, never written; GPB 0x43 (v1.0, read only).
	ndefReadOnly = [4]byte{0x07, 0x8F, 0x0F, 0x43}
)

// ndefAID is the MAD application ID of NFC Forum NDEF sectors (0x03E1).
const ndefAID = 0x03E1

// ClassicMemory lays out a MIFARE Classic 1K image (64 blocks of 16 bytes)
// for uid with msg in NDEF sectors 1-15 behind a MAD in sector 0. keyB is
// the issuer's secret key B of every sector; the NDEF sectors are
// read-only.
func ClassicMemory(uid, msg []byte, keyB [6]byte) ([]byte, error) {
	tlv := ndef.WrapTLV(msg)
	if len(tlv) > 15*48 {
		return nil, fmt.Errorf("credential: NDEF of %d bytes does not fit MIFARE Classic 1K", len(tlv))
	}
	mem := make([]byte, 1024)
	copy(mem, uid)
	if len(uid) == 4 {
		mem[4] = uid[0] ^ uid[1] ^ uid[2] ^ uid[3]
		mem[5], mem[6], mem[7] = 0x08, 0x04, 0x00
	} else {
		mem[len(uid)] = 0x08
		mem[len(uid)+1], mem[len(uid)+2] = 0x44, 0x00
	}
	mad := make([]byte, 32)
	mad[1] = 0x01 // info byte: card publisher sector 1
	for s := 1; s < 16; s++ {
		mad[2*s] = byte(ndefAID & 0xFF)
		mad[2*s+1] = byte(ndefAID >> 8)
	}
	mad[0] = madCRC(mad[1:])
	copy(mem[16:48], mad)
	trailer(mem, 0, MADKeyA, madAccess, keyB)
	off := 0
	for s := 1; s < 16; s++ {
		for b := 0; b < 3; b++ {
			if off < len(tlv) {
				copy(mem[(4*s+b)*16:(4*s+b+1)*16], tlv[off:])
			}
			off += 16
		}
		trailer(mem, s, NDEFKeyA, ndefReadOnly, keyB)
	}
	return mem, nil
}

func trailer(mem []byte, sector int, keyA [6]byte, access [4]byte, keyB [6]byte) {
	t := mem[(4*sector+3)*16:]
	copy(t[0:6], keyA[:])
	copy(t[6:10], access[:])
	copy(t[10:16], keyB[:])
}

// madCRC is the MAD CRC-8: polynomial x^8+x^4+x^3+x^2+1, preset 0xC7.
func madCRC(b []byte) byte {
	crc := byte(0xC7)
	for _, v := range b {
		crc ^= v
		for i := 0; i < 8; i++ {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x1D
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// ClassicNDEFSectors parses a MAD1 (blocks 1 and 2 of sector 0, 32 bytes)
// and returns the sectors assigned to NDEF, in order.
func ClassicNDEFSectors(mad []byte) ([]int, error) {
	if len(mad) != 32 {
		return nil, fmt.Errorf("%w: MAD of %d bytes", ErrMalformed, len(mad))
	}
	if madCRC(mad[1:]) != mad[0] {
		return nil, fmt.Errorf("%w: MAD CRC", ErrMalformed)
	}
	var s []int
	for i := 1; i < 16; i++ {
		if int(mad[2*i])|int(mad[2*i+1])<<8 == ndefAID {
			s = append(s, i)
		}
	}
	if len(s) == 0 {
		return nil, ErrNoCredential
	}
	return s, nil
}

// NTAG424File lays out the NDEF file (E104) of an NTAG 424 DNA: NLEN and
// msg, padded to size. It returns where the chip must mirror the encrypted
// PICC data and the SDM MAC (the SDM offsets of ChangeFileSettings).
func NTAG424File(msg []byte, size int) (file []byte, piccOffset, macOffset int, err error) {
	if len(msg)+2 > size {
		return nil, 0, 0, fmt.Errorf("credential: NDEF of %d bytes does not fit the %d-byte NDEF file", len(msg), size)
	}
	file = make([]byte, size)
	file[0], file[1] = byte(len(msg)>>8), byte(len(msg))
	copy(file[2:], msg)
	end := 2 + len(msg)
	if len(msg) < len(sunPlaceholder) || string(file[end-len(sunPlaceholder):end]) != sunPlaceholder {
		return nil, 0, 0, fmt.Errorf("credential: NDEF message does not end with a SUN record")
	}
	base := end - len(sunPlaceholder)
	return file, base + sunPICCOffset, base + sunMACOffset, nil
}
