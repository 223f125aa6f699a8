package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailoverAptLine installs pg_auto_failover on Debian.
const FailoverAptLine = "apt-get install pg-auto-failover-cli postgresql-15-auto-failover"

// Pair is a private pg_auto_failover formation: a monitor and two
// PostgreSQL nodes, a primary and its synchronous standby, each on its own
// free loopback port and each run by its own `pg_autoctl` (the keeper that
// starts PostgreSQL and obeys the monitor), in a temporary directory. It
// is what deploy/province runs on three machines, on one.
//
// pg_autoctl, like initdb, refuses to run as root: as root the pair runs
// as the user postgres (which Debian's postgresql package creates). Its
// configuration and state go to the pair's directory (XDG_CONFIG_HOME and
// XDG_DATA_HOME), never to that user's home.
//
// The monitor is tuned to notice a dead primary within seconds (its
// defaults take about half a minute), and, unless WithFsync, the nodes run
// with fsync off: a test kills processes, not the machine, so nothing the
// kernel holds is lost, and what a failover test asks of durability is
// synchronous replication, which stays on.
type Pair struct {
	bin     string
	dir     string
	runAs   bool
	opts    options
	monitor int // monitor's port
	nodes   [2]*pairNode
	mu      sync.Mutex
	closed  bool
}

type pairNode struct {
	name string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Database is the name of the pair's application database.
const Database = "leifeng"

// StartPair starts a monitor, a primary and its standby for t, waits until
// the standby is in sync, and removes them when t ends. It skips t (or
// fails it, under LEIFENG_REQUIRE_SERVICES=1) when pg_autoctl or the
// PostgreSQL binaries are missing. Starting takes 20 to 40 seconds.
func StartPair(t testing.TB, opts ...Option) *Pair {
	t.Helper()
	p, err := NewPair(opts...)
	skipOrFail(t, err, FailoverAptLine)
	t.Cleanup(p.Close)
	return p
}

// NewPair starts a pair; the caller must Close it.
func NewPair(opts ...Option) (*Pair, error) {
	p := &Pair{}
	for _, o := range opts {
		o(&p.opts)
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("pg_autoctl"); err != nil {
		return nil, fmt.Errorf("%w: no pg_autoctl in PATH", ErrMissing)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(bin), "lib", "pgautofailover.so")); err != nil {
		return nil, fmt.Errorf("%w: no pgautofailover extension for %s", ErrMissing, filepath.Dir(bin))
	}
	p.bin = bin
	var uid, gid int
	if p.runAs, uid, gid, err = serverUser(); err != nil {
		return nil, err
	}
	if err := socketDir(p.runAs, uid, gid); err != nil {
		return nil, err
	}
	reapPairs()
	if p.dir, err = os.MkdirTemp("", "leifeng-pgpair-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(p.dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if p.runAs {
		if err := os.Chown(p.dir, uid, gid); err != nil {
			os.RemoveAll(p.dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := p.start(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Pair) start(ctx context.Context) error {
	var err error
	if p.monitor, err = freePort(); err != nil {
		return err
	}
	pgctl := filepath.Join(p.bin, "pg_ctl")
	if _, err := p.spawn("monitor", "create", "monitor", "--pgdata", filepath.Join(p.dir, "monitor"),
		"--pgport", strconv.Itoa(p.monitor), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl",
		"--pgctl", pgctl, "--run"); err != nil {
		return err
	}
	if err := p.waitSQL(ctx, p.monitorDSN(), `SELECT count(*) FROM pgautofailover.formation`); err != nil {
		return fmt.Errorf("pgtest: monitor did not start: %w\n%s", err, p.log("monitor"))
	}
	// Seconds, not the defaults' half minute, to call a primary dead.
	tune := []string{
		"pgautofailover.health_check_period = 1000",
		"pgautofailover.health_check_timeout = 1000",
		"pgautofailover.health_check_max_retries = 1",
		"pgautofailover.health_check_retry_delay = 500",
		"pgautofailover.node_considered_unhealthy_timeout = 3000",
		"pgautofailover.primary_demote_timeout = 5000",
	}
	for _, s := range tune {
		if err := p.execSQL(ctx, p.monitorDSN(), "ALTER SYSTEM SET "+s); err != nil {
			return err
		}
	}
	if err := p.execSQL(ctx, p.monitorDSN(), "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	monitorURL := fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", p.monitor)
	for i := range p.nodes {
		port, err := freePort()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("node%d", i+1)
		n, err := p.spawn(name, "create", "postgres", "--pgdata", filepath.Join(p.dir, name),
			"--pgport", strconv.Itoa(port), "--hostname", "127.0.0.1", "--name", name,
			"--auth", "trust", "--no-ssl", "--pgctl", pgctl, "--monitor", monitorURL,
			"--dbname", Database, "--run")
		if err != nil {
			return err
		}
		n.port = port
		p.nodes[i] = n
		want := map[string]string{name: "single"}
		if i == 1 {
			want = map[string]string{"node1": "primary", "node2": "secondary"}
		}
		if err := p.waitStates(ctx, want); err != nil {
			return err
		}
		if i == 0 && !p.opts.fsync {
			dsn := p.nodeDSN(p.nodes[0])
			if err := p.execSQL(ctx, dsn, "ALTER SYSTEM SET fsync = off"); err != nil {
				return err
			}
			if err := p.execSQL(ctx, dsn, "SELECT pg_reload_conf()"); err != nil {
				return err
			}
		}
	}
	return nil
}

// spawn starts `pg_autoctl args...` in its own process group (so that
// Kill takes the keeper and its PostgreSQL down together), as the user
// postgres when we are root, with its output in DIR/NAME.log.
func (p *Pair) spawn(name string, args ...string) (*pairNode, error) {
	env := []string{
		"XDG_CONFIG_HOME=" + filepath.Join(p.dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(p.dir, "share"),
		"XDG_RUNTIME_DIR=" + filepath.Join(p.dir, "run"),
		// Local connections over TCP: the default socket directory
		// (/var/run/postgresql) may not be writable.
		"PGHOST=127.0.0.1",
	}
	argv := append(append([]string{"env"}, env...), append([]string{"pg_autoctl"}, args...)...)
	if p.runAs {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	logf, err := os.OpenFile(filepath.Join(p.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start pg_autoctl: %w", err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".pgid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	n := &pairNode{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	return n, nil
}

// debianSocketDir is where Debian's PostgreSQL puts its unix sockets
// unless told otherwise, as pg_autoctl's PostgreSQL does (it has no
// option for it).
const debianSocketDir = "/var/run/postgresql"

// socketDir makes debianSocketDir if a fresh container lacks it (the
// package's service, which makes it at boot, never ran). Without root it
// can do nothing, and says what to do.
func socketDir(runAs bool, uid, gid int) error {
	if _, err := os.Stat(debianSocketDir); err == nil {
		return nil
	}
	if !runAs {
		return fmt.Errorf("%w: %s is missing (sudo install -d -o postgres -g postgres -m 2775 %s)", ErrMissing, debianSocketDir, debianSocketDir)
	}
	if err := os.MkdirAll(debianSocketDir, 0o2775); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return os.Chown(debianSocketDir, uid, gid)
}

// DSN is the connection string a gateway uses: both nodes, and only a
// session that takes writes (the primary, whichever node it is).
func (p *Pair) DSN() string {
	hosts := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		hosts[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port))
	}
	return "postgres://postgres@" + strings.Join(hosts, ",") + "/" + Database +
		"?sslmode=disable&target_session_attrs=read-write"
}

// NodeDSN is the connection string of one node (0 or 1) alone.
func (p *Pair) NodeDSN(i int) string { return p.nodeDSN(p.nodes[i]) }

func (p *Pair) nodeDSN(n *pairNode) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)),
		Path: "/" + Database, RawQuery: "sslmode=disable"}
	return u.String()
}

func (p *Pair) monitorDSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pg_auto_failover?sslmode=disable", p.monitor)
}

// Dir is the pair's directory: each pg_autoctl's log is NAME.log there.
func (p *Pair) Dir() string { return p.dir }

// States is each node's state as the monitor last heard it, by name
// ("primary", "secondary", "wait_primary", ...).
func (p *Pair) States(ctx context.Context) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, p.monitorDSN())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, `SELECT nodename, reportedstate::text FROM pgautofailover.node`)
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for rs.Next() {
		var name, state string
		if err := rs.Scan(&name, &state); err != nil {
			return nil, err
		}
		got[name] = state
	}
	return got, rs.Err()
}

// Primary is the index (0 or 1) of the node the monitor has as primary.
func (p *Pair) Primary(ctx context.Context) (int, error) {
	st, err := p.States(ctx)
	if err != nil {
		return -1, err
	}
	for i, n := range p.nodes {
		switch st[n.name] {
		case "primary", "wait_primary", "single":
			return i, nil
		}
	}
	return -1, fmt.Errorf("pgtest: no primary: %v", st)
}

// KillPrimary kills the primary's pg_autoctl and PostgreSQL with SIGKILL,
// as a machine that loses power, and returns its index.
func (p *Pair) KillPrimary(ctx context.Context) (int, error) {
	i, err := p.Primary(ctx)
	if err != nil {
		return -1, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.nodes[i]
	if err := syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return -1, fmt.Errorf("pgtest: kill %s: %w", n.name, err)
	}
	<-n.done
	return i, nil
}

// Restart starts node i's pg_autoctl again after KillPrimary, as the
// machine coming back: it rejoins as the standby of the node promoted
// meanwhile (rewound with pg_rewind if it had gone ahead). Restart waits
// until it is a secondary in sync again.
func (p *Pair) Restart(ctx context.Context, i int) error {
	p.mu.Lock()
	old := p.nodes[i]
	n, err := p.spawn(old.name, "run", "--pgdata", filepath.Join(p.dir, old.name))
	if err == nil {
		n.port = old.port
		p.nodes[i] = n
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return p.waitStates(ctx, map[string]string{old.name: "secondary", p.nodes[1-i].name: "primary"})
}

// WaitPromoted waits until node i is the primary and takes writes.
func (p *Pair) WaitPromoted(ctx context.Context, i int) error {
	for {
		st, err := p.States(ctx)
		if err == nil && (st[p.nodes[i].name] == "wait_primary" || st[p.nodes[i].name] == "primary") {
			if err = p.execSQL(ctx, p.nodeDSN(p.nodes[i])+"&target_session_attrs=read-write", "SELECT 1"); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: %s not promoted: %v (states %v)\n%s", p.nodes[i].name, err, st, p.log(p.nodes[i].name))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Setting is a setting of node i's server, as SHOW prints it.
func (p *Pair) Setting(ctx context.Context, i int, name string) (string, error) {
	conn, err := pgx.Connect(ctx, p.nodeDSN(p.nodes[i]))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// waitStates waits until the monitor reports the nodes in want. While a
// standby is being made, it asks the primary for checkpoints: pg_autoctl's
// pg_basebackup waits for one, which would otherwise come minutes later.
func (p *Pair) waitStates(ctx context.Context, want map[string]string) error {
	var last map[string]string
	for {
		st, err := p.States(ctx)
		if err == nil {
			last = st
			ok := true
			for n, s := range want {
				ok = ok && st[n] == s
			}
			if ok {
				return nil
			}
			for _, n := range p.nodes {
				if n != nil && (st[n.name] == "wait_primary" || st[n.name] == "primary") {
					_ = p.execSQL(ctx, p.nodeDSN(n), "CHECKPOINT")
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: pair not ready: states %v, want %v\n%s\n%s", last, want, p.log("node1"), p.log("node2"))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (p *Pair) execSQL(ctx context.Context, dsn, sql string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(cctx, sql)
	return err
}

// waitSQL waits until sql runs on dsn.
func (p *Pair) waitSQL(ctx context.Context, dsn, sql string) error {
	for {
		err := p.execSQL(ctx, dsn, sql)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *Pair) log(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, name+".log"))
	return name + ".log:\n" + lastLines(string(b), 15)
}

// Close stops the monitor and the nodes and removes the pair's directory.
// It is safe to call more than once.
func (p *Pair) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	stopGroups(p.dir)
	os.RemoveAll(p.dir)
}

// stopGroups stops every process group recorded in dir: SIGTERM (each
// pg_autoctl stops its PostgreSQL), then SIGKILL for what is left after
// ten seconds.
func stopGroups(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pgid"))
	var pgids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if id, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && id > 1 {
			pgids = append(pgids, id)
		}
	}
	for _, g := range pgids {
		syscall.Kill(-g, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range pgids {
		for syscall.Kill(-g, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(-g, syscall.SIGKILL)
	}
}

// reapPairs stops and removes the pairs of test processes that died
// without cleaning up.
func reapPairs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "leifeng-pgpair-*"))
	for _, dir := range dirs {
		if !ownerGone(dir) {
			continue
		}
		stopGroups(dir)
		os.RemoveAll(dir)
	}
}
