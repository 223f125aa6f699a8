// Package clock reads the kiosk's clocks. A Raspberry Pi has no real-time
// clock, so after a power cut without network its wall clock is wrong; every
// reading therefore also carries the monotonic CLOCK_BOOTTIME (right within
// one boot), the boot ID that scopes it, and whether the kernel considers
// the wall clock NTP-synchronised. The gateway uses all four to correct
// times; the kiosk uses Mono for durations and debouncing.
package clock

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"leifeng/gateway/wire"
)

// Clock gives the kiosk's clock reading. It is an interface so tests can
// move time and a demo can run a kiosk whose wall clock is years off.
type Clock interface {
	Now() wire.Clock
}

// Kernel clock status bits from <linux/timex.h>; x/sys does not export
// them.
const (
	staUnsync = 0x0040 // STA_UNSYNC: the kernel clock is not synchronised
	timeError = 5      // TIME_ERROR: adjtimex's state when unsynchronised
)

// System is the real clock of this Linux machine.
type System struct {
	bootOnce sync.Once
	boot     string
	bootErr  error
}

// NewSystem returns the system clock, failing early if the boot ID or the
// boot-time clock cannot be read (a kiosk that cannot tell boots apart
// would compute wrong durations).
func NewSystem() (*System, error) {
	s := new(System)
	if _, err := s.bootID(); err != nil {
		return nil, err
	}
	if _, err := boottime(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *System) bootID() (string, error) {
	s.bootOnce.Do(func() {
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			s.bootErr = fmt.Errorf("clock: read boot ID: %w", err)
			return
		}
		s.boot = strings.TrimSpace(string(b))
		if s.boot == "" {
			s.bootErr = fmt.Errorf("clock: empty boot ID")
		}
	})
	return s.boot, s.bootErr
}

func boottime() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("clock: CLOCK_BOOTTIME: %w", err)
	}
	return ts.Nano(), nil
}

// Synced reports whether the kernel says the wall clock is synchronised
// (an NTP daemon clears STA_UNSYNC once it has disciplined the clock). If
// adjtimex cannot be asked, the clock is reported unsynced: claiming a sync
// that may not exist would stop the gateway from correcting times.
func Synced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != timeError && tx.Status&staUnsync == 0
}

// Now reads the clocks. NewSystem has already proved they can be read, so
// a failure here is not expected; Mono is then 0, which is still a valid
// (if useless) reading rather than a lost tap.
func (s *System) Now() wire.Clock {
	boot, _ := s.bootID()
	mono, _ := boottime()
	return wire.Clock{At: time.Now(), Mono: mono, Boot: boot, Synced: Synced()}
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
