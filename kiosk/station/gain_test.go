package station

import (
	"path/filepath"
	"testing"

	"leifeng/gateway/wire"
	"leifeng/kiosk/config"
	kstore "leifeng/kiosk/store"
	"leifeng/reader"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

// A config's antenna gain reaches the real reader's chip at its next poll
// (the simulator records the RFCfgReg write); a config naming no gain
// keeps the one the reader runs with; the chip's recoveries and the
// records the gateway refused reach the reported state.
func TestGainAndCountsWired(t *testing.T) {
	chip := chipsim.New()
	dev, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := kstore.Open(filepath.Join(t.TempDir(), DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := &kiosk{log: logger(), st: st,
		rdr: reader.NewReader(dev, &reader.Config{Verifier: &credential.Verifier{}}, reader.WithLogger(logger()))}

	six := 6
	k.applyGain(&wire.Config{Reader: &wire.ReaderConfig{AntennaGain: &six}})
	k.rdr.Poll()
	if got := chip.RxGain(); got != 6 {
		t.Fatalf("chip gain %d after a config of 6", got)
	}
	k.applyGain(&wire.Config{Reader: &wire.ReaderConfig{DebounceMillis: 2000}})
	k.rdr.Poll()
	if got := chip.RxGain(); got != 6 {
		t.Fatalf("a config without a gain changed it to %d", got)
	}

	chip.Hang()
	k.rdr.Poll()
	mgr, err := config.New(st, config.Options{Station: id})
	if err != nil {
		t.Fatal(err)
	}
	in := newInbox(id, mgr, logger(), func() {})
	in.counts = k.counts
	var state wire.State
	in.report(&state)
	if state.ReaderRecoveries != 1 || state.Rejected != 0 {
		t.Fatalf("reported recoveries %d, rejected %d; want 1 and 0", state.ReaderRecoveries, state.Rejected)
	}
}
