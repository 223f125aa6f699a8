package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"leifeng/internal/cli"
)

// A station's day: every visit checks in and out, in order, clear of the
// debounce; the morning peak is the busiest hour and the night the
// quietest.
func TestPlanSaturday(t *testing.T) {
	const length = 24 * time.Minute // an hour a minute
	perHour := make([]int, 24)
	offline := 0
	for st := range 2000 {
		evs := plan(rand.New(rand.NewPCG(1, uint64(st))), st, 12, 0.1, length, 4*time.Second)
		in := map[string]time.Duration{}
		for i, e := range evs {
			if i > 0 && e.at < evs[i-1].at {
				t.Fatalf("station %d: events out of order", st)
			}
			if e.at < 0 || e.at >= length {
				t.Fatalf("station %d: event at %s, outside the day", st, e.at)
			}
			switch e.kind {
			case evOffline:
				offline++
			case evTap:
				if at, ok := in[e.volunteer]; ok {
					if e.at-at < 4*time.Second {
						t.Fatalf("station %d: %s checks out %s after checking in", st, e.volunteer, e.at-at)
					}
					delete(in, e.volunteer)
				} else {
					in[e.volunteer] = e.at
					perHour[e.at/time.Minute]++
				}
			}
		}
		if len(in) != 0 {
			t.Fatalf("station %d: %d visits never check out", st, len(in))
		}
	}
	peak := 0
	for h := range perHour {
		if perHour[h] > perHour[peak] {
			peak = h
		}
	}
	if peak != 9 || perHour[3] > perHour[9]/50 {
		t.Errorf("check-ins per hour %v: want the peak at 9 and the night nearly empty", perHour)
	}
	if offline < 100 || offline > 300 {
		t.Errorf("%d of 2000 stations went offline, want about 200", offline)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"--bundles", "x", "--duration", "0s"}, {"--bundles", "x", "--api", "http://x"}, {"--nope"},
		{"--bundles", "x", "--api", "http://x", "--token", "t", "--db", "postgres://x/y"}, {"--bundles", "x", "--db", "sqlite:x.db"}} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if code := cli.Report("leifeng-loadgen", err, &bytes.Buffer{}); code != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, code, err)
		}
	}
	t.Setenv("LEIFENG_TOKEN", "")
	err := run(context.Background(), []string{"--bundles", t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{})
	if code := cli.Report("leifeng-loadgen", err, &bytes.Buffer{}); code != 1 {
		t.Errorf("an empty bundle directory: exit %d (%v), want 1", code, err)
	}
}
