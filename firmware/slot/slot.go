package slot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"leifeng/firmware/release"
)

// Slot names, and the files in the root directory.
const (
	A           = "a"
	B           = "b"
	CurrentLink = "current"
	StateFile   = "update.json"
	// ManifestFile is the copy of the release's manifest in its slot.
	ManifestFile = "release.json"
	installDir   = ".install"
)

// Outcomes recorded in the state file.
const (
	Trying     = "trying"
	Committed  = "committed"
	RolledBack = "rolled_back"
	Failed     = "failed"
)

// Errors a caller branches on.
var (
	ErrNoCurrent = errors.New("slot: no current slot")
	ErrNotTrial  = errors.New("slot: no version on trial")
	ErrNotWhole  = errors.New("slot: slot does not hold the release whole")
	ErrNeither   = errors.New("slot: neither slot holds a whole release")
)

// State is the state file: the version on trial, or the last outcome.
type State struct {
	Outcome string `json:"outcome"`
	Version string `json:"version"`
	Slot    string `json:"slot"`
	From    string `json:"from"`
	// Starts counts the starts of the version on trial: it gets one.
	Starts int       `json:"starts"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Slots is a slot root directory (/opt/leifeng on a kiosk).
type Slots struct {
	Root string
	FS   FS
	// Now is the clock for the state file (time.Now if nil).
	Now func() time.Time
}

// New returns the slots under root on the real file system.
func New(root string) *Slots { return &Slots{Root: root, FS: OS{}} }

func (s *Slots) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func other(slot string) string {
	if slot == A {
		return B
	}
	return A
}

// Current returns the slot current points at.
func (s *Slots) Current() (string, error) {
	t, err := s.FS.Readlink(filepath.Join(s.Root, CurrentLink))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoCurrent, err)
	}
	if t != A && t != B {
		return "", fmt.Errorf("%w: current -> %q", ErrNoCurrent, t)
	}
	return t, nil
}

// Inactive returns the slot current does not point at (B if none does).
func (s *Slots) Inactive() string {
	cur, err := s.Current()
	if err != nil {
		return B
	}
	return other(cur)
}

// Verify reads slot's manifest and checks every file against it.
func (s *Slots) Verify(slot string) (*release.Manifest, error) {
	dir := filepath.Join(s.Root, slot)
	raw, err := s.FS.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotWhole, slot, err)
	}
	var m release.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotWhole, slot, err)
	}
	if err := release.Verify(dir, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotWhole, err)
	}
	return &m, nil
}

// Install unpacks the verified bundle at bundlePath into the inactive
// slot. signed is the manifest the TUF targets metadata signed; the
// bundle's own must match it member by member (release.Walk checks each
// member's hash as it is written). The current slot is not touched.
func (s *Slots) Install(bundlePath string, signed *release.Manifest) (string, error) {
	return s.installTo(s.Inactive(), bundlePath, signed)
}

func (s *Slots) installTo(slot, bundlePath string, signed *release.Manifest) (string, error) {
	tmp := filepath.Join(s.Root, installDir)
	if err := s.FS.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := s.FS.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	f, err := os.Open(bundlePath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dirs := map[string]bool{tmp: true}
	m, err := release.Walk(f, func(rf release.File, r io.Reader) error {
		p := filepath.Join(tmp, filepath.FromSlash(rf.Name))
		d := filepath.Dir(p)
		if !dirs[d] {
			if err := s.FS.MkdirAll(d, 0o755); err != nil {
				return err
			}
			dirs[d] = true
		}
		return WriteFile(s.FS, p, rf.Mode&fs.ModePerm, r)
	})
	if err != nil {
		return "", err
	}
	if signed != nil && !m.Equal(signed) {
		return "", fmt.Errorf("%w: bundle manifest differs from the signed one", release.ErrBadBundle)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	// The manifest is written last: a slot without it is not a slot.
	if err := WriteFileAtomic(s.FS, filepath.Join(tmp, ManifestFile), raw, 0o644); err != nil {
		return "", err
	}
	for d := range dirs {
		if err := s.FS.SyncDir(d); err != nil {
			return "", err
		}
	}
	dst := filepath.Join(s.Root, slot)
	if err := s.FS.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := s.FS.Rename(tmp, dst); err != nil {
		return "", err
	}
	return slot, s.FS.SyncDir(s.Root)
}

// switchTo points current at slot atomically.
func (s *Slots) switchTo(slot string) error {
	tmp := filepath.Join(s.Root, ".current.tmp")
	if err := s.FS.RemoveAll(tmp); err != nil {
		return err
	}
	if err := s.FS.Symlink(slot, tmp); err != nil {
		return err
	}
	if err := s.FS.Rename(tmp, filepath.Join(s.Root, CurrentLink)); err != nil {
		return err
	}
	return s.FS.SyncDir(s.Root)
}

// Provision installs the first release into slot a and points current at
// it: what the image build does once.
func (s *Slots) Provision(bundlePath string) error {
	if err := s.FS.MkdirAll(s.Root, 0o755); err != nil {
		return err
	}
	if _, err := s.Current(); err == nil {
		return fmt.Errorf("slot: %s is already provisioned", s.Root)
	}
	slot, err := s.installTo(A, bundlePath, nil)
	if err != nil {
		return err
	}
	return s.switchTo(slot)
}

// State reads the state file (a zero State if there is none).
func (s *Slots) State() (State, error) {
	var st State
	raw, err := s.FS.ReadFile(filepath.Join(s.Root, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		// A state file that does not parse cannot have been written
		// whole (it is replaced by rename); treat it as no trial.
		return State{}, nil
	}
	return st, nil
}

func (s *Slots) setState(st State) error {
	st.At = s.now().UTC()
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.FS, filepath.Join(s.Root, StateFile), raw, 0o644)
}

// Try starts the trial of version, installed in the inactive slot: it
// checks the slot is whole, writes the trial marker, then switches. The
// caller then restarts the kiosk (systemd starts current/leifeng-kiosk).
func (s *Slots) Try(version string) error {
	from, err := s.Current()
	if err != nil {
		return err
	}
	slot := other(from)
	m, err := s.Verify(slot)
	if err != nil {
		return err
	}
	if m.Version != version {
		return fmt.Errorf("%w: %s holds %s, not %s", ErrNotWhole, slot, m.Version, version)
	}
	if err := s.setState(State{Outcome: Trying, Version: version, Slot: slot, From: from}); err != nil {
		return err
	}
	return s.switchTo(slot)
}

// Start is run before the kiosk starts. It applies the trial rule (one
// start on trial, then back), makes sure current holds a whole release,
// falling back to the other slot if it does not, and returns the slot to
// start and the state.
func (s *Slots) Start() (string, State, error) {
	st, err := s.State()
	if err != nil {
		return "", st, err
	}
	cur, err := s.Current()
	if err != nil && st.Outcome != Trying {
		return s.fallback(err)
	}
	if st.Outcome == Trying {
		switch {
		case cur != st.Slot:
			// The power went between the marker and the switch, or
			// during a rollback after the switch back.
			st.Outcome, st.Reason = Failed, "interrupted before the new version started"
			if st.Starts > 0 {
				st.Outcome, st.Reason = RolledBack, "the new version restarted without confirming its health"
			}
			if err := s.setState(st); err != nil {
				return "", st, err
			}
		case st.Starts == 0:
			st.Starts = 1
			if err := s.setState(st); err != nil {
				return "", st, err
			}
		default:
			if err := s.rollback(st, "the new version restarted without confirming its health"); err != nil {
				return "", st, err
			}
			cur, st = st.From, mustState(s)
		}
	}
	if _, err := s.Verify(cur); err != nil {
		return s.fallback(err)
	}
	return cur, st, nil
}

func mustState(s *Slots) State {
	st, _ := s.State()
	return st
}

// fallback points current at whichever slot is whole, after current was
// found missing or broken (which the write order above never leaves, but
// a damaged card can).
func (s *Slots) fallback(why error) (string, State, error) {
	for _, slot := range []string{A, B} {
		m, err := s.Verify(slot)
		if err != nil {
			continue
		}
		if err := s.switchTo(slot); err != nil {
			return "", State{}, err
		}
		st := State{Outcome: Failed, Version: m.Version, Slot: slot, Reason: "current slot not whole: " + why.Error()}
		if err := s.setState(st); err != nil {
			return "", st, err
		}
		return slot, st, nil
	}
	return "", State{}, fmt.Errorf("%w: %w", ErrNeither, why)
}

// Commit marks the version on trial good. Call it only after every health
// check passed.
func (s *Slots) Commit() error {
	st, err := s.State()
	if err != nil {
		return err
	}
	cur, err := s.Current()
	if err != nil {
		return err
	}
	if st.Outcome != Trying || cur != st.Slot {
		return ErrNotTrial
	}
	st.Outcome, st.Reason = Committed, ""
	return s.setState(st)
}

// Rollback switches back to the version the trial came from and records
// why. The caller then restarts the kiosk.
func (s *Slots) Rollback(reason string) error {
	st, err := s.State()
	if err != nil {
		return err
	}
	if st.Outcome != Trying {
		return ErrNotTrial
	}
	return s.rollback(st, reason)
}

func (s *Slots) rollback(st State, reason string) error {
	// Switch first: if the power goes before the state is written, Start
	// finds current != the trial slot and records the rollback then.
	if err := s.switchTo(st.From); err != nil {
		return err
	}
	st.Outcome, st.Reason = RolledBack, reason
	return s.setState(st)
}

// Trial reports whether the running version is on trial: the state says
// trying and current is its slot.
func (s *Slots) Trial() (State, bool) {
	st, err := s.State()
	if err != nil || st.Outcome != Trying {
		return st, false
	}
	cur, err := s.Current()
	return st, err == nil && cur == st.Slot
}

// Path is the path of name inside the current slot.
func (s *Slots) Path(name string) string {
	return filepath.Join(s.Root, CurrentLink, filepath.FromSlash(path.Clean(name)))
}
