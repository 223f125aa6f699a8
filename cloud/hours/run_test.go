package hours

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// Run calls its changed hook with the stations of the records a pass
// made, once each (serve sends them their documents), and not after a
// pass that changed nothing.
func TestRunChangedStations(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		setup(t, st)
		d := "2026-11-03"
		s1, s3 := &kiosk{station: "s1"}, &kiosk{station: "s3"}
		ingestAll(t, st,
			s1.session("v1", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			s1.session("v2", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			s3.session("v3", cst(d, "09:00"), cst(d, "10:00"), false, 0))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls [][]string
		done := make(chan struct{})
		go func() {
			defer close(done)
			Run(ctx, st, time.Hour, func() time.Time { return cst(d, "20:00") }, slog.New(slog.NewTextHandler(io.Discard, nil)),
				func(_ context.Context, stations []string) error {
					calls = append(calls, stations)
					cancel()
					return nil
				})
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not call its hook")
		}
		if len(calls) != 1 || !slices.Equal(calls[0], []string{"s1", "s3"}) {
			t.Fatalf("changed %v", calls)
		}
		// Nothing dirty: no call.
		res, err := Pass(context.Background(), st, cst(d, "20:00"))
		if err != nil || len(res.Stations()) != 0 {
			t.Fatalf("second pass: %v %v", res.Stations(), err)
		}
	})
}
