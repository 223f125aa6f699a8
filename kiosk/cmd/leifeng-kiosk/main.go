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
// reply confirmed. The station itself is package kiosk/station; this
// command turns its flags into kioskstation.Options and opens the real reader
// (package reader/board).
//
// The touchscreen needs cgo (Fyne and OpenGL). Built without it
// (CGO_ENABLED=0, e.g. `make cross` for a Pi Zero), the kiosk is headless
// only and says so, in Chinese and English, if asked for a screen.
//
// Exit status: 0 after SIGINT or SIGTERM (or --version, -h); 1 when the
// station cannot start or fails while running (data directory in use,
// reader port taken, reader or broker settings wrong); 2 for bad flags; 75
// after a signed reboot command (EX_TEMPFAIL: the systemd unit restarts it
// on it, with Restart=on-failure, or with RestartForceExitStatus=75).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"leifeng/gateway/wire"
	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
	"leifeng/kiosk/attendance"
	kioskstation "leifeng/kiosk/station"
	"leifeng/kiosk/uplink"
	"leifeng/reader/board"
)

// exitReboot is the exit status after a signed reboot command: EX_TEMPFAIL,
// "try again", which a reboot is.
const exitReboot = 75

// dbFile is the bbolt file inside --data.
const dbFile = kioskstation.DBFile

func main() { cli.Main("leifeng-kiosk", run) }

type options struct {
	kioskstation.Options
	headless, windowed bool
	reader             string
	logLevel           string
	level              slog.Level
	version            bool
	wiring             board.Wiring
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parse(args []string, stdout io.Writer) (*options, error) {
	var o options
	var issuerKeys, issuerRoots listFlag
	fs := flag.NewFlagSet("leifeng-kiosk", flag.ContinueOnError)
	fs.BoolVar(&o.headless, "headless", false, "run without the touchscreen UI (a station with only a reader)")
	fs.BoolVar(&o.windowed, "windowed", false, "show the touchscreen UI in an 800×480 window instead of full screen (development)")
	fs.StringVar(&o.Station, "station", "", "station ID, e.g. pe-simao-001 (required)")
	fs.StringVar(&o.Data, "data", "", "data directory; the bbolt file "+dbFile+" lives inside (required)")
	fs.StringVar(&o.MQTT, "mqtt", "tcp://127.0.0.1:1883", `broker URL, or the URLs of a cluster's nodes separated by commas (tried in turn); "" runs offline, keeping every record in the outbox`)
	fs.BoolVar(&o.MQTTDownlinkQoS0, "mqtt-downlink-qos0", false, "subscribe to acks, configs and commands at QoS 0, as a NATS cluster needs (set by a bundle from station add --nats)")
	fs.StringVar(&o.MQTTUser, "mqtt-user", "", "broker user name")
	fs.StringVar(&o.MQTTPass, "mqtt-pass", "", "broker password")
	fs.StringVar(&o.reader, "reader", "", "card reader: rc522:SPI (e.g. rc522:SPI0.0) for an MFRC522 module, sim:HOST:PORT for the simulated reader")
	fs.StringVar(&o.wiring.RST, "reader-rst", "GPIO25", "GPIO wired to the MFRC522 RST pin; empty if not wired")
	fs.StringVar(&o.wiring.IRQ, "reader-irq", "GPIO24", "GPIO wired to the MFRC522 IRQ pin; empty if not wired")
	fs.IntVar(&o.wiring.Gain, "reader-gain", 4, "MFRC522 receiver gain, 0 to 7")
	fs.Var(&issuerKeys, "issuer-key", "trusted card issuer public key file from `leifeng-card keygen` (repeatable); needed to accept real cards and card images")
	fs.Var(&issuerRoots, "issuer-root", "issuer root public key file from `leifeng-card keygen -root` (repeatable; a bundle's issuer_roots count too): card-issuer key sets relayed in configs must be signed by it")
	fs.StringVar(&o.Revoked, "revoked", "", "file of revoked credential serials, one a line")
	fs.StringVar(&o.SUNKeys, "sun-keys", "", "NTAG 424 DNA SDM master key file, to check SUN messages on the kiosk")
	fs.DurationVar(&o.Debounce, "debounce", attendance.DefaultDebounce, "the same card within this long is one tap")
	fs.DurationVar(&o.MaxSession, "max-session", attendance.DefaultMaxSession, "sessions open longer are closed automatically for review")
	fs.DurationVar(&o.AckTimeout, "ack-timeout", uplink.DefaultAckTimeout, "resend a batch not acknowledged within this long")
	fs.DurationVar(&o.ClockOffset, "fake-clock-offset", 0, "testing and demos: shift the wall clock by this much and report it unsynced")
	fs.BoolVar(&o.ClockTrusted, "clock-trusted", false, "the wall clock is right though the kernel does not report it NTP-synchronised (a battery-backed RTC module): records are stamped synced and dates checked strictly")
	fs.Float64Var(&o.ClockSpeed, "demo-clock-speed", 1, "demos: run the clock shown on screen this many times faster than real time (records and durations keep real time)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.BundleFile, "bundle", "", "station bundle from `leifeng-cloud station add`: station ID, broker, credentials, trusted config keys (flags given explicitly win)")
	u := &o.Update
	fs.StringVar(&u.Root, "update-root", "", "TUF root metadata of the release repository (from `leifeng-firmware init`); enables signed updates")
	fs.StringVar(&u.CA, "update-ca", "", "PEM file of the CA that signed the release repository's HTTPS certificate (default: the system's roots)")
	fs.StringVar(&u.Slots, "update-slots", "/opt/leifeng", "program slot directory (a, b, current)")
	fs.BoolVar(&u.Tryboot, "update-tryboot", false, "install whole system images with the Pi firmware's tryboot A/B (Pi 4/400/CM4 with a 2021+ EEPROM, Pi 5) instead of program slots")
	fs.StringVar(&u.Board, "update-board", "rpi4", "this kiosk's board, matched against a release's manifest: rpi4, rpi5, rpi3, rpizero")
	fs.StringVar(&u.Arch, "update-arch", kioskstation.DefaultArch(), "this kiosk's architecture, matched against a release's manifest")
	fs.DurationVar(&u.Deadline, "update-deadline", 2*time.Minute, "a new version must pass every health check within this long or the old one comes back")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return nil, err
	}
	o.IssuerKeys, o.IssuerRoots = issuerKeys, issuerRoots
	if o.BundleFile != "" {
		if err := o.useBundle(fs); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if o.version {
		return &o, nil
	}
	switch {
	case !wire.ValidStationID(o.Station):
		return nil, cli.Usagef("--station %q: need 1 to 64 lowercase letters, digits and inner hyphens, e.g. pe-simao-001", o.Station)
	case o.Data == "":
		return nil, cli.Usagef("--data is required: the directory for the kiosk's records")
	case o.reader != "" && !strings.HasPrefix(o.reader, "sim:") && !strings.HasPrefix(o.reader, "rc522:"):
		return nil, cli.Usagef("--reader %q: want rc522:SPI (a real MFRC522) or sim:HOST:PORT (the simulated reader)", o.reader)
	case strings.HasPrefix(o.reader, "rc522:") && len(o.IssuerKeys) == 0 && len(o.IssuerRoots) == 0 && (o.Bundle == nil || len(o.Bundle.IssuerRoots) == 0):
		return nil, cli.Usagef("--reader rc522 needs an --issuer-key or an --issuer-root (or a bundle with issuer roots) to check cards against")
	case o.ClockTrusted && o.ClockOffset != 0:
		return nil, cli.Usagef("--clock-trusted and --fake-clock-offset contradict each other")
	case o.ClockSpeed <= 0:
		return nil, cli.Usagef("--demo-clock-speed must be positive")
	case o.Debounce <= 0 || o.MaxSession <= 0 || o.AckTimeout <= 0:
		return nil, cli.Usagef("--debounce, --max-session and --ack-timeout must be positive")
	}
	if err := o.level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, cli.Usagef("--log-level: %w", err)
	}
	switch {
	case o.headless:
		o.Display = kioskstation.Headless
	case o.windowed:
		o.Display = kioskstation.Windowed
	default:
		o.Display = kioskstation.FullScreen
	}
	o.SimReader, _ = strings.CutPrefix(o.reader, "sim:")
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stdout)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-kiosk"))
		return nil
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.level})).With("station", o.Station)
	o.Ready = func(reader string) {
		fmt.Fprintf(stderr, "leifeng-kiosk: ready station=%s reader=%s\n", o.Station, reader)
	}
	if spi, ok := strings.CutPrefix(o.reader, "rc522:"); ok {
		o.wiring.SPI = spi
		dev, closeDev, err := board.Open(o.wiring)
		if err != nil {
			return fmt.Errorf("--reader %s: %w", o.reader, err)
		}
		defer closeDev()
		o.Device = dev
	}
	err = kioskstation.Run(ctx, o.Options)
	if errors.Is(err, kioskstation.ErrReboot) {
		return &cli.ExitError{Code: exitReboot, Err: err}
	}
	return err
}

// useBundle reads --bundle and takes from it what the flags did not set.
func (o *options) useBundle(fs *flag.FlagSet) error {
	b, err := wire.ReadBundle(o.BundleFile)
	if err != nil {
		return fmt.Errorf("--bundle: %w", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Station == "" {
		o.Station = b.Station
	} else if o.Station != b.Station {
		return cli.Usagef("--station %s but --bundle %s is for station %s", o.Station, o.BundleFile, b.Station)
	}
	if !set["mqtt"] {
		o.MQTT = b.Broker
	}
	if !set["mqtt-user"] {
		o.MQTTUser = b.Username
	}
	if !set["mqtt-pass"] {
		o.MQTTPass = b.Password
	}
	if !set["mqtt-downlink-qos0"] {
		o.MQTTDownlinkQoS0 = b.DownlinkQoS0
	}
	o.Bundle = b
	return nil
}
