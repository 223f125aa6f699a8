// Command leifeng-kiosk is the station program of a 学雷锋志愿服务站 kiosk:
// it reads taps, applies the check-in/check-out rules, keeps every record
// in a bbolt outbox and drains it to the cloud over MQTT.
//
// With a display it runs the touchscreen UI full screen (--windowed for
// development); --headless runs only the reader loop, the rules and the
// uplink. With a simulated reader (--reader sim:ADDR; protocol in package
// simreader):
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
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	"leifeng/kiosk/config"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
	"leifeng/reader"
	"leifeng/reader/board"
	"leifeng/reader/credential"
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
		if errors.Is(err, errReboot) {
			os.Exit(exitReboot)
		}
		os.Exit(2)
	}
}

type options struct {
	headless    bool
	windowed    bool
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
	clockTrust  bool
	logLevel    string
	version     bool
	issuerKeys  listFlag
	issuerRoots listFlag
	revoked     string
	sunKeys     string
	wiring      board.Wiring
	bundleFile  string
	bundle      *wire.Bundle
	// displayNow is the wall time shown on screen: the kiosk's clock, or
	// with --demo-clock-speed a faster one.
	displayNow func() time.Time
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parse(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("leifeng-kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.headless, "headless", false, "run without the touchscreen UI (a station with only a reader)")
	fs.BoolVar(&o.windowed, "windowed", false, "show the touchscreen UI in an 800×480 window instead of full screen (development)")
	fs.StringVar(&o.station, "station", "", "station ID, e.g. pe-simao-001 (required)")
	fs.StringVar(&o.data, "data", "", "data directory; the bbolt file "+dbFile+" lives inside (required)")
	fs.StringVar(&o.mqtt, "mqtt", "tcp://127.0.0.1:1883", `broker URL; "" runs offline, keeping every record in the outbox`)
	fs.StringVar(&o.mqttUser, "mqtt-user", "", "broker user name")
	fs.StringVar(&o.mqttPass, "mqtt-pass", "", "broker password")
	fs.StringVar(&o.reader, "reader", "", "card reader: rc522:SPI (e.g. rc522:SPI0.0) for an MFRC522 module, sim:HOST:PORT for the simulated reader")
	fs.StringVar(&o.wiring.RST, "reader-rst", "GPIO25", "GPIO wired to the MFRC522 RST pin; empty if not wired")
	fs.StringVar(&o.wiring.IRQ, "reader-irq", "GPIO24", "GPIO wired to the MFRC522 IRQ pin; empty if not wired")
	fs.IntVar(&o.wiring.Gain, "reader-gain", 4, "MFRC522 receiver gain, 0 to 7")
	fs.Var(&o.issuerKeys, "issuer-key", "trusted card issuer public key file from `leifeng-card keygen` (repeatable); needed to accept real cards and card images")
	fs.Var(&o.issuerRoots, "issuer-root", "issuer root public key file from `leifeng-card keygen -root` (repeatable; a bundle's issuer_roots count too): card-issuer key sets relayed in configs must be signed by it")
	fs.StringVar(&o.revoked, "revoked", "", "file of revoked credential serials, one a line")
	fs.StringVar(&o.sunKeys, "sun-keys", "", "NTAG 424 DNA SDM master key file, to check SUN messages on the kiosk")
	fs.DurationVar(&o.debounce, "debounce", attendance.DefaultDebounce, "the same card within this long is one tap")
	fs.DurationVar(&o.maxSession, "max-session", attendance.DefaultMaxSession, "sessions open longer are closed automatically for review")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", uplink.DefaultAckTimeout, "resend a batch not acknowledged within this long")
	fs.DurationVar(&o.clockOffset, "fake-clock-offset", 0, "testing and demos: shift the wall clock by this much and report it unsynced")
	fs.BoolVar(&o.clockTrust, "clock-trusted", false, "the wall clock is right though the kernel does not report it NTP-synchronised (a battery-backed RTC module): records are stamped synced and dates checked strictly")
	fs.Float64Var(&o.clockSpeed, "demo-clock-speed", 1, "demos: run the clock shown on screen this many times faster than real time (records and durations keep real time)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.bundleFile, "bundle", "", "station bundle from `leifeng-cloud station add`: station ID, broker, credentials, trusted config keys (flags given explicitly win)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.bundleFile != "" {
		if err := o.useBundle(fs); err != nil {
			return nil, err
		}
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
	case o.reader != "" && !strings.HasPrefix(o.reader, "sim:") && !strings.HasPrefix(o.reader, "rc522:"):
		return nil, fmt.Errorf("--reader %q: want rc522:SPI (a real MFRC522) or sim:HOST:PORT (the simulated reader)", o.reader)
	case strings.HasPrefix(o.reader, "rc522:") && len(o.issuerKeys) == 0 && len(o.issuerRoots) == 0 && (o.bundle == nil || len(o.bundle.IssuerRoots) == 0):
		return nil, errors.New("--reader rc522 needs an --issuer-key or an --issuer-root (or a bundle with issuer roots) to check cards against")
	case o.clockTrust && o.clockOffset != 0:
		return nil, errors.New("--clock-trusted and --fake-clock-offset contradict each other")
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

	var clk clock.Clock
	sys, err := clock.NewSystem()
	if err != nil {
		return err
	}
	clk = sys
	if o.clockTrust {
		clk = clock.Trusted{Clock: clk}
	}
	if o.clockOffset != 0 {
		clk = clock.Shifted{Clock: clk, Offset: o.clockOffset}
		log.Warn("wall clock shifted and reported unsynced (--fake-clock-offset)", "offset", o.clockOffset)
	}
	// Records, durations, debouncing and every expiry check use clk; the
	// demo's fast clock only moves the time shown on screen, so a session
	// is as long as it really was.
	o.displayNow = func() time.Time { return clk.Now().At }
	if o.clockSpeed != 1 {
		fast := clock.NewScaled(clk, o.clockSpeed)
		o.displayNow = func() time.Time { return fast.Now().At }
		log.Warn("the clock on screen runs faster than real time (--demo-clock-speed); records and durations keep real time", "speed", o.clockSpeed)
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

	// Cards are always checked: issuer keys may come from the flags, the
	// bundle or, later, a root-signed key set in a config.
	cards := &reader.Config{Verifier: &credential.Verifier{}}
	if len(o.issuerKeys) > 0 {
		if cards, err = reader.LoadConfig(o.issuerKeys, o.revoked, o.sunKeys); err != nil {
			return fmt.Errorf("--issuer-key: %w", err)
		}
	}
	cards.Now = func() time.Time { return clk.Now().At }
	cards.Verifier.Now = cards.Now
	cards.Verifier.Synced = func() bool { return clk.Now().Synced }
	roots, err := reader.LoadRoots(o.issuerRoots)
	if err != nil {
		return fmt.Errorf("--issuer-root: %w", err)
	}
	scr := newScreen(o, st, book, log)
	var sim *simreader.Server
	if addr, ok := strings.CutPrefix(o.reader, "sim:"); ok {
		simBook, images := scr.observe(book, simreader.CardImages(cards))
		// A bare {"volunteer":…} tap carries no signature: taken only
		// while the kiosk has no issuer key to check real cards with.
		if sim, err = simreader.Listen(addr, simBook, images, log, simreader.CardsOnly(cards.Verifier.HasKeys)); err != nil {
			return fmt.Errorf("--reader %s: %w (choose another address for --reader)", o.reader, errors.Unwrap(err))
		}
	}

	var trusted map[string]ed25519.PublicKey
	var tlsConf *tls.Config
	minVersion := map[config.Slot]uint64{}
	if o.bundle != nil {
		trusted = o.bundle.Trusted()
		maps.Copy(roots, o.bundle.Roots())
		minVersion[config.Fleet], minVersion[config.Station] = o.bundle.MinFleetConfig, o.bundle.MinStationConfig
		if tlsConf, err = bundleTLS(o.bundle); err != nil {
			return fmt.Errorf("--bundle %s: %w", o.bundleFile, err)
		}
	}
	mgr, err := config.New(st, config.Options{
		Station: o.station, Trusted: trusted, IssuerRoots: roots, MinVersion: minVersion,
		Now: func() time.Time { return clk.Now().At }, Synced: func() bool { return clk.Now().Synced }, Logger: log,
	})
	if err != nil {
		return err
	}
	if s := mgr.Status(); s.StationVersion > 0 || s.FleetVersion > 0 {
		applyRules(book, mgr.Current(), log)
	}
	addCardKeys(cards, o.bundle, mgr.KeySet(), mgr.Current())
	rebootCtx, reboot := context.WithCancelCause(ctx)
	defer reboot(nil)
	ctx = rebootCtx
	in := newInbox(o.station, mgr, log, func() { reboot(errReboot) })
	if err := scr.open(mgr); err != nil {
		return err
	}

	var up *uplink.Uplink
	if o.mqtt != "" {
		up, err = uplink.New(st, uplink.Config{
			Broker: o.mqtt, Station: o.station, Username: o.mqttUser, Password: o.mqttPass, TLS: tlsConf,
			// Only an ack sealed by the cloud's key deletes from the outbox.
			AckKeys:    trusted,
			AckTimeout: o.ackTimeout, Firmware: version, Clock: clk, Logger: log,
			Inbox: in, Report: in.report,
		})
		if err != nil {
			return fmt.Errorf("--mqtt: %w", err)
		}
		in.up = up
		scr.setUplink(up)
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
	updates, unsubscribe := mgr.Subscribe()
	defer unsubscribe()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case cfg := <-updates:
				applyRules(book, cfg, log)
				// Live: the next tap is checked against these.
				ks := mgr.KeySet()
				keys := addCardKeys(cards, o.bundle, ks, cfg)
				log.Info("card keys from config", "config", cfg.Version, "key_set", mgr.Status().KeySetVersion, "issuer_keys", keys, "revoked", len(cfg.Revoked))
			}
		}
	})
	if up != nil {
		wg.Go(func() { fail(up.Run(ctx)) })
	}
	readerAddr := "none"
	if spi, ok := strings.CutPrefix(o.reader, "rc522:"); ok {
		o.wiring.SPI = spi
		dev, closeDev, err := board.Open(o.wiring)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("--reader %s: %w", o.reader, err)
		}
		defer closeDev()
		readerAddr = dev.String()
		wg.Go(func() { fail(readCards(ctx, reader.NewReader(dev, cards, reader.WithLogger(log)), book, up, scr, log)) })
	}
	if sim != nil {
		readerAddr = sim.Addr().String()
		wg.Go(func() { fail(sim.Serve(ctx)) })
	}
	log.Info("kiosk running", "version", version, "data", o.data, "mqtt", o.mqtt, "reader", readerAddr, "outbox", st.Depth())
	fmt.Fprintf(stderr, "leifeng-kiosk: ready station=%s reader=%s\n", o.station, readerAddr)
	scr.setReader(readerAddr)
	scr.wait(ctx, cancel)
	wg.Wait()
	log.Info("kiosk stopped", "outbox", st.Depth())
	if failed == nil && errors.Is(context.Cause(ctx), errReboot) {
		return errReboot
	}
	return failed
}

// readCards runs the real reader's poll loop and hands each tap to the
// attendance rules, reporting the reader's health on the way.
func readCards(ctx context.Context, r *reader.Reader, book *attendance.Book, up *uplink.Uplink, scr *screen, log *slog.Logger) error {
	events := make(chan reader.Event)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, events) }()
	for {
		select {
		case err := <-done:
			return err
		case ev := <-events:
			health := wire.ReaderOK
			if errors.Is(ev.Err, reader.ErrReaderFault) {
				health = wire.ReaderFailing
			}
			if up != nil {
				up.SetReader(health)
			}
			if scr.readerTest(ev.Tap, ev.Err) {
				continue // the admin's reader test: shown, not recorded
			}
			if ev.Err != nil {
				log.Info("card refused", "reason", simreader.CardReason(ev.Err), "volunteer_ref", book.VolunteerRef(ev.Tap.Volunteer), "err", ev.Err)
				scr.notify(ev.Tap, attendance.Result{}, ev.Err)
				continue
			}
			res, err := book.TapService(ctx, ev.Tap, scr.service())
			scr.notify(ev.Tap, res, err)
			if err != nil {
				log.Error("tap not recorded", "volunteer_ref", book.VolunteerRef(ev.Tap.Volunteer), "err", err, "message", attendance.Message(err))
				continue
			}
			log.Info("tap", "kind", res.Kind, "record", res.ID, "volunteer_ref", book.VolunteerRef(res.Volunteer), "repeat", res.Repeat)
		}
	}
}
