package reader_test

import (
	"errors"
	"testing"

	"leifeng/reader/cardimage"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
)

// blank returns a factory-fresh card of the image's media.
func blank(t *testing.T, im *cardimage.Image) *chipsim.Card {
	t.Helper()
	b := &cardimage.Image{Media: im.Media, UID: im.UID, Memory: make([]byte, len(im.Memory))}
	if im.Media == "classic1k" {
		copy(b.Memory, im.Memory[:16])
		for s := 0; s < 16; s++ {
			copy(b.Memory[(4*s+3)*16:], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x80, 0x69, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
		}
	} else {
		copy(b.Memory, im.Memory[:12])
		m, _ := credential.NTAGModelByName(im.Media)
		copy(b.Memory[12:], []byte{0xE1, 0x10, m.CC, 0x00})
	}
	return card(t, b)
}

func TestWriteBlankCards(t *testing.T) {
	for _, c := range []struct {
		media string
		uid   []byte
	}{{"classic1k", uid4}, {"classic1k", uid7}, {"ntag213", uid7}, {"ntag216", uid7}} {
		t.Run(c.media, func(t *testing.T) {
			im := issue(t, c.media, c.uid, credentialFor(t, c.uid, nil))
			g := newRig(t)
			k := blank(t, im)
			g.chip.Place(k)
			tg, err := g.dev.Detect(false)
			if err != nil {
				t.Fatal(err)
			}
			if err := cardimage.Write(g.dev, tg, im, cardimage.TransportKey); err != nil {
				t.Fatal(err)
			}
			g.chip.Remove(k)
			g.chip.Place(k)
			ev, ok := g.poll(t, 1)
			if !ok || ev.Err != nil {
				t.Fatalf("reading the written card: %v", ev.Err)
			}
		})
	}
}

func TestWriteRefusesOtherCard(t *testing.T) {
	im := issue(t, "ntag215", uid7, credentialFor(t, uid7, nil))
	other := issue(t, "ntag215", uid4, credentialFor(t, uid4, nil))
	g := newRig(t)
	g.chip.Place(card(t, other))
	tg, err := g.dev.Detect(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cardimage.Write(g.dev, tg, im, cardimage.TransportKey); !errors.Is(err, cardimage.ErrWrongMedia) {
		t.Fatalf("err = %v", err)
	}
}
