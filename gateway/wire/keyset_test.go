package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestKeySet: a key set sealed with the issuer root opens with the root's
// public key only; one sealed with any other key, or altered, does not.
func TestKeySet(t *testing.T) {
	root := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	issuer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ks := &KeySet{Version: 3, Issued: now, Expires: now.AddDate(0, 6, 0),
		Keys: []TrustedKey{{ID: 1, PublicKey: issuer}}, RevokedKeys: []uint16{2}}
	env, err := SealKeySet(root, "root-1", ks)
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]ed25519.PublicKey{"root-1": root.Public().(ed25519.PublicKey)}
	got, err := OpenKeySet(env, roots)
	if err != nil || got.Version != 3 || len(got.Keys) != 1 || got.RevokedKeys[0] != 2 {
		t.Fatalf("open: %+v %v", got, err)
	}
	// The config that relays it validates and round-trips it.
	doc, err := DecodeConfig(mustEncode(t, &Config{Version: 1, KeySet: env}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeySet(doc.KeySet, roots); err != nil {
		t.Fatalf("relayed key set: %v", err)
	}

	forged, _ := SealKeySet(other, "root-1", ks)
	if _, err := OpenKeySet(forged, roots); !errors.Is(err, ErrSignature) {
		t.Fatalf("key set signed by another key: %v", err)
	}
	if _, err := OpenKeySet(env, nil); !errors.Is(err, ErrSignature) {
		t.Fatalf("no root provisioned: %v", err)
	}
	altered := *env
	altered.Payload = bytes.Replace(env.Payload, []byte(`"version":3`), []byte(`"version":4`), 1)
	if _, err := OpenKeySet(&altered, roots); !errors.Is(err, ErrSignature) {
		t.Fatalf("altered key set: %v", err)
	}
	// A config key cannot stand in for the root: a config-shaped payload
	// signed by the root is not a key set either.
	cfg, _ := Seal(root, "root-1", []byte(`{"v":1,"version":5}`))
	var e Envelope
	json.Unmarshal(cfg, &e)
	if _, err := OpenKeySet(&e, roots); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a config signed by the root taken for a key set: %v", err)
	}
	if _, err := SealKeySet(root, "root-1", &KeySet{Version: 1, Issued: now, Expires: now.Add(time.Hour),
		Keys: []TrustedKey{{ID: 2, PublicKey: issuer}}, RevokedKeys: []uint16{2}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key set that trusts and revokes one key: %v", err)
	}
}

func mustEncode(t *testing.T, c *Config) []byte {
	t.Helper()
	b, err := EncodeConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzOpenKeySet: whatever envelope a config relays, OpenKeySet neither
// panics nor accepts one the root did not sign.
func FuzzOpenKeySet(f *testing.F) {
	root := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	env, _ := SealKeySet(root, "root-1", &KeySet{Version: 1, Issued: now, Expires: now.AddDate(1, 0, 0)})
	good, _ := json.Marshal(env)
	f.Add(good)
	f.Add([]byte(`{"v":1,"key":"root-1","payload":"e30=","sig":""}`))
	roots := map[string]ed25519.PublicKey{"root-1": root.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := new(Envelope)
		if json.Unmarshal(data, e) != nil {
			return
		}
		ks, err := OpenKeySet(e, roots)
		if err == nil && !ed25519.Verify(roots["root-1"], e.Payload, e.Sig) {
			t.Fatalf("accepted an unsigned key set: %+v", ks)
		}
	})
}
