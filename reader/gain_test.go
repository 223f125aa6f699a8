package reader_test

import (
	"testing"
)

// TestAntennaGainLive: a gain asked for while the reader runs reaches the
// chip's RFCfgReg at the next poll, without a restart, and survives the
// reset of a recovery.
func TestAntennaGainLive(t *testing.T) {
	g := newRig(t)
	if got := g.chip.RxGain(); got != 4 {
		t.Fatalf("gain after start %d, want the reset value 4", got)
	}
	if err := g.r.SetAntennaGain(8); err == nil {
		t.Fatal("gain 8 accepted")
	}
	if err := g.r.SetAntennaGain(6); err != nil {
		t.Fatal(err)
	}
	if got := g.chip.RxGain(); got != 4 {
		t.Fatalf("gain written outside the polling goroutine: %d", got)
	}
	g.r.Poll()
	if got := g.chip.RxGain(); got != 6 {
		t.Fatalf("gain after poll %d, want 6", got)
	}
	g.chip.Hang()
	g.r.Poll()
	if g.r.Recoveries() != 1 {
		t.Fatalf("recoveries %d", g.r.Recoveries())
	}
	if got := g.chip.RxGain(); got != 6 {
		t.Fatalf("gain after recovery %d, want 6", got)
	}
	if err := g.r.SetAntennaGain(0); err != nil {
		t.Fatal(err)
	}
	g.r.Poll()
	if got := g.chip.RxGain(); got != 0 {
		t.Fatalf("gain %d, want 0", got)
	}
}
