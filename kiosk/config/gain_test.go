package config

import (
	"crypto/ed25519"
	"testing"

	"leifeng/gateway/wire"
	"leifeng/reader"
	"leifeng/reader/chipsim"
	"leifeng/reader/mfrc522"
)

// TestPushedAntennaGainReachesChip follows reader.antenna_gain from a
// signed document offered to the Manager to the simulated MFRC522's
// RFCfgReg, as the station wires it: every applied config's
// Reader.Gain() goes to Reader.SetAntennaGain, which the polling
// goroutine writes before its next poll. A fleet gain applies, and a
// station's explicit 0 overrides it.
func TestPushedAntennaGainReachesChip(t *testing.T) {
	f := newFixture(t)
	chip := chipsim.New()
	dev, err := mfrc522.New(chip, mfrc522.WithReset(chip.ResetPin()))
	if err != nil {
		t.Fatal(err)
	}
	r := reader.NewReader(dev, &reader.Config{})
	updates, unsub := f.m.Subscribe()
	defer unsub()
	apply := func(slot Slot, priv ed25519.PrivateKey, c *wire.Config) int {
		t.Helper()
		if err := f.m.Offer(slot, f.seal(t, priv, "cloud-1", c)); err != nil {
			t.Fatal(err)
		}
		if err := r.SetAntennaGain((<-updates).Reader.Gain()); err != nil {
			t.Fatal(err)
		}
		r.Poll()
		return chip.RxGain()
	}
	if got := chip.RxGain(); got != wire.DefaultAntennaGain {
		t.Fatalf("gain at start %d", got)
	}
	if got := apply(Fleet, f.priv, &wire.Config{Version: 3, Reader: &wire.ReaderConfig{AntennaGain: new(7)}}); got != 7 {
		t.Fatalf("fleet gain 7 reached the chip as %d", got)
	}
	if got := apply(Station, f.priv, &wire.Config{Version: 4, Station: "pe-a", Reader: &wire.ReaderConfig{AntennaGain: new(0)}}); got != 0 {
		t.Fatalf("station gain 0 reached the chip as %d", got)
	}
}
