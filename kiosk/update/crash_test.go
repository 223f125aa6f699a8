package update_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"leifeng/firmware/releasetest"
	"leifeng/firmware/slot"
	"leifeng/kiosk/update"
)

var errPowerLost = errors.New("power lost")

// crashFS cuts the power after a number of writes: the write that would
// exceed it, and every one after, does nothing and fails. Every change
// (a file write, a rename, a symlink, a removal, a directory creation or
// sync) is one write.
type crashFS struct {
	slot.FS
	left   int
	dead   bool
	writes int
}

func (c *crashFS) step() error {
	if c.dead || c.left == 0 {
		c.dead = true
		return errPowerLost
	}
	c.left--
	c.writes++
	return nil
}

func (c *crashFS) MkdirAll(n string, p fs.FileMode) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.FS.MkdirAll(n, p)
}

func (c *crashFS) Create(n string, p fs.FileMode) (slot.File, error) {
	if err := c.step(); err != nil {
		return nil, err
	}
	f, err := c.FS.Create(n, p)
	if err != nil {
		return nil, err
	}
	return &crashFile{File: f, c: c}, nil
}

func (c *crashFS) Rename(a, b string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.FS.Rename(a, b)
}

func (c *crashFS) RemoveAll(n string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.FS.RemoveAll(n)
}

func (c *crashFS) Symlink(a, b string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.FS.Symlink(a, b)
}

func (c *crashFS) SyncDir(n string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.FS.SyncDir(n)
}

type crashFile struct {
	slot.File
	c *crashFS
}

func (f *crashFile) Write(p []byte) (int, error) {
	if err := f.c.step(); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *crashFile) Sync() error {
	if err := f.c.step(); err != nil {
		return err
	}
	return f.File.Sync()
}

// TestPowerLossAfterEveryWrite cuts the power after write n of a whole
// update (install, switch, first start, health check, commit), for every
// n, then starts the kiosk the way systemd does (Start, then the slot's
// kiosk): it must always start a whole, verified version, and the update
// must then complete.
func TestPowerLossAfterEveryWrite(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 3000))
	ctx := context.Background()
	checks := []update.Check{pass("reader"), pass("store"), pass("broker"), pass("config"), pass("ui")}
	for n := 0; ; n++ {
		s := newStation(t, kit)
		cfs := &crashFS{FS: slot.OS{}, left: n}
		onCrash := &slot.Slots{Root: s.slots.Root, FS: cfs}
		u := s.updater(t, update.Program{Slots: onCrash})
		err := u.Apply(ctx, offer(kit, "1.1.0", "kiosk-1.1.0.tar"))
		if err == nil {
			onCrash.Start()
			s.updater(t, update.Program{Slots: onCrash}).Confirm(ctx, checks, time.Second, time.Millisecond)
		}
		if !cfs.dead {
			if s.running(t) != "1.1.0" {
				t.Fatalf("without a power cut the update ended on %s", s.running(t))
			}
			t.Logf("a whole update is %d writes; the power was cut after each", cfs.writes)
			break
		}
		// Power back on.
		if _, _, err := s.slots.Start(); err != nil {
			t.Fatalf("cut after write %d: start: %v", n, err)
		}
		v := s.running(t) // fails the test unless current is whole
		if v != "1.0.0" && v != "1.1.0" {
			t.Fatalf("cut after write %d: running %s", n, v)
		}
		// The new kiosk (if on trial) confirms; otherwise the offer comes
		// again and the update completes.
		if err := s.updater(t, update.Program{Slots: s.slots}).Confirm(ctx, checks, time.Second, time.Millisecond); err != nil {
			t.Fatalf("cut after write %d: confirm: %v", n, err)
		}
		if s.running(t) != "1.1.0" {
			if err := s.updater(t, update.Program{Slots: s.slots}).Apply(ctx, offer(kit, "1.1.0", "kiosk-1.1.0.tar")); err != nil {
				t.Fatalf("cut after write %d: second apply: %v", n, err)
			}
			s.slots.Start()
			if err := s.updater(t, update.Program{Slots: s.slots}).Confirm(ctx, checks, time.Second, time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if s.running(t) != "1.1.0" {
			t.Fatalf("cut after write %d: the update did not complete afterwards", n)
		}
	}
}
