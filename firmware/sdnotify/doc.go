// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): a
// datagram of "KEY=VALUE" lines to the unix socket named by NOTIFY_SOCKET.
// The kiosk unit is Type=notify with WatchdogSec: the kiosk sends READY=1
// once it has started, and WATCHDOG=1 at least twice per WatchdogSec while
// it is healthy; a hung kiosk stops sending, systemd kills and restarts
// it, and a version on trial that hangs is thereby rolled back.
//
// It is a few lines over net.UnixConn; the protocol is stable and
// documented, so no library is pulled in for it.
package sdnotify
