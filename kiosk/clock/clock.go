// Package clock reads the kiosk's clocks. A Raspberry Pi has no real-time
// clock, so after a power cut without network its wall clock is wrong; every
// reading therefore also carries the monotonic CLOCK_BOOTTIME (right within
// one boot), the boot ID that scopes it, and whether the kernel considers
// the wall clock NTP-synchronised. The gateway uses all four to correct
// times; the kiosk uses Mono for durations and debouncing.
//
// System reads the kernel's clocks on Linux (system_linux.go), the kiosk's
// platform. Elsewhere (a developer's Mac or Windows machine) it falls back
// to what Go itself can tell (process.go): Go's monotonic clock since
// the process started, a boot ID made at process start, and never synced.
package clock

import (
	"time"

	"leifeng/gateway/wire"
)

// Clock gives the kiosk's clock reading. It is an interface so tests can
// move time and a demo can run a kiosk whose wall clock is years off.
type Clock interface {
	Now() wire.Clock
}

// Shifted is a clock whose wall time is offset from another's and which
// always reports itself unsynced: what a kiosk looks like after a power cut
// without network. It exists for tests and the --fake-clock-offset flag.
type Shifted struct {
	Clock  Clock
	Offset time.Duration
}

// Now reads the underlying clock, shifts the wall time and marks it
// unsynced.
func (s Shifted) Now() wire.Clock {
	c := s.Clock.Now()
	c.At = c.At.Add(s.Offset)
	c.Synced = false
	return c
}

// Scaled is a clock whose wall time runs Speed times faster than
// another's from the moment it is made, for demos that play a morning in
// minutes: only the time a person reads (the kiosk's on-screen clock)
// moves fast. Its Mono and Boot are the underlying clock's, at real speed,
// because durations are computed from Mono: a session that really lasted
// 92 seconds is 92 seconds long, whatever the demo shows on the wall.
// Since its wall time is deliberately not the true time, it reports itself
// unsynced, so anything stamped with it is placed by the gateway from Mono.
type Scaled struct {
	clock Clock
	speed float64
	start wire.Clock
}

// NewScaled starts a clock whose wall time runs speed times faster than
// c's.
func NewScaled(c Clock, speed float64) *Scaled {
	return &Scaled{clock: c, speed: speed, start: c.Now()}
}

// Now reads the underlying clock and scales the wall time since the start;
// the monotonic reading is left as it is.
func (s *Scaled) Now() wire.Clock {
	c := s.clock.Now()
	c.At = s.start.At.Add(time.Duration(float64(c.At.Sub(s.start.At)) * s.speed))
	c.Synced = false
	return c
}

// Trusted is a clock whose wall time is taken as right even though the
// kernel does not report it NTP-synchronised: a kiosk whose time comes
// from a battery-backed real-time clock module (a DS3231 on the Pi's I²C)
// or another source the kernel does not track. It exists for the
// --clock-trusted flag; the records it stamps are not corrected by the
// gateway, and date checks (card not-before, key-set expiry) are made
// strictly.
type Trusted struct{ Clock Clock }

// Now reads the underlying clock and reports it synchronised.
func (t Trusted) Now() wire.Clock {
	c := t.Clock.Now()
	c.Synced = true
	return c
}
