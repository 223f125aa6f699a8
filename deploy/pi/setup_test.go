package pi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
)

// Files of a fresh Raspberry Pi OS bookworm card that setup.sh edits.
const (
	stockConfig = `# For more options and information see
# http://rptl.io/configtxt
# Uncomment some or all of these to enable the optional hardware interfaces
#dtparam=i2c_arm=on
#dtparam=i2s=on
#dtparam=spi=on

# Automatically load overlays for detected cameras
camera_auto_detect=1

[all]
`
	stockFstab = `proc            /proc           proc    defaults          0       0
PARTUUID=6c586e13-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=6c586e13-02  /               ext4    defaults,noatime  0       1
# a swapfile is not a swap partition, no line here
`
	stockPasswd = "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n"
)

// piTree is a root file system tree with what a fresh card holds.
func piTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range map[string]string{
		"boot/firmware/config.txt":  stockConfig,
		"boot/firmware/cmdline.txt": "console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes rootwait\n",
		"etc/fstab":                 stockFstab,
		"etc/passwd":                stockPasswd,
	} {
		writeFile(t, filepath.Join(root, name), content, 0o644)
	}
	return root
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setup runs setup.sh with the native leifeng-firmware on PATH, as on a
// release host building a card.
func setup(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"setup.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+native+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// release builds a signed-format release bundle with leifeng-firmware
// build: the unit as its payload, the way a release carries units.
func release(t *testing.T, board, arch string) string {
	t.Helper()
	payload := t.TempDir()
	unit := readFile(t, filepath.Join(repo, "deploy", "leifeng-kiosk.service"))
	writeFile(t, filepath.Join(payload, "units", "leifeng-kiosk.service"), unit, 0o644)
	out := filepath.Join(t.TempDir(), "kiosk-1.0.0.tar")
	if b, err := exec.Command(filepath.Join(native, "leifeng-firmware"), "build", "--version", "1.0.0", "--board", board,
		"--arch", arch, "--payload", payload, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("leifeng-firmware build: %v\n%s", err, b)
	}
	return out
}

func wantContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func wantLink(t *testing.T, path, target string) {
	t.Helper()
	got, err := os.Readlink(path)
	if err != nil || got != target {
		t.Errorf("%s -> %q (%v), want -> %s", path, got, err, target)
	}
}

// TestSetupTouchscreenReadOnly: the usual station, a Pi 4 with the
// touchscreen and program slots, on a read-only root.
func TestSetupTouchscreenReadOnly(t *testing.T) {
	root := piTree(t)
	in := t.TempDir()
	writeFile(t, filepath.Join(in, "bundle.json"), `{"station":"pe-simao-001"}`, 0o600)
	writeFile(t, filepath.Join(in, "issuer.pub"), "issuer key\n", 0o644)
	writeFile(t, filepath.Join(in, "root.json"), "{}\n", 0o644)
	args := []string{"--root", root, "--bin", native, "--release", release(t, "rpi4", "arm64"),
		"--bundle", filepath.Join(in, "bundle.json"), "--issuer-key", filepath.Join(in, "issuer.pub"),
		"--firmware-root", filepath.Join(in, "root.json"), "--board", "rpi4"}
	out, err := setup(t, args...)
	if err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	// What a tree cannot hold is said, not done.
	wantContains(t, "setup.sh output", out,
		"would run: apt-get install -y --no-install-recommends systemd-timesyncd fake-hwclock lightdm",
		"would run: useradd --create-home --shell /bin/bash --groups spi,gpio,video,input,render leifeng",
		"would run: chown -R leifeng:leifeng /data/opt-leifeng",
		"would run: chown leifeng:leifeng /data/opt-leifeng /data/kiosk /data/home-leifeng",
		"would run: systemctl disable dphys-swapfile.service")

	// SPI: the commented line switched on, nothing else touched.
	config := readFile(t, filepath.Join(root, "boot/firmware/config.txt"))
	if want := strings.Replace(stockConfig, "#dtparam=spi=on", "dtparam=spi=on", 1); config != want {
		t.Errorf("config.txt:\n%s\nwant\n%s", config, want)
	}

	// The first release in slot a, on the data partition, whole.
	slots := slot.New(filepath.Join(root, "data/opt-leifeng"))
	if cur, err := slots.Current(); err != nil || cur != slot.A {
		t.Fatalf("current slot %q %v, want a", cur, err)
	}
	if m, err := slots.Verify(slot.A); err != nil || m.Version != "1.0.0" {
		t.Fatalf("slot a: %+v %v", m, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "usr/local/bin/leifeng-firmware")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("leifeng-firmware not installed executable: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/leifeng/station.bundle.json")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("station bundle: %v %v, want mode 0640", fi.Mode(), err)
	}
	for _, f := range []string{"etc/leifeng/issuer.pub", "etc/leifeng/firmware-root.json"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Error(err)
		}
	}

	// The unit, this Pi's command line, enabled for the graphical session.
	unit := readFile(t, filepath.Join(root, "etc/systemd/system/leifeng-kiosk.service"))
	if unit != readFile(t, filepath.Join(repo, "deploy/leifeng-kiosk.service")) {
		t.Error("the installed unit differs from deploy/leifeng-kiosk.service")
	}
	dropin := readFile(t, filepath.Join(root, "etc/systemd/system/leifeng-kiosk.service.d/50-setup.conf"))
	wantContains(t, "the unit's drop-in", dropin, "RequiresMountsFor=/data /opt/leifeng /var/lib/leifeng-kiosk",
		"ExecStart=\nExecStart=/opt/leifeng/current/leifeng-kiosk ", "--update-board rpi4", "--update-slots /opt/leifeng")
	if strings.Contains(dropin, "--headless") || strings.Contains(dropin, "--update-tryboot") {
		t.Errorf("a touchscreen station with program slots got:\n%s", dropin)
	}
	wantLink(t, filepath.Join(root, "etc/systemd/system/graphical.target.wants/leifeng-kiosk.service"), "/etc/systemd/system/leifeng-kiosk.service")
	wantLink(t, filepath.Join(root, "etc/systemd/system/default.target"), "/lib/systemd/system/graphical.target")

	// The session: autologin on X, screen always on.
	wantContains(t, "lightdm", readFile(t, filepath.Join(root, "etc/lightdm/lightdm.conf.d/50-leifeng.conf")),
		"[Seat:*]\n", "autologin-user=leifeng\n", "autologin-session=leifeng\n")
	wantContains(t, "the session", readFile(t, filepath.Join(root, "usr/share/xsessions/leifeng.desktop")),
		"Exec=/usr/local/lib/leifeng/session\n")
	if fi, err := os.Stat(filepath.Join(root, "usr/local/lib/leifeng/session")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("the session script is not executable: %v", err)
	}

	// Read-only root, the data partition and what lives on it.
	fstab := readFile(t, filepath.Join(root, "etc/fstab"))
	wantContains(t, "fstab", fstab,
		"PARTUUID=6c586e13-02 / ext4 defaults,noatime,ro 0 1\n",
		"PARTUUID=6c586e13-01 /boot/firmware vfat defaults,ro 0 2\n",
		"LABEL=leifeng-data /data ext4 defaults,noatime,commit=5 0 2\n",
		"/data/opt-leifeng /opt/leifeng none bind,",
		"/data/kiosk /var/lib/leifeng-kiosk none bind,",
		"/data/home-leifeng /home/leifeng none bind,",
		"/data/timesync /var/lib/systemd/timesync none bind,",
		"tmpfs /var/log tmpfs ", "tmpfs /tmp tmpfs ")
	for _, d := range []string{"data/kiosk", "data/home-leifeng", "data/timesync", "opt/leifeng", "var/lib/leifeng-kiosk"} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	wantContains(t, "journald", readFile(t, filepath.Join(root, "etc/systemd/journald.conf.d/50-leifeng.conf")), "Storage=volatile")

	// Time.
	wantContains(t, "timesyncd", readFile(t, filepath.Join(root, "etc/systemd/timesyncd.conf.d/50-leifeng.conf")), "[Time]\nNTP=ntp.aliyun.com")
	wantLink(t, filepath.Join(root, "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"), "/lib/systemd/system/systemd-timesyncd.service")
	wantContains(t, "fake-hwclock", readFile(t, filepath.Join(root, "etc/default/fake-hwclock")), "FILE=/data/fake-hwclock.data\n")
	wantContains(t, "fake-hwclock unit", readFile(t, filepath.Join(root, "etc/systemd/system/fake-hwclock.service.d/50-leifeng.conf")), "RequiresMountsFor=/data\n")
	wantLink(t, filepath.Join(root, "etc/systemd/system/sysinit.target.wants/fake-hwclock.service"), "/lib/systemd/system/fake-hwclock.service")

	// No tryboot pieces on a program-slot station.
	for _, f := range []string{"etc/udev/rules.d/60-leifeng-ab.rules", "etc/polkit-1/rules.d/50-leifeng-reboot.rules"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("%s written without --tryboot", f)
		}
	}

	// Run again (an operator repeating a step): the same tree.
	if out, err := setup(t, args...); err != nil {
		t.Fatalf("setup.sh again: %v\n%s", err, out)
	}
	if again := readFile(t, filepath.Join(root, "etc/fstab")); again != fstab {
		t.Errorf("fstab changed on a second run:\n%s\nwas\n%s", again, fstab)
	}
	if again := readFile(t, filepath.Join(root, "boot/firmware/config.txt")); again != config {
		t.Errorf("config.txt changed on a second run:\n%s", again)
	}
}

// TestSetupHeadlessTryboot: a Pi 5 without a screen on the card
// deploy/image builds: full-system A/B updates.
func TestSetupHeadlessTryboot(t *testing.T) {
	root := piTree(t)
	writeFile(t, filepath.Join(root, "etc/passwd"), stockPasswd+"leifeng:x:1001:1001::/home/leifeng:/bin/bash\n", 0o644)
	out, err := setup(t, "--root", root, "--board", "rpi5", "--headless", "--tryboot")
	if err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	if strings.Contains(out, "useradd") || strings.Contains(out, "lightdm") {
		t.Errorf("an existing user was added again, or a headless station got a desktop:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/lightdm")); err == nil {
		t.Error("lightdm configured on a headless station")
	}
	dropin := readFile(t, filepath.Join(root, "etc/systemd/system/leifeng-kiosk.service.d/50-setup.conf"))
	wantContains(t, "the unit's drop-in", dropin, "--update-board rpi5", " --headless", " --update-tryboot")
	wantLink(t, filepath.Join(root, "etc/systemd/system/multi-user.target.wants/leifeng-kiosk.service"), "/etc/systemd/system/leifeng-kiosk.service")
	wantLink(t, filepath.Join(root, "etc/systemd/system/default.target"), "/lib/systemd/system/multi-user.target")

	fstab := readFile(t, filepath.Join(root, "etc/fstab"))
	wantContains(t, "fstab", fstab,
		// Partition 1 is AUTOBOOT now: the stock line must not mount it.
		"#PARTUUID=6c586e13-01  /boot/firmware  vfat",
		// The kiosk's tryboot.Pi layout: autoboot.txt under /boot/autoboot.
		"LABEL=AUTOBOOT "+tryboot.Pi("").AutobootDir+" vfat defaults,noatime,flush,uid=leifeng,gid=leifeng,umask=0022 0 0\n",
		"PARTUUID=6c586e13-02 / ext4 defaults,noatime,ro 0 0\n")
	if strings.Contains(fstab, "\nPARTUUID=6c586e13-01") {
		t.Errorf("partition 1 still mounted on /boot/firmware:\n%s", fstab)
	}
	// The udev rule gives exactly the A/B partitions tryboot writes.
	rule := readFile(t, filepath.Join(root, "etc/udev/rules.d/60-leifeng-ab.rules"))
	parts := fmt.Sprintf("%d%d%d%d", tryboot.PairA.Boot, tryboot.PairB.Boot, tryboot.PairA.Root, tryboot.PairB.Root)
	dev := strings.TrimSuffix(filepath.Base(tryboot.Pi("").Dev), "%d")
	wantContains(t, "udev rule", rule, `KERNEL=="`+dev+`[`+parts+`]", OWNER="leifeng"`)
	polkit := readFile(t, filepath.Join(root, "etc/polkit-1/rules.d/50-leifeng-reboot.rules"))
	wantContains(t, "polkit rule", polkit, `subject.user == "leifeng"`, "org.freedesktop.login1.reboot", "org.freedesktop.login1.set-reboot-parameter")

	// A Pi 3 cannot tryboot: refused before anything is written, saying why.
	root3 := piTree(t)
	out, err = setup(t, "--root", root3, "--board", "rpi3", "--tryboot")
	if err == nil || !strings.Contains(out, "setup: --tryboot needs a Pi 4") {
		t.Errorf("--tryboot on a Pi 3: %v %q", err, out)
	}
	if got := readFile(t, filepath.Join(root3, "etc/fstab")); got != stockFstab {
		t.Errorf("a refused setup changed fstab:\n%s", got)
	}
}

// TestShellcheck lints the scripts a Pi and an image build run.
func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal("shellcheck is missing: apt-get install shellcheck")
		}
		t.Skip("shellcheck is missing: apt-get install shellcheck")
	}
	root := piTree(t)
	if out, err := setup(t, "--root", root, "--bin", native); err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	for _, f := range []string{"setup.sh", "../image/build-image.sh", filepath.Join(root, "usr/local/lib/leifeng/session")} {
		if out, err := exec.Command(sc, "--severity=style", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}
