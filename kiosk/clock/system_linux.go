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
