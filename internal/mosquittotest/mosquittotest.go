// Package mosquittotest runs a private Mosquitto broker for tests: its own
// port, its own persistence directory, stopped and started at will, so a
// test can take the broker down under running kiosks without touching any
// broker the machine runs for others.
package mosquittotest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a private Mosquitto.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// Extra is appended to the generated configuration.
	extra string
	opt   Options

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Require reports whether a test that cannot run must fail rather than
// skip: CI sets LEIFENG_REQUIRE_SERVICES=1 so that nothing skips there.
func Require() bool { return os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" }

// Start starts a Mosquitto with anonymous access on a free loopback port,
// with persistence so queued QoS 1 messages survive its restart, and with
// extra appended to its configuration. The test skips, saying what to
// install, when Mosquitto is missing (and fails under
// LEIFENG_REQUIRE_SERVICES=1).
func Start(t testing.TB, extra string) *Server {
	t.Helper()
	return StartWith(t, Options{Extra: extra})
}

// Options are the ways to start a private Mosquitto.
type Options struct {
	// Extra is appended to the generated configuration.
	Extra string
	// DropRoot lets Mosquitto, started as root, drop to its own user
	// ("mosquitto") as it does in production, instead of staying root.
	DropRoot bool
	// RunAs starts Mosquitto as this user (the test must run as root).
	RunAs string
}

// StartWith is Start with o. With DropRoot or RunAs the broker's directory
// is made the mosquitto user's, and files the extra configuration names
// must be readable by that user: the point of such a test.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	extra := o.Extra
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		msg := "mosquitto is not installed; install it with: apt-get install mosquitto"
		if Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), extra: extra, opt: o}
	if o.DropRoot || o.RunAs != "" {
		s.dir = s.userDir(t)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// URL is the client URL.
func (s *Server) URL() string { return "tcp://" + s.Addr() }

// Dir is the broker's working directory, for files its config refers to.
func (s *Server) Dir() string { return s.dir }

// Start starts the broker (again) on the same port and waits until it
// accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	conf := filepath.Join(s.dir, "mosquitto.conf")
	text := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
%s
log_dest stderr
log_type error
log_type warning
%s
`, s.port, s.dir, s.userLine(), s.extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "-c", conf)
	if s.opt.RunAs != "" {
		uid, gid := lookup(s.t, s.opt.RunAs)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "mosquitto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	// Ready when the port answers and our process is still alive: a
	// broker that lost the port to another process exits at once, while
	// the port answers for the other one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			select {
			case <-exited:
			case <-time.After(100 * time.Millisecond):
				return
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "mosquitto.log"))
			s.cmd = nil
			s.t.Fatalf("mosquitto exited instead of listening on %s:\n%s", s.Addr(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "mosquitto.log"))
			s.t.Fatalf("mosquitto did not start on %s: %v\n%s", s.Addr(), err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the broker the way a clean shutdown does (SIGTERM), so it
// saves its persistent state, and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// userLine keeps Mosquitto root unless the test wants the drop.
func (s *Server) userLine() string {
	if s.opt.DropRoot || s.opt.RunAs != "" {
		return ""
	}
	return "user root"
}

// userDir is a broker directory the mosquitto user can use: under /tmp
// (t.TempDir's parents are root's 0700), owned by that user.
func (s *Server) userDir(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		msg := "starting Mosquitto as another user needs root"
		if Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "mosquittotest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	uid, gid := lookup(t, "mosquitto")
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// PublicDir is a directory every user can enter, removed after the test:
// for files a Mosquitto that dropped root must reach.
func PublicDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mosquittotest-pub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lookup(t testing.TB, name string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		msg := "user " + name + " is missing (apt-get install mosquitto creates it): " + err.Error()
		if Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}
