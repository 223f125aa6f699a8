package e2e

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/cloud/fleet"
	"leifeng/cloud/mosquittotest"
	"leifeng/gateway/wire"
)

// On Mosquitto as mosquitto-config sets it up, a station's credentials
// cannot connect under the gateway's client ID (which would kick the
// gateway off) nor under another station's.
func TestMosquittoClientIDTakeover(t *testing.T) {
	data, _, bundles, mq := mosquittoFleet(t, "")
	c := startCloud(t, cloudOpt{external: mq.URL(), data: data})
	kb := startKiosk(t, "st-b", mq.URL(), "--bundle", bundles["st-b"])
	kb.mustTap(t, "V1")
	c.waitRecords(t, "st-b", 1, 20*time.Second)
	c.waitStation(t, "st-b", "online", 20*time.Second, func(s stationView) bool { return s.Online })

	passA := bundlePass(t, bundles["st-a"])
	for _, id := range []string{"gw-e2e", "st-b"} {
		if cl, err := connect(mq.URL(), id, "st-a", passA, nil); err == nil {
			cl.Disconnect(50)
			t.Errorf("station st-a's credentials connected under client ID %q", id)
		}
	}
	// Neither the gateway nor st-b was kicked off: st-b's taps still
	// arrive and it never went offline.
	kb.mustTap(t, "V2")
	c.waitRecords(t, "st-b", 2, 20*time.Second)
	var p struct {
		Presence []struct {
			Online bool `json:"online"`
		} `json:"presence"`
	}
	c.get(t, "/api/v1/stations/st-b/presence", &p)
	for _, ch := range p.Presence {
		if !ch.Online {
			t.Fatalf("st-b was taken offline: presence %+v", p.Presence)
		}
	}
	if strings.Count(c.log.String(), "gateway lost the broker") > 0 {
		t.Fatal("the gateway was kicked off the broker")
	}
}

// A station joining the gateways' shared subscription gets nothing, and
// another station's batches all reach the database.
func TestMosquittoShareJoinDenied(t *testing.T) {
	data, _, bundles, mq := mosquittoFleet(t, "")
	c := startCloud(t, cloudOpt{external: mq.URL(), data: data})
	kb := startKiosk(t, "st-b", mq.URL(), "--bundle", bundles["st-b"])
	c.waitStation(t, "st-b", "online", 20*time.Second, func(s stationView) bool { return s.Online })

	spy, err := connect(mq.URL(), "st-a", "st-a", bundlePass(t, bundles["st-a"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Disconnect(50)
	stolen := make(chan string, 100)
	for _, filter := range []string{wire.SharedRecordsFilter, "$share/spies/" + wire.Prefix + "/stations/+/records", wire.Prefix + "/stations/+/records"} {
		tok := spy.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { stolen <- m.Topic() })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			continue // refused outright is fine too
		}
		// paho keys the result by the filter without "$share/GROUP/".
		for _, code := range tok.(*paho.SubscribeToken).Result() {
			if code < 0x80 {
				t.Errorf("station st-a subscribed to %s (granted QoS %d)", filter, code)
			}
		}
	}
	var ids []string
	for i := range 6 {
		ids = append(ids, kb.mustTap(t, fmt.Sprintf("V%d", i)).ID)
	}
	c.waitIDs(t, "st-b", ids, 20*time.Second)
	select {
	case topic := <-stolen:
		t.Fatalf("station st-a received %s", topic)
	default:
	}
}

// The generated configuration starts when Mosquitto starts as root (and
// drops to its own user before reading the files) and when it runs as the
// mosquitto user: the files are that user's, not root's 0600.
func TestMosquittoConfigStartsAsRootAndAsMosquitto(t *testing.T) {
	if os.Geteuid() != 0 {
		msg := "this test starts Mosquitto as root and as the mosquitto user; run it as root"
		if mosquittotest.Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	mu, err := user.Lookup("mosquitto")
	if err != nil {
		t.Fatal("no mosquitto user (apt-get install mosquitto creates it)")
	}
	uid, _ := strconv.Atoi(mu.Uid)
	for _, mode := range []struct {
		name string
		opt  mosquittotest.Options
	}{
		{"root-drops-privileges", mosquittotest.Options{DropRoot: true}},
		{"as-mosquitto", mosquittotest.Options{RunAs: "mosquitto"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			data := t.TempDir()
			bundle := filepath.Join(t.TempDir(), "st-a.json")
			cloudCmd(t, "station", "add", "--data", data, "--id", "st-a", "--broker", "tcp://127.0.0.1:1", "--out", bundle)
			dir := filepath.Join(mosquittotest.PublicDir(t), "mosquitto")
			// With a TLS listener: Mosquitto must read its key and
			// certificates too (it does not start otherwise).
			_, tlsPort, _ := strings.Cut(freeAddr(t), ":")
			cloudCmd(t, "mosquitto-config", "--data", data, "--out", dir, "--listen", "", "--tls-listen", tlsPort+" 127.0.0.1")
			for _, name := range []string{"ca.key", "clients/st-a.key", "cloud.key"} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) == uid || fi.Mode().Perm()&0o077 != 0 {
					t.Fatalf("%s: owner %d mode %v; Mosquitto must not hold the CA's or the clients' keys", name, st.Uid, fi.Mode().Perm())
				}
			}
			for _, name := range []string{"dynamic-security.json", "mosquitto.conf", "server.key"} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || fi.Mode().Perm()&0o077 != 0 {
					t.Fatalf("%s: owner %d mode %v; want the mosquitto user's (%d), 0600", name, st.Uid, fi.Mode().Perm(), uid)
				}
			}
			conf, err := os.ReadFile(filepath.Join(dir, "mosquitto.conf"))
			if err != nil {
				t.Fatal(err)
			}
			mode.opt.Extra = string(conf)
			mq := mosquittotest.StartWith(t, mode.opt)
			cl, err := connect(mq.URL(), "st-a", "st-a", bundlePass(t, bundle), nil)
			if err != nil {
				log, _ := os.ReadFile(filepath.Join(mq.Dir(), "mosquitto.log"))
				t.Fatalf("the station cannot log in: Mosquitto did not read its generated files: %v\n%s", err, log)
			}
			cl.Disconnect(50)
			if _, err := connect(mq.URL(), "st-a", "st-a", "wrong", nil); err == nil {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
}

var gatewayIDRE = regexp.MustCompile(`gateway subscribed.*client=(\S+)`)

// Without --gateway-id each gateway connects under a random client ID:
// nothing to guess from its host name and PID.
func TestGatewayClientIDRandom(t *testing.T) {
	mq := mosquittotest.Start(t, "")
	var ids []string
	for range 2 {
		// A lone gateway needs the cloud's keys file to seal its acks.
		data := t.TempDir()
		if _, err := fleet.LoadKeys(data); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, "leifeng-cloud", "gateway", "--data", data, "--mqtt", mq.URL())
		deadline := time.Now().Add(20 * time.Second)
		for gatewayIDRE.FindStringSubmatch(p.log.String()) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the gateway did not subscribe:\n%s", p.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		ids = append(ids, gatewayIDRE.FindStringSubmatch(p.log.String())[1])
		p.stop()
	}
	host, _ := os.Hostname()
	for _, id := range ids {
		if !strings.HasPrefix(id, "leifeng-gateway-") || len(id) < len("leifeng-gateway-")+20 || strings.Contains(id, host) {
			t.Fatalf("gateway client ID %q: want leifeng-gateway- and random characters, not the host name", id)
		}
	}
	if ids[0] == ids[1] {
		t.Fatalf("two gateways chose the same client ID %q", ids[0])
	}
}
