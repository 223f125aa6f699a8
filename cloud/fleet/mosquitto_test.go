package fleet

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"leifeng/cloud/store"
)

// The dynamic-security config binds each station to its client ID, gives
// it only its own topics and no shared subscription, and carries the
// stored hash unchanged.
func TestMosquittoDynsec(t *testing.T) {
	keys := &Keys{GatewayPassword: "gw"}
	hash, err := HashPassword("pw-a")
	if err != nil {
		t.Fatal(err)
	}
	data, err := MosquittoDynsec(keys, []store.Registration{{ID: "st-a", SecretHash: hash}})
	if err != nil {
		t.Fatal(err)
	}
	var conf dynsecConfig
	if err := json.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	if conf.DefaultACLAccess["subscribe"] || conf.DefaultACLAccess["publishClientSend"] {
		t.Fatal("subscribing and publishing must be denied unless a role allows it")
	}
	var st *dynsecClient
	for i := range conf.Clients {
		if conf.Clients[i].Username == "st-a" {
			st = &conf.Clients[i]
		}
		if conf.Clients[i].Username == GatewayUser && conf.Clients[i].ClientID != "" {
			t.Fatal("the gateways' account must not be bound to one client ID: several gateways share it")
		}
	}
	if st == nil || st.ClientID != "st-a" {
		t.Fatalf("station st-a not bound to its client ID: %+v", st)
	}
	iter, salt, sum, _ := splitHash(hash)
	if st.Iterations != iter || st.Salt != salt || st.Password != sum {
		t.Fatalf("station hash %+v is not the stored %s", st, hash)
	}
	for _, r := range conf.Roles {
		if r.Rolename != "station-st-a" {
			continue
		}
		var topics []string
		for _, a := range r.ACLs {
			if !a.Allow || a.Type == "subscribePattern" {
				t.Fatalf("station role grants %+v", a)
			}
			topics = append(topics, a.Type+" "+a.Topic)
		}
		for _, want := range []string{"publishClientSend leifeng/v1/stations/st-a/records", "subscribeLiteral leifeng/v1/stations/st-a/ack", "subscribeLiteral leifeng/v1/fleet/config"} {
			if !slices.Contains(topics, want) {
				t.Errorf("station role lacks %q: %v", want, topics)
			}
		}
		return
	}
	t.Fatal("no role for st-a")
}

// A plain listener is on loopback unless clear text over the network is
// asked for by name; the generated config binds it there.
func TestPlainListenerLoopbackOnly(t *testing.T) {
	keys := &Keys{GatewayPassword: "gw"}
	dir := t.TempDir()
	if err := WriteMosquitto(dir, keys, nil, MosquittoOptions{Listen: DefaultPlainListen, Plugin: "/p.so"}); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "\nlistener 1883 127.0.0.1\n") {
		t.Fatalf("default plain listener not on loopback:\n%s", conf)
	}
	for _, l := range []string{"1883", "1883 0.0.0.0", "1883 10.0.0.5", "1883 ::", "1883 broker.example"} {
		err := WriteMosquitto(t.TempDir(), keys, nil, MosquittoOptions{Listen: l, Plugin: "/p.so"})
		if !errors.Is(err, ErrPlaintextExposed) {
			t.Errorf("plain listener %q: %v, want ErrPlaintextExposed", l, err)
		}
		if err := CheckPlainListen(l, true); err != nil {
			t.Errorf("plain listener %q with --insecure-plaintext: %v", l, err)
		}
	}
	for _, l := range []string{"", "1883 127.0.0.1", "1884 ::1", "1883 127.0.0.2"} {
		if err := CheckPlainListen(l, false); err != nil {
			t.Errorf("plain listener %q refused: %v", l, err)
		}
	}
	dir = t.TempDir()
	if err := WriteMosquitto(dir, keys, nil, MosquittoOptions{Listen: "1883", InsecurePlaintext: true, Plugin: "/p.so"}); err != nil {
		t.Fatal(err)
	}
	if conf, _ := os.ReadFile(filepath.Join(dir, "mosquitto.conf")); !strings.Contains(string(conf), "\nlistener 1883\n") {
		t.Fatalf("insecure plain listener not written:\n%s", conf)
	}
}
