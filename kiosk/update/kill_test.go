package update_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/firmware/fetch"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
	"leifeng/gateway/wire"
	"leifeng/kiosk/update"
)

// TestMain lets the test binary be the updater process that
// TestKill9AtEveryStep kills.
func TestMain(m *testing.M) {
	if os.Getenv("LEIFENG_UPDATE_CHILD") != "" {
		if err := child(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// child runs one updater phase: "apply" (the offer up to the switch) or
// "confirm" (the health check of a new version; with HANG, a check that
// never passes, so it can be killed mid-check). It prints each step.
func child() error {
	env := func(k string) string { return os.Getenv("LEIFENG_UPDATE_" + k) }
	root, err := os.ReadFile(env("ROOT"))
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(env("CA"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	slots := slot.New(env("SLOTS"))
	cur, _ := slots.Current()
	m, _ := slots.Verify(cur)
	u := &update.Updater{
		Fetch:  &fetch.Client{Root: root, Dir: env("DATA"), HTTP: hc, Backoff: time.Millisecond},
		Target: update.Program{Slots: slots}, Board: board, Arch: arch, Version: m.Version,
		ConfigVersion: func() uint64 { return 5 },
		Report: func(st wire.UpdateStatus) {
			fmt.Printf("step %s %d %d\n", st.Step, st.Done, st.Total)
		},
	}
	ctx := context.Background()
	switch env("CHILD") {
	case "apply":
		return u.Apply(ctx, wire.UpdateOffer{Version: "1.1.0", URL: env("URL"), Target: "kiosk-1.1.0.tar"})
	case "confirm":
		check := pass("ui")
		if env("HANG") != "" {
			check = update.CheckFunc("ui", func(ctx context.Context) error {
				fmt.Println("step checking 0 0")
				<-ctx.Done()
				return ctx.Err()
			})
		}
		return u.Confirm(ctx, []update.Check{check}, time.Minute, time.Millisecond)
	}
	return fmt.Errorf("unknown phase %q", env("CHILD"))
}

// matches reports whether a step line is the kill point: a prefix, or
// "step downloading half" for the first progress line past half.
func matches(line, at string) bool {
	if at == "step downloading half" {
		var done, total int64
		if _, err := fmt.Sscanf(line, "step downloading %d %d", &done, &total); err != nil {
			return false
		}
		return total > 0 && done >= total/2
	}
	return strings.HasPrefix(line, at)
}

type proc struct {
	t    *testing.T
	s    *station
	ca   string
	root string
}

// run starts the child phase and SIGKILLs it when a line starts with
// killAt ("" runs it to the end). It reports whether it killed.
func (p *proc) run(phase, killAt string, hang bool) bool {
	p.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"LEIFENG_UPDATE_CHILD="+phase, "LEIFENG_UPDATE_ROOT="+p.root, "LEIFENG_UPDATE_CA="+p.ca,
		"LEIFENG_UPDATE_SLOTS="+p.s.slots.Root, "LEIFENG_UPDATE_DATA="+p.s.data, "LEIFENG_UPDATE_URL="+p.s.kit.URL())
	if hang {
		cmd.Env = append(cmd.Env, "LEIFENG_UPDATE_HANG=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if killAt != "" && !killed && matches(sc.Text(), killAt) {
			cmd.Process.Kill() // SIGKILL: no deferred code, no cleanup
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed && err != nil {
		p.t.Fatalf("%s: %v\n%s", phase, err, strings.Join(lines, "\n"))
	}
	return killed
}

// TestKill9AtEveryStep kills the updater process with SIGKILL at each
// step it reports (and in the middle of the download and of the health
// check), then starts the kiosk as systemd would: a whole, verified
// version always starts, and the update then completes, resuming the
// download instead of starting it again.
func TestKill9AtEveryStep(t *testing.T) {
	kit := releasetest.New(t)
	const size = 1 << 20
	kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", size))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kit.Server.Certificate().Raw}), 0o644)
	root := filepath.Join(dir, "root.json")
	os.WriteFile(root, kit.Root, 0o644)
	// 4 MB/s: the download takes a quarter second, long enough to be
	// killed in the middle.
	kit.Throttle(4 << 20)

	for _, kill := range []struct {
		phase, at string
		hang      bool
	}{
		{"apply", "step offered", false},
		{"apply", "step downloading 0 ", false},
		{"apply", "step downloading half", false},
		{"apply", "step verified", false},
		{"apply", "step installed", false},
		{"apply", "step trying", false},
		{"confirm", "step checking", true},
		{"confirm", "step trying", false},
	} {
		t.Run(kill.phase+"/"+strings.TrimPrefix(kill.at, "step "), func(t *testing.T) {
			s := newStation(t, kit)
			p := &proc{t: t, s: s, ca: ca, root: root}
			sentBefore := kit.Sent.Load()
			if kill.phase == "confirm" {
				p.run("apply", "", false)
				s.slots.Start()
			}
			killed := p.run(kill.phase, kill.at, kill.hang)
			t.Logf("killed: %v", killed)
			// systemd starts the kiosk again.
			if _, _, err := s.slots.Start(); err != nil {
				t.Fatal(err)
			}
			if v := s.running(t); v != "1.0.0" && v != "1.1.0" {
				t.Fatalf("running %s", v)
			}
			p.run("confirm", "", false)
			if s.running(t) != "1.1.0" {
				p.run("apply", "", false)
				s.slots.Start()
				p.run("confirm", "", false)
			}
			if v := s.running(t); v != "1.1.0" {
				t.Fatalf("after the kill the update did not complete: running %s", v)
			}
			if st, _ := s.slots.State(); st.Outcome != slot.Committed {
				t.Fatalf("state %+v", st)
			}
			// Resumed, not restarted: at most one bundle and a bit.
			sent := kit.Sent.Load() - sentBefore
			if sent > size*11/10+64<<10 {
				t.Errorf("sent %d bytes for a %d-byte bundle: the partial download was not resumed", sent, size)
			}
		})
	}
}
