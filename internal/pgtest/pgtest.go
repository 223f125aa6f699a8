// Package pgtest runs a private PostgreSQL server for tests and benchmarks:
// its own data directory in a temporary directory, its own free loopback
// port, its own unix socket directory, stopped and removed when the test
// ends. Nothing touches a PostgreSQL the machine may already run.
//
// It needs the server binaries (initdb, pg_ctl), which Debian installs under
// /usr/lib/postgresql/VERSION/bin with `apt-get install postgresql`. When
// they are missing a test is skipped, saying so, unless the environment sets
// LEIFENG_REQUIRE_SERVICES=1 (as CI does): then it fails, because a skipped
// integration test in CI is a test that silently stopped running.
//
// The first Start in a machine runs initdb once into a cached template
// directory; every later Start copies that template, which takes a fraction
// of initdb's time.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv names the environment variable that turns a missing
// PostgreSQL from a skip into a failure.
const RequireEnv = "LEIFENG_REQUIRE_SERVICES"

// AptLine is what installs the binaries on Debian.
const AptLine = "apt-get install postgresql"

// ErrMissing is wrapped by New when this machine cannot run a private
// server (no binaries, or running as root without a postgres user).
var ErrMissing = errors.New("pgtest: PostgreSQL server binaries not available")

// Option configures a Server.
type Option func(*options)

type options struct {
	fsync bool
}

// WithFsync keeps fsync and synchronous commit on, as in production, so a
// benchmark measures durable commits. Without it the server runs with
// fsync=off, which makes tests several times faster and is harmless for
// data nobody needs after the test.
func WithFsync() Option { return func(o *options) { o.fsync = true } }

// Server is a running private PostgreSQL server.
type Server struct {
	bin    string // directory holding initdb, pg_ctl
	dir    string // temporary root: data/, sock/, log
	port   int
	runAs  bool // run the binaries as user postgres (we are root)
	opts   options
	mu     sync.Mutex
	closed bool
	dbs    atomic.Int64
}

// Start starts a private server for t and stops and removes it when t
// ends. It skips t (or fails it, under LEIFENG_REQUIRE_SERVICES=1) when the
// binaries are missing.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	skipOrFail(t, err, AptLine)
	t.Cleanup(s.Close)
	return s
}

// skipOrFail ends t when err is not nil: skipped when err says something
// is missing that aptLine installs (failed under LEIFENG_REQUIRE_SERVICES=1),
// else failed.
func skipOrFail(t testing.TB, err error, aptLine string) {
	t.Helper()
	if errors.Is(err, ErrMissing) {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1 requires it; install with: %s)", err, RequireEnv, aptLine)
		}
		t.Skipf("%v; install with: %s", err, aptLine)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// serverUser is whom the server binaries run as: us, or, when we are
// root, the user postgres (runAs), whose IDs it returns. initdb and
// pg_autoctl refuse to run as root, and the server must own its data
// directory.
func serverUser() (runAs bool, uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return false, 0, 0, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return false, 0, 0, fmt.Errorf("%w: running as root and there is no user postgres to run the server as: %v", ErrMissing, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return true, uid, gid, nil
}

// ownerGone reports whether dir's owner file names a process that is
// no longer alive (a test killed before it cleaned up).
func ownerGone(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH
}

// New starts a private server. The caller must Close it. Most callers want
// Start; New is for a TestMain or a benchmark that shares one server.
func New(opts ...Option) (*Server, error) {
	s := &Server{}
	for _, o := range opts {
		o(&s.opts)
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s.bin = bin
	var uid, gid int
	if s.runAs, uid, gid, err = serverUser(); err != nil {
		return nil, err
	}
	reapOrphans()
	tmpl, err := s.template(uid, gid)
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: that directory is private to root, and the server
	// runs as postgres.
	s.dir, err = os.MkdirTemp("", "leifeng-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.setup(tmpl, uid, gid); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	// Another process may take the free port between our probe and the
	// server's bind; a few tries make that race harmless.
	for try := 0; ; try++ {
		if s.port, err = freePort(); err == nil {
			if err = s.start(); err == nil {
				return s, nil
			}
		}
		if try == 4 {
			os.RemoveAll(s.dir)
			return nil, err
		}
	}
}

// DSN is the connection string of the server's default database.
func (s *Server) DSN() string { return s.dsn("postgres") }

// Dir is the server's temporary directory: data/, the unix socket
// directory sock/, and the server's log, worth reading when a test fails.
func (s *Server) Dir() string { return s.dir }

func (s *Server) dsn(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server (fast shutdown: open connections are closed). Its
// data stays, so Start-ing it again with Restart finds everything committed.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop()
}

// Resume starts the server again after Stop, on the same port.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start()
}

// Restart stops the server and starts it again on the same port, for tests
// of a database that goes away mid-stream.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stop(); err != nil {
		return err
	}
	return s.start()
}

// Close stops the server and removes its directory. It is safe to call
// more than once.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.run(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.dir)
}

// NewDatabase creates an empty database on srv for t, drops it when t ends,
// and returns its DSN. Tests sharing one server stay independent this way
// at the cost of a CREATE DATABASE (milliseconds) instead of a server.
func NewDatabase(t testing.TB, srv *Server) string {
	t.Helper()
	dsn, err := srv.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The server may be gone already (stopped by the test, or closed
		// by an earlier cleanup); the database goes with it then.
		_ = srv.dropDatabase(dsn)
	})
	return dsn
}

// NewDatabase creates an empty database and returns its DSN. The caller
// owns it; it disappears with the server at the latest.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("db%d", s.dbs.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.dsn(name), nil
}

func (s *Server) dropDatabase(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	return err
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) start() error {
	conf := []string{
		"listen_addresses=127.0.0.1",
		"port=" + strconv.Itoa(s.port),
		"unix_socket_directories=" + filepath.Join(s.dir, "sock"),
		"max_connections=100",
	}
	if !s.opts.fsync {
		conf = append(conf, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	o := strings.Join(prefixEach("-c ", conf), " ")
	logf := filepath.Join(s.dir, "log")
	out, err := s.run(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-l", logf, "-o", o, "-w", "-t", "30", "start")
	if err != nil {
		tail, _ := os.ReadFile(logf)
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, lastLines(string(tail), 10))
	}
	return nil
}

func (s *Server) stop() error {
	out, err := s.run(filepath.Join(s.bin, "pg_ctl"), "-D", s.data(), "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// setup copies the template data directory into s.dir and hands the tree
// to the server's user.
func (s *Server) setup(tmpl string, uid, gid int) error {
	if err := os.Mkdir(filepath.Join(s.dir, "sock"), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if out, err := exec.Command("cp", "-a", tmpl, s.data()).CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: copy template: %w: %s", err, out)
	}
	if !s.runAs {
		return nil
	}
	return filepath.Walk(s.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// ownerFile holds the PID of the process that started a server.
const ownerFile = "owner"

// reapOrphans stops and removes the servers of test processes that died
// without cleaning up (killed by a timeout or a signal), which would
// otherwise run until the machine reboots. A server whose owner is alive,
// or whose owner is unknown, is left alone.
func reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "leifeng-pgtest-*"))
	for _, dir := range dirs {
		if !ownerGone(dir) {
			continue
		}
		bin, err := findBin()
		if err != nil {
			return
		}
		s := &Server{bin: bin, dir: dir, runAs: os.Geteuid() == 0}
		s.Close()
	}
}

var templateMu sync.Mutex

// template returns a data directory made by initdb for these binaries,
// creating it on first use. It lives under the system temp directory so
// every test process on the machine shares it; it is built in a private
// directory and renamed into place, so concurrent processes never see a
// half-made one.
func (s *Server) template(uid, gid int) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	h := sha256.Sum256([]byte(s.bin + "\x00" + strconv.Itoa(uid)))
	dir := filepath.Join(os.TempDir(), "leifeng-pgtest-template-"+hex.EncodeToString(h[:6]))
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return dir, nil
	}
	work, err := os.MkdirTemp("", "leifeng-pgtest-initdb-")
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	if s.runAs {
		if err := os.Chown(work, uid, gid); err != nil {
			return "", fmt.Errorf("pgtest: %w", err)
		}
	}
	out, err := s.run(filepath.Join(s.bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err != nil {
		return "", fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	if err := os.Rename(data, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "PG_VERSION")); serr == nil {
			return dir, nil // another process won the race
		}
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return dir, nil
}

// run runs a server binary, as user postgres when we are root.
func (s *Server) run(name string, args ...string) (string, error) {
	if s.runAs {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	// pg_ctl start leaves the server running with our stdout unless it
	// goes to a file; a pipe would keep CombinedOutput waiting forever.
	f, err := os.CreateTemp("", "leifeng-pgtest-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	// A Server used from a test directory owned by root must not make
	// postgres chdir there.
	cmd.Dir = os.TempDir()
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

// findBin finds the directory of initdb and pg_ctl: the newest Debian
// /usr/lib/postgresql/*/bin, else PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	initdb, err1 := exec.LookPath("initdb")
	_, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return filepath.Dir(initdb), nil
	}
	return "", fmt.Errorf("%w: no initdb and pg_ctl in /usr/lib/postgresql/*/bin or PATH", ErrMissing)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func prefixEach(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
