package update_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
	"leifeng/firmware/tryboot/trybootsim"
	"leifeng/gateway/wire"
	"leifeng/kiosk/update"
)

func imageManifest(v string) release.Manifest {
	return release.Manifest{Version: v, Board: board, Arch: arch, Kind: release.KindImage}
}

func imageFiles(v string) map[string][]byte {
	boot := []byte("FAT boot " + v + strings.Repeat("b", 3000))
	root := []byte("ext4 root " + v + strings.Repeat("r", 9000))
	return map[string][]byte{release.BootImage: boot, release.RootImage: root}
}

// pi is a simulated Raspberry Pi 4 with the A/B layout, pair A holding
// 1.0.0, booted.
type pi struct {
	sim   *trybootsim.Pi
	state string
	data  string
	kit   *releasetest.Kit
	steps *steps
}

func newPi(t testing.TB, kit *releasetest.Kit) *pi {
	t.Helper()
	dir := t.TempDir()
	sim, err := trybootsim.New(filepath.Join(dir, "card"))
	if err != nil {
		t.Fatal(err)
	}
	p := &pi{sim: sim, state: filepath.Join(dir, "data", "update"), data: filepath.Join(dir, "data", "tuf"), kit: kit, steps: &steps{}}
	first := releasetest.Build(t, imageManifest("1.0.0"), imageFiles("1.0.0"))
	if err := p.layout(slot.OS{}).Provision(tryboot.PairA, first); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Boot(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pi) layout(fsys slot.FS) *tryboot.Layout { return p.sim.Layout(p.state, fsys) }

// running is the version of the pair the bootloader booted, after
// checking the pair's images against the release they were written from.
func (p *pi) running(t testing.TB) string {
	t.Helper()
	l := p.layout(slot.OS{})
	b, err := l.Booted()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tryboot.PairOf(b.Partition)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := l.VerifyPair(pair)
	if err != nil {
		t.Fatalf("booted pair %d not verified: %v", pair.Boot, err)
	}
	return rec.Version
}

func (p *pi) updater(t testing.TB, fsys slot.FS) *update.Updater {
	return &update.Updater{
		Fetch:  &fetch.Client{Root: p.kit.Root, Dir: p.data, HTTP: p.kit.Client(), Backoff: time.Millisecond},
		Target: update.Image{Layout: p.layout(fsys)}, Board: board, Arch: arch, Version: p.running(t),
		ConfigVersion: func() uint64 { return 5 }, Report: p.steps.add,
	}
}

func TestTrybootEndToEnd(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "image-1.1.0.tar", imageManifest("1.1.0"), imageFiles("1.1.0"))
	p := newPi(t, kit)
	ctx := context.Background()
	if err := p.updater(t, slot.OS{}).Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar")); err != nil {
		t.Fatal(err)
	}
	// Apply ended with reboot '0 tryboot'.
	part, err := p.sim.Boot()
	if err != nil || part != tryboot.PairB.Boot {
		t.Fatalf("tryboot booted %d: %v", part, err)
	}
	if b, _ := p.layout(slot.OS{}).Booted(); !b.Tryboot {
		t.Fatal("device tree does not say tryboot")
	}
	if err := p.updater(t, slot.OS{}).Confirm(ctx, []update.Check{pass("reader"), pass("ui")}, time.Second, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []string{wire.UpdateOffered, wire.UpdateDownloading, wire.UpdateVerified, wire.UpdateInstalled, wire.UpdateTrying, wire.UpdateCommitted}
	if got := p.steps.names(); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	// Committed: a plain reboot now stays on B.
	if part, _ := p.sim.Boot(); part != tryboot.PairB.Boot || p.running(t) != "1.1.0" {
		t.Fatalf("after commit, boot %d runs %s", part, p.running(t))
	}
}

func TestTrybootTrialFallsBack(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "image-1.1.0.tar", imageManifest("1.1.0"), imageFiles("1.1.0"))
	ctx := context.Background()
	t.Run("health check fails", func(t *testing.T) {
		p := newPi(t, kit)
		if err := p.updater(t, slot.OS{}).Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar")); err != nil {
			t.Fatal(err)
		}
		p.sim.Boot()
		fail := update.CheckFunc("broker", func(context.Context) error { return errors.New("outbox not kept") })
		err := p.updater(t, slot.OS{}).Confirm(ctx, []update.Check{pass("reader"), fail}, 30*time.Millisecond, 5*time.Millisecond)
		if !errors.Is(err, update.ErrRolledBack) {
			t.Fatal(err)
		}
		// Rollback rebooted normally: the bootloader boots A.
		if part, _ := p.sim.Boot(); part != tryboot.PairA.Boot || p.running(t) != "1.0.0" {
			t.Fatalf("after rollback boot %d", part)
		}
		st, _ := p.layout(slot.OS{}).ReadState()
		if st.Outcome != tryboot.RolledBack || !strings.Contains(st.Reason, "outbox not kept") {
			t.Fatalf("state %+v", st)
		}
	})
	t.Run("hang then watchdog reset", func(t *testing.T) {
		p := newPi(t, kit)
		if err := p.updater(t, slot.OS{}).Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar")); err != nil {
			t.Fatal(err)
		}
		p.sim.Boot() // the trial boot hangs; the hardware watchdog resets
		if part, _ := p.sim.Boot(); part != tryboot.PairA.Boot || p.running(t) != "1.0.0" {
			t.Fatalf("after a reset in trial, boot %d", part)
		}
		st, trial, err := p.layout(slot.OS{}).Start()
		if err != nil || trial || st.Outcome != tryboot.RolledBack {
			t.Fatalf("start after failed trial: %+v %v %v", st, trial, err)
		}
	})
	t.Run("no tryboot on this board", func(t *testing.T) {
		p := newPi(t, kit)
		l := p.layout(slot.OS{})
		l.DeviceTree = filepath.Join(t.TempDir(), "no-bootloader-node")
		u := p.updater(t, slot.OS{})
		u.Target = update.Image{Layout: l}
		err := u.Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar"))
		if !errors.Is(err, tryboot.ErrUnsupported) {
			t.Fatalf("apply on a board without tryboot: %v", err)
		}
		if got := p.steps.names(); !slices.Equal(got, []string{wire.UpdateOffered, wire.UpdateFailed}) {
			t.Fatalf("steps %v: refused only after fetching", got)
		}
	})
}

// TestTrybootPowerLossAfterEveryWrite cuts the power after write n of the
// whole A/B update, for every n: the next boot always runs a verified
// pair, and the update then completes.
func TestTrybootPowerLossAfterEveryWrite(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "image-1.1.0.tar", imageManifest("1.1.0"), imageFiles("1.1.0"))
	ctx := context.Background()
	checks := []update.Check{pass("reader"), pass("ui")}
	for n := 0; ; n++ {
		p := newPi(t, kit)
		cfs := &crashFS{FS: slot.OS{}, left: n}
		if err := p.updater(t, cfs).Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar")); err == nil {
			p.sim.Boot()
			p.updater(t, cfs).Confirm(ctx, checks, time.Second, time.Millisecond)
		}
		if !cfs.dead {
			t.Logf("a whole A/B update is %d writes; the power was cut after each", cfs.writes)
			if part, _ := p.sim.Boot(); part != tryboot.PairB.Boot || p.running(t) != "1.1.0" {
				t.Fatalf("without a cut: boot %d", part)
			}
			break
		}
		p.sim.PowerCut()
		if _, err := p.sim.Boot(); err != nil {
			t.Fatalf("cut after write %d: %v", n, err)
		}
		v := p.running(t)
		if v != "1.0.0" && v != "1.1.0" {
			t.Fatalf("cut after write %d: running %s", n, v)
		}
		if _, _, err := p.layout(slot.OS{}).Start(); err != nil {
			t.Fatal(err)
		}
		if v == "1.0.0" {
			if err := p.updater(t, slot.OS{}).Apply(ctx, offer(kit, "1.1.0", "image-1.1.0.tar")); err != nil {
				t.Fatalf("cut after write %d: second apply: %v", n, err)
			}
			p.sim.Boot()
			if err := p.updater(t, slot.OS{}).Confirm(ctx, checks, time.Second, time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if p.sim.Boot(); p.running(t) != "1.1.0" {
			t.Fatalf("cut after write %d: the update did not complete afterwards", n)
		}
	}
}
