package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest/natsjs"
	"leifeng/gateway/wire"
	"leifeng/internal/natstest"
	"leifeng/internal/pgtest"
	kstore "leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
)

// natsFleet is a province in miniature: stations registered in a cloud
// store, and a three-node NATS cluster running the configuration
// nats-config generates for them (TLS, station certificates, accounts).
type natsFleet struct {
	cluster  *natstest.Cluster
	dir      string // nats-config's output: configs, CA, clients/ID.crt
	data     string // the cloud's --data (keys)
	dsn      string // the cloud's database
	keys     *fleet.Keys
	stations []string
	bundles  []*wire.Bundle // the stations', as AddStation made them (no broker yet)
}

// startNATSFleet registers stations pv-000, pv-001, … in the store of
// dsn (SQLite under a new --data when empty) and starts the cluster.
func startNATSFleet(t testing.TB, dsn string, stations int) *natsFleet {
	t.Helper()
	ctx := context.Background()
	f := &natsFleet{dir: t.TempDir(), data: t.TempDir(), dsn: dsn}
	if f.dsn == "" {
		f.dsn = "sqlite:" + filepath.Join(f.data, "leifeng.db")
	}
	var err error
	if f.keys, err = fleet.LoadKeys(f.data); err != nil {
		t.Fatal(err)
	}
	for i := range stations {
		f.stations = append(f.stations, fmt.Sprintf("pv-%03d", i))
	}
	f.bundles = register(t, f.data, f.dsn, "ssl://127.0.0.1:1", f.stations)
	st, err := store.Open(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	regs, err := st.Registrations(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	f.cluster = natstest.Start(t, natstest.Options{Config: func(n *natstest.Node, all []*natstest.Node) string {
		once.Do(func() {
			var o fleet.NATSOptions
			for _, m := range all {
				o.Nodes = append(o.Nodes, fleet.NATSNode{Name: m.Name, Host: "127.0.0.1", Listen: "127.0.0.1",
					Client: m.Client, MQTT: m.MQTT, Route: m.Route, HTTP: m.HTTP, Store: filepath.Join(m.Dir, "js")})
			}
			if err := fleet.WriteNATS(f.dir, f.keys, regs, o); err != nil {
				t.Fatal(err)
			}
		})
		conf, err := os.ReadFile(filepath.Join(f.dir, n.Name+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		return string(conf)
	}})
	return f
}

// writeBundles writes every station's bundle as `station add --nats
// --tls-dir` makes it: every node's MQTT URL (ssl://), the downlink at
// QoS 0, the fleet's CA and the station's certificate.
func (f *natsFleet) writeBundles(t testing.TB) string {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(f.dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, b := range f.bundles {
		crt, err := os.ReadFile(filepath.Join(f.dir, "clients", b.Station+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		key, err := os.ReadFile(filepath.Join(f.dir, "clients", b.Station+".key"))
		if err != nil {
			t.Fatal(err)
		}
		nb := *b
		nb.Broker, nb.DownlinkQoS0 = f.cluster.MQTTURLs("ssl"), true
		// The certificate alone: NATS refuses a password beside it.
		nb.Username, nb.Password = "", ""
		nb.CACert, nb.ClientCert, nb.ClientKey = string(ca), string(crt), string(key)
		if err := wire.WriteBundle(filepath.Join(dir, b.Station+".bundle.json"), &nb); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (f *natsFleet) caPool(t testing.TB) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(f.dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// stationTLS is what a station's bundle from `station add --tls-dir`
// gives its uplink: the CA and its client certificate.
func (f *natsFleet) stationTLS(t testing.TB, id string) *tls.Config {
	t.Helper()
	return withCertFile(t, f.caPool(t), filepath.Join(f.dir, "clients", id+".crt"), filepath.Join(f.dir, "clients", id+".key"))
}

// cloudNATS connects as the gateways do: the cloud's user, over TLS.
func (f *natsFleet) cloudNATS(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(f.cluster.ClientURLs(), nats.UserInfo(fleet.GatewayUser, f.keys.GatewayPassword),
		nats.Secure(&tls.Config{RootCAs: f.caPool(t), MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// consumerLeader is the node leading the gateways' consumer.
func (f *natsFleet) consumerLeader(t testing.TB) *natstest.Node {
	t.Helper()
	js, err := jetstream.New(f.cloudNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, natsjs.Stream, natsjs.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.cluster.Nodes {
		if info.Cluster != nil && n.Name == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("no node leads the consumer: %+v", info.Cluster)
	return nil
}

// startGateway starts `leifeng-cloud gateway --nats` and waits until it
// consumes.
func (f *natsFleet) startGateway(t testing.TB) *proc {
	t.Helper()
	p := startProc(t, "leifeng-cloud", "gateway", "--nats", f.cluster.ClientURLs(), "--nats-ca", filepath.Join(f.dir, "ca.crt"),
		"--data", f.data, "--db", f.dsn)
	waitLog(t, p, "gateway consuming", 60*time.Second)
	return p
}

// waitLog waits until p's log (since its last start) says what.
func waitLog(t testing.TB, p *proc, what string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		log := p.log.String()
		if i := strings.LastIndex(log, "==== start"); i >= 0 && strings.Contains(log[i:], what) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q in %s:\n%s", p.name, what, within, tail(log, 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A station is held to its own topics by the generated accounts, and a
// client the cloud did not register cannot connect at all.
func TestNATSStationAuth(t *testing.T) {
	f := startNATSFleet(t, "", 2)
	a, b := f.stations[0], f.stations[1]
	// The gateway's consumer exists before any station publishes.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := natsjs.Dial(ctx, natsjs.Config{URLs: f.cluster.ClientURLs(), User: fleet.GatewayUser, Password: f.keys.GatewayPassword,
		TLS: &tls.Config{RootCAs: f.caPool(t)}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	mqttURL := f.cluster.Nodes[0].MQTTURL("ssl")
	sa, err := connect(mqttURL, a, "", "", f.stationTLS(t, a))
	if err != nil {
		t.Fatalf("station %s with its certificate: %v", a, err)
	}
	defer sa.Disconnect(50)
	for _, topic := range []string{wire.StationTopic(a, wire.LeafRecords), wire.StationTopic(b, wire.LeafRecords)} {
		tok := sa.Publish(topic, 1, false, []byte("from "+a))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	nc := f.cloudNATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, natsjs.Stream, natsjs.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Subject())
		m.Ack()
	}
	want := "$MQTT.msgs." + strings.ReplaceAll(wire.StationTopic(a, wire.LeafRecords), "/", ".")
	if len(got) != 1 || got[0] != want {
		t.Fatalf("the gateways' consumer got %q, want only %s: a station published as another", got, want)
	}

	// Not anyone else: no certificate, a certificate from another CA, a
	// certificate of the fleet's CA for a station not registered, the
	// cloud's password over MQTT.
	other, err := fleet.CreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fleetCA, err := fleet.LoadCA(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	certFrom := func(ca *fleet.CA, cn string) *tls.Config {
		crt, key, err := ca.Issue(cn, false)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(crt, key)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{RootCAs: f.caPool(t), Certificates: []tls.Certificate{pair}}
	}
	for name, try := range map[string]func() error{
		"no certificate":       func() error { return connectClose(mqttURL, a, "", "", &tls.Config{RootCAs: f.caPool(t)}) },
		"another CA's":         func() error { return connectClose(mqttURL, a, "", "", certFrom(other, a)) },
		"unregistered station": func() error { return connectClose(mqttURL, "pv-999", "", "", certFrom(fleetCA, "pv-999")) },
		"cloud password on MQTT": func() error {
			return connectClose(mqttURL, "x", fleet.GatewayUser, f.keys.GatewayPassword, &tls.Config{RootCAs: f.caPool(t)})
		},
		"plain MQTT": func() error { return connectClose(f.cluster.Nodes[0].MQTTURL("tcp"), a, "", "", nil) },
		"station on NATS port": func() error {
			return natsClose(t, f, nats.UserInfo(fleet.NATSStationUser(a), ""))
		},
		"wrong cloud password": func() error { return natsClose(t, f, nats.UserInfo(fleet.GatewayUser, "wrong")) },
	} {
		if try() == nil {
			t.Errorf("%s: connected", name)
		}
	}
}

func connectClose(url, clientID, user, pass string, tlsConf *tls.Config) error {
	c, err := connect(url, clientID, user, pass, tlsConf)
	if err == nil {
		c.Disconnect(50)
	}
	return err
}

func natsClose(t testing.TB, f *natsFleet, opt nats.Option) error {
	nc, err := nats.Connect(f.cluster.Nodes[0].ClientURL(), opt, nats.Secure(&tls.Config{RootCAs: f.caPool(t)}))
	if err == nil {
		nc.Close()
	}
	return err
}

// natsKiosk is a kiosk's record path in process: its bbolt outbox and
// its uplink, over the station's certificate to any node of the cluster.
type natsKiosk struct {
	id        string
	st        *kstore.Store
	up        *uplink.Uplink
	confirmed []string
	seq       int
}

// tap confirms a check-in as the kiosk's screen does: once it is in the
// outbox.
func (k *natsKiosk) tap() error {
	id, err := wire.NewRecordID()
	if err != nil {
		return err
	}
	k.seq++
	err = k.st.Commit(kstore.Change{Records: []*wire.Record{{ID: id, Station: k.id, Kind: wire.KindCheckIn,
		Volunteer: fmt.Sprintf("V%05d", k.seq), Card: "C", At: time.Now().UTC(), Mono: int64(k.seq), Boot: "boot-1", ClockSynced: true}}})
	if err == nil {
		k.confirmed = append(k.confirmed, id)
	}
	return err
}

// Three NATS nodes, two gateways, many kiosks tapping: one node and one
// gateway are killed with SIGKILL mid-stream and brought back. Every
// confirmed record is in PostgreSQL exactly once, each station's in the
// order it made them, and every outbox drains. The kiosks' downlink at
// QoS 0 leaves the cluster with one consumer, the gateways' shared one.
// LEIFENG_TEST_SCALE=1 (make test-scale) runs it with 200 kiosks for
// longer.
func TestNATSClusterChaos(t *testing.T) {
	kiosks, phase := 30, 8*time.Second
	if os.Getenv("LEIFENG_TEST_SCALE") == "1" {
		kiosks, phase = 200, 20*time.Second
	}
	dsn := pgtest.NewDatabase(t, pgtest.Start(t))
	f := startNATSFleet(t, dsn, kiosks)
	g1 := f.startGateway(t)
	f.startGateway(t)

	keys := map[string]ed25519.PublicKey{f.keys.KeyID: f.keys.ConfigKey.Public().(ed25519.PublicKey)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var ks []*natsKiosk
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, id := range f.stations {
		st, err := kstore.Open(filepath.Join(t.TempDir(), "kiosk.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		up, err := uplink.New(st, uplink.Config{Broker: f.cluster.MQTTURLs("ssl"), Station: id, TLS: f.stationTLS(t, id),
			AckKeys: keys, DownlinkQoS0: true, AckTimeout: 5 * time.Second, MinBackoff: 200 * time.Millisecond,
			MaxBackoff: 3 * time.Second, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		k := &natsKiosk{id: id, st: st, up: up}
		ks = append(ks, k)
		wg.Go(func() { up.Run(ctx) })
	}

	// Taps for three phases: all up; a node and a gateway down; both back.
	tapCtx, stopTaps := context.WithCancel(ctx)
	var taps sync.WaitGroup
	var failed atomic.Int64
	for _, k := range ks {
		taps.Go(func() {
			for {
				select {
				case <-tapCtx.Done():
					return
				case <-time.After(time.Duration(100+rand.IntN(900)) * time.Millisecond):
				}
				if err := k.tap(); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	start := time.Now()
	time.Sleep(phase)
	// The worst node to lose: the one leading the gateways' consumer.
	victim := f.consumerLeader(t)
	victim.Kill()
	g1.kill()
	t.Logf("%s: killed node %s (the consumer's leader) and gateway-1 (kill -9)", time.Since(start).Round(time.Millisecond), victim.Name)
	time.Sleep(phase)
	victim.Restart()
	g1.start()
	waitLog(t, g1, "gateway consuming", 60*time.Second)
	t.Logf("%s: node %s and gateway-1 back", time.Since(start).Round(time.Millisecond), victim.Name)
	time.Sleep(phase)
	stopTaps()
	taps.Wait()
	tapsDone := time.Now()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d taps failed on the kiosks' own outboxes", n)
	}

	// Every outbox empties.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		stuck := 0
		for _, k := range ks {
			if k.st.Depth() > 0 {
				stuck++
			}
		}
		if stuck == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d outboxes still hold records 2 minutes after the last tap", stuck, len(ks))
		}
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Since(tapsDone)

	// Exactly once, in order.
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := 0
	for _, k := range ks {
		rs, err := db.Records(context.Background(), k.id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(k.confirmed) {
			t.Fatalf("station %s: %d records stored, %d confirmed", k.id, len(rs), len(k.confirmed))
		}
		for i, r := range rs {
			if r.ID != k.confirmed[i] {
				t.Fatalf("station %s: record %d is %s, want %s (seq %d)", k.id, i, r.ID, k.confirmed[i], r.Seq)
			}
			if i > 0 && r.Received.Before(rs[i-1].Received) {
				t.Fatalf("station %s: seq %d received at %v, before seq %d at %v", k.id, r.Seq, r.Received, rs[i-1].Seq, rs[i-1].Received)
			}
		}
		total += len(rs)
	}

	// One consumer in the cluster whatever the number of kiosks.
	js, err := jetstream.New(f.cloudNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), natsjs.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 1 {
		t.Errorf("%d consumers on %s with %d kiosks online, want 1 (the gateways')", info.State.Consumers, natsjs.Stream, len(ks))
	}
	t.Logf("%d kiosks, %d records confirmed and stored exactly once in order; outboxes empty %s after the last tap; %d consumer(s) on %s",
		len(ks), total, drained.Round(time.Millisecond), info.State.Consumers, natsjs.Stream)
}

// nullInbox takes configs and commands and drops them: a kiosk's
// subscriptions are what counts here.
type nullInbox struct{}

func (nullInbox) Message(string, []byte) {}

// The kiosks' downlink decides how many JetStream consumers the cluster
// carries: measured side by side, the same kiosks subscribed at QoS 1
// (ack, config, commands, fleet config) and at QoS 0.
func TestNATSDownlinkConsumers(t *testing.T) {
	const kiosks = 25
	c := natstest.Start(t, natstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := natsjs.Dial(ctx, natsjs.Config{URLs: c.ClientURLs(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	count := func(qos0 bool) int {
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var ups []*uplink.Uplink
		for i := range kiosks {
			st, err := kstore.Open(filepath.Join(t.TempDir(), "kiosk.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			up, err := uplink.New(st, uplink.Config{Broker: c.MQTTURLs("tcp"), Station: fmt.Sprintf("dl-%v-%02d", qos0, i),
				DownlinkQoS0: qos0, Inbox: nullInbox{}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ups = append(ups, up)
			wg.Go(func() { up.Run(runCtx) })
		}
		for _, up := range ups {
			for !up.Online() {
				if ctx.Err() != nil {
					t.Fatal("kiosks did not come online")
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		n, err := cl.ConsumerCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stop()
		wg.Wait()
		return n
	}
	// QoS 0 first: a persistent session's QoS 1 subscriptions stay
	// consumers after its kiosk disconnects.
	qos0 := count(true)
	qos1 := count(false)
	t.Logf("%d kiosks online: %d consumers on %s with a QoS 1 downlink, %d with QoS 0", kiosks, qos1, natsjs.Stream, qos0)
	if qos0 != 1 {
		t.Errorf("QoS 0 downlink: %d consumers, want 1 (the gateways')", qos0)
	}
	if qos1 <= kiosks {
		t.Errorf("QoS 1 downlink: %d consumers for %d kiosks; expected several per kiosk (is the measurement broken?)", qos1, kiosks)
	}
}
