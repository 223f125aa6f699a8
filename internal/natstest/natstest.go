// Package natstest runs a private NATS cluster for tests and benchmarks:
// N nats-server processes (Debian's package, 2.9.10 here) on free loopback
// ports, each with JetStream, an MQTT listener and routes to the others,
// with their own store directories under the test's temporary directory.
// A test can kill a node with SIGKILL and start it again on the same ports
// and store, as a machine that lost its power comes back.
//
// Without a configuration of its own (Options.Config) a node lets every
// client in: enough to test the record path. Tests of authentication pass
// the configuration leifeng-cloud nats-config generates.
//
// When nats-server is missing a test is skipped, saying what to install,
// unless LEIFENG_REQUIRE_SERVICES=1 (as in CI): then it fails.
package natstest

import (
	"fmt"
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

// AptLine is what installs the server on Debian.
const AptLine = "apt-get install nats-server"

// Node is one server of the cluster: its name and ports.
type Node struct {
	// Name is its server_name, n0, n1, ….
	Name string
	// Client, MQTT, Route and HTTP are its loopback ports: NATS clients,
	// MQTT clients, the other nodes, and monitoring (/healthz).
	Client, MQTT, Route, HTTP int
	// Dir is its directory: the configuration, the log and the
	// JetStream store (Dir/js).
	Dir string

	t      testing.TB
	bin    string
	config string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Options shape a cluster.
type Options struct {
	// Nodes is how many servers; zero means 3.
	Nodes int
	// Config, if set, returns node n's whole configuration given every
	// node (for routes). The default is Default.
	Config func(n *Node, all []*Node) string
}

// Cluster is a running private cluster.
type Cluster struct {
	Nodes []*Node
}

// Require reports whether a test that cannot run must fail rather than
// skip.
func Require() bool { return os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" }

// Bin returns the nats-server binary, or skips t (fails it under
// LEIFENG_REQUIRE_SERVICES=1) when there is none.
func Bin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/local/bin/nats-server"} {
			if _, e := os.Stat(p); e == nil {
				return p
			}
		}
		msg := "nats-server is not installed; install it with: " + AptLine
		if Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Start starts a cluster and waits until every node serves and JetStream
// has a leader. It is stopped when the test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	bin := Bin(t)
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Config == nil {
		o.Config = Default
	}
	ports := freePorts(t, 4*o.Nodes)
	c := &Cluster{}
	for i := range o.Nodes {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, &Node{Name: fmt.Sprintf("n%d", i), Client: ports[4*i], MQTT: ports[4*i+1],
			Route: ports[4*i+2], HTTP: ports[4*i+3], Dir: dir, t: t, bin: bin})
	}
	for _, n := range c.Nodes {
		n.config = o.Config(n, c.Nodes)
	}
	for _, n := range c.Nodes {
		n.launch()
		t.Cleanup(n.Stop)
	}
	for _, n := range c.Nodes {
		n.waitHealthy()
	}
	return c
}

// Default is a node's configuration without authentication: JetStream
// with its store under the node's directory, MQTT with its streams on
// three replicas (as the province's configuration has them), and routes
// to every other node.
func Default(n *Node, all []*Node) string {
	cluster := ""
	if len(all) > 1 {
		// A lone server with a cluster block and no routes refuses to
		// start JetStream.
		cluster = fmt.Sprintf("cluster { name: leifeng-test, listen: 127.0.0.1:%d, routes: [%s] }\n", n.Route, Routes(n, all))
	}
	return fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q, max_memory_store: 256MB, max_file_store: 4GB }
%smqtt { listen: 127.0.0.1:%d, stream_replicas: %d }
`, n.Name, n.Client, n.HTTP, filepath.Join(n.Dir, "js"), cluster, n.MQTT, min(3, len(all)))
}

// Routes is the routes list of n: every other node's route URL.
func Routes(n *Node, all []*Node) string {
	var r []string
	for _, o := range all {
		if o != n {
			r = append(r, fmt.Sprintf("nats-route://127.0.0.1:%d", o.Route))
		}
	}
	return strings.Join(r, ", ")
}

// ClientURLs is every node's NATS URL, comma-separated, as nats.Connect
// and leifeng-cloud gateway --nats take them.
func (c *Cluster) ClientURLs() string {
	var u []string
	for _, n := range c.Nodes {
		u = append(u, n.ClientURL())
	}
	return strings.Join(u, ",")
}

// MQTTURLs is every node's MQTT URL with scheme ("tcp" or "ssl"),
// comma-separated, as a kiosk's broker list.
func (c *Cluster) MQTTURLs(scheme string) string {
	var u []string
	for _, n := range c.Nodes {
		u = append(u, n.MQTTURL(scheme))
	}
	return strings.Join(u, ",")
}

// ClientURL is the node's NATS URL.
func (n *Node) ClientURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Client) }

// MQTTURL is the node's MQTT URL with scheme ("tcp" or "ssl").
func (n *Node) MQTTURL(scheme string) string { return fmt.Sprintf("%s://127.0.0.1:%d", scheme, n.MQTT) }

// Log returns what the node logged so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "nats-server.log"))
	return string(b)
}

// Kill kills the node with SIGKILL, as a power cut does, and waits for it
// to be gone. Killing a stopped node does nothing.
func (n *Node) Kill() { n.stop(syscall.SIGKILL) }

// Stop stops the node cleanly (SIGTERM) and waits for it to exit.
func (n *Node) Stop() { n.stop(syscall.SIGTERM) }

func (n *Node) stop(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
	n.cmd = nil
}

// Restart starts a stopped or killed node again on its ports and store,
// and waits until it is healthy (back in the cluster, JetStream current).
func (n *Node) Restart() {
	n.t.Helper()
	n.launch()
	n.waitHealthy()
}

// Stop stops every node cleanly (SIGTERM), at once, as a restart of the
// whole cluster does.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(n.Stop)
	}
	wg.Wait()
}

// Restart starts every stopped node again and waits until all are
// healthy. The nodes start together: one node alone cannot become healthy
// (JetStream needs a quorum to elect its leaders), so restarting them one
// after the other with Node.Restart would wait for nothing.
func (c *Cluster) Restart() {
	for _, n := range c.Nodes {
		n.launch()
	}
	for _, n := range c.Nodes {
		n.waitHealthy()
	}
}

// Pid is the node's process ID, or 0 when it is not running.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Running reports whether the node's process runs.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

func (n *Node) launch() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return
	}
	conf := filepath.Join(n.Dir, "nats-server.conf")
	if err := os.WriteFile(conf, []byte(n.config), 0o600); err != nil {
		n.t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(n.Dir, "nats-server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(n.bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		n.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	n.cmd, n.exited = cmd, exited
}

// waitHealthy waits for the node's /healthz to answer ok: it serves
// clients and its JetStream is current with the cluster.
func (n *Node) waitHealthy() {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", n.HTTP)
	cl := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		n.mu.Lock()
		exited := n.exited
		n.mu.Unlock()
		select {
		case <-exited:
			n.t.Fatalf("nats-server %s exited:\n%s", n.Name, tail(n.Log(), 30))
		default:
		}
		resp, err := cl.Get(url)
		if err == nil {
			b := make([]byte, 512)
			k, _ := resp.Body.Read(b)
			resp.Body.Close()
			last = string(b[:k])
			if resp.StatusCode == http.StatusOK {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatalf("nats-server %s not healthy in 60 s (%s):\n%s", n.Name, last, tail(n.Log(), 30))
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// freePorts returns n distinct free loopback ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
