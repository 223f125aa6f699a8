package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/gateway/ingest/ingesttest"
	"leifeng/gateway/wire"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		// The Fyne GLFW driver (ui.go) starts its function queue at
		// package init; it lives as long as the process.
		if err := goleak.Find(goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/async.(*UnboundedChan[...]).processing")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

const station = "pe-simao-001"

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// binary builds leifeng-kiosk once for all tests of this package.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "leifeng-kiosk-test")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "leifeng-kiosk")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// gateway is an in-process broker with an acking peer that can be told to
// hold its acks, and the kiosk's latest retained state.
type gateway struct {
	*ingesttest.Broker
	peer *ingesttest.Peer
	mu   sync.Mutex
	// depth is the outbox depth in the kiosk's latest online state.
	depth  int
	online bool
}

func startGateway(t *testing.T, ack bool) (*gateway, string) {
	t.Helper()
	g := &gateway{peer: &ingesttest.Peer{Station: station}}
	g.peer.Hold(!ack)
	g.Broker = ingesttest.Start(t, "", g.peer)
	err := g.Subscribe(wire.StationTopic(station, wire.LeafState), func(_ string, payload []byte) {
		s, err := wire.DecodeState(payload, station)
		if err != nil {
			t.Errorf("gateway: state: %v", err)
			return
		}
		g.mu.Lock()
		if s.Online {
			g.depth = s.Outbox
		}
		g.online = s.Online
		g.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, g.URL()
}

// waitOnline waits for the kiosk's retained state to say online (or not).
func (g *gateway) waitOnline(t *testing.T, want bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g.mu.Lock()
		online := g.online
		g.mu.Unlock()
		if online == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kiosk state online=%v never came", want)
		}
	}
}

func (g *gateway) received() map[string]int { return g.peer.Received() }

type kiosk struct {
	cmd    *exec.Cmd
	reader string
	stderr *strings.Builder
	exited chan error
}

// startKiosk runs the binary and waits for its ready line.
func startKiosk(t *testing.T, data, broker string, extra ...string) *kiosk {
	t.Helper()
	args := append([]string{"--headless", "--station", station, "--data", data, "--mqtt", broker,
		"--reader", "sim:127.0.0.1:0", "--ack-timeout", "1s", "--log-level", "debug"}, extra...)
	cmd := exec.Command(binary(t), args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &kiosk{cmd: cmd, stderr: new(strings.Builder), exited: make(chan error, 1)}
	ready := make(chan string, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			k.stderr.WriteString(line + "\n")
			mu.Unlock()
			if addr, ok := strings.CutPrefix(line, "leifeng-kiosk: ready station="+station+" reader="); ok {
				ready <- addr
			}
		}
		k.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case k.reader = <-ready:
	case err := <-k.exited:
		t.Fatalf("kiosk exited before ready: %v\n%s", err, k.stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("kiosk not ready\n%s", k.stderr.String())
	}
	return k
}

func (k *kiosk) kill9(t *testing.T) {
	t.Helper()
	k.cmd.Process.Signal(syscall.SIGKILL)
	<-k.exited
}

func (k *kiosk) term(t *testing.T) {
	t.Helper()
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-k.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// reply is the simulated reader's answer.
type reply = simreader.Reply

// tapper presents cards at the kiosk's simulated reader.
type tapper struct{ c *simreader.Client }

func dialReader(t *testing.T, addr string) *tapper {
	t.Helper()
	c := simreader.NewClient(addr)
	t.Cleanup(func() { c.Close() })
	return &tapper{c: c}
}

func (tp *tapper) tap(volunteer string) (reply, error) {
	return tp.c.Tap(context.Background(), volunteer, "")
}

// TestKillAndRestart: taps confirmed by the binary survive kill -9, the
// open sessions too, and after a restart with a gateway that acks, every
// confirmed record arrives.
func TestKillAndRestart(t *testing.T) {
	g, broker := startGateway(t, false) // records arrive but nothing is acked
	data := t.TempDir()
	k := startKiosk(t, data, broker, "--debounce", "1ns")
	tp := dialReader(t, k.reader)
	confirmed := map[string]reply{}
	for i := range 30 {
		r, err := tp.tap(fmt.Sprintf("V%04d", i%10))
		if err != nil || !r.OK {
			t.Fatalf("tap %d: %+v %v", i, r, err)
		}
		confirmed[r.ID] = r
	}
	g.waitOnline(t, true)
	k.kill9(t)
	g.waitOnline(t, false) // the broker published the kiosk's last will

	// The session of V0000 (in, out, in) survived: its next tap checks out.
	k = startKiosk(t, data, broker, "--debounce", "1ns")
	tp = dialReader(t, k.reader)
	r, err := tp.tap("V0000")
	if err != nil || !r.OK || r.Kind != "check_out" || r.Seq != 31 {
		t.Fatalf("tap after restart: %+v %v", r, err)
	}
	confirmed[r.ID] = r
	k.term(t)

	st, err := store.Open(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.Oldest(1000)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(confirmed) {
		t.Fatalf("%d records in the outbox, %d confirmed", len(recs), len(confirmed))
	}
	for i, rec := range recs {
		if c, ok := confirmed[rec.ID]; !ok || c.Seq != uint64(i+1) || string(rec.Kind) != c.Kind {
			t.Fatalf("outbox record %d %s (seq %d) does not match a confirmed tap", i, rec.ID, rec.Seq)
		}
	}

	// Now the gateway acks: everything confirmed arrives and the outbox
	// empties.
	g.peer.Hold(false)
	k = startKiosk(t, data, broker)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := g.received()
		all := true
		for id := range confirmed {
			all = all && got[id] > 0
		}
		g.mu.Lock()
		depth := g.depth
		g.mu.Unlock()
		if all && len(got) == len(confirmed) && depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway has %d of %d records, kiosk reports outbox %d\n%s", len(got), len(confirmed), depth, k.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.term(t)
	st, err = store.Open(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Depth() != 0 {
		t.Fatalf("%d records left after every ack", st.Depth())
	}
}

func TestReaderPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(binary(t), "--headless", "--station", station, "--data", t.TempDir(), "--mqtt", "",
		"--reader", "sim:"+l.Addr().String())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("started on a port in use")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "leifeng-kiosk: --reader sim:") || !strings.Contains(last, "address already in use") {
		t.Fatalf("error line: %q", last)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--station", "Bad ID", "--data", "x"},
		{"--station", station},
		{"--station", station, "--data", "x", "--reader", "spi:0"},
		{"--station", station, "--data", "x", "--no-such-flag"},
		{"--station", station, "--data", "x", "--debounce", "soon"},
	} {
		out, err := exec.Command(binary(t), args...).CombinedOutput()
		var exit *exec.ExitError
		// One line naming the flag, and the usage status.
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "leifeng-kiosk: ") || strings.Count(string(out), "\n") != 1 {
			t.Errorf("%v: %v %q", args, err, out)
		}
	}
	out, err := exec.Command(binary(t), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "leifeng-kiosk ") {
		t.Fatalf("--version: %q %v", out, err)
	}
}
