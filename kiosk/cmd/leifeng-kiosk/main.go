// Command leifeng-kiosk is the station program of a 学雷锋志愿服务站 kiosk:
// it reads taps, applies the check-in/check-out rules, keeps every record
// in a bbolt outbox and drains it to the cloud over MQTT.
//
// Until the touchscreen UI and the NFC reader land, it runs headless with
// a simulated reader (--reader sim:ADDR; protocol in package simreader):
//
//	leifeng-kiosk --headless --station pe-simao-001 --data /var/lib/leifeng \
//	    --mqtt tcp://127.0.0.1:1883 --reader sim:127.0.0.1:7001
//
// When the simulated reader is listening it prints one line to stderr:
//
//	leifeng-kiosk: ready station=pe-simao-001 reader=127.0.0.1:7001
//
// SIGINT or SIGTERM shuts it down cleanly; a kill -9 loses nothing that a
// reply confirmed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/clock"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// dbFile is the bbolt file inside --data.
const dbFile = "kiosk.db"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "leifeng-kiosk: %v\n", err)
		}
		os.Exit(2)
	}
}

type options struct {
	headless    bool
	station     string
	data        string
	mqtt        string
	mqttUser    string
	mqttPass    string
	reader      string
	debounce    time.Duration
	maxSession  time.Duration
	ackTimeout  time.Duration
	clockOffset time.Duration
	clockSpeed  float64
	logLevel    string
	version     bool
}

func parse(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("leifeng-kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.headless, "headless", false, "run without the touchscreen UI (a station with only a reader)")
	fs.StringVar(&o.station, "station", "", "station ID, e.g. pe-simao-001 (required)")
	fs.StringVar(&o.data, "data", "", "data directory; the bbolt file "+dbFile+" lives inside (required)")
	fs.StringVar(&o.mqtt, "mqtt", "tcp://127.0.0.1:1883", `broker URL; "" runs offline, keeping every record in the outbox`)
	fs.StringVar(&o.mqttUser, "mqtt-user", "", "broker user name")
	fs.StringVar(&o.mqttPass, "mqtt-pass", "", "broker password")
	fs.StringVar(&o.reader, "reader", "", "card reader: sim:HOST:PORT for the simulated reader")
	fs.DurationVar(&o.debounce, "debounce", attendance.DefaultDebounce, "the same card within this long is one tap")
	fs.DurationVar(&o.maxSession, "max-session", attendance.DefaultMaxSession, "sessions open longer are closed automatically for review")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", uplink.DefaultAckTimeout, "resend a batch not acknowledged within this long")
	fs.DurationVar(&o.clockOffset, "fake-clock-offset", 0, "testing and demos: shift the wall clock by this much and report it unsynced")
	fs.Float64Var(&o.clockSpeed, "demo-clock-speed", 1, "demos: run the kiosk's clock this many times faster than real time")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.version {
		return &o, nil
	}
	switch {
	case !wire.ValidStationID(o.station):
		return nil, fmt.Errorf("--station %q: need 1 to 64 lowercase letters, digits and inner hyphens, e.g. pe-simao-001", o.station)
	case o.data == "":
		return nil, errors.New("--data is required: the directory for the kiosk's records")
	case o.reader != "" && !strings.HasPrefix(o.reader, "sim:"):
		return nil, fmt.Errorf("--reader %q: only the simulated reader (sim:HOST:PORT) exists so far", o.reader)
	case o.clockSpeed <= 0:
		return nil, errors.New("--demo-clock-speed must be positive")
	case o.debounce <= 0 || o.maxSession <= 0 || o.ackTimeout <= 0:
		return nil, errors.New("--debounce, --max-session and --ack-timeout must be positive")
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintf(stdout, "leifeng-kiosk %s\n", version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("station", o.station)
	if !o.headless {
		log.Info("no touchscreen UI is built yet; running headless")
	}

	var clk clock.Clock
	sys, err := clock.NewSystem()
	if err != nil {
		return err
	}
	clk = sys
	if o.clockSpeed != 1 {
		clk = clock.NewScaled(clk, o.clockSpeed)
		log.Warn("clock runs faster than real time (--demo-clock-speed)", "speed", o.clockSpeed)
	}
	if o.clockOffset != 0 {
		clk = clock.Shifted{Clock: clk, Offset: o.clockOffset}
		log.Warn("wall clock shifted and reported unsynced (--fake-clock-offset)", "offset", o.clockOffset)
	}

	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("--data %s: %w", o.data, err)
	}
	st, err := store.Open(filepath.Join(o.data, dbFile))
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("--data %s: another leifeng-kiosk is using this directory", o.data)
	}
	if err != nil {
		return fmt.Errorf("--data %s: %w", o.data, err)
	}
	defer st.Close()

	book, err := attendance.New(st, attendance.Config{
		Station: o.station, Debounce: o.debounce, MaxSession: o.maxSession, Clock: clk, Logger: log,
	})
	if err != nil {
		return err
	}

	var sim *simreader.Server
	if addr, ok := strings.CutPrefix(o.reader, "sim:"); ok {
		if sim, err = simreader.Listen(addr, book, nil, log); err != nil {
			return fmt.Errorf("--reader %s: %w (choose another address for --reader)", o.reader, errors.Unwrap(err))
		}
	}

	var up *uplink.Uplink
	if o.mqtt != "" {
		up, err = uplink.New(st, uplink.Config{
			Broker: o.mqtt, Station: o.station, Username: o.mqttUser, Password: o.mqttPass,
			AckTimeout: o.ackTimeout, Firmware: version, Clock: clk, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("--mqtt: %w", err)
		}
		if sim != nil {
			up.SetReader(wire.ReaderOK)
		}
	} else {
		log.Warn("no --mqtt broker: running offline, records stay in the outbox")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	fail := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			once.Do(func() { failed = err })
			cancel()
		}
	}
	wg.Go(func() { fail(book.Run(ctx)) })
	if up != nil {
		wg.Go(func() { fail(up.Run(ctx)) })
	}
	readerAddr := "none"
	if sim != nil {
		readerAddr = sim.Addr().String()
		wg.Go(func() { fail(sim.Serve(ctx)) })
	}
	log.Info("kiosk running", "version", version, "data", o.data, "mqtt", o.mqtt, "reader", readerAddr, "outbox", st.Depth())
	fmt.Fprintf(stderr, "leifeng-kiosk: ready station=%s reader=%s\n", o.station, readerAddr)
	<-ctx.Done()
	wg.Wait()
	log.Info("kiosk stopped", "outbox", st.Depth())
	return failed
}
