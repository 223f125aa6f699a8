package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/internal/mosquittotest"
	"leifeng/internal/pgtest"
	"leifeng/kiosk/simreader"
)

// bin holds the binaries TestMain built.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leifeng-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	// Stamped with the version as `make build` does, so the fleet view
	// shows what the binaries print.
	ldflags, err := exec.Command("make", "-s", "-C", "../..", "ldflags").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: make ldflags:", err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-ldflags", strings.TrimSpace(string(ldflags)), "-o", dir+"/", "leifeng/cloud/cmd/leifeng-cloud", "leifeng/kiosk/cmd/leifeng-kiosk",
		"leifeng/kiosk/cmd/leifeng-traffic")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// Every process a test started is waited for, every client closed.
		// An API served in the test (console_targets_test.go, for its
		// clock) leaves scs's default in-memory session store's cleanup
		// running; its sessions are in the database.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a binary running as its own process, its output kept in a log
// the test prints when it fails.
type proc struct {
	t      testing.TB
	name   string
	args   []string
	log    *syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, log: &syncBuffer{}}
	p.start()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", p.name, tail(p.log.String(), 60))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (p *proc) start() {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(bin, p.name), p.args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	fmt.Fprintf(p.log, "==== start %s %s\n", p.name, strings.Join(p.args, " "))
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	exited := p.exited
	go func() { cmd.Wait(); close(exited) }()
}

// kill is a power cut: SIGKILL, no chance to flush or close anything.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	fmt.Fprintf(p.log, "==== killed -9\n")
	p.cmd = nil
}

// stop is an orderly shutdown.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

func waitDial(t testing.TB, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if p.cmd != nil {
			select {
			case <-p.exited:
				t.Fatalf("%s exited instead of listening on %s:\n%s", p.name, addr, tail(p.log.String(), 40))
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %v\n%s", p.name, addr, err, tail(p.log.String(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cloud is a running leifeng-cloud serve.
type cloud struct {
	*proc
	http, mqtt string       // API base URL, broker URL for kiosks
	data       string       // its --data: keys, SQLite
	db         string       // its --db, if not SQLite
	client     *http.Client // for an https API; nil for http.DefaultClient
}

type cloudOpt struct {
	db       string // DSN; empty for SQLite under the data dir
	external string // broker URL; empty for the embedded broker
	data     string // --data; empty for a new temporary directory
	extra    []string
}

// clouds maps a broker URL to the cloud whose stations use it, so that
// startKiosk can register the station there and give the kiosk its bundle.
var clouds sync.Map

func startCloud(t testing.TB, o cloudOpt) *cloud {
	t.Helper()
	httpAddr := freeAddr(t)
	if o.data == "" {
		o.data = t.TempDir()
	}
	args := append([]string{"serve", "--data", o.data, "--http", httpAddr, "--gateway-id", "gw-e2e"}, o.extra...)
	c := &cloud{http: "http://" + httpAddr, data: o.data, db: o.db}
	if o.external != "" {
		args = append(args, "--mqtt", o.external)
		c.mqtt = o.external
	} else {
		mqttAddr := freeAddr(t)
		args = append(args, "--mqtt-listen", mqttAddr)
		c.mqtt = "tcp://" + mqttAddr
	}
	if o.db != "" {
		args = append(args, "--db", o.db)
	}
	c.proc = startProc(t, "leifeng-cloud", args...)
	waitDial(t, httpAddr, c.proc)
	clouds.Store(c.mqtt, c)
	apis.Store(c.http, c)
	t.Cleanup(func() { clouds.Delete(c.mqtt); apis.Delete(c.http) })
	return c
}

// cloudExec is a leifeng-cloud subcommand; one that calls the API of a
// cloud the harness started (--api URL) gets its admin's token in
// LEIFENG_TOKEN.
func cloudExec(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "leifeng-cloud"), args...)
	if i := slices.Index(args, "--api"); i >= 0 && i+1 < len(args) {
		if c, ok := apis.Load(args[i+1]); ok {
			cmd.Env = append(os.Environ(), "LEIFENG_TOKEN="+c.(*cloud).token(t))
		}
	}
	return cmd
}

// apis maps a cloud's API base URL to the cloud.
var apis sync.Map

// The harness's city administrator: created with the CLI (admin add, the
// initial password on standard input), its initial password changed at
// the first console login (or by password when a test signs in without a
// browser), and an API token for the commands that call the API.
const (
	adminUser     = "admin"
	adminInitial  = "e2e initial password"
	adminPassword = "e2e changed password 2026"
)

type admin struct {
	mu      sync.Mutex
	token   string
	changed bool
}

// admins maps a cloud's database (data dir and DSN) to its admin, so a
// cloud restarted on the same data keeps it.
var admins sync.Map

func (c *cloud) dbArgs() []string {
	args := []string{"--data", c.data}
	if c.db != "" {
		args = append(args, "--db", c.db)
	}
	return args
}

// admin is c's city administrator, created on first use.
func (c *cloud) admin(t testing.TB) *admin {
	t.Helper()
	v, _ := admins.LoadOrStore(c.data+"|"+c.db, &admin{})
	a := v.(*admin)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" {
		return a
	}
	add := exec.Command(filepath.Join(bin, "leifeng-cloud"), append([]string{"admin", "add", "--user", adminUser, "--role", "city"}, c.dbArgs()...)...)
	add.Stdin = strings.NewReader(adminInitial + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("leifeng-cloud admin add: %v\n%s", err, out)
	}
	tok, err := exec.Command(filepath.Join(bin, "leifeng-cloud"), append([]string{"token", "create", "--user", adminUser}, c.dbArgs()...)...).Output()
	if err != nil {
		t.Fatalf("leifeng-cloud token create: %v", err)
	}
	a.token = strings.TrimSpace(string(tok))
	return a
}

// token is the API token of c's admin.
func (c *cloud) token(t testing.TB) string { return c.admin(t).token }

// password is the admin's password, the initial one changed first (as
// the console makes the admin do) if no test has yet.
func (c *cloud) password(t testing.TB) string {
	t.Helper()
	a := c.admin(t)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed {
		return adminPassword
	}
	ck, csrf := signIn(t, c.httpClient(), c.http, adminUser, adminInitial)
	if resp := do(t, c.httpClient(), http.MethodPost, c.http+"/api/v1/session/password",
		fmt.Sprintf(`{"old":%q,"new":%q}`, adminInitial, adminPassword),
		"Cookie", ck.String(), "X-CSRF-Token", csrf, "Content-Type", "application/json", "Origin", c.http); resp.StatusCode != http.StatusOK {
		t.Fatalf("first password change: %s", resp.Status)
	}
	a.changed = true
	return adminPassword
}

// consoleLogin signs the admin in on the console's login form; at the
// first login the console asks for a new password, and gets it.
func (c *cloud) consoleLogin(t *testing.T, p *page) {
	t.Helper()
	a := c.admin(t)
	a.mu.Lock()
	first := !a.changed
	a.mu.Unlock()
	pw := adminPassword
	if first {
		pw = adminInitial
	}
	p.waitTrue(t, `document.getElementById('login') !== null && document.readyState === 'complete'`)
	p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('name').value = %q; document.getElementById('password').value = %q;
		document.getElementById('loginBtn').click(); return true; })()`, adminUser, pw))
	if first {
		p.waitTrue(t, `!window.leaving && document.getElementById('passwordForm') !== null && document.readyState === 'complete'`)
		p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('old').value = %q; document.getElementById('new').value = %q;
			document.getElementById('again').value = %q; document.getElementById('passwordBtn').click(); return true; })()`, adminInitial, adminPassword, adminPassword))
		p.waitTrue(t, `!window.leaving && document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('密码已修改')`)
		a.mu.Lock()
		a.changed = true
		a.mu.Unlock()
	}
	p.waitTrue(t, `!window.leaving && document.getElementById('logout') !== null && document.querySelector('.who').textContent.includes('admin')`)
}

func (c *cloud) httpClient() *http.Client {
	if c.client != nil {
		return c.client
	}
	return http.DefaultClient
}

// cloudCmd runs a leifeng-cloud subcommand to completion and returns its
// output.
func cloudCmd(t testing.TB, args ...string) string {
	t.Helper()
	out, err := cloudExec(t, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("leifeng-cloud %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// addStation registers station with c and returns its bundle file.
func (c *cloud) addStation(t testing.TB, station, county string, extra ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), station+".bundle.json")
	args := append([]string{"station", "add", "--data", c.data, "--id", station, "--county", county,
		"--broker", c.mqtt, "--out", file}, extra...)
	if c.db != "" {
		args = append(args, "--db", c.db)
	}
	cloudCmd(t, args...)
	return file
}

// authGet is GET path with the admin's API token.
func (c *cloud) authGet(t testing.TB, path string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.http+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token(t))
	return c.httpClient().Do(req)
}

func (c *cloud) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := c.authGet(t, path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

func (c *cloud) metrics(t testing.TB) string {
	t.Helper()
	resp, err := c.authGet(t, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// apiRecord is a record as the API returns it.
type apiRecord struct {
	ID        string    `json:"id"`
	Station   string    `json:"station"`
	Kind      string    `json:"kind"`
	Volunteer string    `json:"volunteer"`
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Time      time.Time `json:"time"`
	ClockFlag string    `json:"clock_flag"`
	Received  time.Time `json:"received"`
}

// records pages through every record of station, in seq order.
func (c *cloud) records(t testing.TB, station string) []apiRecord {
	t.Helper()
	var all []apiRecord
	var after uint64
	for {
		var page struct {
			Records []apiRecord `json:"records"`
		}
		c.get(t, fmt.Sprintf("/api/v1/records?station=%s&after=%d&limit=1000", station, after), &page)
		all = append(all, page.Records...)
		if len(page.Records) < 1000 {
			return all
		}
		after = page.Records[len(page.Records)-1].Seq
	}
}

// waitRecords waits until station has n records in the database.
func (c *cloud) waitRecords(t testing.TB, station string, n int, within time.Duration) []apiRecord {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rs := c.records(t, station)
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("station %s: %d of %d records in the database after %s", station, len(rs), n, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitIDs waits until every one of ids is among station's records.
func (c *cloud) waitIDs(t testing.TB, station string, ids []string, within time.Duration) []apiRecord {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rs := c.records(t, station)
		have := make(map[string]bool, len(rs))
		for _, r := range rs {
			have[r.ID] = true
		}
		missing := 0
		for _, id := range ids {
			if !have[id] {
				missing++
			}
		}
		if missing == 0 {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("station %s: %d of %d confirmed records not in the database after %s", station, missing, len(ids), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kiosk is a running leifeng-kiosk --headless with a simulated reader.
type kiosk struct {
	*proc
	station, reader, data string
	bundle                string
	rc                    *simreader.Client
}

func startKiosk(t testing.TB, station, broker string, extra ...string) *kiosk {
	t.Helper()
	k := &kiosk{station: station, reader: freeAddr(t), data: t.TempDir()}
	k.rc = simreader.NewClient(k.reader)
	t.Cleanup(func() { k.rc.Close() })
	args := []string{"--headless", "--station", station, "--data", k.data, "--mqtt", broker,
		"--reader", "sim:" + k.reader, "--ack-timeout", "2s"}
	// A kiosk joins its cloud as deployed: registered, with a bundle.
	if c, ok := clouds.Load(broker); ok && !slices.Contains(extra, "--bundle") {
		k.bundle = c.(*cloud).addStation(t, station, "")
		args = append(args, "--bundle", k.bundle)
	}
	args = append(args, extra...)
	k.proc = startProc(t, "leifeng-kiosk", args...)
	waitDial(t, k.reader, k.proc)
	return k
}

func (k *kiosk) restartKiosk(t testing.TB) {
	t.Helper()
	k.closeConn()
	k.proc.start()
	waitDial(t, k.reader, k.proc)
}

func (k *kiosk) closeConn() { k.rc.Close() }

// tapReply is the simulated reader's answer.
type tapReply = simreader.Reply

// tap presents volunteer's card. An error means no confirmation came back
// (the kiosk died, say); the tap may or may not have been recorded.
func (k *kiosk) tap(volunteer string) (tapReply, error) {
	return k.rc.Tap(context.Background(), volunteer, "")
}

func (k *kiosk) mustTap(t testing.TB, volunteer string) tapReply {
	t.Helper()
	r, err := k.tap(volunteer)
	if err != nil || !r.OK {
		t.Fatalf("tap %s at %s: %v %+v", volunteer, k.station, err, r)
	}
	return r
}

// backends are the brokers and databases every end-to-end case runs on.
type backend struct {
	name   string
	broker string // "embedded" or "mosquitto"
	db     string // "sqlite" or "postgres"
}

var backends = []backend{
	{"embedded-sqlite", "embedded", "sqlite"},
	{"embedded-postgres", "embedded", "postgres"},
	{"mosquitto-sqlite", "mosquitto", "sqlite"},
	{"mosquitto-postgres", "mosquitto", "postgres"},
}

// env starts what b names: a private Mosquitto or PostgreSQL when asked,
// and the cloud on them.
type env struct {
	cloud *cloud
	mq    *mosquittotest.Server
	pg    *pgtest.Server
}

func startEnv(t testing.TB, b backend) *env {
	t.Helper()
	e := &env{}
	var o cloudOpt
	if b.broker == "mosquitto" {
		e.mq = mosquittotest.Start(t, "")
		o.external = e.mq.URL()
	}
	if b.db == "postgres" {
		e.pg = pgtest.Start(t)
		o.db = pgtest.NewDatabase(t, e.pg)
	}
	e.cloud = startCloud(t, o)
	return e
}

var _ = context.Background
