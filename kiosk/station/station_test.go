package station

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"leifeng/cloud/broker"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/kiosk/simreader"
	kstore "leifeng/kiosk/store"
)

func TestMain(m *testing.M) {
	// With cgo the package links Fyne's GLFW driver, which starts its
	// function queue at package init; it lives as long as the process.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/async.(*UnboundedChan[...]).processing"))
}

const id = "pe-simao-001"

func logger() *slog.Logger {
	if os.Getenv("LEIFENG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// cloud is the real cloud side in-process: the embedded broker holding
// stations to their accounts, the gateway committing to SQLite and
// sealing its acks with the cloud's key.
type cloud struct {
	db     *store.Store
	bundle *wire.Bundle
}

func startCloud(t *testing.T) *cloud {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	log := logger()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fleet.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Auth: &broker.Auth{CloudUser: fleet.GatewayUser,
		CloudPassword: keys.GatewayPassword, Creds: fleet.Creds{Store: db}}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	gw := ingest.New(db, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry()),
		AckKey: keys.ConfigKey, AckKeyID: keys.KeyID})
	var wg sync.WaitGroup
	wg.Go(func() { gw.Run(ctx) })
	cl, err := ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-test",
		Username: fleet.GatewayUser, Password: keys.GatewayPassword})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fleet.NewService(db, keys, cl, log).AddStation(ctx, id, "", "", br.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.Close()
		cancel()
		wg.Wait()
		br.Close()
		db.Close()
	})
	return &cloud{db: db, bundle: b}
}

// within polls cond until it holds or the deadline passes.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
	}
}

// TestTapRecordAck drives a whole station in-process: a tap on the
// simulated reader is confirmed, written to the real bbolt outbox, sent
// through the embedded broker to the gateway, committed to SQLite and
// acknowledged with the cloud's signature; the ack empties the outbox and
// is what the uplink reports as the last acknowledged batch. The station's
// reported state carries its version, which the fleet view reads.
func TestTapRecordAck(t *testing.T) {
	c := startCloud(t)
	o := Options{
		Station: id, Data: t.TempDir(), MQTT: c.bundle.Broker, MQTTUser: c.bundle.Username, MQTTPass: c.bundle.Password,
		Bundle: c.bundle, SimReader: "127.0.0.1:0", Debounce: time.Nanosecond, AckTimeout: time.Second,
		Version: "v9.8.7 (0123456789ab)", Logger: logger(),
	}
	ready := make(chan string, 1)
	o.Ready = func(addr string) { ready <- addr }
	k, err := open(&o, func() {})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		k.st.Close()
	}()
	addr := <-ready

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	var confirmed []string
	for _, v := range []string{"V0001", "V0002", "V0001"} {
		fmt.Fprintf(conn, "{\"volunteer\":%q}\n", v)
		line, err := rd.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var r simreader.Reply
		if err := json.Unmarshal(line, &r); err != nil || !r.OK {
			t.Fatalf("tap %s: %s %v", v, line, err)
		}
		confirmed = append(confirmed, r.ID)
	}

	within(t, 15*time.Second, "records committed", func() bool {
		recs, err := c.db.Records(context.Background(), id, 0, 10)
		if err != nil || len(recs) != len(confirmed) {
			return false
		}
		for i, r := range recs {
			if r.ID != confirmed[i] {
				t.Fatalf("record %d is %s, confirmed %s", i, r.ID, confirmed[i])
			}
		}
		return true
	})
	within(t, 10*time.Second, "acks applied", func() bool { return k.up.LastAck().Total == len(confirmed) })
	if a := k.up.LastAck(); a.At.IsZero() || a.Batch < 1 || k.st.Depth() != 0 {
		t.Fatalf("last ack %+v, outbox %d", a, k.st.Depth())
	}
	within(t, 10*time.Second, "version in the fleet view", func() bool {
		sts, err := c.db.Stations(context.Background())
		return err == nil && len(sts) == 1 && sts[0].Online && sts[0].Firmware == o.Version
	})
}

// TestRunRefuses: Run names the flag of a setting it cannot use, and
// leaves the data directory usable.
func TestRunRefuses(t *testing.T) {
	data := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = Run(context.Background(), Options{Station: id, Data: data, SimReader: taken.Addr().String()})
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("taken reader port: %v", err)
	}
	if err := Run(context.Background(), Options{Station: "Bad ID", Data: data}); err == nil {
		t.Fatal("bad station ID taken")
	}
	st, err := kstore.Open(filepath.Join(data, DBFile))
	if err != nil {
		t.Fatalf("the store after a refused start: %v", err)
	}
	st.Close()
}
