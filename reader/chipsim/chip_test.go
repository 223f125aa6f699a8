package chipsim_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func wr(t *testing.T, c spi.Conn, reg byte, v ...byte) {
	t.Helper()
	if err := c.Tx(append([]byte{reg << 1}, v...), nil); err != nil {
		t.Fatal(err)
	}
}

func rd(t *testing.T, c spi.Conn, regs ...byte) []byte {
	t.Helper()
	w := make([]byte, len(regs)+1)
	for i, r := range regs {
		w[i] = r<<1 | 0x80
	}
	r := make([]byte, len(w))
	if err := c.Tx(w, r); err != nil {
		t.Fatal(err)
	}
	return r[1:]
}

func conn(t *testing.T, chip *chipsim.Chip) spi.Conn {
	t.Helper()
	c, err := chip.Connect(10*physic.MegaHertz, spi.Mode0, 8)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegisters(t *testing.T) {
	chip := chipsim.New()
	if _, err := chip.Connect(physic.MegaHertz, spi.Mode3, 8); err == nil {
		t.Fatal("SPI mode 3 accepted")
	}
	c := conn(t, chip)
	if v := rd(t, c, 0x37, 0x37); v[0] != 0x92 || v[1] != 0x92 {
		t.Fatalf("VersionReg burst % X", v)
	}
	// FIFO: a burst write, level, flush, overflow at 65 bytes.
	wr(t, c, 0x09, make([]byte, 60)...)
	if v := rd(t, c, 0x0A); v[0] != 60 {
		t.Fatalf("FIFOLevel %d", v[0])
	}
	wr(t, c, 0x09, make([]byte, 5)...)
	if v := rd(t, c, 0x0A, 0x06); v[0] != 64 || v[1]&0x10 == 0 {
		t.Fatalf("overflow: level %d ErrorReg %02X", v[0], v[1])
	}
	wr(t, c, 0x0A, 0x80)
	if v := rd(t, c, 0x0A, 0x06); v[0] != 0 || v[1]&0x10 != 0 {
		t.Fatalf("flush: % X", v)
	}
	// ComIrqReg: Set1 sets the marked bits, otherwise clears them.
	wr(t, c, 0x04, 0x7F)
	if v := rd(t, c, 0x04); v[0] != 0 {
		t.Fatalf("ComIrqReg after clear %02X", v[0])
	}
	wr(t, c, 0x04, 0x81)
	if v := rd(t, c, 0x04); v[0] != 0x01 {
		t.Fatalf("ComIrqReg after set %02X", v[0])
	}
	// CalcCRC of HLTA with the CRC_A preset 6363 is 57 CD.
	wr(t, c, 0x11, 0x3D)
	wr(t, c, 0x09, 0x50, 0x00)
	wr(t, c, 0x01, 0x03)
	if v := rd(t, c, 0x05, 0x22, 0x21); v[0]&0x04 == 0 || v[1] != 0x57 || v[2] != 0xCD {
		t.Fatalf("CRC: % X", v)
	}
}

func TestTimerEndsUnansweredTransceive(t *testing.T) {
	chip := chipsim.New()
	c := conn(t, chip)
	wr(t, c, 0x14, 0x83)      // antenna on
	wr(t, c, 0x2A, 0x80|0x02) // TAuto, 100 µs ticks
	wr(t, c, 0x2B, 0xA5)
	wr(t, c, 0x2D, 49) // 50 ticks: 5 ms
	wr(t, c, 0x09, 0x26)
	wr(t, c, 0x0D, 0x07)
	wr(t, c, 0x01, 0x0C)
	t0 := chip.Now()
	wr(t, c, 0x0D, 0x87)
	if v := rd(t, c, 0x04); v[0]&0x01 != 0 {
		t.Fatal("timer fired at once")
	}
	var n int
	for rd(t, c, 0x04)[0]&0x01 == 0 {
		if n++; n > 10000 {
			t.Fatal("timer never fired")
		}
	}
	if d := chip.Now() - t0; d < 5*time.Millisecond || d > 6*time.Millisecond {
		t.Fatalf("timeout after %v", d)
	}
}

func TestCollision(t *testing.T) {
	chip := chipsim.New()
	c := conn(t, chip)
	mem := make([]byte, 135*4)
	a, _ := chipsim.NewNTAG(credential.NTAG215, []byte{0x01, 0x02, 0x03, 0x04}, mem, nil)
	b, _ := chipsim.NewNTAG(credential.NTAG215, []byte{0x01, 0x02, 0x07, 0x04}, mem, nil)
	chip.Place(a, b)
	wr(t, c, 0x14, 0x83)
	wr(t, c, 0x2A, 0x82)
	wr(t, c, 0x2B, 0xA5)
	wr(t, c, 0x2D, 10)
	for _, f := range [][]byte{{0x26}, {0x93, 0x20}} {
		last := byte(0)
		if len(f) == 1 {
			last = 7
		}
		wr(t, c, 0x01, 0x00)
		wr(t, c, 0x04, 0x7F)
		wr(t, c, 0x0A, 0x80)
		wr(t, c, 0x09, f...)
		wr(t, c, 0x0D, last)
		wr(t, c, 0x01, 0x0C)
		wr(t, c, 0x0D, 0x80|last)
		for rd(t, c, 0x04)[0]&0x31 == 0 {
		}
	}
	v := rd(t, c, 0x06, 0x0E)
	// UID byte 2: 0x03 vs 0x07 differ in bit 2: frame bit 16+2, CollPos 19.
	if v[0]&0x08 == 0 || v[1]&0x1F != 19 {
		t.Fatalf("ErrorReg %02X CollReg %02X", v[0], v[1])
	}
}
