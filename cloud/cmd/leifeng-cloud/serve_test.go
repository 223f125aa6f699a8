package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/gateway/wire"
	"leifeng/internal/cli"
)

// TestServeInProcess runs `serve` in-process on ephemeral ports: a station
// registered with `station add` reports its state with its software
// version through the embedded broker, GET /api/v1/fleet shows that
// version, and cancelling the context shuts everything down cleanly.
func TestServeInProcess(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	u := startServe(t, "--data", data)

	const id = "pe-simao-001"
	bundleFile := filepath.Join(t.TempDir(), "b.json")
	if err := run(ctx, []string{"station", "add", "--data", data, "--id", id, "--broker", u.mqtt, "--out", bundleFile}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := wire.ReadBundle(bundleFile)
	if err != nil {
		t.Fatal(err)
	}
	const version = "v9.8.7 (0123456789ab)"
	state, err := wire.EncodeState(&wire.State{Station: id, Online: true, Firmware: version, Reader: wire.ReaderOK})
	if err != nil {
		t.Fatal(err)
	}
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(u.mqtt).SetClientID(id).SetUsername(b.Username).SetPassword(b.Password))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("station connect: %v", tok.Error())
	}
	defer cl.Disconnect(0)
	if tok := cl.Publish(wire.StationTopic(id, wire.LeafState), 1, true, state); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish state: %v", tok.Error())
	}

	token, err := os.ReadFile(adminToken(t, data))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for deadline := time.Now().Add(10 * time.Second); got != version; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fleet view shows firmware %q, want %q", got, version)
		}
		req, _ := http.NewRequest(http.MethodGet, u.http+"/api/v1/fleet", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Stations []struct {
				ID       string `json:"id"`
				Firmware string `json:"firmware"`
			} `json:"stations"`
		}
		err = json.NewDecoder(resp.Body).Decode(&f)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/fleet: %d %v", resp.StatusCode, err)
		}
		for _, s := range f.Stations {
			if s.ID == id {
				got = s.Firmware
			}
		}
	}
}

// TestBadCommandLine: a bad flag or command is one line and a usage error.
func TestBadCommandLine(t *testing.T) {
	for _, args := range [][]string{{"serve", "--no-such-flag"}, {"frobnicate"}, {"gateway"}, {"serve", "--gateway-workers", "many"}, {"station"}, {"config", "pull"}, {"station", "add", "--idd", "x"}} {
		var stderr strings.Builder
		err := run(context.Background(), args, io.Discard, &stderr)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v", args, err)
		}
		var line strings.Builder
		if code := cli.Report("leifeng-cloud", err, &line); code != 2 || strings.Count(line.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, %q", args, code, line.String())
		}
	}
}

// serveURLs are the addresses an in-process serve listens on.
type serveURLs struct{ http, mqtt string }

// startServe runs serve in-process with args on ephemeral ports until the
// test ends, when it must stop cleanly.
func startServe(t *testing.T, args ...string) serveURLs {
	t.Helper()
	c, err := parseServe(append([]string{"--http", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0"}, args...), false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan serveURLs, 1)
	c.ready = func(h, m string) { ready <- serveURLs{h, m} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c) }()
	select {
	case u := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve after cancel: %v", err)
			}
		})
		return u
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return serveURLs{}
}
