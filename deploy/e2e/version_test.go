package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/internal/buildinfo"
)

// kioskVersion is what the built leifeng-kiosk says it is (--version,
// without the program's name).
func kioskVersion(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "leifeng-kiosk"), "--version").Output()
	if err != nil {
		t.Fatalf("leifeng-kiosk --version: %v", err)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "leifeng-kiosk ")
	if !ok || v == "" || v == buildinfo.Dev {
		t.Fatalf("leifeng-kiosk --version: %q", out)
	}
	return v
}

// TestVersionInFleetView: the version a kiosk binary prints is the one it
// reports in its state and the one GET /api/v1/fleet shows for it. Built
// by `go build` inside the repository, the binary knows its VCS revision
// even without the Makefile's -ldflags.
func TestVersionInFleetView(t *testing.T) {
	want := kioskVersion(t)
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-ver-001", c.mqtt)
	c.waitStation(t, k.station, "reported version "+want, 20*time.Second, func(s stationView) bool { return s.Firmware == want })
}
