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
	"leifeng/firmware/repo"
	"leifeng/gateway/wire"
	"leifeng/kiosk/update"
)

func TestProgramEndToEnd(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 200_000))
	s := newStation(t, kit)
	u := s.updater(t, update.Program{Slots: s.slots})
	ctx := context.Background()
	if err := u.Apply(ctx, offer(kit, "1.1.0", "kiosk-1.1.0.tar")); err != nil {
		t.Fatal(err)
	}
	// systemd restarts the kiosk: ExecStartPre runs Start, then the new
	// slot's kiosk runs Confirm.
	slot, _, err := s.slots.Start()
	if err != nil || slot != "b" {
		t.Fatalf("start: %s %v", slot, err)
	}
	u2 := s.updater(t, update.Program{Slots: s.slots})
	checks := []update.Check{pass("reader"), pass("store"), pass("broker"), pass("config"), pass("ui")}
	if err := u2.Confirm(ctx, checks, 5*time.Second, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []string{wire.UpdateOffered, wire.UpdateDownloading, wire.UpdateVerified, wire.UpdateInstalled, wire.UpdateTrying, wire.UpdateCommitted}
	if got := s.steps.names(); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if v := s.running(t); v != "1.1.0" {
		t.Fatalf("running %s after commit", v)
	}
	if left, _ := filepath.Glob(filepath.Join(s.data, "downloads", "*")); len(left) > 0 {
		t.Fatalf("downloads kept after commit: %v", left)
	}
	// Restarted again: committed stays.
	if slot, st, err := s.slots.Start(); err != nil || slot != "b" || st.Outcome != "committed" {
		t.Fatalf("after commit, start: %s %+v %v", slot, st, err)
	}
}

func TestHealthCheckFailsRollsBack(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
	s := newStation(t, kit)
	ctx := context.Background()
	if err := s.updater(t, update.Program{Slots: s.slots}).Apply(ctx, offer(kit, "1.1.0", "kiosk-1.1.0.tar")); err != nil {
		t.Fatal(err)
	}
	s.slots.Start()
	passes := 0
	checks := []update.Check{
		pass("reader"),
		update.CheckFunc("store", func(context.Context) error {
			// The outbox check passes twice, then the "UI" never comes up:
			// nothing is committed on a partial pass.
			passes++
			return nil
		}),
		update.CheckFunc("ui", func(context.Context) error { return errors.New("no screen") }),
	}
	err := s.updater(t, update.Program{Slots: s.slots}).Confirm(ctx, checks, 50*time.Millisecond, 5*time.Millisecond)
	if !errors.Is(err, update.ErrRolledBack) {
		t.Fatalf("confirm: %v", err)
	}
	last := s.steps.last()
	if last.Step != wire.UpdateRolledBack || !strings.Contains(last.Reason, "ui: no screen") || !strings.Contains(last.Reason, "退回") {
		t.Fatalf("last report %+v", last)
	}
	slot, st, err := s.slots.Start()
	if err != nil || slot != "a" || st.Outcome != "rolled_back" || !strings.Contains(st.Reason, "no screen") {
		t.Fatalf("after rollback: %s %+v %v", slot, st, err)
	}
	if v := s.running(t); v != "1.0.0" {
		t.Fatalf("running %s", v)
	}
}

func TestHungTrialRollsBackOnNextStart(t *testing.T) {
	kit := releasetest.New(t)
	kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
	s := newStation(t, kit)
	if err := s.updater(t, update.Program{Slots: s.slots}).Apply(context.Background(), offer(kit, "1.1.0", "kiosk-1.1.0.tar")); err != nil {
		t.Fatal(err)
	}
	if slot, _, _ := s.slots.Start(); slot != "b" {
		t.Fatalf("trial start in %s", slot)
	}
	// The new kiosk hangs; the watchdog kills it; systemd starts again.
	slot, st, err := s.slots.Start()
	if err != nil || slot != "a" || st.Outcome != "rolled_back" {
		t.Fatalf("second start: %s %+v %v", slot, st, err)
	}
	if v := s.running(t); v != "1.0.0" {
		t.Fatalf("running %s", v)
	}
	// The old kiosk starts and reports how the update ended.
	if err := s.updater(t, update.Program{Slots: s.slots}).Confirm(context.Background(), nil, time.Second, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if last := s.steps.last(); last.Step != wire.UpdateRolledBack || last.Version != "1.1.0" || !strings.Contains(last.Reason, "without confirming") {
		t.Fatalf("reported %+v", last)
	}
}

func TestRefusedBeforeAnythingWritten(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer
		want  error
	}{
		{"bad signature", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
			corruptSignature(t, kit)
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, fetch.ErrMetadata},
		{"expired metadata", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Repo.Now = func() time.Time { return time.Now().Add(-repo.DefaultExpiry.Timestamp - time.Hour) }
			kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, fetch.ErrMetadata},
		{"rolled-back version", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-0.9.0.tar", programManifest("0.9.0"), programFiles("0.9.0", 1000))
			return offer(kit, "0.9.0", "kiosk-0.9.0.tar")
		}, update.ErrRollback},
		{"same version", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.0.0.tar", programManifest("1.0.0"), programFiles("1.0.0", 1000))
			return offer(kit, "1.0.0", "kiosk-1.0.0.tar")
		}, update.ErrRollback},
		{"wrong board", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			m := programManifest("1.1.0")
			m.Board = "rpi3"
			kit.Publish(t, "kiosk-1.1.0.tar", m, programFiles("1.1.0", 1000))
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, update.ErrWrongBoard},
		{"wrong architecture", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			m := programManifest("1.1.0")
			m.Arch = "armv6"
			kit.Publish(t, "kiosk-1.1.0.tar", m, programFiles("1.1.0", 1000))
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, update.ErrWrongBoard},
		{"config too old", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			m := programManifest("1.1.0")
			m.MinConfigVersion = 9
			kit.Publish(t, "kiosk-1.1.0.tar", m, programFiles("1.1.0", 1000))
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, update.ErrConfigTooOld},
		{"image release on program slots", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			m := programManifest("1.1.0")
			m.Kind = release.KindImage
			kit.Publish(t, "image-1.1.0.tar", m, map[string][]byte{release.BootImage: []byte("b"), release.RootImage: []byte("r")})
			return offer(kit, "1.1.0", "image-1.1.0.tar")
		}, update.ErrWrongKind},
		{"offer names another version", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
			return offer(kit, "1.2.0", "kiosk-1.1.0.tar")
		}, update.ErrOfferMismatch},
		{"truncated download", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 5000))
			alterTarget(t, kit, func(b []byte) []byte { return b[:len(b)-512] })
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, nil},
		{"altered download", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 5000))
			alterTarget(t, kit, func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b })
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, fetch.ErrCorrupt},
		{"key not current after rotation", func(t *testing.T, kit *releasetest.Kit) wire.UpdateOffer {
			kit.Publish(t, "kiosk-1.0.5.tar", programManifest("1.0.5"), programFiles("1.0.5", 1000))
			old := retiredTargetsKey(t, kit)
			signWithKey(t, kit, old, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", 1000))
			return offer(kit, "1.1.0", "kiosk-1.1.0.tar")
		}, fetch.ErrMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kit := releasetest.New(t)
			s := newStation(t, kit)
			o := c.setup(t, kit)
			before := tree(t, s.slots.Root)
			u := s.updater(t, update.Program{Slots: s.slots})
			u.Fetch.Retries = 2
			err := u.Apply(ctx, o)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("apply: %v, want %v", err, c.want)
			}
			if after := tree(t, s.slots.Root); after != before {
				t.Fatalf("slots changed by a refused update:\n%s\n---\n%s", before, after)
			}
			last := s.steps.last()
			if last.Step != wire.UpdateFailed || last.Reason == "" {
				t.Fatalf("last report %+v", last)
			}
			if slices.Contains(s.steps.names(), wire.UpdateVerified) {
				t.Fatalf("reported verified: %v", s.steps.names())
			}
			t.Logf("reason: %s", last.Reason)
			if slot, _, err := s.slots.Start(); err != nil || slot != "a" || s.running(t) != "1.0.0" {
				t.Fatalf("start after refusal: %s %v", slot, err)
			}
			if c.name == "altered download" || c.name == "truncated download" {
				if left, _ := filepath.Glob(filepath.Join(s.data, "downloads", "*.bundle")); len(left) > 0 {
					t.Fatalf("bad download kept: %v", left)
				}
			}
		})
	}
}
