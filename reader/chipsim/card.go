package chipsim

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"leifeng/reader/iso14443"
)

type cardState int

const (
	stIdle cardState = iota
	stReady
	stActive
	stHalt
)

// reply is a card's answer on the air.
type reply struct {
	data  []byte
	bits  int // bits in the last byte, 0 meaning 8
	delay time.Duration
}

// app is the command set a card speaks once selected.
type app interface {
	// layer4 reports whether ISO-DEP is active (HLTA is then no command).
	layer4() bool
	// command handles a frame whose CRC checked, without the CRC. A nil
	// reply is silence.
	command(k *Card, cmd []byte) *reply
	// reset returns to the state after power-up or HLTA.
	reset()
}

// airApp is an app that takes frames as they are on the air, before the
// CRC check: MIFARE Classic, whose frames may be encrypted.
type airApp interface {
	air(k *Card, f frame) *reply
}

// Card is a simulated ISO/IEC 14443A card. Its methods are safe for
// concurrent use with the chip it sits in.
type Card struct {
	mu     sync.Mutex
	media  string
	uid    []byte
	atqa   [2]byte
	sak    byte
	state  cardState
	halted bool
	level  int
	app    app

	// now is when the frame being handled started, for guard times.
	now time.Duration

	pullAfter   int
	pulled      bool
	corrupt     int
	corruptSkip int
}

func newCard(media string, uid []byte, atqaLow, sak byte, a app) (*Card, error) {
	var size byte
	switch len(uid) {
	case 4:
	case 7:
		size = 1
	case 10:
		size = 2
	default:
		return nil, fmt.Errorf("chipsim: UID of %d bytes; want 4, 7 or 10", len(uid))
	}
	if len(uid) == 4 && uid[0] == 0x88 || len(uid) > 4 && uid[0] == 0x88 {
		return nil, fmt.Errorf("chipsim: UID may not start with the cascade tag 0x88")
	}
	return &Card{
		media: media, uid: bytes.Clone(uid),
		atqa: [2]byte{atqaLow | size<<6, 0}, sak: sak,
		app: a, pullAfter: -1,
	}, nil
}

// Media names the card type.
func (k *Card) Media() string { return k.media }

// UID returns the card's UID.
func (k *Card) UID() []byte { return bytes.Clone(k.uid) }

// PullAfter makes the card leave the field after it has received n more
// frames, as when a volunteer lifts it too soon. Place it again for the
// next tap; n < 0 disarms the fault.
func (k *Card) PullAfter(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pullAfter = n
}

// CorruptReplies flips a bit in the CRC of n of the card's replies that
// carry one, after skipping the next skip such replies, as interference
// on the air would.
func (k *Card) CorruptReplies(skip, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.corruptSkip, k.corrupt = skip, n
}

func (k *Card) powerOff() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state, k.halted, k.level = stIdle, false, 0
	k.app.reset()
}

// uidPart returns the 4 UID bytes of cascade level l (1-based) and whether
// a further level follows.
func (k *Card) uidPart(l int) ([]byte, bool) {
	switch {
	case len(k.uid) == 4:
		return k.uid, false
	case len(k.uid) == 7 && l == 1:
		return append([]byte{0x88}, k.uid[:3]...), true
	case len(k.uid) == 7:
		return k.uid[3:7], false
	case l == 1:
		return append([]byte{0x88}, k.uid[:3]...), true
	case l == 2:
		return append([]byte{0x88}, k.uid[3:6]...), true
	default:
		return k.uid[6:10], false
	}
}

// nuid is the 4-byte UID that seeds Crypto1: the last CL's UID bytes.
func (k *Card) nuid() []byte { return k.uid[len(k.uid)-4:] }

func (k *Card) idle() {
	if k.halted {
		k.state = stHalt
	} else {
		k.state = stIdle
	}
	k.level = 0
	k.app.reset()
}

func withCRC(b []byte) *reply {
	return &reply{data: iso14443.AppendCRCA(b), delay: FDT}
}

func nak(code byte) *reply { return &reply{data: []byte{code}, bits: 4, delay: FDT} }

func ack() *reply { return &reply{data: []byte{0x0A}, bits: 4, delay: FDT} }

// receive handles one frame on the air; called with the chip locked.
func (k *Card) receive(f frame) *reply {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pullAfter == 0 {
		k.pulled = true
		k.pullAfter = -1
		return nil
	}
	if k.pullAfter > 0 {
		k.pullAfter--
	}
	k.now = f.at
	r := k.handle(f)
	if r != nil && k.corrupt > 0 && r.bits == 0 && len(r.data) > 2 && iso14443.CheckCRCA(r.data) {
		if k.corruptSkip > 0 {
			k.corruptSkip--
			return r
		}
		k.corrupt--
		r.data = bytes.Clone(r.data)
		r.data[len(r.data)-1] ^= 0x10
	}
	return r
}

func (k *Card) handle(f frame) *reply {
	d := f.data
	if len(d) == 1 && f.lastBits == 7 {
		switch {
		case d[0] == 0x26 && k.state == stIdle, d[0] == 0x52 && (k.state == stIdle || k.state == stHalt):
			k.state, k.level = stReady, 1
			return &reply{data: k.atqa[:], delay: FDT}
		}
		if k.state != stIdle && k.state != stHalt {
			k.idle()
		}
		return nil
	}
	if f.lastBits != 0 || len(d) == 0 {
		return nil
	}
	switch k.state {
	case stReady:
		sel := byte(0x93 + 2*(k.level-1))
		part, more := k.uidPart(k.level)
		if len(d) == 2 && d[0] == sel && d[1] == 0x20 {
			return &reply{data: append(bytes.Clone(part), iso14443.BCC(part)), delay: FDT}
		}
		if len(d) == 9 && d[0] == sel && d[1] == 0x70 && iso14443.CheckCRCA(d) &&
			bytes.Equal(d[2:6], part) && d[6] == iso14443.BCC(part) {
			if more {
				k.level++
				return withCRC([]byte{0x04})
			}
			k.state = stActive
			return withCRC([]byte{k.sak})
		}
		k.idle()
		return nil
	case stActive:
		if a, ok := k.app.(airApp); ok {
			return a.air(k, f)
		}
		if !iso14443.CheckCRCA(d) {
			return nil
		}
		cmd := d[:len(d)-2]
		if !k.app.layer4() && len(cmd) == 2 && cmd[0] == 0x50 && cmd[1] == 0x00 {
			k.halted = true
			k.idle()
			return nil
		}
		return k.app.command(k, cmd)
	}
	return nil
}
