package e2e

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/cloud/fleet"
	"leifeng/gateway/wire"
	"leifeng/internal/mosquittotest"
)

// stationView is a station in GET /api/v1/fleet.
type stationView struct {
	ID                 string `json:"id"`
	Online             bool   `json:"online"`
	ConfigVersion      uint64 `json:"config_version"`
	ConfigError        string `json:"config_error"`
	FleetConfigVersion uint64 `json:"fleet_config_version"`
	DesiredConfig      uint64 `json:"desired_config"`
	UpdateOffered      string `json:"update_offered"`
	Firmware           string `json:"firmware"`
	LastCommand        string `json:"last_command"`
	Command            *struct {
		Nonce   string `json:"nonce"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"command"`
	Alerts []struct {
		Kind string `json:"kind"`
	} `json:"alerts"`
}

func (s stationView) alert(kind string) bool {
	for _, a := range s.Alerts {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

func (c *cloud) station(t testing.TB, id string) stationView {
	t.Helper()
	var f struct {
		Stations []stationView `json:"stations"`
	}
	c.get(t, "/api/v1/fleet", &f)
	for _, s := range f.Stations {
		if s.ID == id {
			return s
		}
	}
	return stationView{ID: id}
}

// waitStation waits until cond holds for station id as the API shows it.
func (c *cloud) waitStation(t testing.TB, id, what string, within time.Duration, cond func(stationView) bool) stationView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := c.station(t, id)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("station %s: %s not seen within %s; last %+v", id, what, within, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var pushedRE = regexp.MustCompile(`pushed (\S+) version (\d+)`)

// push runs `leifeng-cloud config push` with doc and returns the version.
func (c *cloud) push(t testing.TB, doc string, target ...string) uint64 {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cloudCmd(t, append([]string{"config", "push", "--api", c.http, "--data", c.data, "--file", file}, target...)...)
	m := pushedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("config push said %q", out)
	}
	v, _ := strconv.ParseUint(m[2], 10, 64)
	return v
}

func (c *cloud) keys(t testing.TB) *fleet.Keys {
	t.Helper()
	k, err := fleet.LoadKeys(c.data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// connect connects an MQTT client; it returns the connection error.
func connect(url, clientID, user, pass string, tlsConf *tls.Config) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetTLSConfig(tlsConf).SetAutoReconnect(false).
		SetConnectTimeout(3 * time.Second).SetConnectRetry(false))
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, fmt.Errorf("connect %s: timeout", url)
	}
	return c, tok.Error()
}

// asCloud connects with the cloud's own broker account.
func (c *cloud) asCloud(t testing.TB, url string) paho.Client {
	t.Helper()
	cl, err := connect(url, "e2e-cloud-"+strconv.FormatInt(time.Now().UnixNano(), 36), fleet.GatewayUser, c.keys(t).GatewayPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Disconnect(50) })
	return cl
}

func sealRaw(t testing.TB, priv ed25519.PrivateKey, keyID string, payload []byte) []byte {
	t.Helper()
	env, err := wire.Seal(priv, keyID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// configScenario: a push is applied and reported; forged, stale, invalid
// and truncated documents are refused with the last good config kept and
// the reason reported; a kiosk offline during a push gets it on return.
func configScenario(t *testing.T, c *cloud, k *kiosk, brokerURL string) {
	v1 := c.push(t, `{"rules":{"max_session_minutes":90},"reader":{"debounce_ms":1500},
		"menu":[{"id":"elder","name":"助老服务","items":[{"id":"elder-visit","name":"上门探访"}]}]}`, "--station", k.station)
	c.waitStation(t, k.station, fmt.Sprintf("config %d applied", v1), 20*time.Second, func(s stationView) bool {
		return s.ConfigVersion == v1 && s.DesiredConfig == v1 && s.ConfigError == ""
	})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(k.log.String(), "max_session=1h30m0s") {
		if time.Now().After(deadline) {
			t.Fatal("the kiosk did not apply the maximum session from the config")
		}
		time.Sleep(50 * time.Millisecond)
	}

	keys := c.keys(t)
	pub := c.asCloud(t, brokerURL)
	topic := wire.StationTopic(k.station, wire.LeafConfig)
	doc := func(version uint64, extra string) []byte {
		return fmt.Appendf(nil, `{"v":1,"version":%d,"station":%q%s}`, version, k.station, extra)
	}
	good := sealRaw(t, keys.ConfigKey, keys.KeyID, doc(v1+10, ""))
	var env wire.Envelope
	json.Unmarshal(good, &env)
	env.Payload = doc(v1+11, "")
	tampered, _ := json.Marshal(&env)
	_, rogue, _ := ed25519.GenerateKey(nil)
	for _, tc := range []struct {
		name, want string
		msg        []byte
	}{
		{"bad signature", "does not verify", tampered},
		{"untrusted key", `key "rogue" is not trusted`, sealRaw(t, rogue, "rogue", doc(v1+12, ""))},
		{"older version", fmt.Sprintf("offered %d, running %d", v1-1, v1), sealRaw(t, keys.ConfigKey, keys.KeyID, doc(v1-1, ""))},
		{"equal version", fmt.Sprintf("offered %d, running %d", v1, v1), sealRaw(t, keys.ConfigKey, keys.KeyID, doc(v1, `,"board":{"phone":"1"}`))},
		{"schema violation", "reader.antenna_gain", sealRaw(t, keys.ConfigKey, keys.KeyID, doc(v1+13, `,"reader":{"antenna_gain":99}`))},
		{"truncated", "malformed", good[:len(good)-20]},
	} {
		if tok := pub.Publish(topic, 1, true, tc.msg); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		s := c.waitStation(t, k.station, tc.name+" refused", 10*time.Second, func(s stationView) bool {
			return strings.Contains(s.ConfigError, tc.want)
		})
		if s.ConfigVersion != v1 {
			t.Fatalf("%s: the kiosk left its last good config: runs %d", tc.name, s.ConfigVersion)
		}
	}

	// Offline during a push: the retained config waits at the broker.
	k.stop()
	c.waitStation(t, k.station, "offline", 10*time.Second, func(s stationView) bool { return !s.Online })
	v2 := c.push(t, `{"announcements":[{"title":"周六义诊"}]}`, "--station", k.station)
	k.restartKiosk(t)
	c.waitStation(t, k.station, fmt.Sprintf("config %d applied after reconnect", v2), 20*time.Second, func(s stationView) bool {
		return s.Online && s.ConfigVersion == v2 && s.ConfigError == ""
	})

	// The fleet defaults reach every station.
	vf := c.push(t, `{"board":{"phone":"0879-2222222"}}`, "--all")
	c.waitStation(t, k.station, "fleet config applied", 20*time.Second, func(s stationView) bool { return s.FleetConfigVersion == vf })
}

func TestConfigEmbedded(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-cfg-001", c.mqtt)
	configScenario(t, c, k, c.mqtt)
}

func TestCommands(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-cmd-001", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	api := []string{"--api", c.http, "--data", c.data, "--station", k.station}

	// The command waits for the kiosk's answer and says it.
	if out := cloudCmd(t, append([]string{"command", "--name", "resync"}, api...)...); !strings.Contains(out, "resync at "+k.station+": done (resync: ok)") {
		t.Fatalf("command output:\n%s", out)
	}
	c.waitStation(t, k.station, "resync obeyed", 10*time.Second, func(s stationView) bool { return s.LastCommand == "resync: ok" })
	cloudCmd(t, append([]string{"command", "--name", "update_offer", "--offer-version", "2.0.0"}, api...)...)
	c.waitStation(t, k.station, "update offer recorded", 10*time.Second, func(s stationView) bool { return s.UpdateOffered == "2.0.0" })

	keys := c.keys(t)
	pub := c.asCloud(t, c.mqtt)
	topic := wire.StationTopic(k.station, wire.LeafCommands)
	send := func(msg []byte) {
		if tok := pub.Publish(topic, 1, false, msg); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	seal := func(cmd *wire.Command) []byte {
		payload, _ := wire.EncodeCommand(cmd)
		return sealRaw(t, keys.ConfigKey, keys.KeyID, payload)
	}
	cmd, _ := wire.NewCommand(k.station, wire.CmdReloadConfig, time.Minute, time.Now(), nil)
	sealed := seal(cmd)
	send(sealed)
	c.waitStation(t, k.station, "reload obeyed", 10*time.Second, func(s stationView) bool { return s.LastCommand == "reload_config: ok" })
	send(sealed) // the broker (or anyone holding the bytes) replays it
	c.waitStation(t, k.station, "replay refused", 10*time.Second, func(s stationView) bool {
		return strings.Contains(s.LastCommand, "refused") && strings.Contains(s.LastCommand, "replayed")
	})
	old, _ := wire.NewCommand(k.station, wire.CmdResync, time.Minute, time.Now().Add(-time.Hour), nil)
	send(seal(old))
	c.waitStation(t, k.station, "expired refused", 10*time.Second, func(s stationView) bool {
		return strings.Contains(s.LastCommand, "expired")
	})

	// Reboot: the kiosk exits with the status its service restarts it on
	// (the test restarts it, so the command does not wait for it).
	cloudCmd(t, append([]string{"command", "--name", "reboot", "--wait", "0"}, api...)...)
	select {
	case <-k.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the kiosk did not exit on reboot")
	}
	if code := k.cmd.ProcessState.ExitCode(); code != 75 {
		t.Fatalf("reboot exit status %d, want 75", code)
	}
	k.cmd = nil
	k.restartKiosk(t)
	c.waitStation(t, k.station, "back after reboot", 20*time.Second, func(s stationView) bool { return s.Online })
}

// The offline alert fires when a kiosk dies and clears when it returns.
func TestOfflineAlert(t *testing.T) {
	c := startCloud(t, cloudOpt{extra: []string{"--offline-alert", "1s"}})
	k := startKiosk(t, "pe-alert-001", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online && !s.alert("offline") })
	k.kill()
	c.waitStation(t, k.station, "offline alert", 20*time.Second, func(s stationView) bool { return !s.Online && s.alert("offline") })
	k.restartKiosk(t)
	c.waitStation(t, k.station, "alert cleared", 20*time.Second, func(s stationView) bool { return s.Online && !s.alert("offline") })
	var p struct {
		Presence []struct {
			Online bool `json:"online"`
		} `json:"presence"`
	}
	c.get(t, "/api/v1/stations/"+k.station+"/presence", &p)
	if len(p.Presence) < 3 || !p.Presence[0].Online || p.Presence[1].Online {
		t.Fatalf("presence history %+v, want online, offline, online (newest first)", p.Presence)
	}
}

// aclBroker is a broker under test: a client with the cloud's full access,
// a way to connect as a station, and an unknown client's attempt.
type aclBroker struct {
	url     string
	cloud   paho.Client // full access
	connect func(station string) (paho.Client, error)
	unknown func() error // an unknown client's connection attempt
}

func aclScenario(t *testing.T, b aclBroker) {
	a, err := b.connect("st-a")
	if err != nil {
		t.Fatalf("station A cannot connect with its own credentials: %v", err)
	}
	defer a.Disconnect(50)
	// The cloud listens on B's records and A's state.
	ownState := make(chan struct{}, 16)
	forged := make(chan struct{}, 16)
	b.cloud.Subscribe(wire.StationTopic("st-b", wire.LeafRecords), 1, func(paho.Client, paho.Message) { forged <- struct{}{} }).Wait()
	b.cloud.Subscribe(wire.StationTopic("st-a", wire.LeafState), 1, func(_ paho.Client, m paho.Message) {
		if strings.Contains(string(m.Payload()), "acl-probe") {
			ownState <- struct{}{}
		}
	}).Wait()
	// A may publish its own state.
	a.Publish(wire.StationTopic("st-a", wire.LeafState), 1, false, []byte(`{"v":1,"station":"st-a","firmware":"acl-probe","online":true,"clock":{}}`)).WaitTimeout(2 * time.Second)
	select {
	case <-ownState:
	case <-time.After(5 * time.Second):
		t.Fatal("A's own state did not arrive")
	}
	// A cannot read B's commands.
	leak := make(chan struct{}, 1)
	a.Subscribe(wire.StationTopic("st-b", wire.LeafCommands), 1, func(paho.Client, paho.Message) { leak <- struct{}{} }).WaitTimeout(2 * time.Second)
	b.cloud.Publish(wire.StationTopic("st-b", wire.LeafCommands), 1, false, []byte("for B only")).Wait()
	// A cannot publish records as B.
	a.Publish(wire.StationTopic("st-b", wire.LeafRecords), 1, false, []byte(`{"forged":true}`)).WaitTimeout(2 * time.Second)
	select {
	case <-leak:
		t.Fatal("station A read station B's command")
	case <-forged:
		t.Fatal("station A published records as station B")
	case <-time.After(2 * time.Second):
	}
	if err := b.unknown(); err == nil {
		t.Fatal("an unknown client connected")
	}
}

func bundlePass(t testing.TB, file string) string {
	t.Helper()
	bd, err := wire.ReadBundle(file)
	if err != nil {
		t.Fatal(err)
	}
	return bd.Password
}

func TestACLEmbedded(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	bundles := map[string]string{"st-a": c.addStation(t, "st-a", "思茅区"), "st-b": c.addStation(t, "st-b", "宁洱县")}
	aclScenario(t, aclBroker{
		url: c.mqtt, cloud: c.asCloud(t, c.mqtt),
		connect: func(st string) (paho.Client, error) {
			return connect(c.mqtt, st, st, bundlePass(t, bundles[st]), nil)
		},
		unknown: func() error {
			if _, err := connect(c.mqtt, "st-a", "st-a", "wrong", nil); err == nil {
				return nil
			}
			if _, err := connect(c.mqtt, "st-b", "st-a", bundlePass(t, bundles["st-a"]), nil); err == nil {
				return nil // A's secret under B's client ID
			}
			_, err := connect(c.mqtt, "nobody", "nobody", "x", nil)
			return err
		},
	})
}

// mosquittoFleet registers st-a and st-b under a new cloud data directory
// and starts a private Mosquitto on the generated config.
func mosquittoFleet(t *testing.T, tlsPort string) (data, dir string, bundles map[string]string, mq *mosquittotest.Server) {
	data, dir = t.TempDir(), t.TempDir()
	bundles = map[string]string{}
	for _, st := range []string{"st-a", "st-b"} {
		bundles[st] = filepath.Join(t.TempDir(), st+".json")
		// The broker's port is not known yet; the kiosk gets --mqtt.
		cloudCmd(t, "station", "add", "--data", data, "--id", st, "--broker", "tcp://127.0.0.1:1", "--out", bundles[st])
	}
	args := []string{"mosquitto-config", "--data", data, "--out", dir, "--listen", ""}
	if tlsPort != "" {
		args = append(args, "--tls-listen", tlsPort+" 127.0.0.1")
	}
	cloudCmd(t, args...)
	conf, err := os.ReadFile(filepath.Join(dir, "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	mq = mosquittotest.Start(t, string(conf))
	return data, dir, bundles, mq
}

func TestMosquittoGeneratedACL(t *testing.T) {
	data, _, bundles, mq := mosquittoFleet(t, "")
	c := startCloud(t, cloudOpt{external: mq.URL(), data: data})
	k := startKiosk(t, "st-a", mq.URL(), "--bundle", bundles["st-a"])
	// Records flow through the ACL (the gateway's shared subscription).
	k.mustTap(t, "V1")
	k.mustTap(t, "V2")
	c.waitRecords(t, "st-a", 2, 20*time.Second)
	configScenario(t, c, k, mq.URL())
	// A station's account is bound to its client ID: the probe connects
	// as the kiosk would, so the kiosk steps aside first.
	k.stop()
	aclScenario(t, aclBroker{
		url: mq.URL(), cloud: c.asCloud(t, mq.URL()),
		connect: func(st string) (paho.Client, error) {
			return connect(mq.URL(), st, st, bundlePass(t, bundles[st]), nil)
		},
		unknown: func() error {
			if _, err := connect(mq.URL(), "x", "st-a", "wrong", nil); err == nil {
				return nil
			}
			_, err := connect(mq.URL(), "nobody", "", "", nil)
			return err
		},
	})
}

func TestMosquittoTLSClientCerts(t *testing.T) {
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	data, dir, _, mq := mosquittoFleet(t, port)
	url := "ssl://127.0.0.1:" + port
	// The cloud, too, connects with its certificate (CN leifeng-cloud).
	c := startCloud(t, cloudOpt{external: url, data: data, extra: []string{"--mqtt-ca", filepath.Join(dir, "ca.crt"),
		"--mqtt-cert", filepath.Join(dir, "cloud.crt"), "--mqtt-key", filepath.Join(dir, "cloud.key")}})
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	withCert := func(name string) *tls.Config {
		return withCertFile(t, pool, filepath.Join(dir, "clients", name+".crt"), filepath.Join(dir, "clients", name+".key"))
	}
	// On the certificate listener a client's ID is its certificate's CN:
	// one client per certificate. The probe uses the cloud's password on
	// the plain listener, as further gateways do.
	cloudProbe := c.asCloud(t, mq.URL())
	aclScenario(t, aclBroker{
		url: url, cloud: cloudProbe,
		connect: func(st string) (paho.Client, error) {
			return connect(url, st, "", "", withCert(st))
		},
		unknown: func() error {
			_, err := connect(url, "nobody", "nobody", "", &tls.Config{RootCAs: pool})
			return err
		},
	})

	// A kiosk whose bundle carries the CA and its client certificate works
	// over TLS: records in, config applied.
	bundle := filepath.Join(t.TempDir(), "st-c.json")
	cloudCmd(t, "station", "add", "--data", data, "--id", "st-c", "--broker", url, "--tls-dir", dir, "--out", bundle)
	// Mosquitto learns of a new station from the regenerated
	// configuration (its dynamic-security file), read at start.
	cloudCmd(t, "mosquitto-config", "--data", data, "--out", dir, "--listen", "", "--tls-listen", port+" 127.0.0.1")
	mq.Stop()
	mq.Start()
	// A station's certificate opens only its own client ID: st-a asking
	// for st-b's gets its own, and st-b's session stays up.
	held, err := connect(url, "st-b", "", "", withCert("st-b"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Disconnect(50)
	if cl, err := connect(url, "st-b", "", "", withCert("st-a")); err == nil {
		cl.Disconnect(50)
	}
	tok := held.Publish(wire.StationTopic("st-b", wire.LeafState), 1, false, []byte(`{"v":1,"station":"st-b","online":true,"clock":{}}`))
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil || !held.IsConnectionOpen() {
		t.Fatalf("station st-a's certificate took over st-b's session: %v", tok.Error())
	}
	k := startKiosk(t, "st-c", url, "--bundle", bundle)
	k.mustTap(t, "V1")
	c.waitRecords(t, "st-c", 1, 20*time.Second)
	v := c.push(t, `{"board":{"phone":"0879-1"}}`, "--station", "st-c")
	c.waitStation(t, "st-c", "config applied over TLS", 20*time.Second, func(s stationView) bool { return s.ConfigVersion == v })
}

func withCertFile(t testing.TB, pool *x509.CertPool, certFile, keyFile string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
}

// cloudFail runs a leifeng-cloud subcommand that must fail and returns its
// output.
func cloudFail(t testing.TB, args ...string) string {
	t.Helper()
	out, err := cloudExec(t, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("leifeng-cloud %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// A command the kiosk refuses is reported as failed, with its reason, by
// `leifeng-cloud command` (non-zero exit) and in the fleet view the
// console shows. The kiosk's clock runs an hour ahead, as a Pi's does
// after a power cut without network, so every command arrives expired.
// Commands and pushes to a station never registered fail at once.
func TestRefusedCommandReported(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-late-001", c.mqtt, "--fake-clock-offset", "1h")
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	api := []string{"--api", c.http, "--data", c.data}

	out := cloudFail(t, append([]string{"command", "--station", k.station, "--name", "resync", "--wait", "20s"}, api...)...)
	if !strings.Contains(out, "resync at pe-late-001 failed") || !strings.Contains(out, "expired") {
		t.Fatalf("command output:\n%s", out)
	}
	s := c.waitStation(t, k.station, "failed command in the fleet view", 10*time.Second, func(s stationView) bool {
		return s.Command != nil && s.Command.Status == "failed"
	})
	if !strings.Contains(s.Command.Reason, "expired") || !strings.Contains(s.Command.Message, "过期") {
		t.Fatalf("fleet view command %+v", s.Command)
	}

	for _, args := range [][]string{
		{"command", "--station", "pe-nowhere-001", "--name", "resync"},
		{"config", "push", "--station", "pe-nowhere-001", "--file", writeDoc(t, `{"board":{"phone":"1"}}`)},
	} {
		out := strings.TrimSpace(cloudFail(t, append(args, api...)...))
		if strings.Count(out, "\n") != 0 || !strings.Contains(out, "pe-nowhere-001 (register it") || !strings.Contains(out, "404") {
			t.Fatalf("%s: want one line saying the station is not registered, got:\n%s", args[0], out)
		}
	}
}

func writeDoc(t testing.TB, doc string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// The unmasked-name attack against the real kiosk: 王小明 pushed through
// the cloud arrives as 王*明 and is applied; the same name in a document
// signed with the cloud's key but not masked (a cloud bypassed) is refused
// by the kiosk, which keeps its last good config and says why.
func TestUnmaskedNameRefused(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-name-001", c.mqtt)
	other := startKiosk(t, "pe-name-002", c.mqtt)
	v := c.push(t, `{"volunteers":[{"id":"V1","name":"王小明"}]}`, "--station", k.station)
	c.waitStation(t, k.station, "masked roster applied", 20*time.Second, func(s stationView) bool {
		return s.ConfigVersion == v && s.ConfigError == ""
	})
	var doc struct {
		Volunteers []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"volunteers"`
	}
	c.get(t, "/api/v1/config?station="+k.station, &doc)
	if len(doc.Volunteers) != 1 || doc.Volunteers[0].Name != "王*明" {
		t.Fatalf("roster %+v, want V1 as 王*明", doc.Volunteers)
	}
	doc.Volunteers = nil
	c.get(t, "/api/v1/config?station="+other.station, &doc)
	if len(doc.Volunteers) != 0 {
		t.Fatalf("the other station receives %+v", doc.Volunteers)
	}

	keys := c.keys(t)
	raw := fmt.Appendf(nil, `{"v":1,"version":%d,"station":%q,"volunteers":[{"id":"V1","name":"王小明","hours":1}]}`, v+1, k.station)
	pub := c.asCloud(t, c.mqtt)
	if tok := pub.Publish(wire.StationTopic(k.station, wire.LeafConfig), 1, true, sealRaw(t, keys.ConfigKey, keys.KeyID, raw)); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	s := c.waitStation(t, k.station, "unmasked name refused", 20*time.Second, func(s stationView) bool {
		return strings.Contains(s.ConfigError, "not masked")
	})
	if s.ConfigVersion != v {
		t.Fatalf("the kiosk runs %d, want its last good %d", s.ConfigVersion, v)
	}
}
