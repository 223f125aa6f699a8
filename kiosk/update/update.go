package update

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
	"leifeng/gateway/wire"
)

// Errors a caller branches on; the fetch, release, slot and tryboot
// errors come wrapped as they are.
var (
	ErrRollback      = errors.New("update: release is not newer than the running version")
	ErrWrongBoard    = errors.New("update: release is for another board or architecture")
	ErrConfigTooOld  = errors.New("update: release needs a newer station config")
	ErrWrongKind     = errors.New("update: release kind does not fit this kiosk's slots")
	ErrOfferMismatch = errors.New("update: offer does not match the signed release")
	ErrBusy          = errors.New("update: another update is in progress")
	ErrRolledBack    = errors.New("update: new version failed its health check and was rolled back")
)

// Target is where releases are installed: program slots or tryboot pairs.
type Target interface {
	// Kind is the release kind it installs (release.KindProgram or KindImage).
	Kind() string
	// Ready says whether updates can be installed at all (slots
	// provisioned, a bootloader with tryboot), before anything is fetched.
	Ready() error
	// Install writes a verified bundle into the inactive slot.
	Install(bundlePath string, signed *release.Manifest) error
	// Try switches to the installed slot for one start; the kiosk
	// restarts (or the system reboots) after it.
	Try(version string) error
	// Trial says whether the running version is on trial, and which.
	Trial() (version string, ok bool)
	// Outcome is the last update's recorded outcome (slot.Committed,
	// slot.RolledBack, slot.Failed, or "" for none) and its reason.
	Outcome() (version, outcome, reason string)
	// Commit marks the version on trial good.
	Commit() error
	// Rollback returns to the previous version, recording why.
	Rollback(reason string) error
}

// Program adapts program slots to Target.
type Program struct{ *slot.Slots }

// Kind implements Target.
func (Program) Kind() string { return release.KindProgram }

// Ready implements Target: current must name a slot.
func (p Program) Ready() error {
	_, err := p.Slots.Current()
	return err
}

// Install implements Target.
func (p Program) Install(bundlePath string, m *release.Manifest) error {
	_, err := p.Slots.Install(bundlePath, m)
	return err
}

// Trial implements Target.
func (p Program) Trial() (string, bool) {
	st, ok := p.Slots.Trial()
	return st.Version, ok
}

// Outcome implements Target.
func (p Program) Outcome() (string, string, string) {
	st, _ := p.Slots.State()
	return st.Version, st.Outcome, st.Reason
}

// Image adapts tryboot pairs to Target.
type Image struct{ *tryboot.Layout }

// Kind implements Target.
func (Image) Kind() string { return release.KindImage }

// Ready implements Target: the bootloader must report tryboot.
func (i Image) Ready() error {
	_, err := i.Layout.Booted()
	return err
}

// Outcome implements Target.
func (i Image) Outcome() (string, string, string) {
	st, _ := i.Layout.ReadState()
	return st.Version, st.Outcome, st.Reason
}

// Trial implements Target.
func (i Image) Trial() (string, bool) {
	st, ok := i.Layout.Trial()
	return st.Version, ok
}

// Updater applies offers to one kiosk.
type Updater struct {
	Fetch  *fetch.Client
	Target Target
	// Board, Arch and Version describe the running kiosk.
	Board, Arch, Version string
	// ConfigVersion returns the station config version in use.
	ConfigVersion func() uint64
	// Report receives every step (it must not block for long).
	Report func(wire.UpdateStatus)
	Log    *slog.Logger
	// Now is the clock for reports (time.Now if nil).
	Now func() time.Time

	mu   sync.Mutex
	busy bool
}

func (u *Updater) report(st wire.UpdateStatus) {
	if u.Now != nil {
		st.At = u.Now().UTC()
	} else {
		st.At = time.Now().UTC()
	}
	if u.Log != nil {
		u.Log.Info("update", "version", st.Version, "step", st.Step, "done", st.Done, "total", st.Total, "reason", st.Reason)
	}
	if u.Report != nil {
		u.Report(st)
	}
}

// Apply carries out an offer up to the switch (trying). It returns nil
// when the kiosk must now restart (program slots) or is rebooting
// (tryboot); any error has been reported as failed with its reason, and
// the running version is untouched.
func (u *Updater) Apply(ctx context.Context, o wire.UpdateOffer) error {
	u.mu.Lock()
	if u.busy {
		u.mu.Unlock()
		return ErrBusy
	}
	u.busy = true
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.busy = false
		u.mu.Unlock()
	}()
	err := u.apply(ctx, o)
	if err != nil {
		u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateFailed, Reason: Reason(err)})
	}
	return err
}

func (u *Updater) apply(ctx context.Context, o wire.UpdateOffer) error {
	u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateOffered})
	if o.Target == "" || o.URL == "" {
		return fmt.Errorf("%w: offer without target or url", ErrOfferMismatch)
	}
	if err := u.Target.Ready(); err != nil {
		return err
	}
	c := *u.Fetch
	c.Repo, c.Downloaded = o.URL, 0
	r, err := c.Lookup(ctx, o.Target)
	if err != nil {
		return err
	}
	if err := u.admit(o, r); err != nil {
		return err
	}
	total := r.Target.Length
	c.Progress = func(done, total int64) {
		u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateDownloading, Done: done, Total: total})
	}
	u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateDownloading, Total: total})
	path, err := c.Download(ctx, r)
	u.Fetch.Downloaded += c.Downloaded
	if err != nil {
		return err
	}
	if err := fetch.Verify(path, r.Manifest); err != nil {
		return err
	}
	u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateVerified, Done: total, Total: total})
	if err := u.Target.Install(path, r.Manifest); err != nil {
		return err
	}
	u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateInstalled})
	u.report(wire.UpdateStatus{Version: o.Version, Step: wire.UpdateTrying})
	return u.Target.Try(r.Manifest.Version)
}

// admit applies this kiosk's policy to the signed manifest.
func (u *Updater) admit(o wire.UpdateOffer, r *fetch.Release) error {
	m := r.Manifest
	if m.Version != o.Version {
		return fmt.Errorf("%w: offer says %s, target is %s", ErrOfferMismatch, o.Version, m.Version)
	}
	if o.SHA256 != "" && o.SHA256 != hex.EncodeToString(r.Target.Hashes["sha256"]) {
		return fmt.Errorf("%w: sha256", ErrOfferMismatch)
	}
	if release.Compare(m.Version, u.Version) <= 0 {
		return fmt.Errorf("%w: %s, running %s", ErrRollback, m.Version, u.Version)
	}
	if !m.Fits(u.Board, u.Arch) {
		return fmt.Errorf("%w: %s/%s, this kiosk is %s/%s", ErrWrongBoard, m.Board, m.Arch, u.Board, u.Arch)
	}
	var cfg uint64
	if u.ConfigVersion != nil {
		cfg = u.ConfigVersion()
	}
	if m.MinConfigVersion > cfg {
		return fmt.Errorf("%w: needs %d, running %d", ErrConfigTooOld, m.MinConfigVersion, cfg)
	}
	if m.Kind != u.Target.Kind() {
		return fmt.Errorf("%w: %s release, %s slots", ErrWrongKind, m.Kind, u.Target.Kind())
	}
	return nil
}
