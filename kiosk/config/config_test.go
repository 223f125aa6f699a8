package config

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/store"
)

type fixture struct {
	dir  string
	st   *store.Store
	m    *Manager
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	now  time.Time
	// tune, if set, adjusts the Options each open uses.
	tune func(*Options)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := &fixture{dir: t.TempDir(), priv: priv, pub: pub, now: time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)}
	f.open(t)
	return f
}

func (f *fixture) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(filepath.Join(f.dir, "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opt := Options{Station: "pe-a", Trusted: map[string]ed25519.PublicKey{"cloud-1": f.pub},
		Now: func() time.Time { return f.now }}
	if f.tune != nil {
		f.tune(&opt)
	}
	m, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	f.st, f.m = st, m
}

func (f *fixture) seal(t *testing.T, priv ed25519.PrivateKey, keyID string, c *wire.Config) []byte {
	t.Helper()
	c.V = wire.Version
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.Seal(priv, keyID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestApplyAndRefuse(t *testing.T) {
	f := newFixture(t)
	if c := f.m.Current(); c == nil || c.Rules.MaxSessionMinutes != 720 {
		t.Fatalf("default config %+v", c)
	}
	updates, unsub := f.m.Subscribe()
	defer unsub()
	good := f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 5, Station: "pe-a", Rules: &wire.Rules{MaxSessionMinutes: 60}})
	if err := f.m.Offer(Station, good); err != nil {
		t.Fatal(err)
	}
	if c := <-updates; c.Version != 5 || c.Rules.MaxSessionMinutes != 60 {
		t.Fatalf("applied %+v", c)
	}
	// The same retained message again (a reconnect) is not a refusal.
	if err := f.m.Offer(Station, good); err != nil || f.m.Status().StationError != "" {
		t.Fatalf("redelivery: %v %q", err, f.m.Status().StationError)
	}

	_, otherPriv, _ := ed25519.GenerateKey(nil)
	tampered := f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 9, Station: "pe-a"})
	var env wire.Envelope
	json.Unmarshal(tampered, &env)
	env.Payload = []byte(`{"v":1,"version":10,"station":"pe-a"}`)
	tampered, _ = json.Marshal(&env)
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"bad signature", tampered, wire.ErrSignature},
		{"untrusted key", f.seal(t, otherPriv, "cloud-1", &wire.Config{Version: 9, Station: "pe-a"}), wire.ErrSignature},
		{"unknown key id", f.seal(t, otherPriv, "rogue", &wire.Config{Version: 9, Station: "pe-a"}), wire.ErrSignature},
		{"equal version", f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 5, Station: "pe-a", Board: &wire.Board{Phone: "1"}}), ErrNotNewer},
		{"older version", f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 4, Station: "pe-a"}), ErrNotNewer},
		{"schema violation", f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 9, Station: "pe-a", Reader: &wire.ReaderConfig{AntennaGain: new(99)}}), wire.ErrInvalid},
		{"other station", f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 9, Station: "pe-b"}), ErrWrongStation},
		{"truncated", good[:len(good)/2], wire.ErrMalformed},
	} {
		err := f.m.Offer(Station, c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if st := f.m.Status(); st.StationVersion != 5 || st.StationError == "" {
			t.Errorf("%s: status %+v", c.name, st)
		}
		if f.m.Current().Version != 5 {
			t.Errorf("%s: last good config lost", c.name)
		}
	}

	// The fleet document merges under the station's.
	fleet := f.seal(t, f.priv, "cloud-1", &wire.Config{Version: 2, Reader: &wire.ReaderConfig{DebounceMillis: 1000}, Rules: &wire.Rules{MaxSessionMinutes: 30}})
	if err := f.m.Offer(Fleet, fleet); err != nil {
		t.Fatal(err)
	}
	c := f.m.Current()
	if c.Reader.DebounceMillis != 1000 || c.Rules.MaxSessionMinutes != 60 || c.Version != 5 {
		t.Fatalf("merged %+v %+v", c.Reader, c.Rules)
	}

	// After a restart the kiosk runs what it stored.
	f.st.Close()
	f.open(t)
	if st := f.m.Status(); st.StationVersion != 5 || st.FleetVersion != 2 || f.m.Current().Rules.MaxSessionMinutes != 60 {
		t.Fatalf("after reopen: %+v", st)
	}
}

func TestCommandReplayAndExpiry(t *testing.T) {
	f := newFixture(t)
	cmd, err := wire.NewCommand("pe-a", wire.CmdResync, time.Minute, f.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := wire.EncodeCommand(cmd)
	env, _ := wire.Seal(f.priv, "cloud-1", payload)
	if _, err := f.m.Command(env); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Command(env); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	// Remembered across a restart.
	f.st.Close()
	f.open(t)
	if _, err := f.m.Command(env); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay after restart: %v", err)
	}
	f.now = f.now.Add(2 * time.Minute)
	if _, err := f.m.Command(env); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}
	other, _ := wire.NewCommand("pe-b", wire.CmdReboot, time.Minute, f.now, nil)
	payload, _ = wire.EncodeCommand(other)
	env, _ = wire.Seal(f.priv, "cloud-1", payload)
	if _, err := f.m.Command(env); !errors.Is(err, wire.ErrStationMismatch) {
		t.Fatalf("other station: %v", err)
	}
}
