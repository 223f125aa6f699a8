package update_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
	"leifeng/gateway/wire"
	"leifeng/kiosk/update"
)

const (
	board = "rpi4"
	arch  = "arm64"
)

func programManifest(v string) release.Manifest {
	return release.Manifest{Version: v, Board: board, Arch: arch, Kind: release.KindProgram, MinConfigVersion: 3}
}

// programFiles is a release's payload: a "kiosk binary" that says its
// version, an asset and a unit.
func programFiles(v string, size int) map[string][]byte {
	bin := make([]byte, size)
	for i := range bin {
		bin[i] = byte(i*31 + len(v))
	}
	copy(bin, "leifeng-kiosk "+v+"\n")
	return map[string][]byte{
		"leifeng-kiosk":               bin,
		"assets/logo.svg":             []byte("<svg/>"),
		"units/leifeng-kiosk.service": []byte("[Service]\nType=notify\n"),
	}
}

// steps collects reported steps.
type steps struct {
	mu  sync.Mutex
	all []wire.UpdateStatus
}

func (s *steps) add(st wire.UpdateStatus) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
}

// names are the steps in order, progress collapsed into one "downloading".
func (s *steps) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.all {
		if len(out) > 0 && out[len(out)-1] == st.Step {
			continue
		}
		out = append(out, st.Step)
	}
	return out
}

func (s *steps) last() wire.UpdateStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return wire.UpdateStatus{}
	}
	return s.all[len(s.all)-1]
}

// station is one simulated kiosk with program slots.
type station struct {
	kit   *releasetest.Kit
	slots *slot.Slots
	data  string
	steps *steps
}

func newStation(t testing.TB, kit *releasetest.Kit) *station {
	t.Helper()
	dir := t.TempDir()
	s := &station{kit: kit, slots: slot.New(filepath.Join(dir, "opt-leifeng")), data: filepath.Join(dir, "data"), steps: &steps{}}
	first := releasetest.Build(t, programManifest("1.0.0"), programFiles("1.0.0", 1000))
	if err := s.slots.Provision(first); err != nil {
		t.Fatal(err)
	}
	return s
}

// running is the version current's kiosk is, after the slot verified.
func (s *station) running(t testing.TB) string {
	t.Helper()
	cur, err := s.slots.Current()
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.slots.Verify(cur)
	if err != nil {
		t.Fatalf("current slot %s not whole: %v", cur, err)
	}
	return m.Version
}

func (s *station) updater(t testing.TB, target update.Target) *update.Updater {
	return &update.Updater{
		Fetch:  &fetch.Client{Root: s.kit.Root, Dir: s.data, HTTP: s.kit.Client(), Backoff: time.Millisecond},
		Target: target, Board: board, Arch: arch, Version: s.runningVersion(),
		ConfigVersion: func() uint64 { return 5 },
		Report:        s.steps.add,
	}
}

func (s *station) runningVersion() string {
	cur, err := s.slots.Current()
	if err != nil {
		return ""
	}
	m, err := s.slots.Verify(cur)
	if err != nil {
		return ""
	}
	return m.Version
}

func offer(kit *releasetest.Kit, v, target string) wire.UpdateOffer {
	return wire.UpdateOffer{Version: v, URL: kit.URL(), Target: target}
}

func pass(name string) update.Check {
	return update.CheckFunc(name, func(context.Context) error { return nil })
}

// tree hashes every file and link under dir: a fingerprint to show
// nothing was written.
func tree(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+l)
		case d.Type().IsRegular():
			b, _ := os.ReadFile(p)
			sum := sha256.Sum256(b)
			lines = append(lines, rel+" "+hex.EncodeToString(sum[:]))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
