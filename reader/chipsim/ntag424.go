package chipsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"leifeng/reader/credential"
	"leifeng/reader/iso14443"
)

// Modelled processing times of NTAG 424 DNA.
var (
	atsTime       = 500 * time.Microsecond
	apduTime      = 800 * time.Microsecond
	sunTime       = 2500 * time.Microsecond
	slowApduTime  = 60 * time.Millisecond
	wtxMultiplier = byte(2)
	ndefAID       = []byte{0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01}
	ats424        = []byte{0x06, 0x77, 0x77, 0x71, 0x02, 0x80}
	// sfgt is the start-up frame guard time the ATS asks for (SFGI 1).
	sfgt = 2 * 4096 * time.Second / carrier
)

// ntag424 is an NTAG 424 DNA (NT4H2421Gx) with its NDEF application and
// SDM on the NDEF file: ISO-DEP per ISO/IEC 14443-4, ISO 7816-4 commands.
type ntag424 struct {
	uid     []byte
	cc      []byte
	file    []byte
	piccOff int
	macOff  int
	keys    credential.SUNKeys
	ctr     uint32

	active   bool
	ready    time.Duration // end of the guard time after the ATS
	fsd      int
	bn       byte
	last     []byte
	chainIn  []byte
	chainOut []byte
	held     []byte
	slow     int

	app      bool
	sel      uint16
	mirrored bool
}

// NewNTAG424 returns an NTAG 424 DNA with uid (7 bytes), the NDEF file
// content (E104), the offsets at which SDM mirrors the encrypted PICC data
// and the MAC, the card's SDM keys and its current SDMReadCtr.
func NewNTAG424(uid, file []byte, piccOff, macOff int, keys credential.SUNKeys, counter uint32) (*Card, error) {
	if len(uid) != 7 {
		return nil, fmt.Errorf("chipsim: NTAG 424 DNA has a 7-byte UID")
	}
	if piccOff < 0 || macOff < 0 || piccOff+32 > len(file) || macOff+16 > len(file) || len(file) > 256 {
		return nil, fmt.Errorf("chipsim: SDM offsets %d/%d outside the %d-byte NDEF file", piccOff, macOff, len(file))
	}
	t := &ntag424{
		uid: bytes.Clone(uid), file: bytes.Clone(file), piccOff: piccOff, macOff: macOff,
		keys: keys, ctr: counter,
		cc: []byte{0x00, 0x17, 0x20, 0x00, 0x7F, 0x00, 0x7F, 0x04, 0x06, 0xE1, 0x04, 0x01, 0x00, 0x00, 0x00},
	}
	return newCard("ntag424", uid, 0x04, 0x20, t)
}

// Counter returns the card's SDMReadCtr.
func (k *Card) Counter() uint32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.app.(*ntag424); ok {
		return t.ctr
	}
	return 0
}

// SlowReplies makes an NTAG 424 DNA take longer than its frame waiting
// time on the next n APDUs, so it must ask for a waiting time extension.
func (k *Card) SlowReplies(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.app.(*ntag424); ok {
		t.slow = n
	}
}

func (t *ntag424) layer4() bool { return t.active }
func (t *ntag424) reset() {
	t.active, t.app, t.sel, t.mirrored = false, false, 0, false
	t.chainIn, t.chainOut, t.held, t.last = nil, nil, nil, nil
}

func (t *ntag424) send(b []byte, d time.Duration) *reply {
	t.last = b
	r := withCRC(b)
	r.delay = d
	return r
}

func (t *ntag424) command(k *Card, cmd []byte) *reply {
	if !t.active {
		if len(cmd) == 2 && cmd[0] == 0xE0 {
			t.active = true
			t.fsd = iso14443.FrameSize(cmd[1] >> 4)
			t.bn = 1
			t.ready = k.now + airTime(4, 0) + atsTime + airTime(len(ats424)+2, 0) + sfgt
			return t.send(bytes.Clone(ats424), atsTime)
		}
		k.idle()
		return nil
	}
	if k.now < t.ready {
		// Still recovering from the ATS: a frame within SFGT is not seen.
		return nil
	}
	pcb := cmd[0]
	switch {
	case pcb&0xE2 == 0x02: // I-block
		inf := cmd[1:]
		if pcb&0x08 != 0 || pcb&0x04 != 0 {
			return nil // no CID or NAD support announced
		}
		t.bn = pcb & 1
		if pcb&0x10 != 0 {
			t.chainIn = append(t.chainIn, inf...)
			return t.send([]byte{0xA2 | t.bn}, FDT)
		}
		apdu := append(t.chainIn, inf...)
		t.chainIn = nil
		resp := t.apdu(apdu)
		if t.slow > 0 {
			t.slow--
			t.held = resp
			return t.send([]byte{0xF2, wtxMultiplier}, apduTime)
		}
		d := apduTime
		if t.mirrored && len(apdu) > 1 && apdu[1] == 0xB0 {
			d = sunTime
		}
		return t.respond(resp, d)
	case pcb&0xE6 == 0xA2: // R-block
		if pcb&1 == t.bn {
			if t.last == nil {
				return nil
			}
			return t.send(t.last, FDT)
		}
		if pcb&0x10 != 0 { // R(NAK) for a block we did not send
			return t.send([]byte{0xA2 | t.bn}, FDT)
		}
		if t.chainOut == nil {
			return nil
		}
		t.bn ^= 1
		rest := t.chainOut
		t.chainOut = nil
		return t.respond(rest, FDT)
	case pcb == 0xC2: // DESELECT
		r := t.send([]byte{0xC2}, FDT)
		k.halted = true
		k.idle()
		return r
	case pcb&0xF7 == 0xF2 && len(cmd) == 2: // WTX response
		if t.held == nil {
			return nil
		}
		resp := t.held
		t.held = nil
		return t.respond(resp, slowApduTime)
	}
	return nil
}

// respond sends a response APDU, chaining if it exceeds the reader's FSD.
func (t *ntag424) respond(resp []byte, d time.Duration) *reply {
	max := t.fsd - 3
	if len(resp) > max {
		t.chainOut = resp[max:]
		return t.send(append([]byte{0x12 | t.bn}, resp[:max]...), d)
	}
	return t.send(append([]byte{0x02 | t.bn}, resp...), d)
}

var (
	swOK          = []byte{0x90, 0x00}
	swNotFound    = []byte{0x6A, 0x82}
	swNoFile      = []byte{0x69, 0x86}
	swWrongLength = []byte{0x67, 0x00}
	swWrongP1P2   = []byte{0x6B, 0x00}
	swINS         = []byte{0x6D, 0x00}
	swCLA         = []byte{0x6E, 0x00}
)

// apdu runs one ISO 7816-4 command.
func (t *ntag424) apdu(a []byte) []byte {
	if len(a) < 4 {
		return swWrongLength
	}
	if a[0] != 0x00 {
		return swCLA
	}
	switch a[1] {
	case 0xA4: // SELECT
		if len(a) < 5 || len(a) < 5+int(a[4]) {
			return swWrongLength
		}
		data := a[5 : 5+int(a[4])]
		switch {
		case a[2] == 0x04 && bytes.Equal(data, ndefAID):
			t.app, t.sel = true, 0
			return swOK
		case a[2] == 0x00 && t.app && len(data) == 2:
			fid := uint16(data[0])<<8 | uint16(data[1])
			if fid != 0xE103 && fid != 0xE104 {
				return swNotFound
			}
			t.sel = fid
			return swOK
		}
		return swNotFound
	case 0xB0: // READ BINARY
		if t.sel == 0 {
			return swNoFile
		}
		if a[2]&0x80 != 0 {
			return swWrongP1P2
		}
		off := int(a[2])<<8 | int(a[3])
		le := 256
		if len(a) == 5 && a[4] != 0 {
			le = int(a[4])
		} else if len(a) != 5 {
			return swWrongLength
		}
		f := t.cc
		if t.sel == 0xE104 {
			if !t.mirrored {
				t.mirror()
			}
			f = t.file
		}
		if off > len(f) {
			return swWrongP1P2
		}
		n := min(le, len(f)-off)
		return append(bytes.Clone(f[off:off+n]), swOK...)
	}
	return swINS
}

// mirror increments SDMReadCtr and writes the SUN message into the file,
// once per activation, as the first read of the file does on the chip.
func (t *ntag424) mirror() {
	if t.ctr < 0xFFFFFF {
		t.ctr++
	}
	t.mirrored = true
	h := sha256.Sum256(append(bytes.Clone(t.uid), byte(t.ctr), byte(t.ctr>>8), byte(t.ctr>>16)))
	picc, err1 := credential.EncryptPICCData(t.keys.MetaRead, t.uid, t.ctr, [5]byte(h[:5]))
	mac, err2 := credential.SDMMAC(t.keys.FileRead, t.uid, t.ctr, nil)
	if err1 != nil || err2 != nil {
		// A card without valid SDM keys mirrors nothing, like a tag whose
		// SDM was never configured.
		return
	}
	copy(t.file[t.piccOff:], strings.ToUpper(hex.EncodeToString(picc)))
	copy(t.file[t.macOff:], strings.ToUpper(hex.EncodeToString(mac)))
}
