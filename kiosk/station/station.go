// Package station runs a 学雷锋志愿服务站 kiosk: the card reader's taps go
// through the check-in/check-out rules into the bbolt outbox, the uplink
// drains the outbox to the cloud over MQTT and brings back acks, configs
// and commands, and a touchscreen, when there is one, shows it all.
//
// Run is the whole station; the binary leifeng-kiosk only turns its flags
// into Options and opens the hardware (package reader/board). Tests run
// stations in-process against a real bbolt file and a real broker.
//
// The touchscreen (Fyne and OpenGL) needs cgo: a build without cgo is a
// headless station, which cross-compiles for any Raspberry Pi with no C
// toolchain, and Run refuses a display with ErrNoTouchscreen.
package station

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"leifeng/gateway/wire"
	"leifeng/internal/buildinfo"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/clock"
	"leifeng/kiosk/config"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
	"leifeng/reader"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

// DBFile is the bbolt file inside Options.Data.
const DBFile = "kiosk.db"

// ErrReboot ends Run when a signed reboot command was obeyed; the caller
// exits so that its supervisor starts it again.
var ErrReboot = errors.New("reboot requested by a signed command")

// ErrNoTouchscreen is returned by Run when a display is asked of a build
// without the touchscreen (built without cgo).
var ErrNoTouchscreen = errors.New("这个版本没有触摸屏界面，请加 --headless 运行，或换用带触摸屏的版本 / " +
	"the touchscreen is not in this build (built without cgo): run with --headless, or use a build made with cgo")

// Display says whether and how the touchscreen is shown.
type Display int

const (
	// Headless runs no screen: a station with only a reader.
	Headless Display = iota
	// FullScreen shows the touchscreen full screen (a kiosk).
	FullScreen
	// Windowed shows it in an 800×480 window (development).
	Windowed
)

// Options configure a station. The error messages of Run name the
// leifeng-kiosk flag an option comes from.
type Options struct {
	// Station is the station ID (wire.ValidStationID).
	Station string
	// Data is the directory of the bbolt file DBFile; made if missing.
	Data string
	// MQTT is the broker URL; empty runs offline, keeping every record in
	// the outbox. MQTTUser and MQTTPass are the station's account.
	MQTT, MQTTUser, MQTTPass string
	// MQTTDownlinkQoS0 subscribes to acks, configs and commands at QoS 0:
	// on a NATS cluster (uplink.Config.DownlinkQoS0).
	MQTTDownlinkQoS0 bool
	// Bundle is the station's bundle (leifeng-cloud station add), or nil:
	// the cloud's keys that sign configs and acks, issuer roots and keys,
	// minimum config versions and the broker's TLS. BundleFile names it in
	// errors.
	Bundle     *wire.Bundle
	BundleFile string

	// SimReader, if set, is the listen address of the simulated reader
	// (package simreader), e.g. "127.0.0.1:0".
	SimReader string
	// Device, if set, is an opened MFRC522 (package reader/board); Run
	// polls it but does not close it.
	Device *mfrc522.Dev

	// IssuerKeys and IssuerRoots are files of trusted card issuer keys and
	// issuer roots; Revoked a file of revoked serials; SUNKeys the NTAG
	// 424 DNA SDM master key file. Each may be empty.
	IssuerKeys, IssuerRoots []string
	Revoked, SUNKeys        string

	// Debounce, MaxSession and AckTimeout default to the attendance and
	// uplink defaults.
	Debounce, MaxSession, AckTimeout time.Duration

	// Clock is the kiosk's clock; nil is the system clock
	// (clock.NewSystem), with ClockTrusted and ClockOffset applied.
	Clock clock.Clock
	// ClockTrusted takes the wall clock as right though the kernel does
	// not report it synchronised (a battery-backed RTC module).
	ClockTrusted bool
	// ClockOffset shifts the wall clock and reports it unsynced (tests
	// and demos).
	ClockOffset time.Duration
	// ClockSpeed, if not 0 or 1, runs the clock shown on screen this many
	// times faster; records and durations keep real time.
	ClockSpeed float64

	// Update configures signed firmware updates; its zero value only
	// records offers.
	Update UpdateOptions

	// Display is how the touchscreen is shown.
	Display Display
	// Version is the software version reported in the state and on the
	// admin screen; empty is this binary's (package internal/buildinfo).
	Version string
	// Logger receives the station's logs; nil discards them.
	Logger *slog.Logger
	// Ready, if set, is called once taps are taken, with the reader's
	// address ("none" without a reader).
	Ready func(reader string)
}

// kiosk is a station's parts once opened: what Run starts, and what an
// in-process test looks at.
type kiosk struct {
	o   *Options
	log *slog.Logger
	clk clock.Clock
	// show is the wall time shown on screen.
	show func() time.Time
	st   *store.Store
	book *attendance.Book
	// cards checks cards; its verifier's keys change live with configs.
	cards *reader.Config
	mgr   *config.Manager
	in    *inbox
	up    *uplink.Uplink // nil offline
	sim   *simreader.Server
	scr   *screen // nil headless
	// rdr is the real reader's poll loop, nil with the simulated reader.
	rdr *reader.Reader
	// trusted holds the cloud's keys from the bundle (configs and acks).
	trusted map[string]ed25519.PublicKey
}

// Run runs the station until ctx is done, the window is closed, or a
// signed reboot command ends it with ErrReboot. Records a tap's reply
// confirmed are in the bbolt file before the reply; Run closes it on the
// way out.
func Run(ctx context.Context, o Options) error {
	if o.Display != Headless && !touchscreen {
		return ErrNoTouchscreen
	}
	rebootCtx, reboot := context.WithCancelCause(ctx)
	defer reboot(nil)
	k, err := open(&o, func() { reboot(ErrReboot) })
	if err != nil {
		return err
	}
	defer k.st.Close()
	err = k.run(rebootCtx)
	if err == nil && errors.Is(context.Cause(rebootCtx), ErrReboot) {
		return ErrReboot
	}
	return err
}

// open checks o, opens the store and builds every part; nothing runs yet
// but the simulated reader's listener.
func open(o *Options, reboot func()) (_ *kiosk, err error) {
	if !wire.ValidStationID(o.Station) {
		return nil, fmt.Errorf("--station %q: need 1 to 64 lowercase letters, digits and inner hyphens, e.g. pe-simao-001", o.Station)
	}
	if o.Data == "" {
		return nil, errors.New("--data is required: the directory for the kiosk's records")
	}
	if o.SimReader != "" && o.Device != nil {
		return nil, errors.New("--reader: one reader, simulated or real, not both")
	}
	if o.Version == "" {
		o.Version = buildinfo.Get().String()
	}
	if o.Debounce <= 0 {
		o.Debounce = attendance.DefaultDebounce
	}
	if o.MaxSession <= 0 {
		o.MaxSession = attendance.DefaultMaxSession
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = uplink.DefaultAckTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &kiosk{o: o, log: log}
	if err := k.openClock(); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return nil, fmt.Errorf("--data %s: %w", o.Data, err)
	}
	k.st, err = store.Open(filepath.Join(o.Data, DBFile))
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("--data %s: another leifeng-kiosk is using this directory", o.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", o.Data, err)
	}
	defer func() {
		if err != nil {
			if k.sim != nil {
				closeSim(k.sim)
			}
			k.st.Close()
		}
	}()

	k.book, err = attendance.New(k.st, attendance.Config{
		Station: o.Station, Debounce: o.Debounce, MaxSession: o.MaxSession, Clock: k.clk, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if err := k.openCards(); err != nil {
		return nil, err
	}
	k.scr = newScreen(o, k.show, k.st, k.book, log)
	if o.SimReader != "" {
		simBook, images := k.scr.observe(k.book, simreader.CardImages(k.cards))
		// A bare {"volunteer":…} tap carries no signature: taken only
		// while the kiosk has no issuer key to check real cards with.
		if k.sim, err = simreader.Listen(o.SimReader, simBook, images, log, simreader.CardsOnly(k.cards.Verifier.HasKeys)); err != nil {
			return nil, fmt.Errorf("--reader sim:%s: %w (choose another address for --reader)", o.SimReader, errors.Unwrap(err))
		}
	}
	if err := k.openConfig(reboot); err != nil {
		return nil, err
	}
	k.in.counts = k.counts
	k.scr.setCounts(k.counts)
	if k.in.fw, err = newFirmware(o, k.mgr, log, reboot); err != nil {
		return nil, err
	}
	if err := k.scr.open(k.mgr); err != nil {
		return nil, err
	}
	if err := k.openUplink(); err != nil {
		return nil, err
	}
	return k, nil
}

// openClock builds the kiosk's clock and the one shown on screen.
func (k *kiosk) openClock() error {
	o := k.o
	k.clk = o.Clock
	if k.clk == nil {
		sys, err := clock.NewSystem()
		if err != nil {
			return err
		}
		k.clk = sys
	}
	switch {
	case o.ClockTrusted && o.ClockOffset != 0:
		return errors.New("--clock-trusted and --fake-clock-offset contradict each other")
	case o.ClockSpeed < 0:
		return errors.New("--demo-clock-speed must be positive")
	}
	if o.ClockTrusted {
		k.clk = clock.Trusted{Clock: k.clk}
	}
	if o.ClockOffset != 0 {
		k.clk = clock.Shifted{Clock: k.clk, Offset: o.ClockOffset}
		k.log.Warn("wall clock shifted and reported unsynced (--fake-clock-offset)", "offset", o.ClockOffset)
	}
	// Records, durations, debouncing and every expiry check use k.clk;
	// the demo's fast clock only moves the time shown on screen, so a
	// session is as long as it really was.
	k.show = func() time.Time { return k.clk.Now().At }
	if s := o.ClockSpeed; s != 0 && s != 1 {
		fast := clock.NewScaled(k.clk, s)
		k.show = func() time.Time { return fast.Now().At }
		k.log.Warn("the clock on screen runs faster than real time (--demo-clock-speed); records and durations keep real time", "speed", s)
	}
	return nil
}

// closeSim closes the simulated reader's listener when Run fails before
// serving it: Serve with a done context closes everything and returns.
func closeSim(s *simreader.Server) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	s.Serve(done)
}

// openCards loads the card checks. Cards are always checked: issuer keys
// may come from the files, the bundle or, later, a root-signed key set in
// a config.
func (k *kiosk) openCards() error {
	o := k.o
	k.cards = &reader.Config{Verifier: &credential.Verifier{}}
	if len(o.IssuerKeys) > 0 {
		var err error
		if k.cards, err = reader.LoadConfig(o.IssuerKeys, o.Revoked, o.SUNKeys); err != nil {
			return fmt.Errorf("--issuer-key: %w", err)
		}
	}
	k.cards.Now = func() time.Time { return k.clk.Now().At }
	k.cards.Verifier.Now = k.cards.Now
	k.cards.Verifier.Synced = func() bool { return k.clk.Now().Synced }
	return nil
}

// openConfig opens the config manager and applies the config in use.
func (k *kiosk) openConfig(reboot func()) error {
	o := k.o
	roots, err := reader.LoadRoots(o.IssuerRoots)
	if err != nil {
		return fmt.Errorf("--issuer-root: %w", err)
	}
	minVersion := map[config.Slot]uint64{}
	if o.Bundle != nil {
		k.trusted = o.Bundle.Trusted()
		maps.Copy(roots, o.Bundle.Roots())
		minVersion[config.Fleet], minVersion[config.Station] = o.Bundle.MinFleetConfig, o.Bundle.MinStationConfig
	}
	k.mgr, err = config.New(k.st, config.Options{
		Station: o.Station, Trusted: k.trusted, IssuerRoots: roots, MinVersion: minVersion,
		Now: func() time.Time { return k.clk.Now().At }, Synced: func() bool { return k.clk.Now().Synced }, Logger: k.log,
	})
	if err != nil {
		return err
	}
	if s := k.mgr.Status(); s.StationVersion > 0 || s.FleetVersion > 0 {
		applyRules(k.book, k.mgr.Current(), k.log)
	}
	addCardKeys(k.cards, o.Bundle, k.mgr.KeySet(), k.mgr.Current())
	k.in = newInbox(o.Station, k.mgr, k.log, reboot)
	return nil
}

// openUplink makes the uplink, unless the station runs offline.
func (k *kiosk) openUplink() error {
	o := k.o
	if o.MQTT == "" {
		k.log.Warn("no --mqtt broker: running offline, records stay in the outbox")
		return nil
	}
	var tlsConf *tls.Config
	if o.Bundle != nil {
		var err error
		if tlsConf, err = bundleTLS(o.Bundle); err != nil {
			return fmt.Errorf("--bundle %s: %w", o.BundleFile, err)
		}
	}
	up, err := uplink.New(k.st, uplink.Config{
		Broker: o.MQTT, Station: o.Station, Username: o.MQTTUser, Password: o.MQTTPass, TLS: tlsConf,
		DownlinkQoS0: o.MQTTDownlinkQoS0,
		// Only an ack sealed by the cloud's key deletes from the outbox.
		AckKeys:    k.trusted,
		AckTimeout: o.AckTimeout, Firmware: k.in.fw.running(o.Version), Clock: k.clk, Logger: k.log,
		Inbox: k.in, Report: k.in.report,
	})
	if err != nil {
		return fmt.Errorf("--mqtt: %w", err)
	}
	k.up = up
	k.in.up = up
	if k.in.fw != nil {
		k.in.fw.refresh = up.Refresh
	}
	k.scr.setUplink(up)
	if k.sim != nil {
		up.SetReader(wire.ReaderOK)
	}
	return nil
}

// run starts every part and waits for them; the screen, if any, runs on
// the calling goroutine.
func (k *kiosk) run(ctx context.Context) error {
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
	wg.Go(func() { fail(k.book.Run(ctx)) })
	updates, unsubscribe := k.mgr.Subscribe()
	defer unsubscribe()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case cfg := <-updates:
				applyRules(k.book, cfg, k.log)
				k.applyGain(cfg)
				// Live: the next tap is checked against these.
				keys := addCardKeys(k.cards, k.o.Bundle, k.mgr.KeySet(), cfg)
				k.log.Info("card keys from config", "config", cfg.Version, "key_set", k.mgr.Status().KeySetVersion, "issuer_keys", keys, "revoked", len(cfg.Revoked))
			}
		}
	})
	if k.up != nil {
		wg.Go(func() { fail(k.up.Run(ctx)) })
	}
	readerAddr := "none"
	if dev := k.o.Device; dev != nil {
		readerAddr = dev.String()
		k.rdr = reader.NewReader(dev, k.cards, reader.WithLogger(k.log))
		k.applyGain(k.mgr.Current())
		wg.Go(func() { fail(k.readCards(ctx, k.rdr)) })
	}
	if k.sim != nil {
		readerAddr = k.sim.Addr().String()
		wg.Go(func() { fail(k.sim.Serve(ctx)) })
	}
	k.log.Info("kiosk running", "version", k.o.Version, "data", k.o.Data, "mqtt", k.o.MQTT, "reader", readerAddr, "outbox", k.st.Depth())
	if k.o.Ready != nil {
		k.o.Ready(readerAddr)
	}
	k.scr.setReader(readerAddr)
	k.in.fw.start(ctx, &wg, k.st, healthChecks(k.st, k.mgr, k.up, readerAddr, k.scr))
	k.scr.wait(ctx, cancel)
	wg.Wait()
	k.log.Info("kiosk stopped", "outbox", k.st.Depth())
	return failed
}

// applyGain passes a config's antenna gain to the real reader, which
// writes it to the chip before its next poll. A config that names no gain
// leaves the one the reader was opened with (--reader-gain).
func (k *kiosk) applyGain(cfg *wire.Config) {
	if k.rdr == nil || cfg == nil || cfg.Reader == nil || cfg.Reader.AntennaGain == nil {
		return
	}
	if err := k.rdr.SetAntennaGain(cfg.Reader.Gain()); err != nil {
		k.log.Warn("antenna gain from config not applied", "config", cfg.Version, "err", err)
	}
}

// counts are what the admin screen and the reported state show of the
// station's troubles: records the gateway refused (kept in the store) and
// the reader chip's recoveries.
func (k *kiosk) counts() (rejected, recoveries int) {
	if rs, err := k.st.Rejections(); err == nil {
		rejected = len(rs)
	}
	if k.rdr != nil {
		recoveries = k.rdr.Recoveries()
	}
	return rejected, recoveries
}

// readCards runs the real reader's poll loop and hands each tap to the
// attendance rules, reporting the reader's health on the way.
func (k *kiosk) readCards(ctx context.Context, r *reader.Reader) error {
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
			if k.up != nil {
				k.up.SetReader(health)
			}
			if k.scr.readerTest(ev.Tap, ev.Err) {
				continue // the admin's reader test: shown, not recorded
			}
			if ev.Err != nil {
				// A refused card is logged by its reason code and a keyed
				// reference only: the error's detail may name the card
				// (a SUN message's UID) and this line is written at every
				// refusal. A hardware fault's detail names no card and is
				// what a technician needs.
				attrs := []any{"reason", reader.Code(ev.Err), "volunteer_ref", k.book.VolunteerRef(ev.Tap.Volunteer)}
				if errors.Is(ev.Err, reader.ErrReaderFault) {
					attrs = append(attrs, "err", ev.Err)
				}
				k.log.Info("card refused", attrs...)
				k.scr.notify(ev.Tap, attendance.Result{}, ev.Err)
				continue
			}
			res, err := k.book.TapChoice(ctx, ev.Tap, attendance.Choice{Service: k.scr.service(), Activity: k.scr.activity()})
			k.scr.notify(ev.Tap, res, err)
			if err != nil {
				k.log.Error("tap not recorded", "volunteer_ref", k.book.VolunteerRef(ev.Tap.Volunteer), "err", err, "code", attendance.Code(err))
				continue
			}
			k.log.Info("tap", "kind", res.Kind, "record", res.ID, "volunteer_ref", k.book.VolunteerRef(res.Volunteer), "repeat", res.Repeat)
		}
	}
}
