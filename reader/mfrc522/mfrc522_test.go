package mfrc522_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/physic"

	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ntag(t *testing.T, uid []byte) *chipsim.Card {
	t.Helper()
	mem := make([]byte, credential.NTAG215.Pages*4)
	for i := range mem[16:520] {
		mem[16+i] = byte(i)
	}
	c, err := chipsim.NewNTAG(credential.NTAG215, uid, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(t *testing.T, chip *chipsim.Chip, irq bool) *mfrc522.Dev {
	t.Helper()
	opts := []mfrc522.Option{mfrc522.WithReset(chip.ResetPin()), mfrc522.WithAntennaGain(7)}
	if irq {
		opts = append(opts, mfrc522.WithIRQ(chip.IRQ()))
	}
	d, err := mfrc522.New(chip, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestInitSelfTest(t *testing.T) {
	d := open(t, chipsim.New(), true)
	if d.Version() != 0x92 {
		t.Fatalf("version 0x%02X", d.Version())
	}
	if s := d.String(); !strings.Contains(s, "MFRC522") || !strings.Contains(s, "irq=IRQ") || !strings.Contains(s, "rst=NRSTPD") {
		t.Fatalf("String() = %q", s)
	}
	if err := d.SetAntennaGain(8); err == nil {
		t.Fatal("gain 8 accepted")
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if _, err := mfrc522.New(chipsim.New(chipsim.WithVersion(0x00))); !errors.Is(err, mfrc522.ErrChip) {
		t.Fatalf("no chip: %v", err)
	}
}

func TestDetectCascadeLevels(t *testing.T) {
	for _, uid := range [][]byte{
		{0x3A, 0x5C, 0x91, 0x07},
		{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80},
		{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80, 0x19, 0x2A, 0x3B},
	} {
		for _, irq := range []bool{true, false} {
			chip := chipsim.New()
			d := open(t, chip, irq)
			if _, err := d.Detect(false); !errors.Is(err, mfrc522.ErrNoCard) {
				t.Fatalf("empty field: %v", err)
			}
			chip.Place(ntag(t, uid))
			tg, err := d.Detect(false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tg.UID, uid) || tg.SAK != 0x00 {
				t.Fatalf("UID % X SAK %02X", tg.UID, tg.SAK)
			}
		}
	}
}

func TestNTAGCommands(t *testing.T) {
	chip := chipsim.New()
	d := open(t, chip, true)
	chip.Place(ntag(t, []byte{0x04, 1, 2, 3, 4, 5, 6}))
	if _, err := d.Detect(false); err != nil {
		t.Fatal(err)
	}
	v, err := d.NTAGVersion()
	if err != nil || v[6] != 0x11 {
		t.Fatalf("GET_VERSION % X %v", v, err)
	}
	sig, err := d.NTAGReadSig()
	if err != nil || len(sig) != 32 {
		t.Fatalf("READ_SIG: %d bytes, %v", len(sig), err)
	}
	all, err := d.NTAGFastRead(4, 129)
	if err != nil || len(all) != 126*4 || all[0] != 0 || all[100] != 100 {
		t.Fatalf("FAST_READ: %d bytes, %v", len(all), err)
	}
	p, err := d.NTAGRead(4)
	if err != nil || !bytes.Equal(p, all[:16]) {
		t.Fatalf("READ: % X %v", p, err)
	}
	if err := d.NTAGWrite(10, [4]byte{9, 9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.NTAGRead(10); !bytes.Equal(p[:4], []byte{9, 9, 9, 9}) {
		t.Fatalf("after WRITE: % X", p)
	}
	if _, err := d.NTAGRead(200); !errors.Is(err, mfrc522.ErrNAK) {
		t.Fatalf("READ beyond memory: %v", err)
	}
}

func TestSeveralCardsAndRecovery(t *testing.T) {
	chip := chipsim.New()
	d := open(t, chip, true)
	chip.Place(ntag(t, []byte{0x04, 1, 2, 3, 4, 5, 6}), ntag(t, []byte{0x04, 1, 2, 0x33, 4, 5, 6}))
	if _, err := d.Detect(false); !errors.Is(err, mfrc522.ErrSeveralCards) {
		t.Fatalf("two cards: %v", err)
	}
	chip.Hang()
	if _, err := d.Detect(true); !errors.Is(err, mfrc522.ErrChip) {
		t.Fatalf("hung chip: %v", err)
	}
	if err := d.Recover(); err != nil {
		t.Fatal(err)
	}
}

func TestClassicAuth(t *testing.T) {
	chip := chipsim.New()
	d := open(t, chip, false)
	uid := []byte{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80}
	mem := make([]byte, 1024)
	for s := 0; s < 16; s++ {
		copy(mem[(4*s+3)*16:], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x80, 0x69, 1, 2, 3, 4, 5, 6})
	}
	mem[5*16] = 0xAB
	k, err := chipsim.NewClassic1K(uid, mem)
	if err != nil {
		t.Fatal(err)
	}
	chip.Place(k)
	tg, err := d.Detect(false)
	if err != nil || !tg.Classic() {
		t.Fatalf("%v %+v", err, tg)
	}
	if err := d.ClassicAuth(tg, false, 7, [6]byte{1, 1, 1, 1, 1, 1}); !errors.Is(err, mfrc522.ErrAuth) {
		t.Fatalf("wrong key: %v", err)
	}
	tg, _ = d.Detect(true)
	// Transport access bits make key B readable, so it cannot authenticate.
	if err := d.ClassicAuth(tg, true, 7, [6]byte{1, 2, 3, 4, 5, 6}); !errors.Is(err, mfrc522.ErrAuth) {
		t.Fatalf("readable key B: %v", err)
	}
	tg, _ = d.Detect(true)
	if err := d.ClassicAuth(tg, false, 7, [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}); err != nil {
		t.Fatal(err)
	}
	b, err := d.ClassicRead(5)
	if err != nil || b[0] != 0xAB {
		t.Fatalf("% X %v", b, err)
	}
	tr, err := d.ClassicRead(7)
	if err != nil || !bytes.Equal(tr[:6], make([]byte, 6)) || !bytes.Equal(tr[10:], []byte{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("trailer % X %v", tr, err)
	}
	if _, err := d.ClassicRead(8); err == nil {
		t.Fatal("read outside the authenticated sector")
	}

	// With MFCrypto1On left set, REQA goes out encrypted: nobody answers.
	if err := d.StopCrypto(); err != nil {
		t.Fatal(err)
	}
	chip.Remove(k)
	chip.Place(k)
	tg, err = d.Detect(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ClassicAuth(tg, false, 7, [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}); err != nil {
		t.Fatal(err)
	}
	chip.Remove(k)
	chip.Place(k)
	if _, err := d.Detect(false); !errors.Is(err, mfrc522.ErrNoCard) {
		t.Fatalf("REQA with Crypto1 on: %v", err)
	}
	if err := d.StopCrypto(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Detect(false); err != nil {
		t.Fatalf("after StopCrypto: %v", err)
	}
}

// Nested authentication: a second sector while the first session runs.
func TestClassicNestedAuth(t *testing.T) {
	chip := chipsim.New()
	d := open(t, chip, true)
	mem := make([]byte, 1024)
	for s := 0; s < 16; s++ {
		copy(mem[(4*s+3)*16:], []byte{byte(s), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x07, 0x88, 0x40, 0, 0, 0, 0, 0, 0})
		mem[(4*s)*16+1] = byte(s)
	}
	k, _ := chipsim.NewClassic1K([]byte{0x3A, 0x5C, 0x91, 0x07}, mem)
	chip.Place(k)
	tg, err := d.Detect(false)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s < 16; s++ {
		if err := d.ClassicAuth(tg, false, byte(4*s+3), [6]byte{byte(s), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}); err != nil {
			t.Fatalf("sector %d: %v", s, err)
		}
		b, err := d.ClassicRead(byte(4 * s))
		if err != nil || b[1] != byte(s) {
			t.Fatalf("sector %d: % X %v", s, b, err)
		}
	}
}

// TestWithSpeed: a slower SPI clock (long wires to the module) is what the
// chip is driven at: the same initialisation takes longer on the bus.
func TestWithSpeed(t *testing.T) {
	took := func(opts ...mfrc522.Option) time.Duration {
		chip := chipsim.New()
		start := chip.Now()
		if _, err := mfrc522.New(chip, opts...); err != nil {
			t.Fatal(err)
		}
		return chip.Now() - start
	}
	fast, slow := took(), took(mfrc522.WithSpeed(physic.MegaHertz))
	if slow <= fast {
		t.Fatalf("init at 1 MHz took %v, at the default 10 MHz %v", slow, fast)
	}
}
