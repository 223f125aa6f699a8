package chipsim_test

import (
	"bytes"
	"testing"
	"time"

	"periph.io/x/devices/v3/mfrc522"
	"periph.io/x/devices/v3/mfrc522/commands"

	"leifeng/reader/chipsim"
)

func classicImage(uid []byte) []byte {
	mem := make([]byte, 1024)
	copy(mem, uid)
	for s := 0; s < 16; s++ {
		t := mem[(4*s+3)*16:]
		copy(t, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x80, 0x69, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
		for b := 0; b < 3; b++ {
			if s == 0 && b == 0 {
				continue
			}
			for i := 0; i < 16; i++ {
				mem[(4*s+b)*16+i] = byte(s*16 + b*4 + i)
			}
		}
	}
	return mem
}

// The faithfulness cross-check: periph's own mfrc522 driver, unmodified,
// reads a MIFARE Classic 1K block through the simulator.
func TestStockDriverReadsClassic(t *testing.T) {
	chip := chipsim.New()
	uid := []byte{0xDE, 0xAD, 0xBE, 0xEF}
	mem := classicImage(uid)
	card, err := chipsim.NewClassic1K(uid, mem)
	if err != nil {
		t.Fatal(err)
	}
	chip.Place(card)
	dev, err := mfrc522.NewSPI(chip, chip.ResetPin(), chip.IRQ())
	if err != nil {
		t.Fatal(err)
	}
	got, err := dev.ReadUID(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, uid) {
		t.Fatalf("UID % x, want % x", got, uid)
	}
	data, err := dev.ReadCard(time.Second, commands.PICC_AUTHENT1A, 2, 1, mfrc522.DefaultKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := mem[(4*2+1)*16 : (4*2+2)*16]; !bytes.Equal(data, want) {
		t.Fatalf("block: % x, want % x", data, want)
	}
	if _, err := dev.ReadCard(time.Second, commands.PICC_AUTHENT1A, 2, 1, mfrc522.Key{1, 2, 3, 4, 5, 6}); err == nil {
		t.Fatal("wrong key accepted")
	}
	if err := dev.Halt(); err != nil {
		t.Fatal(err)
	}
	t.Logf("modelled time %v, %+v", chip.Now(), chip.Stats())
}
