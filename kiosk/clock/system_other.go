//go:build !linux

package clock

import "leifeng/gateway/wire"

// System is the clock of a machine that is not a Linux kiosk (a
// developer's Mac or Windows machine): the process clock, which Go alone
// can read. It is never reported synced.
type System struct{ p *processClock }

// NewSystem returns the fallback clock.
func NewSystem() (*System, error) {
	p, err := newProcessClock()
	if err != nil {
		return nil, err
	}
	return &System{p: p}, nil
}

// Synced reports false: the fallback cannot tell.
func Synced() bool { return false }

// Now reads the clocks.
func (s *System) Now() wire.Clock { return s.p.Now() }
