// Package config is the kiosk's side of remote configuration and signed
// commands. A Manager holds the config the kiosk runs: the built-in
// defaults until a signed document is applied, then the fleet defaults
// (fleet/config) merged with the station's own document
// (stations/{id}/config), the station winning.
//
// A document is applied only if its Ed25519 envelope verifies with a key
// from the station's bundle, it is for this station (or for the fleet), it
// passes wire.ValidateConfig, its version is newer than the one in use and
// not below the minimum the kiosk was provisioned with, and the card-issuer
// key set it relays, if any, verifies against an issuer root key from
// provisioning. The cloud's config key alone cannot change which card
// issuers a kiosk trusts: a document with bare trusted_keys is refused.
// It is written to bbolt before it is used, so a power cut never leaves the
// kiosk running a config it would not find again on boot; a refused
// document changes nothing but the reason reported in the station state.
package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/store"
)

// Slot names the two documents a kiosk keeps.
type Slot string

// The slots, also their keys in bbolt.
const (
	Fleet   Slot = "fleet"
	Station Slot = "station"
)

const (
	offerKey  = "update_offer"
	keySetKey = "issuer_key_set"
)

// Errors a refusal wraps, besides the wire package's (ErrSignature for a bad
// or untrusted signature, ErrInvalid for a schema violation, ErrMalformed
// for a truncated document, ErrVersion for an unknown schema version).
var (
	// ErrNotNewer: the document's version is not above the one in use.
	ErrNotNewer = errors.New("config: version not newer than the one in use")
	// ErrWrongStation: the document names another station, or a fleet
	// document names a station.
	ErrWrongStation = errors.New("config: document is for another station")
	// ErrReplayed: a command's nonce was already used.
	ErrReplayed = errors.New("command: replayed")
	// ErrUnknownCommand: a verified command this version does not know.
	ErrUnknownCommand = errors.New("command: unknown")
	// ErrBelowMinimum: the document is older than the config in force
	// when the kiosk was provisioned (an old document replayed to a fresh
	// kiosk).
	ErrBelowMinimum = errors.New("config: version below the minimum this kiosk was provisioned with")
	// ErrKeySetOld: the document relays a card-issuer key set older than
	// the one the kiosk uses.
	ErrKeySetOld = errors.New("config: card-issuer key set older than the one in use")
	// ErrKeySetExpired: the document relays a card-issuer key set past its
	// expiry that the kiosk does not use yet.
	ErrKeySetExpired = errors.New("config: card-issuer key set expired")
)

// Options set up a Manager.
type Options struct {
	// Station is this kiosk's station ID.
	Station string
	// Trusted are the cloud's config and command keys by key ID (from the
	// bundle). With none, every document and command is refused.
	Trusted map[string]ed25519.PublicKey
	// IssuerRoots are the issuer root keys by root key ID (from the bundle
	// or --issuer-root) that a relayed card-issuer key set must be signed
	// with. With none, a document relaying a key set is refused.
	IssuerRoots map[string]ed25519.PublicKey
	// MinVersion is, per slot, the lowest document version the kiosk
	// accepts (from the bundle): what was in force at provisioning.
	MinVersion map[Slot]uint64
	// Now is the clock for command and key-set expiry; nil means time.Now.
	Now func() time.Time
	// Synced reports whether Now is synchronised; nil means it is. An
	// expired key set is refused only on a synced clock: a Pi without a
	// real-time clock may think it is any time after a power cut.
	Synced func() bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Status is what the station state reports about configuration.
type Status struct {
	StationVersion, FleetVersion uint64
	StationError, FleetError     string
	UpdateOffered                string
	// KeySetVersion is the version of the card-issuer key set in use, 0
	// for none.
	KeySetVersion uint64
}

type slotState struct {
	doc     *wire.Config
	payload []byte // the signed bytes of doc
	err     string
}

// Manager applies signed configs and commands. Its methods are safe for
// concurrent use.
type Manager struct {
	st   *store.Store
	opt  Options
	log  *slog.Logger
	base *wire.Config

	mu      sync.Mutex
	slots   map[Slot]*slotState
	cur     *wire.Config
	keySet  *wire.KeySet // the newest verified key set seen; nil for none
	offered string
	subs    map[int]chan *wire.Config
	nextSub int
}

// New returns a Manager for st, running the last good documents stored in
// it (checked again against the trusted keys), or the built-in defaults.
func New(st *store.Store, opt Options) (*Manager, error) {
	if !wire.ValidStationID(opt.Station) {
		return nil, fmt.Errorf("config: bad station ID %q", opt.Station)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Synced == nil {
		opt.Synced = func() bool { return true }
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{
		st: st, opt: opt, log: log, base: wire.DefaultConfig(),
		slots: map[Slot]*slotState{Fleet: {}, Station: {}},
		subs:  map[int]chan *wire.Config{},
	}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// load reads the stored documents and the update offer into m.
func (m *Manager) load() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, slot := range []Slot{Fleet, Station} {
		raw, err := m.st.Blob(string(slot))
		if err != nil {
			return err
		}
		if raw == nil {
			continue
		}
		doc, payload, _, err := m.check(slot, raw)
		if err != nil {
			// A key removed from the bundle since: the document is no
			// longer trusted, and the kiosk falls back.
			m.log.Warn("stored config no longer accepted", "slot", slot, "err", err)
			m.slots[slot] = &slotState{err: err.Error()}
			continue
		}
		m.slots[slot] = &slotState{doc: doc, payload: payload}
	}
	ks, err := m.storedKeySet()
	if err != nil {
		return err
	}
	m.keySet = ks
	offer, err := m.st.Blob(offerKey)
	if err != nil {
		return err
	}
	var o wire.UpdateOffer
	if offer != nil && json.Unmarshal(offer, &o) == nil {
		m.offered = o.Version
	}
	m.cur = wire.MergeConfig(m.base, m.slots[Fleet].doc, m.slots[Station].doc)
	return nil
}

// storedKeySet reads the key set in use from bbolt and verifies it again
// against the issuer roots; nil if there is none or it is no longer
// trusted (a root removed from provisioning since).
func (m *Manager) storedKeySet() (*wire.KeySet, error) {
	raw, err := m.st.Blob(keySetKey)
	if err != nil || raw == nil {
		return nil, err
	}
	env := new(wire.Envelope)
	if err := json.Unmarshal(raw, env); err != nil {
		m.log.Warn("stored card-issuer key set unreadable", "err", err)
		return nil, nil
	}
	ks, err := wire.OpenKeySet(env, m.opt.IssuerRoots)
	if err != nil {
		m.log.Warn("stored card-issuer key set no longer accepted", "err", err)
		return nil, nil
	}
	if m.opt.Synced() && m.opt.Now().After(ks.Expires) {
		m.log.Warn("card-issuer key set in use has expired; it stays in use until a newer one arrives", "key_set", ks.Version, "expires", ks.Expires)
	}
	return ks, nil
}

// check verifies and decodes a signed document for slot, and the key set
// it relays (nil if none).
func (m *Manager) check(slot Slot, data []byte) (*wire.Config, []byte, *wire.KeySet, error) {
	payload, _, err := wire.Open(data, m.opt.Trusted)
	if err != nil {
		return nil, nil, nil, err
	}
	doc, err := wire.DecodeConfig(payload)
	if err != nil {
		return nil, nil, nil, err
	}
	want := ""
	if slot == Station {
		want = m.opt.Station
	}
	if doc.Station != want {
		return nil, nil, nil, fmt.Errorf("%w: %s document names station %q", ErrWrongStation, slot, doc.Station)
	}
	if min := m.opt.MinVersion[slot]; doc.Version < min {
		return nil, nil, nil, fmt.Errorf("%w: %s document version %d, minimum %d", ErrBelowMinimum, slot, doc.Version, min)
	}
	var ks *wire.KeySet
	if doc.KeySet != nil {
		if ks, err = wire.OpenKeySet(doc.KeySet, m.opt.IssuerRoots); err != nil {
			return nil, nil, nil, err
		}
	}
	return doc, payload, ks, nil
}

// takeKeySet decides whether ks, relayed by a document being applied, can
// be used: never one older than the key set in use, nor an expired one the
// kiosk does not have yet. It returns whether ks is new. m.mu is held.
func (m *Manager) takeKeySet(ks *wire.KeySet) (bool, error) {
	cur := m.keySet
	switch {
	case ks == nil:
		return false, nil
	case cur != nil && ks.Version < cur.Version:
		return false, fmt.Errorf("%w: offered key set %d, using %d", ErrKeySetOld, ks.Version, cur.Version)
	case cur != nil && ks.Version == cur.Version:
		return false, nil
	case m.opt.Synced() && m.opt.Now().After(ks.Expires):
		return false, fmt.Errorf("%w: key set %d expired %s", ErrKeySetExpired, ks.Version, ks.Expires.Format(time.RFC3339))
	}
	return true, nil
}

// Offer takes a signed document received for slot and applies it, or
// refuses it and keeps the config in use. It returns nil when the document
// was applied or is the one in use already (a retained message delivered
// again on reconnect); otherwise the reason, which Status reports too. An
// empty message (a retained config cleared at the broker) changes nothing.
func (m *Manager) Offer(slot Slot, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	doc, payload, ks, err := m.check(slot, data)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.slots[slot]
	if err == nil && s.doc != nil && doc.Version <= s.doc.Version {
		if doc.Version == s.doc.Version && bytes.Equal(payload, s.payload) {
			return nil
		}
		err = fmt.Errorf("%w: offered %d, running %d", ErrNotNewer, doc.Version, s.doc.Version)
	}
	var newKeys bool
	if err == nil {
		newKeys, err = m.takeKeySet(ks)
	}
	if err == nil && newKeys {
		var raw []byte
		if raw, err = json.Marshal(doc.KeySet); err == nil {
			// Kept apart from the documents: a later document without
			// a key set must not take the kiosk back to an older one.
			err = m.st.PutBlob(keySetKey, raw)
		}
	}
	if err == nil {
		// Stored before used: on boot the kiosk finds what it ran.
		err = m.st.PutBlob(string(slot), data)
	}
	if err != nil {
		s.err = err.Error()
		m.log.Warn("config refused", "slot", slot, "err", err, "reason", wire.Reason(err), "running", m.cur.Version)
		return err
	}
	m.slots[slot] = &slotState{doc: doc, payload: payload}
	if newKeys {
		m.keySet = ks
		m.log.Info("card-issuer key set applied", "key_set", ks.Version, "keys", len(ks.Keys), "revoked_keys", len(ks.RevokedKeys), "expires", ks.Expires)
	}
	m.cur = wire.MergeConfig(m.base, m.slots[Fleet].doc, m.slots[Station].doc)
	m.log.Info("config applied", "slot", slot, "version", doc.Version)
	m.notify()
	return nil
}

// Reload reads the stored documents again and applies them, notifying
// subscribers (the reload_config command).
func (m *Manager) Reload() error {
	if err := m.load(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notify()
	return nil
}

// notify hands the current config to every subscriber, replacing one it
// has not taken yet. m.mu is held.
func (m *Manager) notify() {
	for _, ch := range m.subs {
		select {
		case <-ch:
		default:
		}
		ch <- m.cur
	}
}

// Current returns the config in use: never nil, the built-in defaults until
// a signed document is applied. The caller must not modify it.
func (m *Manager) Current() *wire.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Subscribe returns a channel that receives the config each time one is
// applied (only the latest, if the receiver is slow), and a function that
// ends the subscription.
func (m *Manager) Subscribe() (<-chan *wire.Config, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan *wire.Config, 1)
	id := m.nextSub
	m.nextSub++
	m.subs[id] = ch
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// Status reports the versions in use and the reasons of the last refusals.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{StationError: m.slots[Station].err, FleetError: m.slots[Fleet].err, UpdateOffered: m.offered}
	if d := m.slots[Station].doc; d != nil {
		st.StationVersion = d.Version
	}
	if d := m.slots[Fleet].doc; d != nil {
		st.FleetVersion = d.Version
	}
	if m.keySet != nil {
		st.KeySetVersion = m.keySet.Version
	}
	return st
}

// KeySet returns the verified card-issuer key set in use: the newest one
// any applied document relayed, signed by a provisioned issuer root. It is
// nil until one arrives. The caller must not modify it.
func (m *Manager) KeySet() *wire.KeySet {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keySet
}

// Command verifies a signed command: trusted signature, for this station,
// not expired, a known name, and a nonce never used before (remembered in
// bbolt until the command expires). The caller then carries it out.
func (m *Manager) Command(data []byte) (*wire.Command, error) {
	payload, _, err := wire.Open(data, m.opt.Trusted)
	if err != nil {
		return nil, err
	}
	now := m.opt.Now()
	c, err := wire.DecodeCommand(payload, m.opt.Station, now)
	if err != nil {
		return nil, err
	}
	if !wire.KnownCommand(c.Name) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCommand, c.Name)
	}
	if err := m.st.UseNonce(c.Nonce, c.Expires, now); err != nil {
		if errors.Is(err, store.ErrReplayed) {
			return nil, fmt.Errorf("%w: %s nonce %s", ErrReplayed, c.Name, c.Nonce)
		}
		return nil, err
	}
	return c, nil
}

// RecordOffer stores an update offer so the state reports it until the
// firmware updater (a later piece of work) acts on it. Nothing is
// downloaded or installed.
func (m *Manager) RecordOffer(o wire.UpdateOffer) error {
	if o.Version == "" {
		return fmt.Errorf("%w: update offer without version", wire.ErrInvalid)
	}
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if err := m.st.PutBlob(offerKey, raw); err != nil {
		return err
	}
	m.mu.Lock()
	m.offered = o.Version
	m.mu.Unlock()
	return nil
}
