// Package crossui cross-builds the touchscreen kiosk (Fyne, cgo) for a
// 64-bit Raspberry Pi OS with Debian's cross compiler and the arm64
// multiarch X11/GL libraries, and starts it under qemu-aarch64-static. It
// is a package of its own so that its build, the slowest of the cross
// builds, runs beside deploy/pi's rather than after them.
package crossui

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Debian packages the build needs, after `dpkg --add-architecture arm64`
// and `apt-get update`: the minimal set Fyne's GLFW links against.
const debs = "gcc-aarch64-linux-gnu libc6-dev-arm64-cross libgl1-mesa-dev:arm64 libx11-dev:arm64 libxcursor-dev:arm64 " +
	"libxrandr-dev:arm64 libxinerama-dev:arm64 libxi-dev:arm64 libxxf86vm-dev:arm64 qemu-user-static"

func require(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf("%s is missing: dpkg --add-architecture arm64; apt-get update; apt-get install %s", what, debs)
	if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestTouchscreenKioskArm64(t *testing.T) {
	cc, err := exec.LookPath("aarch64-linux-gnu-gcc")
	require(t, err == nil, "aarch64-linux-gnu-gcc")
	// The arm64 libraries GLFW links, and the loader qemu runs it with.
	for _, lib := range []string{"libGL.so", "libX11.so", "libXcursor.so", "libXrandr.so", "libXinerama.so", "libXi.so", "libXxf86vm.so"} {
		require(t, exists(filepath.Join("/usr/lib/aarch64-linux-gnu", lib)), "/usr/lib/aarch64-linux-gnu/"+lib)
	}
	q, err := exec.LookPath("qemu-aarch64-static")
	require(t, err == nil, "qemu-aarch64-static")

	dir := t.TempDir()
	// As `make build` builds the kiosk (no_emoji), for linux/arm64.
	cmd := exec.Command("go", "build", "-tags", "no_emoji", "-ldflags", "-X leifeng/internal/buildinfo.version=0.0.0-ui-test", "-o", dir+"/", "./kiosk/cmd/leifeng-kiosk")
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "CC="+cc, "GOOS=linux", "GOARCH=arm64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=1 CC=%s GOOS=linux GOARCH=arm64 go build -tags no_emoji ./kiosk/cmd/leifeng-kiosk: %v\n%s", cc, err, out)
	}
	bin := filepath.Join(dir, "leifeng-kiosk")
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "1" || settings["GOARCH"] != "arm64" {
		t.Errorf("built with %v, want cgo for arm64", info.Settings)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("built for %v", f.Machine)
	}
	// Linked against the Pi OS libraries the touchscreen needs.
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"libGL.so.1", "libX11.so.6", "libc.so.6"} {
		if !strings.Contains(strings.Join(libs, " "), want) {
			t.Errorf("not linked against %s: %v", want, libs)
		}
	}
	// It starts on arm64 (the multiarch loader and libraries stand in for
	// the Pi's) and answers.
	out, err := exec.Command(q, "-cpu", "cortex-a72", bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "leifeng-kiosk 0.0.0-ui-test") {
		t.Fatalf("qemu-aarch64-static leifeng-kiosk --version: %v %q", err, out)
	}
}
