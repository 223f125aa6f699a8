package buildcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// root is the module's root, from this package's directory.
const root = "../.."

// command runs name in the module's root with env added and returns its
// combined output, failing the test if it fails.
func command(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", strings.Join(env, " "), name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMakeBuildVersion: after `make build`, every binary's --version names
// the version `git describe` gives, not "dev".
func TestMakeBuildVersion(t *testing.T) {
	describe, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Skip("not a git checkout: the version comes from git")
	}
	want := strings.TrimSpace(string(describe))
	bin, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	command(t, nil, "make", "-s", "build", "BIN="+bin)
	for _, name := range []string{"leifeng-kiosk", "leifeng-cloud", "leifeng-card", "leifeng-traffic"} {
		out, err := exec.Command(filepath.Join(bin, name), "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", name, err)
		}
		line := strings.TrimSpace(string(out))
		if !strings.HasPrefix(line, name+" "+want) || strings.Contains(line, " dev") {
			t.Errorf("%s --version: %q, want %q", name, line, name+" "+want)
		}
	}
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath, Name                         string
	Imports, Deps, TestImports, XTestImports []string
}

// linksFyne reports whether the package or its tests depend on Fyne.
func (p pkg) linksFyne() bool {
	for _, d := range slices.Concat(p.Deps, p.TestImports, p.XTestImports) {
		if strings.HasPrefix(d, "fyne.io/") || d == "leifeng/kiosk/ui" {
			return true
		}
	}
	return false
}

func list(t *testing.T, env []string, args ...string) []pkg {
	t.Helper()
	out := command(t, env, "go", append([]string{"list", "-json=ImportPath,Name,Imports,Deps,TestImports,XTestImports"}, args...)...)
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDependenciesPointOneWay: only reader/board opens hardware, only
// binaries use it, and a kiosk's rules link neither the host drivers nor
// the simulator.
func TestDependenciesPointOneWay(t *testing.T) {
	for _, p := range list(t, nil, "-deps", "./kiosk/attendance") {
		if strings.HasPrefix(p.ImportPath, "periph.io/x/host") || p.ImportPath == "leifeng/reader/chipsim" || p.ImportPath == "leifeng/reader/cardimage" {
			t.Errorf("kiosk/attendance depends on %s", p.ImportPath)
		}
	}
	for _, p := range list(t, nil, "./...") {
		for _, imp := range p.Imports {
			switch {
			case strings.HasPrefix(imp, "periph.io/x/host") && p.ImportPath != "leifeng/reader/board":
				t.Errorf("%s opens hardware (imports %s): only reader/board may", p.ImportPath, imp)
			case imp == "leifeng/reader/board" && p.Name != "main":
				t.Errorf("library package %s imports reader/board: only binaries open hardware", p.ImportPath)
			case imp == "leifeng/reader/chipsim" && strings.HasPrefix(p.ImportPath, "leifeng/reader") && p.ImportPath != "leifeng/reader/cardimage":
				t.Errorf("%s imports the simulator: card images are read through it in reader/cardimage", p.ImportPath)
			}
		}
	}
}

// TestOtherPlatforms: the code vets for a developer's Mac, the cloud and
// gateway build for Windows, and the headless kiosk cross-builds without
// cgo for a Pi 3/4/5 (arm64) and a Pi Zero W (ARMv6).
func TestOtherPlatforms(t *testing.T) {
	t.Run("darwin vet", func(t *testing.T) {
		// Fyne needs cgo on macOS (its scroller asks AppKit), which a Mac
		// has and a cross-vet from Linux does not: the packages that link
		// Fyne are left to the Mac. Everything else, the kiosk's clock
		// and the headless kiosk among it, must vet for darwin.
		env := []string{"GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0"}
		var pkgs []string
		for _, p := range list(t, env, "./...") {
			if !p.linksFyne() {
				pkgs = append(pkgs, p.ImportPath)
			}
		}
		if !slices.Contains(pkgs, "leifeng/kiosk/cmd/leifeng-kiosk") || !slices.Contains(pkgs, "leifeng/kiosk/clock") {
			t.Fatalf("the kiosk is not among the packages vetted for darwin: %v", pkgs)
		}
		command(t, env, "go", append([]string{"vet"}, pkgs...)...)
	})
	t.Run("windows build", func(t *testing.T) {
		var pkgs []string
		for _, p := range list(t, []string{"GOOS=windows"}, "./cloud/...", "./gateway/...") {
			// Test kits that start Linux servers (PostgreSQL, Mosquitto)
			// for the tests, not parts of the cloud.
			if strings.HasSuffix(p.ImportPath, "test") {
				continue
			}
			pkgs = append(pkgs, p.ImportPath)
		}
		command(t, []string{"GOOS=windows", "GOARCH=amd64"}, "go", append([]string{"build"}, pkgs...)...)
	})
	out := t.TempDir()
	for _, c := range []struct{ name, arch, arm string }{{"arm64", "arm64", ""}, {"armv6", "arm", "6"}} {
		t.Run("kiosk "+c.name, func(t *testing.T) {
			env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + c.arch}
			if c.arm != "" {
				env = append(env, "GOARM="+c.arm)
			}
			command(t, env, "go", "build", "-o", filepath.Join(out, c.name), "./kiosk/cmd/leifeng-kiosk")
		})
	}
}

// TestHeadlessBuild: built without cgo, the kiosk links no Fyne, runs
// headless, and asked for its screen says in Chinese and English that the
// touchscreen is not in this build.
func TestHeadlessBuild(t *testing.T) {
	for _, p := range list(t, []string{"CGO_ENABLED=0"}, "-deps", "./kiosk/cmd/leifeng-kiosk") {
		if strings.HasPrefix(p.ImportPath, "fyne.io/") || strings.HasPrefix(p.ImportPath, "github.com/go-gl/") {
			t.Fatalf("the kiosk built without cgo links %s", p.ImportPath)
		}
	}
	bin := buildKiosk(t, false)
	cmd := exec.Command(bin, "--station", "pe-simao-001", "--data", t.TempDir(), "--mqtt", "", "--windowed")
	out, err := cmd.CombinedOutput()
	line := strings.TrimSpace(string(out))
	if err == nil || strings.Count(line, "\n") != 0 || !strings.Contains(line, "触摸屏") || !strings.Contains(line, "touchscreen is not in this build") || !strings.Contains(line, "--headless") {
		t.Fatalf("--windowed without the touchscreen: %v %q", err, line)
	}
	k := startKiosk(t, bin)
	k.taps(t, 10)
}

// buildKiosk builds leifeng-kiosk into a temporary directory: without
// cgo (the headless kiosk), or with it and the touchscreen as `make build`
// makes it.
func buildKiosk(t testing.TB, touchscreen bool) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "leifeng-kiosk")
	if touchscreen {
		command(t, []string{"CGO_ENABLED=1"}, "go", "build", "-tags", "no_emoji", "-o", bin, "./kiosk/cmd/leifeng-kiosk")
	} else {
		command(t, []string{"CGO_ENABLED=0"}, "go", "build", "-o", bin, "./kiosk/cmd/leifeng-kiosk")
	}
	return bin
}

// kiosk is a running headless leifeng-kiosk, offline, with a simulated
// reader.
type kiosk struct {
	cmd    *exec.Cmd
	reader string
}

func startKiosk(t testing.TB, bin string) *kiosk {
	t.Helper()
	cmd := exec.Command(bin, "--headless", "--station", "pe-simao-001", "--data", t.TempDir(), "--mqtt", "",
		"--reader", "sim:127.0.0.1:0", "--log-level", "warn")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, addr, ok := strings.Cut(sc.Text(), "ready station=pe-simao-001 reader="); ok {
				ready <- addr
			}
		}
	}()
	select {
	case addr := <-ready:
		return &kiosk{cmd: cmd, reader: addr}
	case <-time.After(30 * time.Second):
		t.Fatal("kiosk did not get ready")
		return nil
	}
}

// taps sends n taps, each of another volunteer, each confirmed.
func (k *kiosk) taps(t testing.TB, n int) {
	t.Helper()
	c, err := net.Dial("tcp", k.reader)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := range n {
		fmt.Fprintf(c, "{\"volunteer\":\"V%04d\"}\n", i+1)
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var rep struct{ OK bool }
		if json.Unmarshal(line, &rep); !rep.OK {
			t.Fatalf("tap %d not confirmed: %s", i, line)
		}
	}
}

// rssMB is the process's VmRSS in MB.
func (k *kiosk) rssMB(t testing.TB) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", k.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// BenchmarkHeadlessMemory builds the headless kiosk without cgo and, for
// comparison, with cgo (Fyne linked, run --headless), taps 1,000
// volunteers through the simulated reader of each and reports resident
// memory (VmRSS) after them. Target for the build without cgo: ≤ 20 MB.
func BenchmarkHeadlessMemory(b *testing.B) {
	for _, c := range []struct {
		name        string
		touchscreen bool
	}{{"nocgo", false}, {"cgo-fyne-linked", true}} {
		b.Run(c.name, func(b *testing.B) {
			bin := buildKiosk(b, c.touchscreen)
			var rss float64
			for range b.N {
				k := startKiosk(b, bin)
				k.taps(b, 1000)
				time.Sleep(time.Second)
				rss = k.rssMB(b)
				k.cmd.Process.Signal(os.Interrupt)
				k.cmd.Wait()
			}
			b.ReportMetric(rss, "MB-VmRSS")
		})
	}
}
