// Package iso14443 holds the parts of ISO/IEC 14443 that do not depend on
// the reader chip: the CRC_A of part 3, the answer to select (ATS) and the
// half-duplex block transmission protocol (ISO-DEP) of part 4, as seen from
// the reader (PCD).
package iso14443

import (
	"errors"
	"fmt"
	"time"
)

// CRCA returns the CRC_A of b (ISO/IEC 14443-3, annex B): preset 0x6363,
// polynomial x^16+x^12+x^5+1, sent least significant byte first.
func CRCA(b []byte) [2]byte {
	crc := uint16(0x6363)
	for _, v := range b {
		v ^= byte(crc)
		v ^= v << 4
		crc = crc>>8 ^ uint16(v)<<8 ^ uint16(v)<<3 ^ uint16(v)>>4
	}
	return [2]byte{byte(crc), byte(crc >> 8)}
}

// AppendCRCA appends the CRC_A of b to b.
func AppendCRCA(b []byte) []byte {
	c := CRCA(b)
	return append(b, c[0], c[1])
}

// CheckCRCA reports whether b ends with the CRC_A of the bytes before it.
func CheckCRCA(b []byte) bool {
	if len(b) < 3 {
		return false
	}
	c := CRCA(b[:len(b)-2])
	return c[0] == b[len(b)-2] && c[1] == b[len(b)-1]
}

// BCC is the block check character of a UID part: the XOR of its bytes.
func BCC(b []byte) byte {
	var x byte
	for _, v := range b {
		x ^= v
	}
	return x
}

// Frame size for each FSCI/FSDI value (ISO/IEC 14443-4, 5.2.3).
var frameSizes = [...]int{16, 24, 32, 40, 48, 64, 96, 128, 256}

// FrameSize returns the frame size coded by an FSCI or FSDI value.
func FrameSize(i byte) int {
	if int(i) >= len(frameSizes) {
		return 256
	}
	return frameSizes[i]
}

// ATS is the parsed answer to select.
type ATS struct {
	// FSC is the largest frame the card accepts, CRC included.
	FSC int
	// FWT is the frame waiting time.
	FWT time.Duration
	// SFGT is the guard time the reader must wait after the ATS.
	SFGT time.Duration
	// CID reports whether the card supports a card identifier.
	CID bool
	// Historical are the historical bytes.
	Historical []byte
}

// etu4096 is 4096 carrier periods (13.56 MHz), the FWT unit.
const etu4096 = 4096 * time.Second / 13_560_000

// ErrProtocol reports a reply that breaks ISO/IEC 14443-4.
var ErrProtocol = errors.New("iso14443: protocol error")

// ParseATS parses an ATS without its CRC.
func ParseATS(b []byte) (ATS, error) {
	a := ATS{FSC: 32, FWT: etu4096 << 4}
	if len(b) < 1 || int(b[0]) != len(b) {
		return a, fmt.Errorf("%w: ATS length", ErrProtocol)
	}
	if len(b) == 1 {
		return a, nil
	}
	t0 := b[1]
	a.FSC = FrameSize(t0 & 0x0F)
	i := 2
	if t0&0x10 != 0 {
		i++
	}
	if t0&0x20 != 0 {
		if i >= len(b) {
			return a, fmt.Errorf("%w: ATS TB missing", ErrProtocol)
		}
		fwi, sfgi := b[i]>>4, b[i]&0x0F
		if fwi == 15 {
			fwi = 4
		}
		a.FWT = etu4096 << fwi
		if sfgi > 0 && sfgi < 15 {
			a.SFGT = etu4096 << sfgi
		}
		i++
	}
	if t0&0x40 != 0 {
		if i >= len(b) {
			return a, fmt.Errorf("%w: ATS TC missing", ErrProtocol)
		}
		a.CID = b[i]&0x02 != 0
		i++
	}
	if i > len(b) {
		return a, fmt.Errorf("%w: ATS too short", ErrProtocol)
	}
	a.Historical = append([]byte(nil), b[i:]...)
	return a, nil
}

// Transceiver sends one frame to the card and returns its reply. The
// implementation appends and checks CRC_A. timeout bounds the wait for the
// reply; a missing or corrupt reply is an error.
type Transceiver interface {
	Transceive(tx []byte, timeout time.Duration) ([]byte, error)
}

// PCB bits.
const (
	pcbI       = 0x02
	pcbR       = 0xA2
	pcbS       = 0xC2
	pcbChain   = 0x10
	pcbNAK     = 0x10
	sWTX       = 0x30
	maxRetries = 2
	maxWTX     = 59
	maxReply   = 64 << 10
)

// Conn is an ISO-DEP connection to an activated card. It is not safe for
// concurrent use.
type Conn struct {
	t   Transceiver
	ats ATS
	fsd int
	bn  byte
	// WTXs counts the waiting time extensions granted, for diagnostics.
	WTXs int
}

// NewConn returns an ISO-DEP connection over t to a card that answered
// RATS with ats. fsd is the largest frame the reader accepts, CRC included.
func NewConn(t Transceiver, ats ATS, fsd int) *Conn {
	return &Conn{t: t, ats: ats, fsd: fsd}
}

// Deselect sends S(DESELECT).
func (c *Conn) Deselect() error {
	_, err := c.t.Transceive([]byte{pcbS}, c.ats.FWT)
	return err
}

// exchange sends tx and retries with R(NAK) on a lost or corrupt reply.
func (c *Conn) exchange(tx []byte, timeout time.Duration) ([]byte, error) {
	rx, err := c.t.Transceive(tx, timeout)
	for i := 0; err != nil && i < maxRetries; i++ {
		if errors.Is(err, ErrFatal) {
			return nil, err
		}
		rx, err = c.t.Transceive([]byte{pcbR | pcbNAK | c.bn}, timeout)
	}
	return rx, err
}

// ErrFatal wrapped by a Transceiver error means retrying cannot help (the
// card left the field or several cards answered).
var ErrFatal = errors.New("iso14443: link lost")

// Exchange sends an APDU and returns the card's response APDU, chaining in
// both directions and granting waiting time extensions as the card asks.
func (c *Conn) Exchange(apdu []byte) ([]byte, error) {
	maxInf := c.ats.FSC - 3
	if maxInf < 1 {
		maxInf = 1
	}
	var rx []byte
	var err error
	for off := 0; ; {
		n := min(len(apdu)-off, maxInf)
		last := off+n == len(apdu)
		pcb := byte(pcbI) | c.bn
		if !last {
			pcb |= pcbChain
		}
		rx, err = c.await(append([]byte{pcb}, apdu[off:off+n]...))
		if err != nil {
			return nil, err
		}
		off += n
		if last {
			break
		}
		if len(rx) != 1 || rx[0]&0xF6 != pcbR || rx[0]&0x01 != c.bn {
			return nil, fmt.Errorf("%w: expected R(ACK) to chained block, got % x", ErrProtocol, rx)
		}
		c.bn ^= 1
	}
	var resp []byte
	for {
		if len(rx) == 0 || rx[0]&0xE2 != pcbI {
			return nil, fmt.Errorf("%w: expected I-block, got % x", ErrProtocol, rx)
		}
		if rx[0]&0x08 != 0 || rx[0]&0x04 != 0 {
			return nil, fmt.Errorf("%w: CID or NAD in reply", ErrProtocol)
		}
		if rx[0]&0x01 != c.bn {
			return nil, fmt.Errorf("%w: block number", ErrProtocol)
		}
		resp = append(resp, rx[1:]...)
		if len(resp) > maxReply {
			return nil, fmt.Errorf("%w: reply longer than %d bytes", ErrProtocol, maxReply)
		}
		c.bn ^= 1
		if rx[0]&pcbChain == 0 {
			return resp, nil
		}
		rx, err = c.await([]byte{pcbR | c.bn})
		if err != nil {
			return nil, err
		}
	}
}

// await sends one block and returns the card's next I- or R-block,
// answering S(WTX) requests on the way.
func (c *Conn) await(tx []byte) ([]byte, error) {
	rx, err := c.exchange(tx, c.ats.FWT)
	for wtx := 0; err == nil; wtx++ {
		if len(rx) == 0 {
			return nil, fmt.Errorf("%w: empty block", ErrProtocol)
		}
		if len(rx) > c.fsd-2 {
			return nil, fmt.Errorf("%w: block of %d bytes exceeds FSD", ErrProtocol, len(rx))
		}
		if rx[0]&0xC0 != 0xC0 {
			return rx, nil
		}
		if rx[0]&0xF7 != pcbS|sWTX || len(rx) != 2 {
			return nil, fmt.Errorf("%w: unexpected S-block % x", ErrProtocol, rx)
		}
		if wtx >= maxWTX {
			return nil, fmt.Errorf("%w: too many waiting time extensions", ErrProtocol)
		}
		m := rx[1] & 0x3F
		if m == 0 || m > 59 {
			return nil, fmt.Errorf("%w: WTXM %d", ErrProtocol, m)
		}
		c.WTXs++
		rx, err = c.exchange([]byte{pcbS | sWTX, m}, c.ats.FWT*time.Duration(m))
	}
	return nil, err
}
