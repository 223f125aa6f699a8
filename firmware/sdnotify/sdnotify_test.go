package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", p)
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	c := listen(t)
	if err := Notify(Ready); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != Ready {
		t.Fatalf("got %q", got)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify(Ready); !errors.Is(err, ErrNoSocket) {
		t.Fatalf("got %v", err)
	}
}

func TestWatchdog(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(1<<30))
	if WatchdogInterval() != 0 {
		t.Fatal("watchdog meant for another pid used")
	}
	t.Setenv("WATCHDOG_PID", "")
	if d := WatchdogInterval(); d != 10*time.Millisecond {
		t.Fatalf("interval %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Keepalive(ctx, WatchdogInterval(), nil); close(done) }()
	if got := read(t, c); got != Watchdog {
		t.Fatalf("got %q", got)
	}
	cancel()
	<-done
}
