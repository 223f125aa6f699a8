// Package pi tests the road onto a real Raspberry Pi: the cross-builds
// of the kiosk (arm64, and arm for GOARM=6 and 7, without cgo), the
// binaries run under qemu-user-static (--version, and a whole tap through
// the simulated reader to a native cloud), and setup.sh, the Raspberry Pi
// OS setup, written into a root tree.
package pi

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kioskPkg is the headless kiosk the Pi runs; it must build without cgo.
const kioskPkg = "./kiosk/cmd/leifeng-kiosk"

// firmwarePkg is leifeng-firmware, which the kiosk unit runs before the
// kiosk (ExecStartPre ... boot) and setup.sh uses to provision.
const firmwarePkg = "./firmware/cmd/leifeng-firmware"

// testVersion is stamped into the cross-built kiosk.
const testVersion = "0.0.0-pi-test"

// repo is the module root, from deploy/pi.
const repo = "../.."

// native holds leifeng-cloud and leifeng-firmware for this machine.
var native string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leifeng-pi-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	native = dir
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cloud/cmd/leifeng-cloud", firmwarePkg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = repo, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "pi: building the native binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	for _, b := range builds {
		os.RemoveAll(b.dir)
	}
	os.Exit(code)
}

// target is a Pi the kiosk is cross-built for.
type target struct {
	name, goarch, goarm string
	machine             elf.Machine
	qemu                string   // qemu-user-static binary that runs it
	qemuArgs            []string // the CPU a Pi of that kind has
}

var targets = []target{
	// Pi 3, 4, 5, Zero 2 W on a 64-bit OS.
	{"arm64", "arm64", "", elf.EM_AARCH64, "qemu-aarch64-static", []string{"-cpu", "cortex-a53"}},
	// Pi 2, 3 on a 32-bit OS.
	{"armv7", "arm", "7", elf.EM_ARM, "qemu-arm-static", []string{"-cpu", "cortex-a7"}},
	// Pi 1, Zero, Zero W: ARMv6 with VFP, no ARMv7 instructions.
	{"armv6", "arm", "6", elf.EM_ARM, "qemu-arm-static", []string{"-cpu", "arm1176"}},
}

// build is one target's cross-build, made once per test binary.
type build struct {
	once sync.Once
	dir  string
	out  string
	err  error
}

var builds = map[string]*build{"arm64": {}, "armv7": {}, "armv6": {}}

// crossBuild builds the headless kiosk and leifeng-firmware for tg exactly
// as CI and a release do: CGO_ENABLED=0 GOOS=linux GOARCH=... [GOARM=...]
// go build.
func crossBuild(t *testing.T, tg target) string {
	t.Helper()
	b := builds[tg.name]
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "leifeng-pi-"+tg.name)
		if b.err != nil {
			return
		}
		for _, pkg := range []string{kioskPkg, firmwarePkg} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X leifeng/internal/buildinfo.version="+testVersion, "-o", b.dir+"/", pkg)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm)
			out, err := cmd.CombinedOutput()
			b.out += fmt.Sprintf("$ CGO_ENABLED=0 GOOS=linux GOARCH=%s GOARM=%s go build %s\n%s", tg.goarch, tg.goarm, pkg, out)
			if err != nil {
				b.err = fmt.Errorf("%s: %w", pkg, err)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatalf("cross-build for %s: %v\n%s", tg.name, b.err, b.out)
	}
	return b.dir
}

func TestCrossBuildWithoutCgo(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dir := crossBuild(t, tg)
			for _, name := range []string{"leifeng-kiosk", "leifeng-firmware"} {
				p := filepath.Join(dir, name)
				info, err := buildinfo.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				settings := map[string]string{}
				for _, s := range info.Settings {
					settings[s.Key] = s.Value
				}
				want := map[string]string{"GOOS": "linux", "GOARCH": tg.goarch, "CGO_ENABLED": "0"}
				if tg.goarm != "" {
					want["GOARM"] = tg.goarm
				}
				for k, v := range want {
					if settings[k] != v {
						t.Errorf("%s: %s=%q, want %q", name, k, settings[k], v)
					}
				}
				f, err := elf.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				if f.Machine != tg.machine {
					t.Errorf("%s is for %v, want %v", name, f.Machine, tg.machine)
				}
				// Static: no dynamic loader, so it runs on any Pi OS.
				for _, prog := range f.Progs {
					if prog.Type == elf.PT_INTERP {
						t.Errorf("%s wants a dynamic loader; a Pi kiosk binary must be static", name)
					}
				}
				f.Close()
			}
		})
	}
}

// qemu returns the path of tg's qemu-user-static, skipping the test when
// it is missing (failing it under LEIFENG_REQUIRE_SERVICES=1).
func qemu(t *testing.T, tg target) string {
	t.Helper()
	p, err := exec.LookPath(tg.qemu)
	if err != nil {
		msg := fmt.Sprintf("%s is missing: apt-get install qemu-user-static (no binfmt needed)", tg.qemu)
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func TestQemuVersion(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			q := qemu(t, tg)
			dir := crossBuild(t, tg)
			args := append(append([]string{}, tg.qemuArgs...), filepath.Join(dir, "leifeng-kiosk"), "--version")
			out, err := exec.Command(q, args...).CombinedOutput()
			if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "leifeng-kiosk "+testVersion) {
				t.Fatalf("%s %s: %v %q, want %q", tg.qemu, strings.Join(args, " "), err, out, "leifeng-kiosk "+testVersion)
			}
			// leifeng-firmware answers too: the unit runs it first.
			args = append(append([]string{}, tg.qemuArgs...), filepath.Join(dir, "leifeng-firmware"), "boot", "--slots", t.TempDir())
			out, _ = exec.Command(q, args...).CombinedOutput()
			if !strings.Contains(string(out), "no current slot") {
				t.Fatalf("%s leifeng-firmware boot on empty slots: %q, want it to say there is no current slot", tg.qemu, out)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs a process until the test ends, its output kept for a failure.
func start(t *testing.T, name string, args ...string) (*exec.Cmd, *strings.Builder, chan struct{}) {
	t.Helper()
	var log strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return log.Write(p) })
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("---- %s %s ----\n%s", filepath.Base(name), strings.Join(args, " "), log.String())
			mu.Unlock()
		}
	})
	return cmd, &log, exited
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// waitDial waits for addr to accept connections; qemu makes a start slow.
func waitDial(t *testing.T, addr string, exited chan struct{}, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("exited instead of listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %s: %v", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQemuArm64KioskTap is a station as deployed on a Pi 4, but with the
// simulated reader: the arm64 headless kiosk under qemu-aarch64-static,
// registered with a native leifeng-cloud, records a tap that reaches the
// cloud's API.
func TestQemuArm64KioskTap(t *testing.T) {
	tg := targets[0]
	q := qemu(t, tg)
	dir := crossBuild(t, tg)
	cloudBin := filepath.Join(native, "leifeng-cloud")

	data := t.TempDir()
	httpAddr, mqttAddr := freeAddr(t), freeAddr(t)
	_, _, cloudExited := start(t, cloudBin, "serve", "--data", data, "--http", httpAddr, "--mqtt-listen", mqttAddr, "--gateway-id", "gw-pi")
	waitDial(t, httpAddr, cloudExited, 30*time.Second)
	bundle := filepath.Join(t.TempDir(), "pi-qemu-001.bundle.json")
	if out, err := exec.Command(cloudBin, "station", "add", "--data", data, "--id", "pi-qemu-001", "--county", "",
		"--broker", "tcp://"+mqttAddr, "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("leifeng-cloud station add: %v\n%s", err, out)
	}

	reader := freeAddr(t)
	_, _, kioskExited := start(t, q, append(append([]string{}, tg.qemuArgs...), filepath.Join(dir, "leifeng-kiosk"),
		"--headless", "--bundle", bundle, "--data", t.TempDir(), "--reader", "sim:"+reader, "--ack-timeout", "2s")...)
	waitDial(t, reader, kioskExited, 2*time.Minute)

	// The simulated reader's protocol (kiosk/simreader): a JSON line per
	// card presented, a JSON line back once the record is durable.
	c, err := net.DialTimeout("tcp", reader, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, `{"volunteer":"vol-pi-0001"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no answer from the simulated reader: %v", err)
	}
	var reply struct {
		OK    bool   `json:"ok"`
		Kind  string `json:"kind"`
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || !reply.OK || reply.Kind != "check_in" {
		t.Fatalf("tap: %v %s", err, line)
	}

	add := exec.Command(cloudBin, "admin", "add", "--data", data, "--user", "admin", "--role", "city")
	add.Stdin = strings.NewReader("pi test password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("leifeng-cloud admin add: %v\n%s", err, out)
	}
	token, err := exec.Command(cloudBin, "token", "create", "--data", data, "--user", "admin").Output()
	if err != nil {
		t.Fatalf("leifeng-cloud token create: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/api/v1/records?station=pi-qemu-001&after=0&limit=10", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Records []struct {
				ID, Station, Kind, Volunteer string
			} `json:"records"`
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/records: %s: %s", resp.Status, body)
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Records) == 1 {
			r := page.Records[0]
			if r.ID != reply.ID || r.Volunteer != "vol-pi-0001" || r.Kind != "check_in" {
				t.Fatalf("the cloud has %+v, the kiosk recorded %s for vol-pi-0001", r, reply.ID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tap %s did not reach the cloud within a minute: %s", reply.ID, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
