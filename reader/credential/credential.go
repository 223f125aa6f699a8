package credential

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Version is the newest layout version: 2, which adds the volunteer's
// masked display name. Sign writes version 1 for a credential without a
// name, so such a card still reads on a kiosk that knows only version 1;
// Decode reads both.
const Version = 2

// MIMEType is the NDEF record type that carries a credential.
const MIMEType = "application/vnd.leifeng.card"

// Limits of the variable fields.
const (
	MaxVolunteerLen = 64
	MaxSerialLen    = 32
	// MaxNameLen bounds the display name: a masked Chinese name (张*明) is
	// 7 to 12 bytes, and the whole credential must fit an NTAG213.
	MaxNameLen    = 32
	SignatureSize = ed25519.SignatureSize
)

const signingContext = "leifeng-card-v1"

// NotBeforeSlack is how far ahead of the kiosk's clock a credential's issue
// date (midnight CST of the issue day) may lie and the card still be
// accepted: the small disagreement between the issuing desk's clock and
// the kiosk's, never a card dated for another day.
const NotBeforeSlack = time.Hour

// cst is China Standard Time; expiry dates are civil dates in Pu'er.
var cst = time.FixedZone("CST", 8*3600)

// Credential is the content of a volunteer card.
type Credential struct {
	// Version is the layout version (1, or 2 with a Name).
	Version uint8
	// KeyID names the issuer key that signed the credential.
	KeyID uint16
	// UID is the card UID the credential is bound to.
	UID []byte
	// Volunteer is the registered volunteer's ID.
	Volunteer string
	// Serial identifies this credential; revocations name it.
	Serial string
	// Name is the volunteer's display name, masked as a public screen may
	// show it (张*明), so a kiosk that has never seen the volunteer greets
	// them by it while offline. Empty in version 1. The signature covers
	// it.
	Name string
	// Issued is the issue date (midnight CST of that day).
	Issued time.Time
	// Expires is the last day the credential is valid (midnight CST).
	Expires time.Time
	// Signature is the issuer's Ed25519 signature.
	Signature []byte

	// IssuedAhead is set by Verify on a credential it accepted although its
	// issue date lies ahead of the kiosk's clock, because that clock is not
	// synchronised and so cannot be believed (see Verifier.Synced). The
	// caller flags the tap for review. It is not part of the card.
	IssuedAhead bool
}

// credError is a sentinel that also matches a broader sentinel, so that a
// caller who only cares whether a card is genuine can test ErrForged.
type credError struct {
	msg    string
	parent error
}

func (e *credError) Error() string        { return e.msg }
func (e *credError) Is(target error) bool { return e.parent != nil && target == e.parent }

// Sentinel errors. Test with errors.Is: ErrWrongCard, ErrUnknownKey and
// ErrMalformed also match ErrForged, since each means the card cannot be
// shown to be genuine.
var (
	ErrForged           = errors.New("credential: signature does not verify")
	ErrMalformed  error = &credError{"credential: malformed", ErrForged}
	ErrUnknownKey error = &credError{"credential: unknown issuer key", ErrForged}
	ErrWrongCard  error = &credError{"credential: issued for another card UID", ErrForged}
	ErrExpired          = errors.New("credential: expired")
	ErrRevoked          = errors.New("credential: revoked")
	// ErrNotYetValid: the credential's issue date is still ahead (beyond
	// NotBeforeSlack) of a synchronised clock.
	ErrNotYetValid = errors.New("credential: not yet valid")
)

func dayOf(t time.Time) uint16 {
	y, m, d := t.In(cst).Date()
	return uint16(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateOf(days uint16) time.Time {
	u := time.Unix(int64(days)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, cst)
}

func validUID(uid []byte) bool {
	return len(uid) == 4 || len(uid) == 7 || len(uid) == 10
}

// signedBytes returns the layout without the signature.
func (c *Credential) signedBytes() ([]byte, error) {
	if !validUID(c.UID) {
		return nil, fmt.Errorf("%w: UID of %d bytes", ErrMalformed, len(c.UID))
	}
	if n := len(c.Volunteer); n == 0 || n > MaxVolunteerLen || !utf8.ValidString(c.Volunteer) {
		return nil, fmt.Errorf("%w: volunteer ID of %d bytes", ErrMalformed, n)
	}
	if n := len(c.Serial); n == 0 || n > MaxSerialLen || !utf8.ValidString(c.Serial) {
		return nil, fmt.Errorf("%w: serial of %d bytes", ErrMalformed, n)
	}
	if n := len(c.Name); n > MaxNameLen || !utf8.ValidString(c.Name) {
		return nil, fmt.Errorf("%w: name of %d bytes", ErrMalformed, n)
	}
	v := c.Version
	if v == 0 {
		v = layoutFor(c.Name)
	}
	if v == 1 && c.Name != "" {
		return nil, fmt.Errorf("%w: a name needs layout version 2", ErrMalformed)
	}
	b := []byte{v}
	b = binary.BigEndian.AppendUint16(b, c.KeyID)
	b = append(b, byte(len(c.UID)))
	b = append(b, c.UID...)
	b = append(b, byte(len(c.Volunteer)))
	b = append(b, c.Volunteer...)
	b = append(b, byte(len(c.Serial)))
	b = append(b, c.Serial...)
	if v >= 2 {
		b = append(b, byte(len(c.Name)))
		b = append(b, c.Name...)
	}
	b = binary.BigEndian.AppendUint16(b, dayOf(c.Issued))
	b = binary.BigEndian.AppendUint16(b, dayOf(c.Expires))
	return b, nil
}

// layoutFor is the oldest layout that carries a credential with name.
func layoutFor(name string) uint8 {
	if name == "" {
		return 1
	}
	return 2
}

func message(signed []byte) []byte {
	return append([]byte(signingContext), signed...)
}

// Sign sets c.Version (1 without a Name, 2 with one) and c.Signature and
// returns the encoded credential.
func (c *Credential) Sign(keyID uint16, priv ed25519.PrivateKey) ([]byte, error) {
	c.Version = layoutFor(c.Name)
	c.KeyID = keyID
	signed, err := c.signedBytes()
	if err != nil {
		return nil, err
	}
	c.Signature = ed25519.Sign(priv, message(signed))
	c.Issued = dateOf(dayOf(c.Issued))
	c.Expires = dateOf(dayOf(c.Expires))
	return append(signed, c.Signature...), nil
}

// Decode parses an encoded credential without checking its signature.
// Errors match ErrMalformed.
func Decode(b []byte) (*Credential, error) {
	r := reader{b: b}
	c := &Credential{}
	c.Version = r.byte()
	if r.err == nil && (c.Version < 1 || c.Version > Version) {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, c.Version)
	}
	c.KeyID = r.uint16()
	c.UID = r.bytes(int(r.byte()))
	c.Volunteer = string(r.bytes(int(r.byte())))
	c.Serial = string(r.bytes(int(r.byte())))
	if c.Version >= 2 {
		c.Name = string(r.bytes(int(r.byte())))
	}
	c.Issued = dateOf(r.uint16())
	c.Expires = dateOf(r.uint16())
	c.Signature = r.bytes(SignatureSize)
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-r.off)
	}
	if _, err := c.signedBytes(); err != nil {
		return nil, err
	}
	if c.Expires.Before(c.Issued) {
		return nil, fmt.Errorf("%w: expires before issued", ErrMalformed)
	}
	return c, nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: truncated at byte %d", ErrMalformed, r.off)
		return nil
	}
	v := append([]byte(nil), r.b[r.off:r.off+n]...)
	r.off += n
	return v
}

func (r *reader) byte() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uint16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// Verifier checks credentials offline. It is safe for concurrent use once
// built: Keys and Revoked are the initial trust set, set before the first
// Verify and not changed after; Update swaps in a new set atomically while
// Verify runs on other goroutines (a config applied live).
type Verifier struct {
	// Keys are the trusted issuer public keys by key ID, used until the
	// first Update.
	Keys map[uint16]ed25519.PublicKey
	// Revoked holds revoked credential serials, used until the first
	// Update.
	Revoked map[string]bool
	// Now is the clock for expiry and the not-before check; nil means
	// time.Now.
	Now func() time.Time
	// Synced reports whether Now is synchronised (NTP); nil means it is.
	// A Raspberry Pi has no real-time clock: after a power cut without
	// network its clock may be days or years behind, and a card issued
	// today would look issued in the future. On an unsynced clock Verify
	// therefore accepts a card that seems not yet valid, marks it
	// IssuedAhead so the tap is flagged for a person to review, and leaves
	// the final word to the cloud, which knows the true time. On a synced
	// clock it refuses it (ErrNotYetValid).
	Synced func() bool

	trust atomic.Pointer[trustSet]
}

// trustSet is an immutable snapshot of the keys and revocations.
type trustSet struct {
	keys    map[uint16]ed25519.PublicKey
	revoked map[string]bool
}

// Update replaces the trusted issuer keys and the revocation list, both at
// once: a Verify running concurrently sees either the old set or the new
// one, never half of each. The maps are copied; the caller may reuse them.
// Once Update is called, the Keys and Revoked fields are no longer read.
func (v *Verifier) Update(keys map[uint16]ed25519.PublicKey, revoked map[string]bool) {
	ts := &trustSet{keys: make(map[uint16]ed25519.PublicKey, len(keys)), revoked: maps.Clone(revoked)}
	for id, k := range keys {
		ts.keys[id] = slices.Clone(k)
	}
	v.trust.Store(ts)
}

// Trusted returns copies of the issuer keys and revocations in use (the
// last Update's, or the Keys and Revoked fields before any), never nil.
func (v *Verifier) Trusted() (map[uint16]ed25519.PublicKey, map[string]bool) {
	keys, revoked := v.current()
	k, r := make(map[uint16]ed25519.PublicKey, len(keys)), make(map[string]bool, len(revoked))
	maps.Copy(k, keys)
	maps.Copy(r, revoked)
	return k, r
}

func (v *Verifier) current() (map[uint16]ed25519.PublicKey, map[string]bool) {
	if ts := v.trust.Load(); ts != nil {
		return ts.keys, ts.revoked
	}
	return v.Keys, v.Revoked
}

// HasKeys reports whether any issuer key is trusted: whether the verifier
// can accept a card at all.
func (v *Verifier) HasKeys() bool {
	keys, _ := v.current()
	return len(keys) > 0
}

// Verify decodes payload and checks, in order: layout (ErrMalformed),
// issuer key (ErrUnknownKey), signature (ErrForged), that the credential
// was issued for the card it was read from (ErrWrongCard), revocation
// (ErrRevoked), expiry (ErrExpired) and issue date (ErrNotYetValid, or
// IssuedAhead on an unsynced clock; see Synced). The credential is returned with
// every error after decoding, so a caller that must say which card it was
// (the card tool, the admin's reader test) reads c.Serial and c.UID. The
// errors' text names neither: it is logged on every refused tap at a public
// kiosk, and a serial in a routine log ties a person to a card.
func (v *Verifier) Verify(uid, payload []byte) (*Credential, error) {
	c, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	keys, revoked := v.current()
	pub, ok := keys[c.KeyID]
	if !ok || len(pub) != ed25519.PublicKeySize {
		return c, fmt.Errorf("%w: key %d", ErrUnknownKey, c.KeyID)
	}
	signed := payload[:len(payload)-SignatureSize]
	if !ed25519.Verify(pub, message(signed), c.Signature) {
		return c, fmt.Errorf("%w (issuer key %d)", ErrForged, c.KeyID)
	}
	if string(c.UID) != string(uid) {
		return c, ErrWrongCard
	}
	if revoked[c.Serial] {
		return c, ErrRevoked
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if !now.Before(c.Expires.AddDate(0, 0, 1)) {
		return c, fmt.Errorf("%w on %s", ErrExpired, c.Expires.Format("2006-01-02"))
	}
	if now.Add(NotBeforeSlack).Before(c.Issued) {
		if v.Synced == nil || v.Synced() {
			return c, fmt.Errorf("%w: issued for %s", ErrNotYetValid, c.Issued.Format("2006-01-02"))
		}
		c.IssuedAhead = true
	}
	return c, nil
}
