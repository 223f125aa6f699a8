package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"leifeng/gateway/wire"
)

// The cloud's counted hours come with acks and survive a restart; an
// older count arriving late (the ack of a resent batch) does not replace a
// newer one.
func TestHoursFromAcks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	s := open(t, path)
	if _, _, ok := s.Hours("V1"); ok {
		t.Fatal("hours of a volunteer no ack named")
	}
	in := checkIn(t, s, "V1")
	t1 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	n, err := s.Ack([]string{in.ID}, wire.CountedHours{Volunteer: "V1", Hours: 101.5, AsOf: t1},
		wire.CountedHours{Volunteer: "V2", Hours: 3, AsOf: t1})
	if err != nil || n != 1 || s.Depth() != 0 {
		t.Fatalf("Ack = %d, %v; depth %d", n, err, s.Depth())
	}
	if _, err := s.Ack(nil, wire.CountedHours{Volunteer: "V1", Hours: 99, AsOf: t1.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	for v, want := range map[string]float64{"V1": 101.5, "V2": 3} {
		h, asOf, ok := s.Hours(v)
		if !ok || h != want || !asOf.Equal(t1) {
			t.Errorf("Hours(%s) = %v, %v, %v; want %v as of %v", v, h, asOf, ok, want, t1)
		}
	}
	if _, err := s.Ack(nil, wire.CountedHours{Volunteer: "V1", Hours: 102, AsOf: t1.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := s.Hours("V1"); h != 102 {
		t.Fatalf("newer count not kept: %v", h)
	}
}

// The bbolt file holds volunteers' records: its owner alone reads it,
// whatever the umask.
func TestFilePrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	s := open(t, path)
	checkIn(t, s, "V1")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("kiosk.db mode %o, want 600", m)
	}
}
