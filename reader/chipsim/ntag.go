package chipsim

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"leifeng/reader/credential"
)

// ntag is an NTAG213/215/216 (NXP NTAG213/215/216 datasheet rev. 3.2).
type ntag struct {
	model credential.NTAGModel
	mem   []byte
	sig   []byte
	cnt   uint32
}

// NewNTAG returns an NTAG21x of the given model with uid and a full memory
// image (model.Pages*4 bytes). sig is the 32-byte originality signature
// READ_SIG returns; nil makes one from the UID. A genuine NXP signature is
// an ECDSA secp128r1 signature by NXP that nobody else can make, so
// simulated cards carry a stand-in the reader does not trust.
func NewNTAG(model credential.NTAGModel, uid, mem, sig []byte) (*Card, error) {
	if len(mem) != model.Pages*4 {
		return nil, fmt.Errorf("chipsim: %s memory of %d bytes; want %d", model.Name, len(mem), model.Pages*4)
	}
	if sig == nil {
		h := sha256.Sum256(append([]byte("chipsim originality "), uid...))
		sig = h[:]
	}
	if len(sig) != 32 {
		return nil, fmt.Errorf("chipsim: originality signature of %d bytes; want 32", len(sig))
	}
	return newCard(model.Name, uid, 0x04, 0x00, &ntag{model: model, mem: bytes.Clone(mem), sig: bytes.Clone(sig)})
}

func (n *ntag) layer4() bool { return false }
func (n *ntag) reset()       {}

func (n *ntag) pages() int { return n.model.Pages }

// page returns page p as a reader sees it: PWD and PACK read as zero.
func (n *ntag) page(p int) []byte {
	if p >= n.pages()-2 {
		return make([]byte, 4)
	}
	return n.mem[p*4 : p*4+4]
}

func (n *ntag) command(k *Card, cmd []byte) *reply {
	switch {
	case len(cmd) == 1 && cmd[0] == 0x60: // GET_VERSION
		return withCRC([]byte{0x00, 0x04, 0x04, 0x02, 0x01, 0x00, n.model.Storage, 0x03})
	case len(cmd) == 2 && cmd[0] == 0x30 && int(cmd[1]) < n.pages(): // READ, rolls over
		var d []byte
		for i := 0; i < 4; i++ {
			d = append(d, n.page((int(cmd[1])+i)%n.pages())...)
		}
		return withCRC(d)
	case len(cmd) == 3 && cmd[0] == 0x3A && cmd[1] <= cmd[2] && int(cmd[2]) < n.pages(): // FAST_READ
		var d []byte
		for p := int(cmd[1]); p <= int(cmd[2]); p++ {
			d = append(d, n.page(p)...)
		}
		return withCRC(d)
	case len(cmd) == 2 && cmd[0] == 0x3C && cmd[1] == 0x00: // READ_SIG
		return withCRC(bytes.Clone(n.sig))
	case len(cmd) == 2 && cmd[0] == 0x39 && cmd[1] == 0x02: // READ_CNT
		return withCRC([]byte{byte(n.cnt), byte(n.cnt >> 8), byte(n.cnt >> 16)})
	case len(cmd) == 6 && cmd[0] == 0xA2 && cmd[1] >= 3 && int(cmd[1]) < n.pages(): // WRITE
		p := int(cmd[1])
		if p == 3 { // capability container bits are one-time programmable
			for i := 0; i < 4; i++ {
				n.mem[12+i] |= cmd[2+i]
			}
		} else {
			copy(n.mem[p*4:], cmd[2:6])
		}
		return ack()
	}
	k.idle()
	return nak(0x0)
}
