package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/gateway/wire"
	"leifeng/internal/cli"
)

// nats-config writes a configuration per node for the registered
// stations; --nodes is required and checked.
func TestNATSConfigCmd(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	bundle := filepath.Join(t.TempDir(), "b.json")
	if err := run(context.Background(), []string{"station", "add", "--data", data, "--id", "st-a", "--broker", "ssl://n1:8883,ssl://n2:8883",
		"--nats", "--out", bundle}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if b, err := wire.ReadBundle(bundle); err != nil || !b.DownlinkQoS0 {
		t.Fatalf("station add --nats: a bundle without the QoS 0 downlink (%v)", err)
	} else if b.Username != "" || b.Password != "" {
		t.Fatalf("station add --nats: a bundle with a username and password (%q), which NATS refuses beside the certificate", b.Username)
	}
	err := run(context.Background(), []string{"nats-config", "--data", data, "--out", out}, &stdout, &stderr)
	var ue *cli.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("nats-config without --nodes: %v, want a usage error", err)
	}
	if err := run(context.Background(), []string{"nats-config", "--data", data, "--out", out, "--nodes", "n1=nats1,n2=nats2,n3=nats3",
		"--mqtt-port", "18883"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(out, "n3.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"0.0.0.0:18883"`, `user: "CN=st-a"`, `"/var/lib/nats/n3"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("n3.conf lacks %s:\n%s", want, conf)
		}
	}
	for _, args := range [][]string{{"gateway", "--data", data}, {"gateway", "--data", data, "--mqtt", "tcp://x:1883", "--nats", "nats://x:4222"}} {
		if err := run(context.Background(), args, &stdout, &stderr); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
