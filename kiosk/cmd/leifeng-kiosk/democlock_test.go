package main

import (
	"testing"
	"time"
)

// TestDemoClockSpeedKeepsRealDurations: a kiosk run with the demo's fast
// clock (--demo-clock-speed 120) reports a session as long as it really
// was. Before, the fast clock also scaled the monotonic clock, and a
// 92-second session came out as 11,127 seconds (issue 8). The bounds are
// the real times read around the two taps, so a slow machine cannot fail
// the test.
func TestDemoClockSpeedKeepsRealDurations(t *testing.T) {
	k := startKiosk(t, t.TempDir(), "", "--demo-clock-speed", "120", "--debounce", "1ns")
	tp := dialReader(t, k.reader)

	inSent := time.Now()
	in, err := tp.tap("V0001")
	inDone := time.Now()
	if err != nil || !in.OK || in.Kind != "check_in" {
		t.Fatalf("check-in: %+v %v\n%s", in, err, k.stderr)
	}
	time.Sleep(300 * time.Millisecond)
	outSent := time.Now()
	out, err := tp.tap("V0001")
	outDone := time.Now()
	if err != nil || !out.OK || out.Kind != "check_out" {
		t.Fatalf("check-out: %+v %v\n%s", out, err, k.stderr)
	}
	lo, hi := outSent.Sub(inDone).Seconds(), outDone.Sub(inSent).Seconds()
	if out.Seconds < lo || out.Seconds > hi {
		t.Fatalf("session of %.3f s at demo speed 120; it really lasted between %.3f and %.3f s", out.Seconds, lo, hi)
	}
	k.term(t)
}
