package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"leifeng/firmware/slot"
)

// firmwareCmd runs the release host's leifeng-firmware.
func firmwareCmd(t *testing.T, fw string, args ...string) {
	t.Helper()
	if out, err := exec.Command(fw, args...).CombinedOutput(); err != nil {
		t.Fatalf("leifeng-firmware %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// copyFiles copies the files of src matching pattern into dst.
func copyFiles(t *testing.T, src, pattern, dst string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(src, pattern))
	if len(files) == 0 {
		t.Fatalf("nothing matches %s/%s", src, pattern)
	}
	os.MkdirAll(dst, 0o755)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRolloutToARealKiosk: the release host signs release 1.1.0 of the
// real kiosk binary with its offline keys and copies the repository into
// the cloud without snapshot and timestamp; `leifeng-cloud serve` signs
// those with its online keys and serves the repository under /firmware/.
// A kiosk runs 1.0.0 from program slots in a temporary directory, with
// the test playing systemd (leifeng-firmware boot before every start,
// current/leifeng-kiosk, started again after exit 75). `leifeng-cloud
// rollout create` offers 1.1.0 to the canary; the kiosk fetches it from
// the cloud, installs it, restarts into it, passes its health checks and
// commits, and `leifeng-cloud rollout show` says 已生效 and the rollout
// is done. A second registered station, in a held county, never gets an
// offer.
func TestRolloutToARealKiosk(t *testing.T) {
	dir := t.TempDir()
	fw := filepath.Join(dir, "leifeng-firmware")
	if out, err := exec.Command("go", "build", "-o", fw, "leifeng/firmware/cmd/leifeng-firmware").CombinedOutput(); err != nil {
		t.Fatalf("build leifeng-firmware: %v\n%s", err, out)
	}

	// The release host.
	hostRepo, offline := filepath.Join(dir, "release-repo"), filepath.Join(dir, "usb-keys")
	firmwareCmd(t, fw, "init", "--repo", hostRepo, "--keys", offline)
	payload := filepath.Join(dir, "payload")
	os.MkdirAll(filepath.Join(payload, "units"), 0o755)
	kioskBin, err := os.ReadFile(filepath.Join(bin, "leifeng-kiosk"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(payload, "leifeng-kiosk"), kioskBin, 0o755)
	os.WriteFile(filepath.Join(payload, "units", "leifeng-kiosk.service"), []byte("[Service]\n"), 0o644)
	bundle := func(v string) string {
		out := filepath.Join(dir, "kiosk-"+v+".tar")
		firmwareCmd(t, fw, "build", "--version", v, "--board", "rpi4", "--arch", runtime.GOARCH, "--payload", payload, "--out", out)
		return out
	}
	old, next := bundle("1.0.0"), bundle("1.1.0")
	firmwareCmd(t, fw, "sign", "--repo", hostRepo, "--keys", offline, "--name", "kiosk-1.1.0.tar", next)

	// The cloud: the online keys only, the repository without snapshot
	// and timestamp (the cloud signs those).
	data := t.TempDir()
	fwRepo, online := filepath.Join(data, "firmware"), filepath.Join(dir, "online-keys")
	copyFiles(t, filepath.Join(hostRepo, "metadata"), "*.root.json", filepath.Join(fwRepo, "metadata"))
	copyFiles(t, filepath.Join(hostRepo, "metadata"), "*.targets.json", filepath.Join(fwRepo, "metadata"))
	copyFiles(t, filepath.Join(hostRepo, "targets"), "*", filepath.Join(fwRepo, "targets"))
	copyFiles(t, offline, "snapshot-*.pem", online)
	copyFiles(t, offline, "timestamp-*.pem", online)
	c := startCloud(t, cloudOpt{data: data, extra: []string{"--firmware-keys", online,
		"--rollout-interval", "500ms", "--firmware-refresh", "200ms"}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(fwRepo, "metadata", "timestamp.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cloud did not sign a timestamp with its online keys")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The kiosk on 1.0.0 in program slots, and systemd around it.
	slots := slot.New(filepath.Join(dir, "opt-leifeng"))
	if err := slots.Provision(old); err != nil {
		t.Fatal(err)
	}
	const station = "pe-fw-001"
	bundleFile := c.addStation(t, station, "思茅区")
	c.addStation(t, "pe-fw-002", "宁洱县")
	kdata, reader := filepath.Join(dir, "kiosk-data"), freeAddr(t)
	log := &syncBuffer{}
	start := func() (*exec.Cmd, chan error) {
		t.Helper()
		firmwareCmd(t, fw, "boot", "--slots", slots.Root)
		cmd := exec.Command(slots.Path("leifeng-kiosk"), "--headless", "--station", station, "--data", kdata,
			"--mqtt", c.mqtt, "--reader", "sim:"+reader, "--bundle", bundleFile,
			"--update-root", filepath.Join(fwRepo, "metadata", "1.root.json"), "--update-slots", slots.Root,
			"--update-board", "rpi4", "--update-deadline", "30s")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	cmd, exited := start()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("---- kiosk log ----\n%s", tail(log.String(), 80))
		}
	}()
	c.waitStation(t, station, "online on 1.0.0", 30*time.Second, func(s stationView) bool { return s.Online })

	api := []string{"--api", c.http, "--data", data}
	out := cloudCmd(t, append([]string{"rollout", "create", "--target", "kiosk-1.1.0.tar", "--version", "1.1.0",
		"--canary", station + ",pe-fw-002", "--percents", "100", "--hold-county", "宁洱县"}, api...)...)
	if !strings.Contains(out, station) || !strings.Contains(out, "已提供") || strings.Contains(out, "pe-fw-002") {
		t.Fatalf("rollout create:\n%s", out)
	}

	// Exit 75 is systemd's cue to start the new slot.
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 75 {
			t.Fatalf("kiosk exited with %v instead of 75 after installing", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the kiosk did not install the offered release")
	}
	if cur, _ := slots.Current(); cur != "b" {
		t.Fatalf("current slot %s after install", cur)
	}
	cmd, exited = start()

	deadline = time.Now().Add(90 * time.Second)
	for {
		out = cloudCmd(t, append([]string{"rollout", "show", "1"}, api...)...)
		if strings.Contains(out, station) && strings.Contains(out, "已生效") && strings.Contains(out, "已完成") {
			break
		}
		if strings.Contains(out, "失败") || strings.Contains(out, "已回滚") || time.Now().After(deadline) {
			t.Fatalf("rollout show:\n%s", out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("leifeng-cloud rollout show 1:\n%s", out)
	if strings.Contains(out, "pe-fw-002") {
		t.Fatalf("the held station was offered:\n%s", out)
	}
	if s, _ := slots.State(); s.Outcome != slot.Committed {
		t.Fatalf("slot state %+v", s)
	}
	if list := cloudCmd(t, append([]string{"rollout", "list"}, api...)...); !strings.Contains(list, "kiosk-1.1.0.tar") {
		t.Fatalf("rollout list:\n%s", list)
	}
}
