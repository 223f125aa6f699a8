package station

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/sdnotify"
	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
	"leifeng/gateway/wire"
	"leifeng/kiosk/config"
	"leifeng/kiosk/store"
	"leifeng/kiosk/update"
	"leifeng/kiosk/uplink"
)

// UpdateOptions configure signed firmware updates (leifeng-kiosk's
// --update-* flags). Without Root an update_offer is only recorded and
// reported.
type UpdateOptions struct {
	// Root is the file of the release repository's TUF root metadata
	// (from leifeng-firmware init).
	Root string
	// CA is a PEM file of the CA of the repository's HTTPS certificate;
	// empty uses the system's roots.
	CA string
	// Slots is the program slot directory (a, b, current).
	Slots string
	// Tryboot installs whole system images with the Pi firmware's tryboot
	// A/B instead of program slots.
	Tryboot bool
	// Board and Arch are matched against a release's manifest.
	Board, Arch string
	// Deadline is how long a new version has to pass every health check
	// before the old one comes back.
	Deadline time.Duration
}

// DefaultArch is this kiosk's architecture as release manifests name it.
func DefaultArch() string {
	if runtime.GOARCH == "arm" {
		// GOARM is not visible at run time; armv7 covers the Pi 2 and 3
		// on a 32-bit OS, a Pi Zero or 1 sets --update-arch armv6.
		return "armv7"
	}
	return runtime.GOARCH
}

// firmware carries out signed update offers and confirms a version on
// trial. A nil *firmware only records offers.
type firmware struct {
	u      *update.Updater
	log    *slog.Logger
	reboot func()
	// refresh publishes the state again (set once the uplink exists).
	refresh  func()
	deadline time.Duration

	mu     sync.Mutex
	status *wire.UpdateStatus
	ctx    context.Context
	st     *store.Store
	wg     sync.WaitGroup
}

// pendingOffer is the store blob of an offer being applied: an update cut
// short by a power cut or a kill is taken up again at the next start, and
// its download resumes where it stopped.
const pendingOffer = "firmware_pending_offer"

// newFirmware builds the updater of --update-*, or nil without --update-root.
func newFirmware(o *Options, mgr *config.Manager, log *slog.Logger, reboot func()) (*firmware, error) {
	u := o.Update
	if u.Root == "" {
		return nil, nil
	}
	root, err := os.ReadFile(u.Root)
	if err != nil {
		return nil, fmt.Errorf("--update-root: %w", err)
	}
	fw := &firmware{log: log, reboot: reboot, refresh: func() {}, deadline: u.Deadline}
	var target update.Target
	running := o.Version
	if u.Tryboot {
		target = update.Image{Layout: tryboot.Pi(filepath.Join(o.Data, "tryboot"))}
	} else {
		s := slot.New(u.Slots)
		target = update.Program{Slots: s}
		// The slot's signed manifest, not the build flag, says what runs.
		if cur, err := s.Current(); err == nil {
			if m, err := s.Verify(cur); err == nil {
				running = m.Version
			}
		}
	}
	hc := http.DefaultClient
	if u.CA != "" {
		pem, err := os.ReadFile(u.CA)
		if err != nil {
			return nil, fmt.Errorf("--update-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--update-ca %s: no certificate in it", u.CA)
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	fw.u = &update.Updater{
		Fetch:  &fetch.Client{Root: root, Dir: filepath.Join(o.Data, "firmware"), HTTP: hc},
		Target: target, Board: u.Board, Arch: u.Arch, Version: running,
		ConfigVersion: func() uint64 { return mgr.Status().StationVersion },
		Report:        fw.set, Log: log,
	}
	return fw, nil
}

// running is the version the kiosk runs: its slot's signed manifest's,
// or the build's.
func (fw *firmware) running(built string) string {
	if fw == nil || fw.u.Version == "" {
		return built
	}
	return fw.u.Version
}

func (fw *firmware) set(st wire.UpdateStatus) {
	fw.mu.Lock()
	fw.status = &st
	fw.mu.Unlock()
	fw.refresh()
}

// report fills the state's update field.
func (fw *firmware) report(st *wire.State) {
	if fw == nil {
		return
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.status != nil {
		s := *fw.status
		st.Update = &s
	}
}

// offer starts applying o in the background; the kiosk restarts into the
// new version when it is installed. It reports whether an updater took it.
func (fw *firmware) offer(o wire.UpdateOffer) bool {
	if fw == nil {
		return false
	}
	fw.mu.Lock()
	ctx, st := fw.ctx, fw.st
	fw.mu.Unlock()
	if ctx == nil {
		return false
	}
	raw, err := json.Marshal(o)
	if err == nil {
		err = st.PutBlob(pendingOffer, raw)
	}
	if err != nil {
		fw.log.Warn("update offer not kept", "err", err)
	}
	fw.wg.Go(func() {
		if err := fw.u.Apply(ctx, o); err != nil {
			fw.log.Warn("update not applied", "version", o.Version, "err", err)
			if !errors.Is(err, context.Canceled) {
				// Refused or failed, and reported: the cloud decides
				// whether to offer it again.
				st.PutBlob(pendingOffer, nil)
			}
			return
		}
		// Program slots: exit so systemd starts current/leifeng-kiosk,
		// the new version, on trial. (Tryboot has rebooted already.)
		fw.reboot()
	})
	return true
}

// checks are the health checks a new version must pass before it is
// committed: the reader answers, bbolt reads the outbox, the broker is
// reached or the outbox is kept, the stored configs verify, the UI is up.
func healthChecks(st *store.Store, mgr *config.Manager, up *uplink.Uplink, readerAddr string, scr *screen) []update.Check {
	outbox := func(context.Context) error {
		_, err := st.Oldest(1)
		return err
	}
	return []update.Check{
		update.CheckFunc("reader", func(ctx context.Context) error {
			if readerAddr == "none" {
				return errors.New("no card reader")
			}
			if host, port, err := net.SplitHostPort(readerAddr); err == nil && host != "" && port != "" {
				// The simulated reader: it must accept a connection.
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", readerAddr)
				if err != nil {
					return err
				}
				return c.Close()
			}
			return nil // the MFRC522 answered its version register when opened
		}),
		update.CheckFunc("store", outbox),
		update.CheckFunc("broker", func(ctx context.Context) error {
			if up == nil || up.Online() {
				return nil
			}
			// Offline is normal for days: the records wait in the outbox,
			// which must then be readable.
			return outbox(ctx)
		}),
		update.CheckFunc("config", func(context.Context) error {
			if err := mgr.Reload(); err != nil {
				return err
			}
			if s := mgr.Status(); s.StationError != "" {
				return errors.New(s.StationError)
			}
			return nil
		}),
		update.CheckFunc("ui", func(context.Context) error {
			if !scr.showing() {
				return errors.New("the touchscreen window is not up")
			}
			return nil
		}),
	}
}

// start runs once the kiosk is up: it tells systemd it is ready, keeps
// its watchdog fed while the store answers, confirms a version on trial
// (or rolls it back and restarts) and from then on takes offers. The
// goroutines end with ctx.
func (fw *firmware) start(ctx context.Context, wg *sync.WaitGroup, st *store.Store, checks []update.Check) {
	if err := sdnotify.Notify(sdnotify.Ready); err != nil && !errors.Is(err, sdnotify.ErrNoSocket) {
		slog.Warn("sd_notify", "err", err)
	}
	wg.Go(func() {
		sdnotify.Keepalive(ctx, sdnotify.WatchdogInterval(), func() error {
			_, err := st.Oldest(1)
			return err
		})
	})
	if fw == nil {
		return
	}
	wg.Go(func() {
		defer fw.wg.Wait()
		err := fw.u.Confirm(ctx, checks, fw.deadline, time.Second)
		if errors.Is(err, update.ErrRolledBack) {
			fw.reboot()
			return
		}
		if err != nil && ctx.Err() == nil {
			fw.log.Error("update: confirm", "err", err)
		}
		fw.mu.Lock()
		fw.ctx, fw.st = ctx, st
		fw.mu.Unlock()
		fw.resume(st)
		<-ctx.Done()
	})
}

// resume takes up an offer an earlier run did not finish, unless what it
// offered is already running.
func (fw *firmware) resume(st *store.Store) {
	raw, err := st.Blob(pendingOffer)
	if err != nil || len(raw) == 0 {
		return
	}
	var o wire.UpdateOffer
	if err := json.Unmarshal(raw, &o); err != nil || release.Compare(o.Version, fw.u.Version) <= 0 {
		st.PutBlob(pendingOffer, nil)
		return
	}
	fw.log.Info("update: resuming an offer cut short", "version", o.Version)
	fw.offer(o)
}
