//go:build scale

package postgres

import (
	"testing"
	"time"
)

// TestPrimaryKilledScale is the long run of `make test-scale`: 100
// kiosks tapping twice a second each for about three minutes, and two
// failovers — the primary killed, its node brought back as the standby,
// then the new primary killed in turn, so the pair ends on the node it
// started on. Every record made is stored exactly once.
func TestPrimaryKilledScale(t *testing.T) {
	runFailover(t, failoverRun{kiosks: 100, tapEvery: 500 * time.Millisecond, killAfter: 20 * time.Second, rounds: 2, tail: 20 * time.Second})
}
