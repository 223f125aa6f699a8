package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"
)

// KeySetKind is the Kind of every key set. It keeps a signed key set from
// being taken for any other signed document, and the other way round.
const KeySetKind = "issuer_key_set"

// MaxIssuerKeys bounds the keys of a key set.
const MaxIssuerKeys = 32

// KeySet is the list of card-issuer keys a kiosk trusts. It is signed
// offline with the issuer root key (`leifeng-card keyset sign`), whose
// public half reaches the kiosk only at provisioning (the station bundle or
// --issuer-root), never online. The cloud relays the signed key set inside
// a config (Config.KeySet) and cannot change it: the cloud's online config
// key alone can no longer make a kiosk trust a new card issuer.
type KeySet struct {
	V int `json:"v"`
	// Kind is KeySetKind.
	Kind string `json:"kind"`
	// Version rises with every key set the root signs; a kiosk never goes
	// back to a lower one.
	Version uint64    `json:"version"`
	Issued  time.Time `json:"issued"`
	// Expires bounds how long an old key set can be shown to a kiosk that
	// has not seen a newer one (a fresh kiosk, after an issuer key was
	// revoked). A kiosk keeps using the newest set it has past this date,
	// so volunteers are never locked out; it only refuses to take up an
	// expired one.
	Expires time.Time `json:"expires"`
	// Keys are the trusted issuer public keys.
	Keys []TrustedKey `json:"keys"`
	// RevokedKeys are issuer key IDs no kiosk may trust any longer,
	// whatever else names them (its start-up flags, its bundle).
	RevokedKeys []uint16 `json:"revoked_keys,omitempty"`
}

// EncodeKeySet sets k's schema version and kind, validates it and
// marshals it: the bytes the issuer root signs.
func EncodeKeySet(k *KeySet) ([]byte, error) {
	k.V, k.Kind = Version, KeySetKind
	if err := validateKeySet(k); err != nil {
		return nil, err
	}
	return json.Marshal(k)
}

// SealKeySet signs k with the issuer root key root, named rootID, and
// returns the envelope a config carries in its key_set field.
func SealKeySet(root ed25519.PrivateKey, rootID string, k *KeySet) (*Envelope, error) {
	payload, err := EncodeKeySet(k)
	if err != nil {
		return nil, err
	}
	sealed, err := Seal(root, rootID, payload)
	if err != nil {
		return nil, err
	}
	env := new(Envelope)
	return env, json.Unmarshal(sealed, env)
}

// OpenKeySet verifies a key set's envelope against the issuer root keys,
// by root key ID, and decodes it. It does not look at the clock: the
// caller checks Expires. Errors wrap ErrSignature (no root, unknown root,
// bad signature), ErrMalformed, ErrVersion or ErrInvalid.
func OpenKeySet(env *Envelope, roots map[string]ed25519.PublicKey) (*KeySet, error) {
	if env == nil {
		return nil, fmt.Errorf("%w: key set: no envelope", ErrInvalid)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: key set signed by %q, but this kiosk was provisioned with no issuer root key", ErrSignature, env.Key)
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	payload, _, err := Open(raw, roots)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	k := new(KeySet)
	if err := decode(payload, k, &k.V); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	if err := validateKeySet(k); err != nil {
		return nil, err
	}
	return k, nil
}

func validateKeySet(k *KeySet) error {
	v := &validator{}
	if k.Kind != KeySetKind {
		v.fail("key set kind %q, want %q", k.Kind, KeySetKind)
	}
	if k.Version < 1 {
		v.fail("key set version must be at least 1")
	}
	if k.Expires.IsZero() || !k.Expires.After(k.Issued) {
		v.fail("key set must expire after it is issued")
	}
	validIssuerKeys(v, "key set keys", k.Keys)
	if len(k.RevokedKeys) > 1024 {
		v.fail("key set revokes %d keys, at most 1024", len(k.RevokedKeys))
	}
	for _, id := range k.RevokedKeys {
		for _, key := range k.Keys {
			if key.ID == id {
				v.fail("key set both trusts and revokes key %d", id)
			}
		}
	}
	return v.err
}

// validIssuerKeys checks a list of issuer keys: Ed25519 size, unique IDs.
func validIssuerKeys(v *validator, at string, keys []TrustedKey) {
	v.count(at, len(keys), MaxIssuerKeys)
	ids := map[uint16]bool{}
	for i, k := range keys {
		if len(k.PublicKey) != ed25519.PublicKeySize {
			v.fail("%s[%d].public_key is %d bytes, want %d", at, i, len(k.PublicKey), ed25519.PublicKeySize)
		}
		if ids[k.ID] {
			v.fail("%s[%d].id %d repeats", at, i, k.ID)
		}
		ids[k.ID] = true
	}
}
