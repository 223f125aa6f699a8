package chipsim

import (
	"testing"

	"leifeng/reader/credential"
	"leifeng/reader/iso14443"
)

// FuzzCardFrames sends arbitrary frames to selected cards of every type,
// the NTAG 424 DNA with ISO-DEP active, a Classic in an authenticated session: whatever arrives on the air, a card
// answers within its protocol or stays silent, and never panics.
func FuzzCardFrames(f *testing.F) {
	f.Add([]byte{2, 0xE0, 0x50, 14, 0x02, 0x00, 0xA4, 0x04, 0x0C, 0x07, 0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01, 0x00})
	f.Add([]byte{2, 0x30, 0x04, 3, 0x3A, 0x00, 0x10, 2, 0xB2, 0x00})
	f.Add([]byte{1, 0x60, 6, 0xA2, 0x05, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, in []byte) {
		uid := []byte{0x04, 1, 2, 3, 4, 5, 6}
		file := make([]byte, 256)
		keys := credential.SUNKeys{MetaRead: make([]byte, 16), FileRead: make([]byte, 16)}
		t424, _ := NewNTAG424(uid, file, 100, 140, keys, 0)
		nt, _ := NewNTAG(credential.NTAG213, uid, make([]byte, 45*4), nil)
		cl, _ := NewClassic1K(uid, make([]byte, 1024))
		authed, _ := NewClassic1K(uid, make([]byte, 1024))
		cards := []*Card{t424, nt, cl, authed}
		for _, k := range cards {
			k.state = stActive
		}
		authed.app.(*classic).cipher = newCrypto1([6]byte{1, 2, 3, 4, 5, 6})
		t424.receive(frame{data: iso14443.AppendCRCA([]byte{0xE0, 0x50})})
		for len(in) > 0 {
			n := min(int(in[0]), len(in)-1)
			fr := in[1 : 1+n]
			in = in[1+n:]
			for _, k := range cards {
				if r := k.receive(frame{data: iso14443.AppendCRCA(fr)}); r != nil && len(r.data) > 300 {
					t.Fatalf("%s answered %d bytes", k.media, len(r.data))
				}
				k.receive(frame{data: fr, lastBits: len(fr) % 8})
			}
		}
	})
}
