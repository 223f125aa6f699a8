package reader_test

import (
	"testing"
	"time"

	"leifeng/reader"
	"leifeng/reader/credential"
	"leifeng/reader/ndef"
)

// The floor of a tap: what no driver on an MFRC522 can beat. It is the RF
// air time at 106 kbit/s of the fewest ISO/IEC 14443 frames that select
// the card and read its credential, plus the SPI time of loading and
// starting each exchange and reading its result, plus half the poll
// interval (the mean wait for the next poll). Verifying the Ed25519
// signature costs host CPU, which the modelled clock does not count, on
// either side. Left out as not needed to read and verify: HLTA, the NTAG
// GET_VERSION and capability container, DESELECT; and the card's own
// processing times (the NTAG 424 DNA's APDU, ATS and SUN computation, the
// start-up frame guard time it asks for), which no reader can shorten and
// BenchmarkTap reports separately as card-ms.
//
// Frames follow ISO/IEC 14443-3 at fc = 13.56 MHz: one bit is 128/fc, a
// frame of n bytes is 9n+2 bits (start, 8 data bits and parity per byte,
// end), a short frame (REQA) 9 bits, and a card answers FDT = 1172/fc
// after the end of the reader's frame. SPI follows the chip simulator's
// model of Linux spidev at 10 MHz: 15 µs per ioctl, 1 µs between the
// packets of one ioctl, 0.8 µs per byte.
const (
	fc          = 13_560_000
	bitTime     = 128 * time.Second / fc
	fdt         = 1172 * time.Second / fc
	spiIoctl    = 15 * time.Microsecond
	spiCSGap    = time.Microsecond
	spiByte     = 800 * time.Nanosecond
	fifoBytes   = 64 // the MFRC522's FIFO bounds one reply
	isoFSD      = 64 // the frame size the reader announces in RATS
	ntagPerRead = (fifoBytes - 2) / 4
)

func frame(n int) time.Duration { return time.Duration(9*n+2) * bitTime }

// floor adds up exchanges.
type floor struct{ air, spi time.Duration }

// exchange is one command of n bytes (CRC included) answered by m bytes:
// on SPI, one ioctl loads the FIFO (n bytes without CRC, which the chip
// adds) and starts Transceive, a second reads ComIrqReg, ErrorReg,
// FIFOLevelReg and the reply.
func (f *floor) exchange(n, m int, crc bool) {
	f.air += frame(n) + fdt + frame(m)
	if crc {
		n, m = n-2, max(m-2, 0)
	}
	f.spi += 2*spiIoctl + 2*spiCSGap + time.Duration((1+n)+2+2+(1+3+m))*spiByte
}

// detect is REQA and the anticollision and selection of a UID of uidLen
// bytes (one cascade level per 4, 7 or 10 bytes).
func (f *floor) detect(uidLen int) {
	f.air += time.Duration(9)*bitTime + fdt + frame(2) // REQA, ATQA
	f.spi += 2*spiIoctl + 2*spiCSGap + time.Duration(2+2+2+4+2)*spiByte
	levels := map[int]int{4: 1, 7: 2, 10: 3}[uidLen]
	for range levels {
		f.exchange(2, 5, false) // ANTICOLLISION: SEL NVB → UID CLn, BCC
		f.exchange(9, 3, true)  // SELECT → SAK
	}
}

// classicAuth is MFAuthent: the chip runs the three-pass exchange itself
// after one FIFO load of command, block, key and UID.
func (f *floor) classicAuth() {
	f.air += frame(4) + fdt + frame(4) + frame(8) + fdt + frame(4)
	f.spi += 2*spiIoctl + 2*spiCSGap + time.Duration((1+12)+2+(1+3))*spiByte
}

// tapFloor is the floor of a tap of media whose credential is cred, on a
// card with a UID of uidLen bytes.
func tapFloor(media string, uidLen int, cred []byte) time.Duration {
	var f floor
	f.detect(uidLen)
	switch media {
	case "classic1k":
		msg, _ := credential.NDEFMessage(cred, false)
		tlv := len(ndef.WrapTLV(msg))
		f.classicAuth() // sector 0: the MAD says which sectors hold NDEF
		f.exchange(4, 18, true)
		f.exchange(4, 18, true)
		for blocks := (tlv + 15) / 16; blocks > 0; blocks -= 3 {
			f.classicAuth()
			for range min(blocks, 3) {
				f.exchange(4, 18, true) // READ: one 16-byte block
			}
		}
	case "ntag215":
		msg, _ := credential.NDEFMessage(cred, false)
		for pages := (len(ndef.WrapTLV(msg)) + 3) / 4; pages > 0; pages -= ntagPerRead {
			f.exchange(5, 4*min(pages, ntagPerRead)+2, true) // FAST_READ
		}
	case "ntag424":
		msg, _ := credential.NDEFMessage(cred, true)
		f.exchange(4, 6+2, true)    // RATS → ATS
		f.exchange(1+13+2, 5, true) // ISOSelectFile, the NDEF application by name
		f.exchange(1+7+2, 5, true)  // ISOSelectFile E104
		// ISOReadBinary of NLEN and the message, chained in blocks of at
		// most FSD: PCB, data, CRC; the last one also carries 90 00. Each
		// block after the first is asked for with R(ACK).
		rest := 2 + len(msg) + 2
		f.exchange(1+5+2, 1+min(rest, isoFSD-3)+2, true)
		for rest -= isoFSD - 3; rest > 0; rest -= isoFSD - 3 {
			f.exchange(1+2, 1+min(rest, isoFSD-3)+2, true)
		}
	}
	return f.air + f.spi + reader.DefaultPollInterval/2
}

// cardTime is the card's own processing the chip simulator models for one
// read (reader/chipsim/ntag424.go): the ATS, each APDU, the SUN message
// and the start-up frame guard time. Classic and NTAG21x answer within
// FDT.
func cardTime(media string) time.Duration {
	if media != "ntag424" {
		return 0
	}
	const ats, apdu, sun = 500 * time.Microsecond, 800 * time.Microsecond, 2500 * time.Microsecond
	sfgt := 2 * 4096 * time.Second / fc
	return ats + sfgt + 3*apdu + sun
}

// TestFloorIsALowerBound: the floor model is only useful if no read beats
// it; a driver (or a model) that does means the model misses something.
func TestFloorIsALowerBound(t *testing.T) {
	for _, c := range []struct {
		media string
		uid   []byte
	}{{"classic1k", uid4}, {"classic1k", uid7}, {"ntag215", uid7}, {"ntag215", uid10}, {"ntag424", uid7}} {
		cred := credentialFor(t, c.uid, nil)
		g := newRig(t)
		g.chip.Place(card(t, issue(t, c.media, c.uid, cred)))
		t0 := g.chip.Now()
		if ev, ok := g.r.Poll(); !ok || ev.Err != nil {
			t.Fatalf("%s: %v", c.media, ev.Err)
		}
		took := g.chip.Now() - t0 + reader.DefaultPollInterval/2
		if fl := tapFloor(c.media, len(c.uid), cred); took < fl {
			t.Errorf("%s with a %d-byte UID read in %v, below its floor %v", c.media, len(c.uid), took, fl)
		}
	}
}
