package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"leifeng/gateway/wire"
)

// rootFixture is a kiosk provisioned with an issuer root key.
func rootFixture(t *testing.T, synced *bool) (*fixture, ed25519.PrivateKey) {
	t.Helper()
	root := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x52}, 32))
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := &fixture{dir: t.TempDir(), priv: priv, pub: pub, now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	f.tune = func(o *Options) {
		o.IssuerRoots = map[string]ed25519.PublicKey{"root-1": root.Public().(ed25519.PublicKey)}
		o.Synced = func() bool { return *synced }
	}
	f.open(t)
	return f, root
}

func issuerKey(seed byte) wire.TrustedKey {
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	return wire.TrustedKey{ID: uint16(seed), PublicKey: k.Public().(ed25519.PublicKey)}
}

func keySet(t *testing.T, root ed25519.PrivateKey, version uint64, issued time.Time, keys ...wire.TrustedKey) *wire.Envelope {
	t.Helper()
	env, err := wire.SealKeySet(root, "root-1", &wire.KeySet{Version: version, Issued: issued, Expires: issued.AddDate(0, 6, 0), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestBareIssuerKeysRefused: the cloud's config key alone cannot make a
// kiosk trust a card issuer. A document with trusted_keys is refused with
// a reason the state reports; so is a key set signed by anything but the
// provisioned issuer root. Nothing changes the keys in use.
func TestBareIssuerKeysRefused(t *testing.T) {
	synced := true
	f, _ := rootFixture(t, &synced)
	attacker := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x66}, 32))

	err := f.m.Offer(Station, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 1, Station: "pe-a", TrustedKeys: []wire.TrustedKey{issuerKey(7)}}))
	if !errors.Is(err, wire.ErrInvalid) || !strings.Contains(f.m.Status().StationError, "key_set") {
		t.Fatalf("bare trusted_keys: %v; state says %q", err, f.m.Status().StationError)
	}
	forged := keySet(t, attacker, 1, f.now, issuerKey(7))
	err = f.m.Offer(Station, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 2, Station: "pe-a", KeySet: forged}))
	if !errors.Is(err, wire.ErrSignature) {
		t.Fatalf("key set signed by the attacker: %v", err)
	}
	if f.m.KeySet() != nil || f.m.Status().StationVersion != 0 {
		t.Fatalf("refused documents changed the kiosk: %+v", f.m.Status())
	}
}

// TestKeySetApplied: a root-signed key set relayed in a config is used,
// survives a restart and a later document without a key set, and is never
// replaced by an older one; an expired one is refused on a synced clock
// and taken on an unsynced one.
func TestKeySetApplied(t *testing.T) {
	synced := true
	f, root := rootFixture(t, &synced)
	if err := f.m.Offer(Fleet, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 1, KeySet: keySet(t, root, 5, f.now, issuerKey(1))})); err != nil {
		t.Fatal(err)
	}
	if ks := f.m.KeySet(); ks == nil || ks.Version != 5 || ks.Keys[0].ID != 1 || f.m.Status().KeySetVersion != 5 {
		t.Fatalf("key set in use: %+v", ks)
	}
	if err := f.m.Offer(Fleet, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 2})); err != nil {
		t.Fatal(err)
	}
	f.st.Close()
	f.open(t)
	if ks := f.m.KeySet(); ks == nil || ks.Version != 5 {
		t.Fatalf("after a document without key set and a restart: %+v", ks)
	}
	err := f.m.Offer(Station, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 3, Station: "pe-a", KeySet: keySet(t, root, 4, f.now, issuerKey(9))}))
	if !errors.Is(err, ErrKeySetOld) {
		t.Fatalf("older key set: %v", err)
	}
	old := keySet(t, root, 6, f.now.AddDate(-1, 0, 0), issuerKey(2))
	if err := f.m.Offer(Station, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 4, Station: "pe-a", KeySet: old})); !errors.Is(err, ErrKeySetExpired) {
		t.Fatalf("expired key set on a synced clock: %v", err)
	}
	synced = false
	if err := f.m.Offer(Station, f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 5, Station: "pe-a", KeySet: old})); err != nil {
		t.Fatalf("expired key set on an unsynced clock: %v", err)
	}
	if ks := f.m.KeySet(); ks.Version != 6 {
		t.Fatalf("key set %d", ks.Version)
	}
}

// TestMinimumVersion: a fresh kiosk provisioned when the fleet config was
// at version 100 refuses version 99 (an old document, with its old
// revocation list, replayed by the broker) and takes 100.
func TestMinimumVersion(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := &fixture{dir: t.TempDir(), priv: priv, pub: pub, now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	f.tune = func(o *Options) { o.MinVersion = map[Slot]uint64{Fleet: 100} }
	f.open(t)
	err := f.m.Offer(Fleet, f.seal(t, priv, "cloud-1", &wire.Config{Version: 99, Revoked: []string{"OLD"}}))
	if !errors.Is(err, ErrBelowMinimum) || !strings.Contains(f.m.Status().FleetError, "minimum") {
		t.Fatalf("old fleet config on a fresh kiosk: %v", err)
	}
	if err := f.m.Offer(Fleet, f.seal(t, priv, "cloud-1", &wire.Config{Version: 100})); err != nil {
		t.Fatal(err)
	}
}
