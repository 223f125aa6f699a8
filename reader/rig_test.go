package reader_test

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	issuerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, 32))
	sunMaster = credential.SUNKeys{MetaRead: bytes.Repeat([]byte{0x11}, 16), FileRead: bytes.Repeat([]byte{0x22}, 16)}
	today     = time.Date(2026, 11, 28, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	uid4      = []byte{0x3A, 0x5C, 0x91, 0x07}
	uid7      = []byte{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80}
	uid10     = []byte{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80, 0x19, 0x2A, 0x3B}
)

const keyID = 7

// quiet keeps refused-card logs out of test output.
var quiet = reader.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

func config() *reader.Config {
	return &reader.Config{
		Verifier: &credential.Verifier{
			Keys: map[uint16]ed25519.PublicKey{keyID: issuerKey.Public().(ed25519.PublicKey)},
			Now:  func() time.Time { return today },
		},
		SUN: &sunMaster,
		Now: func() time.Time { return today },
	}
}

// credentialFor signs a credential for uid; mut may change it first.
func credentialFor(t testing.TB, uid []byte, mut func(*credential.Credential)) []byte {
	t.Helper()
	c := &credential.Credential{
		UID: uid, Volunteer: "PE-530802-000123", Serial: "C2026-000123",
		Issued: today.AddDate(0, -6, 0), Expires: today.AddDate(2, 0, 0),
	}
	if mut != nil {
		mut(c)
	}
	b, err := c.Sign(keyID, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func issue(t testing.TB, media string, uid, cred []byte) *cardimage.Image {
	t.Helper()
	im, err := cardimage.Issue(media, uid, cred, cardimage.IssueOptions{
		KeyB: [6]byte{0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5}, SUNMaster: sunMaster,
	})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func card(t testing.TB, im *cardimage.Image) *chipsim.Card {
	t.Helper()
	c, err := im.Card()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type rig struct {
	chip *chipsim.Chip
	dev  *mfrc522.Dev
	r    *reader.Reader
}

func newRig(t testing.TB, opts ...mfrc522.Option) *rig {
	t.Helper()
	chip := chipsim.New()
	if opts == nil {
		opts = []mfrc522.Option{mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin())}
	}
	dev, err := mfrc522.New(chip, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{chip: chip, dev: dev, r: reader.NewReader(dev, config(), quiet)}
}

// poll runs polls until one yields an event, at most n.
func (g *rig) poll(t testing.TB, n int) (reader.Event, bool) {
	t.Helper()
	for i := 0; i < n; i++ {
		if ev, ok := g.r.Poll(); ok {
			return ev, true
		}
		g.chip.Advance(reader.DefaultPollInterval)
	}
	return reader.Event{}, false
}
