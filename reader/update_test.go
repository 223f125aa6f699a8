package reader_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"

	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

// Keys and revocations swapped while taps are read on other goroutines:
// every tap sees one set or the other, and the next tap after a swap sees
// the new one. Run with -race.
func TestUpdateWhileTapping(t *testing.T) {
	cfg := config()
	keys, _ := cfg.Verifier.Trusted()
	revoked := map[string]bool{"C2026-000123": true}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 64)
	for i := 0; i < 4; i++ {
		im := issue(t, "ntag215", uid7, credentialFor(t, uid7, nil))
		wg.Go(func() {
			for n := 0; n < 40; n++ {
				_, err := cardimage.Read(context.Background(), im, cfg)
				if err != nil && !errors.Is(err, reader.ErrRevoked) {
					errs <- err
					return
				}
			}
		})
	}
	var swaps sync.WaitGroup
	swaps.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				cfg.Verifier.Update(keys, revoked)
			} else {
				cfg.Verifier.Update(keys, nil)
			}
			_, _ = cfg.Verifier.Trusted()
		}
	})
	wg.Wait()
	close(stop)
	swaps.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("tap during swaps: %v", err)
	}

	// Through the reader loop: revoked, then trusted again, each live.
	g := newRig(t)
	g.r = reader.NewReader(g.dev, cfg, quiet)
	tap := func() error {
		t.Helper()
		g.chip.Remove()
		g.poll(t, 3)
		g.chip.Place(card(t, issue(t, "classic1k", uid4, credentialFor(t, uid4, nil))))
		ev, ok := g.poll(t, 2)
		if !ok {
			t.Fatal("no tap")
		}
		return ev.Err
	}
	cfg.Verifier.Update(keys, revoked)
	if err := tap(); !errors.Is(err, reader.ErrRevoked) {
		t.Fatalf("revoked card: %v", err)
	}
	cfg.Verifier.Update(keys, nil)
	if err := tap(); err != nil {
		t.Fatalf("revocation lifted: %v", err)
	}
}

func TestUpdateTrustsNewKey(t *testing.T) {
	cfg := config()
	newKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x43}, 32))
	c := &credential.Credential{
		UID: uid7, Volunteer: "PE-530802-000777", Serial: "C2026-000777",
		Issued: today.AddDate(0, -1, 0), Expires: today.AddDate(1, 0, 0),
	}
	cred, err := c.Sign(9, newKey)
	if err != nil {
		t.Fatal(err)
	}
	im := issue(t, "ntag215", uid7, cred)
	if _, err := cardimage.Read(context.Background(), im, cfg); !errors.Is(err, credential.ErrUnknownKey) {
		t.Fatalf("before the key is trusted: %v", err)
	}
	keys, revoked := cfg.Verifier.Trusted()
	keys[9] = newKey.Public().(ed25519.PublicKey)
	cfg.Verifier.Update(keys, revoked)
	delete(keys, 9) // Update copied the map
	tap, err := cardimage.Read(context.Background(), im, cfg)
	if err != nil || tap.Volunteer != "PE-530802-000777" {
		t.Fatalf("after the key is trusted: %v %+v", err, tap)
	}
	if k, _ := cfg.Verifier.Trusted(); len(k) != 2 || cfg.Verifier.Keys[9] != nil {
		t.Fatalf("trusted %v, initial field %v", k, cfg.Verifier.Keys)
	}
}
