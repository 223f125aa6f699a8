//go:build !linux

package clock

import (
	"crypto/rand"
	"fmt"
	"time"

	"leifeng/gateway/wire"
)

// System is the clock of a machine that is not a Linux kiosk: the wall
// clock, Go's monotonic clock counted from process start as Mono, and a
// boot ID made at process start. A restart of the process therefore looks
// like a new boot, which is the safe side: durations are never computed
// across two Mono scales. It is never reported synced, since nothing here
// asks the OS whether an NTP daemon disciplines the clock.
type System struct {
	start time.Time
	boot  string
}

// NewSystem returns the fallback clock.
func NewSystem() (*System, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("clock: boot ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // a version-4 UUID, like Linux's boot_id
	b[8] = b[8]&0x3f | 0x80
	return &System{start: time.Now(), boot: fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])}, nil
}

// Synced reports false: the fallback cannot tell.
func Synced() bool { return false }

// Now reads the clocks.
func (s *System) Now() wire.Clock {
	now := time.Now()
	return wire.Clock{At: now, Mono: int64(now.Sub(s.start)), Boot: s.boot, Synced: false}
}
