package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"leifeng/internal/cli"
	"leifeng/kiosk/station"
)

func TestMain(m *testing.M) {
	// With cgo the kiosk links Fyne's GLFW driver, which starts its
	// function queue at package init; it lives as long as the process.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/async.(*UnboundedChan[...]).processing"))
}

// TestMorning plays a fast morning in-process against a station run
// in-process (offline, real bbolt): every tap is confirmed.
func TestMorning(t *testing.T) {
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- station.Run(ctx, station.Options{Station: "pe-simao-001", Data: t.TempDir(), SimReader: "127.0.0.1:0",
			Ready: func(addr string) { ready <- addr }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(context.Background(), []string{"--station", "pe-simao-001=" + addr, "--volunteers", "3", "--speed", "1e6"}, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "morning done: 6 taps confirmed, 0 failed") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"--station", "no-address"}, {"--speed", "fast"}, {"--station", "a=b", "--speed", "0"}} {
		var line strings.Builder
		if code := cli.Report("leifeng-traffic", run(context.Background(), args, io.Discard, io.Discard), &line); code != 2 || strings.Count(line.String(), "\n") != 1 {
			t.Errorf("%v: exit %d %q", args, code, line.String())
		}
	}
}

func TestServiceTime(t *testing.T) {
	for secs, want := range map[float64]string{
		0.4: "0 秒", 42: "42 秒", 92.7: "1 分 33 秒", 3600: "1 小时 0 分", 11127: "3 小时 5 分",
	} {
		if got := serviceTime(secs); got != want {
			t.Errorf("serviceTime(%g) = %q, want %q", secs, got, want)
		}
	}
}
