package slot_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
)

func bundle(t *testing.T, v string) string {
	return releasetest.Build(t, release.Manifest{Version: v, Board: "any", Arch: "arm64"},
		map[string][]byte{"leifeng-kiosk": []byte("kiosk " + v)})
}

func installed(t *testing.T) *slot.Slots {
	t.Helper()
	s := slot.New(filepath.Join(t.TempDir(), "opt"))
	if err := s.Provision(bundle(t, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(bundle(t, "1.1.0"), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTrialGetsOneStart(t *testing.T) {
	s := installed(t)
	if err := s.Try("1.1.0"); err != nil {
		t.Fatal(err)
	}
	if cur, st, _ := s.Start(); cur != slot.B || st.Starts != 1 {
		t.Fatalf("first start %s %+v", cur, st)
	}
	if _, ok := s.Trial(); !ok {
		t.Fatal("not on trial")
	}
	if cur, st, _ := s.Start(); cur != slot.A || st.Outcome != slot.RolledBack {
		t.Fatalf("second start %s %+v", cur, st)
	}
	if err := s.Commit(); !errors.Is(err, slot.ErrNotTrial) {
		t.Fatalf("commit after rollback: %v", err)
	}
}

func TestTryRefusesWrongOrBrokenSlot(t *testing.T) {
	s := installed(t)
	if err := s.Try("1.2.0"); !errors.Is(err, slot.ErrNotWhole) {
		t.Fatalf("try another version: %v", err)
	}
	os.WriteFile(filepath.Join(s.Root, "b", "leifeng-kiosk"), []byte("tampered"), 0o755)
	if err := s.Try("1.1.0"); !errors.Is(err, slot.ErrNotWhole) {
		t.Fatalf("try a tampered slot: %v", err)
	}
	if cur, _ := s.Current(); cur != slot.A {
		t.Fatalf("switched to %s", cur)
	}
}

func TestStartFallsBackToAWholeSlot(t *testing.T) {
	s := installed(t)
	if err := s.Try("1.1.0"); err != nil {
		t.Fatal(err)
	}
	s.Commit()
	// The card loses a block of the running slot.
	os.Remove(filepath.Join(s.Root, "b", "leifeng-kiosk"))
	cur, st, err := s.Start()
	if err != nil || cur != slot.A || st.Outcome != slot.Failed {
		t.Fatalf("start with current broken: %s %+v %v", cur, st, err)
	}
	os.Remove(filepath.Join(s.Root, "a", "leifeng-kiosk"))
	if _, _, err := s.Start(); !errors.Is(err, slot.ErrNeither) {
		t.Fatalf("both broken: %v", err)
	}
}
