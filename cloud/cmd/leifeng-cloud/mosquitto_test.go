package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/cloud/fleet"
	"leifeng/internal/cli"
)

// mosquitto-config refuses a plain listener on every interface with one
// usage line that says what to do, and writes a loopback one by default.
func TestMosquittoConfigPlainListener(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"mosquitto-config", "--data", data, "--out", out, "--owner", "", "--listen", "1883"}, &stdout, &stderr)
	var usage *cli.UsageError
	if !errors.As(err, &usage) || !errors.Is(err, fleet.ErrPlaintextExposed) {
		t.Fatalf("--listen 1883: %v, want a usage error", err)
	}
	var line bytes.Buffer
	if code := cli.Report("leifeng-cloud", err, &line); code != 2 || strings.Count(line.String(), "\n") != 1 ||
		!strings.Contains(line.String(), "--insecure-plaintext") {
		t.Fatalf("exit %d, message %q: want one line naming --insecure-plaintext, status 2", code, line.String())
	}
	if _, err := os.Stat(filepath.Join(out, "mosquitto.conf")); err == nil {
		t.Fatal("config written for a refused listener")
	}
	if err := run(context.Background(), []string{"mosquitto-config", "--data", data, "--out", out, "--owner", ""}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(out, "mosquitto.conf"))
	if err != nil || !strings.Contains(string(conf), "\nlistener 1883 127.0.0.1\n") {
		t.Fatalf("default config (%v):\n%s", err, conf)
	}
}
