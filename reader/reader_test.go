package reader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

var media = []struct {
	media string
	uid   []byte
}{
	{"classic1k", uid4},
	{"classic1k", uid7},
	{"ntag213", uid7},
	{"ntag215", uid7},
	{"ntag216", uid7},
	{"ntag215", uid4},  // simulated: real NTAGs have 7-byte UIDs
	{"ntag215", uid10}, // simulated: cascade level 3
	{"ntag424", uid7},
}

func TestReadsEveryMedia(t *testing.T) {
	for _, m := range media {
		t.Run(fmt.Sprintf("%s/%dB", m.media, len(m.uid)), func(t *testing.T) {
			im := issue(t, m.media, m.uid, credentialFor(t, m.uid, nil))
			g := newRig(t)
			g.chip.Place(card(t, im))
			ev, ok := g.poll(t, 1)
			if !ok || ev.Err != nil {
				t.Fatalf("event %v: %+v", ok, ev)
			}
			tap := ev.Tap
			if tap.Volunteer != "PE-530802-000123" || tap.Card != "C2026-000123" || !bytes.Equal(tap.UID, m.uid) || tap.Media != m.media || !tap.At.Equal(today) {
				t.Fatalf("tap %+v", tap)
			}
			if m.media == "ntag424" && (tap.Counter != 1 || len(tap.SUN) == 0) {
				t.Fatalf("SUN counter %d, message %q", tap.Counter, tap.SUN)
			}
			// The same through the kiosk's image path.
			tap2, err := cardimage.Read(context.Background(), im, config())
			if err != nil || tap2.Volunteer != tap.Volunteer {
				t.Fatalf("ReadImage: %v %+v", err, tap2)
			}
		})
	}
}

func TestReadsWithoutIRQOrResetPin(t *testing.T) {
	im := issue(t, "ntag215", uid7, credentialFor(t, uid7, nil))
	chip := newRig(t).chip
	dev, err := mfrc522.New(chip)
	if err != nil {
		t.Fatal(err)
	}
	chip.Place(card(t, im))
	tg, err := dev.Detect(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Read(dev, tg, config()); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	other := []byte{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}
	for _, mediaName := range []string{"classic1k", "ntag215", "ntag424"} {
		uid := uid7
		genuine := credentialFor(t, uid, nil)

		flipped := bytes.Clone(genuine)
		flipped[8] ^= 0x01 // a byte of the volunteer ID

		forged := bytes.Clone(genuine)
		copy(forged[len(forged)-64:], bytes.Repeat([]byte{0x5A}, 64))

		expired := credentialFor(t, uid, func(c *credential.Credential) {
			c.Issued, c.Expires = today.AddDate(-3, 0, 0), today.AddDate(0, 0, -1)
		})
		revoked := credentialFor(t, uid, func(c *credential.Credential) { c.Serial = "C2024-000009" })

		copied := issue(t, mediaName, other, genuine) // genuine payload on another card

		cases := []struct {
			name string
			im   *cardimage.Image
			want error
		}{
			{"forged signature", issue(t, mediaName, uid, forged), reader.ErrForged},
			{"flipped byte", issue(t, mediaName, uid, flipped), reader.ErrForged},
			{"expired", issue(t, mediaName, uid, expired), reader.ErrExpired},
			{"revoked", issue(t, mediaName, uid, revoked), reader.ErrRevoked},
			{"copied onto another UID", copied, credential.ErrWrongCard},
		}
		for _, c := range cases {
			t.Run(mediaName+"/"+c.name, func(t *testing.T) {
				cfg := config()
				cfg.Verifier.Revoked = map[string]bool{"C2024-000009": true}
				g := newRig(t)
				g.r = reader.NewReader(g.dev, cfg, quiet)
				g.chip.Place(card(t, c.im))
				ev, ok := g.poll(t, 1)
				if !ok || !errors.Is(ev.Err, c.want) {
					t.Fatalf("err = %v, want %v", ev.Err, c.want)
				}
				if c.want == credential.ErrWrongCard && !errors.Is(ev.Err, reader.ErrForged) {
					t.Fatalf("copied card does not match ErrForged: %v", ev.Err)
				}
				if code := reader.Code(ev.Err); code == "" || code == reader.CodeOther {
					t.Fatalf("no code for the kiosk's catalogue: %v", ev.Err)
				}
			})
		}
	}
}

func TestBlankCardUnsupported(t *testing.T) {
	g := newRig(t)
	mem := make([]byte, 135*4)
	copy(mem, uid7[:3])
	k, err := (&cardimage.Image{Media: "ntag215", UID: uid7, Memory: mem}).Card()
	if err != nil {
		t.Fatal(err)
	}
	g.chip.Place(k)
	ev, _ := g.poll(t, 1)
	if !errors.Is(ev.Err, reader.ErrUnsupported) {
		t.Fatalf("err = %v", ev.Err)
	}
}

func TestSeveralCards(t *testing.T) {
	g := newRig(t)
	a := card(t, issue(t, "ntag215", uid7, credentialFor(t, uid7, nil)))
	b := card(t, issue(t, "ntag215", uid4, credentialFor(t, uid4, nil)))
	g.chip.Place(a, b)
	ev, ok := g.poll(t, 1)
	if !ok || !errors.Is(ev.Err, reader.ErrSeveralCards) {
		t.Fatalf("err = %v", ev.Err)
	}
	if _, ok := g.poll(t, 3); ok {
		t.Fatal("several-cards error repeated while the field did not change")
	}
	g.chip.Remove(b)
	ev, ok = g.poll(t, 3)
	if !ok || ev.Err != nil || !bytes.Equal(ev.Tap.UID, uid7) {
		t.Fatalf("after removing one card: %+v", ev)
	}
}

func TestPulledMidRead(t *testing.T) {
	// Frames before the card leaves: past selection, mid-read.
	for m, n := range map[string]int{"classic1k": 9, "ntag215": 7, "ntag424": 9} {
		t.Run(m, func(t *testing.T) {
			g := newRig(t)
			k := card(t, issue(t, m, uid7, credentialFor(t, uid7, nil)))
			k.PullAfter(n)
			g.chip.Place(k)
			ev, ok := g.poll(t, 1)
			if !ok || !errors.Is(ev.Err, reader.ErrUnreadable) {
				t.Fatalf("err = %v", ev.Err)
			}
			if _, ok := g.poll(t, 2); ok {
				t.Fatal("event with no card in the field")
			}
			g.chip.Place(k)
			ev, ok = g.poll(t, 2)
			if !ok || ev.Err != nil {
				t.Fatalf("next tap: %v", ev.Err)
			}
		})
	}
}

func TestCorruptedReplyIsRetried(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "ntag215", uid7, credentialFor(t, uid7, nil)))
	g.chip.Place(k)
	k.CorruptReplies(3, 1) // SAK CL1, SAK CL2, GET_VERSION, then the first FAST_READ
	ev, ok := g.poll(t, 1)
	if !ok || ev.Err != nil {
		t.Fatalf("%v", ev.Err)
	}
	k2 := card(t, issue(t, "classic1k", uid4, credentialFor(t, uid4, nil)))
	g.chip.Remove(k)
	g.chip.Place(k2)
	k2.CorruptReplies(0, 50)
	for i := 0; i < 3; i++ {
		if ev, ok := g.r.Poll(); ok && !errors.Is(ev.Err, reader.ErrUnreadable) {
			t.Fatalf("persistent corruption: %v", ev.Err)
		}
	}
}

func TestDebounce(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "classic1k", uid4, credentialFor(t, uid4, nil)))
	g.chip.Place(k)
	n := 0
	for i := 0; i < 10; i++ {
		if ev, ok := g.r.Poll(); ok {
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			n++
		}
	}
	if n != 1 {
		t.Fatalf("card left on the reader gave %d taps", n)
	}
	g.chip.Remove(k)
	if _, ok := g.r.Poll(); ok {
		t.Fatal("event on removal")
	}
	g.chip.Place(k)
	if ev, ok := g.r.Poll(); !ok || ev.Err != nil {
		t.Fatalf("second tap: %v %v", ok, ev.Err)
	}
	// Lifted and put back between two polls is a new tap too.
	g.chip.Remove(k)
	g.chip.Place(k)
	if ev, ok := g.r.Poll(); !ok || ev.Err != nil {
		t.Fatalf("quick re-tap: %v %v", ok, ev.Err)
	}
}

func TestChipStopsAnswering(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "ntag215", uid7, credentialFor(t, uid7, nil)))
	g.chip.Hang()
	if ev, ok := g.r.Poll(); ok {
		t.Fatalf("event while recovering: %v", ev.Err)
	}
	if g.r.Recoveries() != 1 {
		t.Fatalf("recoveries %d", g.r.Recoveries())
	}
	g.chip.Place(k)
	if ev, ok := g.r.Poll(); !ok || ev.Err != nil {
		t.Fatalf("after recovery: %v %v", ok, ev.Err)
	}
}

func TestChipDeadWithoutResetPin(t *testing.T) {
	chip := newRig(t).chip
	dev, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()))
	if err != nil {
		t.Fatal(err)
	}
	r := reader.NewReader(dev, config(), quiet)
	chip.Hang()
	ev, ok := r.Poll()
	if !ok || !errors.Is(ev.Err, reader.ErrReaderFault) {
		t.Fatalf("err = %v", ev.Err)
	}
	if _, ok := r.Poll(); ok {
		t.Fatal("reader fault reported twice")
	}
}

func TestNTAG424SUN(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "ntag424", uid7, credentialFor(t, uid7, nil)))
	var first []byte
	for i := uint32(1); i <= 3; i++ {
		g.chip.Place(k)
		ev, ok := g.poll(t, 1)
		if !ok || ev.Err != nil {
			t.Fatalf("tap %d: %v", i, ev.Err)
		}
		if ev.Tap.Counter != i {
			t.Fatalf("tap %d: counter %d", i, ev.Tap.Counter)
		}
		keys, _ := credential.CardSUNKeys(sunMaster, uid7)
		s, err := credential.VerifySUN(keys, ev.Tap.SUN)
		if err != nil || s.Counter != i {
			t.Fatalf("cloud check: %v", err)
		}
		if first == nil {
			first = ev.Tap.SUN
		}
		g.chip.Remove(k)
		g.r.Poll()
	}
	keys, _ := credential.CardSUNKeys(sunMaster, uid7)
	s, err := credential.VerifySUN(keys, first)
	if err != nil {
		t.Fatal(err)
	}
	// A replay carries its old counter, which the cloud's clone check
	// (cloud/store) flags as not rising.
	if s.Counter != 1 {
		t.Fatalf("replayed SUN counter %d, want 1", s.Counter)
	}
}

// A corrupted I-block is recovered by R(NAK) and retransmission.
func TestNTAG424Retransmission(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "ntag424", uid7, credentialFor(t, uid7, nil)))
	k.CorruptReplies(4, 2) // SAK, ATS, SELECT, SELECT; then two ReadBinary blocks
	g.chip.Place(k)
	ev, ok := g.poll(t, 1)
	if !ok || ev.Err != nil {
		t.Fatalf("%v", ev.Err)
	}
}

func TestNTAG424SlowCardWTX(t *testing.T) {
	g := newRig(t)
	k := card(t, issue(t, "ntag424", uid7, credentialFor(t, uid7, nil)))
	k.SlowReplies(2)
	g.chip.Place(k)
	ev, ok := g.poll(t, 1)
	if !ok || ev.Err != nil {
		t.Fatalf("%v", ev.Err)
	}
}

func TestRun(t *testing.T) {
	g := newRig(t)
	g.r = reader.NewReader(g.dev, config(), quiet, reader.WithPollInterval(time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan reader.Event)
	done := make(chan error)
	go func() { done <- g.r.Run(ctx, events) }()
	g.chip.Place(card(t, issue(t, "ntag215", uid7, credentialFor(t, uid7, nil))))
	select {
	case ev := <-events:
		if ev.Err != nil {
			t.Fatal(ev.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no tap")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// A refused card left on the reader is refused once, whatever state the
// failure left it in.
func TestRefusedCardLeftOnReader(t *testing.T) {
	foreign := make([]byte, 1024)
	for s := 0; s < 16; s++ {
		copy(foreign[(4*s+3)*16:], []byte{1, 2, 3, 4, 5, 6, 0xFF, 0x07, 0x80, 0x69, 1, 2, 3, 4, 5, 6})
	}
	classic, err := (&cardimage.Image{Media: "classic1k", UID: uid4, Memory: foreign}).Card()
	if err != nil {
		t.Fatal(err)
	}
	blankNTAG, err := (&cardimage.Image{Media: "ntag213", UID: uid7, Memory: make([]byte, 45*4)}).Card()
	if err != nil {
		t.Fatal(err)
	}
	pulled := card(t, issue(t, "ntag424", uid7, credentialFor(t, uid7, nil)))
	pulled.CorruptReplies(6, 20) // the link fails mid-read, the card stays
	for _, k := range []*chipsim.Card{classic, blankNTAG, pulled} {
		g := newRig(t)
		g.chip.Place(k)
		n := 0
		for i := 0; i < 6; i++ {
			if ev, ok := g.r.Poll(); ok {
				if ev.Err == nil {
					t.Fatalf("%s: accepted", k.Media())
				}
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s left on the reader: %d events", k.Media(), n)
		}
	}
}

func TestReadImageAdvancesSUNCounter(t *testing.T) {
	im := issue(t, "ntag424", uid7, credentialFor(t, uid7, nil))
	for want := uint32(1); want <= 3; want++ {
		tap, err := cardimage.Read(context.Background(), im, config())
		if err != nil || tap.Counter != want || im.SDM.Counter != want {
			t.Fatalf("tap %d: counter %d, image %d, %v", want, tap.Counter, im.SDM.Counter, err)
		}
	}
}
