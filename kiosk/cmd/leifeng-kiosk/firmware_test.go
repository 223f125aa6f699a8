package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
	"leifeng/gateway/wire"
	kioskstation "leifeng/kiosk/station"
)

// TestSignedUpdateOfTheBinary runs the real kiosk from a program slot and
// plays systemd around it (ExecStartPre=leifeng-firmware boot, then
// current/leifeng-kiosk, restarted on exit 75): a signed update_offer
// makes the kiosk fetch the release from a TUF repository over HTTPS,
// verify and install it into slot b and exit; the next start runs 1.1.0
// on trial, whose health checks pass, and its state reports committed
// with 1.1.0 as its firmware.
// updateRig is a TUF repository with release 1.1.0 of the real kiosk
// binary, program slots holding 1.0.0 of it, and a broker; start plays
// systemd (ExecStartPre=leifeng-firmware boot, then current/leifeng-kiosk).
type updateRig struct {
	kit      *releasetest.Kit
	slots    *slot.Slots
	g        *gateway
	states   *stateWatch
	cloudKey ed25519.PrivateKey
	start    func() *kiosk
	bundle   int64
}

func newUpdateRig(t *testing.T) *updateRig {
	kioskBin := binary(t)
	dir := t.TempDir()
	fwBin := filepath.Join(dir, "leifeng-firmware")
	if out, err := exec.Command("go", "build", "-o", fwBin, "../../../firmware/cmd/leifeng-firmware").CombinedOutput(); err != nil {
		t.Fatalf("build leifeng-firmware: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(kioskBin)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"leifeng-kiosk": bin, "units/leifeng-kiosk.service": []byte("[Service]\n")}
	manifest := func(v string) release.Manifest {
		return release.Manifest{Version: v, Board: "rpi4", Arch: kioskstation.DefaultArch(), Kind: release.KindProgram}
	}
	r := &updateRig{kit: releasetest.New(t), cloudKey: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))}
	fi, _ := os.Stat(r.kit.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), files))
	r.bundle = fi.Size()
	r.slots = slot.New(filepath.Join(dir, "opt-leifeng"))
	if err := r.slots.Provision(releasetest.Build(t, manifest("1.0.0"), files)); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root.json")
	os.WriteFile(rootFile, r.kit.Root, 0o644)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.kit.Server.Certificate().Raw}), 0o644)
	var broker string
	r.g, broker = startGateway(t, true)
	r.states = watchState(t, r.g)
	bundleFile := filepath.Join(dir, "bundle.json")
	if err := wire.WriteBundle(bundleFile, &wire.Bundle{Station: station, Broker: broker, Username: station,
		ConfigKeys: map[string][]byte{"cloud-1": r.cloudKey.Public().(ed25519.PublicKey)}}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	r.start = func() *kiosk {
		t.Helper()
		if out, err := exec.Command(fwBin, "boot", "--slots", r.slots.Root).CombinedOutput(); err != nil {
			t.Fatalf("leifeng-firmware boot: %v\n%s", err, out)
		}
		saved := binPath
		binPath = r.slots.Path("leifeng-kiosk")
		defer func() { binPath = saved }()
		return startKiosk(t, data, broker, "--bundle", bundleFile, "--update-root", rootFile, "--update-ca", caFile,
			"--update-slots", r.slots.Root, "--update-board", "rpi4", "--update-deadline", "20s")
	}
	return r
}

// offer publishes a signed update_offer for 1.1.0.
func (r *updateRig) offer(t *testing.T) {
	t.Helper()
	cmd, err := wire.NewCommand(station, wire.CmdUpdateOffer, time.Minute, time.Now(),
		wire.UpdateOffer{Version: "1.1.0", URL: r.kit.URL(), Target: "kiosk-1.1.0.tar"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := wire.EncodeCommand(cmd)
	sealed, err := wire.Seal(r.cloudKey, "cloud-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.g.Publish(wire.StationTopic(station, wire.LeafCommands), sealed, false, 1); err != nil {
		t.Fatal(err)
	}
}

// restartedForUpdate waits for the kiosk to exit with status 75.
func restartedForUpdate(t *testing.T, k *kiosk) {
	t.Helper()
	select {
	case err := <-k.exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitReboot {
			t.Fatalf("kiosk exit after the update: %v\n%s", err, k.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("kiosk did not restart for the update\n%s", k.stderr)
	}
}

// committed waits for 1.1.0 to report committed, and stops the kiosk.
func (r *updateRig) committed(t *testing.T, k *kiosk) {
	t.Helper()
	st := r.states.waitFor(t, "1.1.0 committed", k, func(s wire.State) bool {
		return s.Online && s.Firmware == "1.1.0" && s.Update != nil && s.Update.Step == wire.UpdateCommitted
	})
	if st.Update.Version != "1.1.0" {
		t.Fatalf("update %+v", st.Update)
	}
	if s, _ := r.slots.State(); s.Outcome != slot.Committed {
		t.Fatalf("slot state %+v", s)
	}
	k.term(t)
	if !strings.Contains(k.stderr.String(), "step=committed") {
		t.Errorf("no committed step in the log:\n%s", k.stderr)
	}
}

// TestSignedUpdateOfTheBinary: a signed update_offer makes the real kiosk
// fetch the release from a TUF repository over HTTPS, verify and install
// it into slot b and exit; the next start runs 1.1.0 on trial, whose
// health checks pass, and its state reports committed with 1.1.0 as its
// firmware.
func TestSignedUpdateOfTheBinary(t *testing.T) {
	r := newUpdateRig(t)
	k := r.start()
	r.states.waitFor(t, "firmware 1.0.0 online", k, func(s wire.State) bool { return s.Online && s.Firmware == "1.0.0" })
	r.offer(t)
	restartedForUpdate(t, k)
	if cur, _ := r.slots.Current(); cur != "b" {
		t.Fatalf("current slot %s after install", cur)
	}
	r.committed(t, r.start())
}

// TestUpdateResumesAfterKill9: the kiosk is killed with SIGKILL in the
// middle of the download; started again, it takes the offer up again,
// resumes the download where it stopped, and the update completes.
func TestUpdateResumesAfterKill9(t *testing.T) {
	r := newUpdateRig(t)
	r.kit.Throttle(r.bundle / 3) // about three seconds for the bundle
	k := r.start()
	r.states.waitFor(t, "firmware 1.0.0 online", k, func(s wire.State) bool { return s.Online && s.Firmware == "1.0.0" })
	r.offer(t)
	r.states.waitFor(t, "download under way", k, func(s wire.State) bool {
		return s.Update != nil && s.Update.Step == wire.UpdateDownloading && s.Update.Done > 0
	})
	k.kill9(t)
	if cur, _ := r.slots.Current(); cur != "a" {
		t.Fatalf("current slot %s after a kill mid-download", cur)
	}
	k = r.start()
	restartedForUpdate(t, k)
	r.committed(t, r.start())
	if sent := r.kit.Sent.Load(); sent > r.bundle*11/10 {
		t.Errorf("sent %d bytes for a %d-byte bundle: the download started over", sent, r.bundle)
	}
}

// TestUnitFile checks the systemd unit runs the kiosk the way the update
// scheme needs: Type=notify with a watchdog, the trial rule before every
// start, the kiosk from the current slot, and flags the kiosk knows.
func TestUnitFile(t *testing.T) {
	raw, err := os.ReadFile("../../../deploy/leifeng-kiosk.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{"Type=notify\n", "WatchdogSec=", "NotifyAccess=main\n",
		"ExecStartPre=/usr/local/bin/leifeng-firmware boot --slots /opt/leifeng\n", "ExecStart=/opt/leifeng/current/leifeng-kiosk "} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	var exec string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec = v
		}
	}
	out, _ := execCommand(binary(t), "-h")
	for _, f := range strings.Fields(exec)[1:] {
		if name, ok := strings.CutPrefix(f, "--"); ok && !strings.Contains(out, "  -"+name+" ") && !strings.Contains(out, "  -"+name+"\n") {
			t.Errorf("ExecStart flag --%s is not a leifeng-kiosk flag", name)
		}
	}
}

func execCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// TestSystemdNotify: under Type=notify the kiosk says READY=1 once it is
// up and then feeds the watchdog at half of WatchdogSec.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	_, broker := startGateway(t, true)
	k := startKiosk(t, t.TempDir(), broker)
	var got []string
	buf := make([]byte, 256)
	for len(got) < 3 {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, string(buf[:n]))
	}
	if got[0] != "READY=1" || got[1] != "WATCHDOG=1" || got[2] != "WATCHDOG=1" {
		t.Fatalf("notifications %v", got)
	}
	k.term(t)
}
