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

func TestScaled(t *testing.T) {
	s, err := NewSystem()
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScaled(s, 100)
	start := time.Now()
	a := sc.Now()
	time.Sleep(20 * time.Millisecond)
	b := sc.Now()
	// The sleep may overrun on a loaded machine; bound by what really passed.
	elapsed := time.Since(start)
	hi := 100*elapsed + time.Second
	if d := time.Duration(b.Mono - a.Mono); d < 2*time.Second || d > hi {
		t.Fatalf("100× mono advanced %s in %s", d, elapsed)
	}
	if d := b.At.Sub(a.At); d < 2*time.Second || d > hi {
		t.Fatalf("100× wall advanced %s in %s", d, elapsed)
	}
}
