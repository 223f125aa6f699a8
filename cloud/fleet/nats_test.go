package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"leifeng/cloud/store"
)

// Each station may use only its own subjects and only over MQTT; the
// cloud's password is kept as bcrypt, usable only on the NATS port.
func TestNATSAccounts(t *testing.T) {
	keys := &Keys{GatewayPassword: "gw-secret"}
	conf, err := NATSAccounts(keys, []store.Registration{{ID: "st-a"}, {ID: "st-b"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(conf, "gw-secret") {
		t.Fatal("the cloud's password in clear text")
	}
	var hash string
	for _, line := range strings.Split(conf, "\n") {
		if strings.Contains(line, `user: "leifeng-cloud"`) {
			if !strings.Contains(line, `allowed_connection_types: ["STANDARD"]`) {
				t.Errorf("cloud user may use MQTT: %s", line)
			}
			_, rest, _ := strings.Cut(line, `password: "`)
			hash, _, _ = strings.Cut(rest, `"`)
		}
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("gw-secret")) != nil {
		t.Fatalf("the cloud's bcrypt hash does not match: %q", hash)
	}
	_, a, _ := strings.Cut(conf, `user: "CN=st-a"`)
	a, _, _ = strings.Cut(a, `user: "CN=st-b"`)
	for _, want := range []string{`allowed_connection_types: ["MQTT"]`, `"leifeng.v1.stations.st-a.records"`, `"leifeng.v1.stations.st-a.state"`,
		`"leifeng.v1.stations.st-a.ack"`, `"leifeng.v1.fleet.config"`} {
		if !strings.Contains(a, want) {
			t.Errorf("station st-a's user lacks %s:\n%s", want, a)
		}
	}
	if strings.Contains(a, "st-b") || strings.Contains(a, "*") || strings.Contains(a, ">") {
		t.Errorf("station st-a's user reaches beyond its own subjects:\n%s", a)
	}
	if _, err := NATSAccounts(keys, []store.Registration{{ID: "bad id"}}); err == nil {
		t.Error("a malformed station ID went into the configuration")
	}
}

// WriteNATS writes a configuration per node, routes to the others, a CA
// kept across runs, and routes on a CA of their own.
func TestWriteNATS(t *testing.T) {
	dir := t.TempDir()
	nodes, err := ParseNATSNodes("n1=nats1.example, n2=nats2.example,n3=10.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	keys := &Keys{GatewayPassword: "gw"}
	regs := []store.Registration{{ID: "st-a"}}
	if err := WriteNATS(dir, keys, regs, NATSOptions{Nodes: nodes}); err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err := WriteNATS(dir, keys, regs, NATSOptions{Nodes: nodes}); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if string(ca1) != string(ca2) {
		t.Fatal("generating again replaced the CA: every station's certificate would be void")
	}
	conf, err := os.ReadFile(filepath.Join(dir, "n2.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`server_name: "n2"`, `"nats-route://nats1.example:6222"`, `"nats-route://10.0.0.3:6222"`,
		"verify_and_map: true", "stream_replicas: 3", filepath.Join(dir, "route", "ca.crt"), `user: "CN=st-a"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("n2.conf lacks %s", want)
		}
	}
	if strings.Contains(string(conf), "nats-route://nats2.example") {
		t.Error("n2 routes to itself")
	}
	for _, f := range []string{"n1.crt", "n1.key", "n1-route.crt", "clients/st-a.crt", "clients/st-a.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []string{"", "n1=a,n1=b", "n1", "N1=a"} {
		if _, err := ParseNATSNodes(bad); !errors.Is(err, ErrNATSNodes) {
			t.Errorf("--nodes %q: %v", bad, err)
		}
	}
}
