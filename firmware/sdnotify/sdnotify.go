package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Messages.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// ErrNoSocket means NOTIFY_SOCKET is unset: not started by systemd with
// Type=notify. Callers usually ignore it.
var ErrNoSocket = errors.New("sdnotify: NOTIFY_SOCKET not set")

// Notify sends state (one or more lines) to the socket in NOTIFY_SOCKET.
// An abstract socket is written with a leading "@", as systemd does.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return ErrNoSocket
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// WatchdogInterval returns half of WATCHDOG_USEC, the interval to send
// WATCHDOG=1 at, or 0 if the watchdog is off (or meant for another
// process: WATCHDOG_PID).
func WatchdogInterval() time.Duration {
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	return time.Duration(us) * time.Microsecond / 2
}

// Keepalive sends WATCHDOG=1 every interval while alive returns nil, until
// ctx ends. alive is the kiosk's liveness probe (its main loop turned
// over recently): when it fails, pings stop and systemd's watchdog fires.
func Keepalive(ctx context.Context, interval time.Duration, alive func() error) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive == nil || alive() == nil {
				Notify(Watchdog)
			}
		}
	}
}
