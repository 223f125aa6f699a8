package clock

import (
	"crypto/rand"
	"fmt"
	"time"

	"leifeng/gateway/wire"
)

// processClock is what Go alone can tell, on any OS: the wall clock, Go's
// monotonic clock counted from the clock's making as Mono, and a boot ID
// made then. A restart of the process therefore looks like a new boot,
// which is the safe side: durations are never computed across two Mono
// scales. It is never synced, since nothing here asks the OS whether an
// NTP daemon disciplines the clock. System is this clock where the
// kernel's clocks cannot be read (system_other.go).
type processClock struct {
	start time.Time
	boot  string
}

func newProcessClock() (*processClock, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("clock: boot ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // a version-4 UUID, like Linux's boot_id
	b[8] = b[8]&0x3f | 0x80
	return &processClock{start: time.Now(), boot: fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])}, nil
}

// Now reads the clocks.
func (p *processClock) Now() wire.Clock {
	now := time.Now()
	return wire.Clock{At: now, Mono: int64(now.Sub(p.start)), Boot: p.boot, Synced: false}
}
