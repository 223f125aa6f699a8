package clock

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSystem(t *testing.T) {
	s, err := NewSystem()
	if err != nil {
		t.Fatal(err)
	}
	a := s.Now()
	time.Sleep(2 * time.Millisecond)
	b := s.Now()
	if a.Boot == "" || a.Boot != b.Boot {
		t.Fatalf("boot IDs %q, %q", a.Boot, b.Boot)
	}
	if b.Mono-a.Mono < int64(time.Millisecond) {
		t.Fatalf("mono did not advance: %d → %d", a.Mono, b.Mono)
	}
	if time.Since(a.At) > time.Minute {
		t.Fatalf("wall clock %v", a.At)
	}
	t.Logf("synced=%v", a.Synced)
}

func TestShifted(t *testing.T) {
	s, err := NewSystem()
	if err != nil {
		t.Fatal(err)
	}
	off := -3 * 365 * 24 * time.Hour
	c := Shifted{Clock: s, Offset: off}.Now()
	if c.Synced {
		t.Fatal("a shifted clock must report itself unsynced")
	}
	if d := time.Since(c.At) + off; d < -time.Minute || d > time.Minute {
		t.Fatalf("shift wrong: at %v", c.At)
	}
}

// TestScaled: the demo's fast clock moves the wall time only; the
// monotonic clock, which durations come from, keeps real speed (issue 8:
// a 92-second session reported as 11,127 seconds at 120×).
func TestScaled(t *testing.T) {
	s, err := NewSystem()
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScaled(s, 100)
	r0 := s.Now()
	a := sc.Now()
	time.Sleep(20 * time.Millisecond)
	b := sc.Now()
	r1 := s.Now()
	// Bounded by the real clock read around the scaled readings, so a
	// loaded machine that overruns the sleep cannot fail the test.
	real := time.Duration(r1.Mono - r0.Mono)
	if d := time.Duration(b.Mono - a.Mono); d <= 0 || d > real {
		t.Fatalf("100× mono advanced %s while %s really passed: durations must stay at real speed", d, real)
	}
	if b.Boot != r0.Boot {
		t.Fatalf("boot %q, want the underlying %q", b.Boot, r0.Boot)
	}
	if d := b.At.Sub(a.At); d < 2*time.Second || d > 100*real+time.Second {
		t.Fatalf("100× wall advanced %s in %s", d, real)
	}
	if a.Synced || b.Synced {
		t.Fatal("a fast wall clock must report itself unsynced")
	}
}

// TestProcessClock: the fallback of other OSes counts Mono from its start,
// keeps one boot ID, never claims a sync, and two of them (two runs of a
// kiosk) are two boots.
func TestProcessClock(t *testing.T) {
	p, err := newProcessClock()
	if err != nil {
		t.Fatal(err)
	}
	a := p.Now()
	time.Sleep(2 * time.Millisecond)
	b := p.Now()
	if a.Synced || b.Synced || a.Boot != b.Boot || len(a.Boot) != 36 || b.Mono-a.Mono < int64(2*time.Millisecond) || a.Mono < 0 {
		t.Fatalf("readings %+v then %+v", a, b)
	}
	q, err := newProcessClock()
	if err != nil {
		t.Fatal(err)
	}
	if q.Now().Boot == a.Boot {
		t.Fatal("two process clocks share a boot ID")
	}
}
