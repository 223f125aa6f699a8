package chipsim

import (
	"bytes"
	"fmt"

	"leifeng/reader/iso14443"
)

// classic is a MIFARE Classic 1K (MF1S50yyX/V1): 16 sectors of 4 blocks.
type classic struct {
	mem        []byte
	cipher     *crypto1 // the authenticated session
	pending    *classicAuth
	nonce      uint32
	sector     int
	keyB       bool
	writeBlock int
}

// classicAuth is an authentication between the card's nonce and the
// reader's answer.
type classicAuth struct {
	s      *crypto1
	nt     uint32
	sector int
	keyB   bool
}

// NewClassic1K returns a MIFARE Classic 1K with uid and a 1024-byte memory
// image (block 0 is the manufacturer block; each sector ends with its
// trailer of key A, access bits and key B).
func NewClassic1K(uid, mem []byte) (*Card, error) {
	if len(mem) != 1024 {
		return nil, fmt.Errorf("chipsim: MIFARE Classic 1K memory of %d bytes; want 1024", len(mem))
	}
	if len(uid) == 10 {
		return nil, fmt.Errorf("chipsim: MIFARE Classic has 4- or 7-byte UIDs")
	}
	nonce := prngSuccessor(be32(uid[len(uid)-4:])|1, 7)
	return newCard("classic1k", uid, 0x04, 0x08, &classic{mem: bytes.Clone(mem), writeBlock: -1, nonce: nonce})
}

func (c *classic) layer4() bool { return false }
func (c *classic) reset()       { c.cipher, c.pending, c.writeBlock = nil, nil, -1 }

// air handles a frame as it arrives, decrypting it in an authenticated
// session and encrypting the reply. Garbage (a frame the reader encrypted
// with another key, or sent in clear to an authenticated card) fails the
// CRC and sends the card back to IDLE, as on the real card.
func (c *classic) air(k *Card, f frame) *reply {
	d := bytes.Clone(f.data)
	if p := c.pending; p != nil {
		c.pending = nil
		if len(d) != 8 || f.lastBits != 0 {
			k.idle()
			return nil
		}
		p.s.word(be32(d[0:4]), true)
		if be32(d[4:8])^p.s.word(0, false) != prngSuccessor(p.nt, 64) {
			k.idle() // wrong key or wrong UID: the card stays silent
			return nil
		}
		at := prngSuccessor(p.nt, 96) ^ p.s.word(0, false)
		c.cipher, c.sector, c.keyB, c.writeBlock = p.s, p.sector, p.keyB, -1
		return &reply{data: put32(at), delay: FDT}
	}
	s := c.cipher
	if s != nil {
		s.crypt(d, f.lastBits, true)
	}
	if f.lastBits != 0 || !iso14443.CheckCRCA(d) {
		if s != nil {
			k.idle()
		}
		return nil
	}
	cmd := d[:len(d)-2]
	switch {
	case len(cmd) == 2 && (cmd[0] == 0x60 || cmd[0] == 0x61):
		return c.startAuth(k, cmd[0] == 0x61, int(cmd[1]))
	case len(cmd) == 2 && cmd[0] == 0x50 && cmd[1] == 0x00:
		k.halted = true
		k.idle()
		return nil
	}
	r := c.command(k, cmd)
	if r != nil && s != nil {
		r.data = bytes.Clone(r.data)
		s.crypt(r.data, r.bits, false)
	}
	return r
}

// startAuth answers AUTH with the card nonce, encrypted in a nested
// authentication, and keys Crypto1 with the sector key.
func (c *classic) startAuth(k *Card, keyB bool, block int) *reply {
	if block >= len(c.mem)/16 {
		k.idle()
		return nil
	}
	sector := block / 4
	t := c.trailer(sector)
	key := [6]byte(t[0:6])
	if keyB {
		key = [6]byte(t[10:16])
		if c.keyBReadable(sector) {
			// Key B is data here: no key the reader can know works.
			key = [6]byte(append(put32(^c.nonce), 0x5A, 0xA5))
		}
	}
	c.nonce = prngSuccessor(c.nonce, 160)
	nt := c.nonce
	s := newCrypto1(key)
	uid := be32(k.nuid())
	out := nt
	if c.cipher != nil {
		out ^= s.word(uid^nt, false)
	} else {
		s.word(uid^nt, false)
	}
	c.cipher, c.writeBlock = nil, -1
	c.pending = &classicAuth{s: s, nt: nt, sector: sector, keyB: keyB}
	return &reply{data: put32(out), delay: FDT}
}

func (c *classic) trailer(sector int) []byte {
	return c.mem[(4*sector+3)*16 : (4*sector+4)*16]
}

// access returns C1C2C3 of block b (0-3) of a sector as a 3-bit number,
// and false if the access bytes are inconsistent.
func (c *classic) access(sector, b int) (byte, bool) {
	t := c.trailer(sector)
	if t[6] != ^(t[8]<<4 | t[7]>>4) {
		return 0, false
	}
	if t[7]&0x0F != ^t[8]>>4&0x0F {
		return 0, false
	}
	c1 := t[7] >> (4 + b) & 1
	c2 := t[8] >> b & 1
	c3 := t[8] >> (4 + b) & 1
	return c1<<2 | c2<<1 | c3, true
}

// keyBReadable: in trailer conditions 000, 010 and 001 key B is data and
// cannot authenticate (MF1S50 datasheet, 8.7.2).
func (c *classic) keyBReadable(sector int) bool {
	a, ok := c.access(sector, 3)
	return !ok || a == 0 || a == 2 || a == 1
}

func (c *classic) canRead(block int) bool {
	if block%4 == 3 {
		return true
	}
	a, ok := c.access(block/4, block%4)
	if !ok {
		return false
	}
	switch a {
	case 0, 2, 4, 6, 1:
		return true
	case 3, 5:
		return c.keyB
	}
	return false
}

func (c *classic) canWrite(block int) bool {
	if block == 0 {
		return false
	}
	a, ok := c.access(block/4, block%4)
	if !ok {
		return false
	}
	if block%4 == 3 {
		switch a {
		case 0, 1:
			return !c.keyB
		case 4, 3, 5:
			return c.keyB
		}
		return false
	}
	switch a {
	case 0:
		return true
	case 4, 6, 3:
		return c.keyB
	}
	return false
}

func (c *classic) readBlock(block int) []byte {
	d := bytes.Clone(c.mem[block*16 : block*16+16])
	if block%4 == 3 {
		clear(d[0:6])
		if !c.keyBReadable(block / 4) {
			clear(d[10:16])
		}
	}
	return d
}

// writeTrailer changes only the parts the access conditions allow.
func (c *classic) writeTrailer(block int, d []byte) {
	a, _ := c.access(block/4, 3)
	t := c.mem[block*16 : block*16+16]
	keysOK := (a == 0 || a == 1) && !c.keyB || (a == 4 || a == 3) && c.keyB
	bitsOK := a == 1 && !c.keyB || (a == 3 || a == 5) && c.keyB
	if keysOK {
		copy(t[0:6], d[0:6])
		copy(t[10:16], d[10:16])
	}
	if bitsOK {
		copy(t[6:10], d[6:10])
	}
}

func (c *classic) command(k *Card, cmd []byte) *reply {
	if c.writeBlock >= 0 {
		b := c.writeBlock
		c.writeBlock = -1
		if len(cmd) != 16 {
			k.idle()
			return nak(0x4)
		}
		if b%4 == 3 {
			c.writeTrailer(b, cmd)
		} else {
			copy(c.mem[b*16:], cmd)
		}
		return ack()
	}
	if len(cmd) == 2 && (cmd[0] == 0x30 || cmd[0] == 0xA0) {
		b := int(cmd[1])
		if c.cipher == nil || b >= len(c.mem)/16 || b/4 != c.sector {
			k.idle()
			return nak(0x4)
		}
		if cmd[0] == 0x30 {
			if !c.canRead(b) {
				k.idle()
				return nak(0x4)
			}
			return withCRC(c.readBlock(b))
		}
		if !c.canWrite(b) {
			k.idle()
			return nak(0x4)
		}
		c.writeBlock = b
		return ack()
	}
	k.idle()
	return nak(0x4)
}
