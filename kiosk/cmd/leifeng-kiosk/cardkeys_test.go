package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

// cardReply is a simulated reader's reply to a card image.
type cardReply = simreader.Reply

// cardImage signs a credential with key keyID and lays it on an NTAG215
// image, as the JSON the simulated reader takes.
func cardImage(t *testing.T, keyID uint16, priv ed25519.PrivateKey, uid []byte, volunteer, serial string) json.RawMessage {
	t.Helper()
	now := time.Now()
	c := &credential.Credential{UID: uid, Volunteer: volunteer, Serial: serial, Issued: now.AddDate(0, -1, 0), Expires: now.AddDate(1, 0, 0)}
	cred, err := c.Sign(keyID, priv)
	if err != nil {
		t.Fatal(err)
	}
	im, err := cardimage.Issue("ntag215", uid, cred, cardimage.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := im.Save()
	if err != nil {
		t.Fatal(err)
	}
	var line bytes.Buffer // the simulated reader takes one line
	if err := json.Compact(&line, b); err != nil {
		t.Fatal(err)
	}
	return line.Bytes()
}

func (tp *tapper) tapImage(t *testing.T, im json.RawMessage) cardReply {
	t.Helper()
	r, err := tp.c.Image(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keyFile writes v as JSON to a file in dir and returns its path.
func keyFile(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// stateWatch keeps the kiosk's latest retained state.
type stateWatch struct {
	mu sync.Mutex
	st wire.State
}

func watchState(t *testing.T, g *gateway) *stateWatch {
	t.Helper()
	w := &stateWatch{}
	err := g.Subscribe(wire.StationTopic(station, wire.LeafState), func(_ string, payload []byte) {
		if s, err := wire.DecodeState(payload, station); err == nil {
			w.mu.Lock()
			w.st = *s
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitFor waits until cond holds for the latest state.
func (w *stateWatch) waitFor(t *testing.T, what string, k *kiosk, cond func(wire.State) bool) wire.State {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		w.mu.Lock()
		st := w.st
		w.mu.Unlock()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("state never showed %s; last %+v\n%s", what, st, k.stderr)
		}
	}
}

// publishConfig seals doc with the cloud's config key and publishes it
// retained, as the cloud (or anyone holding its online key) would.
func publishConfig(t *testing.T, g *gateway, cloudKey ed25519.PrivateKey, doc *wire.Config) {
	t.Helper()
	payload, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := wire.Seal(cloudKey, "cloud-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Publish(wire.StationTopic(station, wire.LeafConfig), sealed, true, 1); err != nil {
		t.Fatal(err)
	}
}

func (tp *tapper) bare(t *testing.T, volunteer string) cardReply {
	t.Helper()
	r, err := tp.tap(volunteer)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestIssuerKeysOnlyFromRootSignedKeySet is the attack of issue 9 point 3
// on the kiosk binary: whoever holds the cloud's online config key pushes
// trusted_keys with their own issuer key, and self-made cards would work at
// every kiosk. The kiosk refuses that config and says why in its state,
// refuses a key set signed by anything but the issuer root it was
// provisioned with, and the forged card stays refused. A key set signed
// offline by the root, relayed in a config, is applied live: its cards
// work, a key it revokes stops working even though a start-up flag named
// it, and from then on bare {"volunteer"} taps are refused (point 10).
// No volunteer ID appears in the kiosk's logs.
func TestIssuerKeysOnlyFromRootSignedKeySet(t *testing.T) {
	g, broker := startGateway(t, true)
	states := watchState(t, g)
	dir := t.TempDir()

	seed := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	pubOf := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	issuer1, issuer2, cloudKey, root, attacker, attackerRoot := seed(1), seed(2), seed(3), seed(4), seed(6), seed(7)

	rootFile := keyFile(t, dir, "root.pub", reader.RootPublicKeyFile{RootID: "root-1", PublicKey: cardimage.Hex(pubOf(root))})
	bundleFile := filepath.Join(dir, "bundle.json")
	err := wire.WriteBundle(bundleFile, &wire.Bundle{
		Station: station, Broker: broker, Username: station,
		ConfigKeys: map[string][]byte{"cloud-1": pubOf(cloudKey)},
	})
	if err != nil {
		t.Fatal(err)
	}
	k := startKiosk(t, filepath.Join(dir, "data"), broker, "--bundle", bundleFile, "--issuer-root", rootFile)
	g.waitOnline(t, true)
	tp := dialReader(t, k.reader)

	card1 := cardImage(t, 1, issuer1, []byte{0x04, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60}, "PE-530802-000001", "C2026-000001")
	card2 := cardImage(t, 2, issuer2, []byte{0x04, 0x11, 0x21, 0x31, 0x41, 0x51, 0x61}, "PE-530802-000002", "C2026-000002")
	forged := cardImage(t, 66, attacker, []byte{0x04, 0x12, 0x22, 0x32, 0x42, 0x52, 0x62}, "PE-530802-000666", "EVIL-1")

	// No issuer key yet: the simulated reader still takes bare taps.
	if r := tp.bare(t, "PE-530802-000009"); !r.OK {
		t.Fatalf("bare tap on a kiosk without issuer keys: %+v", r)
	}

	// The attack: bare trusted_keys under the online config key.
	publishConfig(t, g, cloudKey, &wire.Config{V: wire.Version, Version: 1, Station: station,
		TrustedKeys: []wire.TrustedKey{{ID: 66, PublicKey: pubOf(attacker)}}})
	st := states.waitFor(t, "the bare trusted_keys refused", k, func(s wire.State) bool { return strings.Contains(s.ConfigError, "trusted_keys") })
	if st.ConfigVersion != 0 {
		t.Fatalf("refused config in use: %+v", st)
	}
	// Or a key set signed by a root of the attacker's own.
	evil, err := wire.SealKeySet(attackerRoot, "root-1", &wire.KeySet{Version: 1, Issued: time.Now(), Expires: time.Now().AddDate(0, 1, 0),
		Keys: []wire.TrustedKey{{ID: 66, PublicKey: pubOf(attacker)}}})
	if err != nil {
		t.Fatal(err)
	}
	publishConfig(t, g, cloudKey, &wire.Config{V: wire.Version, Version: 2, Station: station, KeySet: evil})
	states.waitFor(t, "the attacker's key set refused", k, func(s wire.State) bool { return strings.Contains(s.ConfigError, "key set") })
	if r := tp.tapImage(t, forged); r.OK || r.Reason != "forged" {
		t.Fatalf("self-made card after the attack: %+v", r)
	}

	// The genuine way: a key set signed offline by the root.
	good, err := wire.SealKeySet(root, "root-1", &wire.KeySet{Version: 1, Issued: time.Now(), Expires: time.Now().AddDate(0, 6, 0),
		Keys: []wire.TrustedKey{{ID: 1, PublicKey: pubOf(issuer1)}, {ID: 2, PublicKey: pubOf(issuer2)}}})
	if err != nil {
		t.Fatal(err)
	}
	publishConfig(t, g, cloudKey, &wire.Config{V: wire.Version, Version: 3, Station: station, KeySet: good})
	states.waitFor(t, "the root-signed key set applied", k, func(s wire.State) bool { return s.ConfigVersion == 3 && s.ConfigError == "" })
	for name, im := range map[string]json.RawMessage{"issuer 1": card1, "issuer 2": card2} {
		if r := tp.tapImage(t, im); !r.OK {
			t.Fatalf("card of %s in the key set: %+v\n%s", name, r, k.stderr)
		}
	}
	if r := tp.tapImage(t, forged); r.OK || r.Reason != "forged" {
		t.Fatalf("self-made card: %+v", r)
	}
	if r := tp.bare(t, "PE-530802-000009"); r.OK || r.Error != "card" || r.Reason != "unsigned" {
		t.Fatalf("bare tap on a kiosk with issuer keys: %+v", r)
	}

	// The root revokes issuer 1; the kiosk drops it live.
	revoke, err := wire.SealKeySet(root, "root-1", &wire.KeySet{Version: 2, Issued: time.Now(), Expires: time.Now().AddDate(0, 6, 0),
		Keys: []wire.TrustedKey{{ID: 2, PublicKey: pubOf(issuer2)}}, RevokedKeys: []uint16{1}})
	if err != nil {
		t.Fatal(err)
	}
	publishConfig(t, g, cloudKey, &wire.Config{V: wire.Version, Version: 4, Station: station, KeySet: revoke})
	states.waitFor(t, "key set 2 applied", k, func(s wire.State) bool { return s.ConfigVersion == 4 })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := tp.tapImage(t, card1)
		if !r.OK && r.Reason == "forged" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("card of the revoked issuer still %+v", r)
		}
	}
	// And the older key set, relayed again under the online key, is refused.
	publishConfig(t, g, cloudKey, &wire.Config{V: wire.Version, Version: 5, Station: station, KeySet: good})
	states.waitFor(t, "the older key set refused", k, func(s wire.State) bool { return strings.Contains(s.ConfigError, "older") })
	if r := tp.tapImage(t, card1); r.OK {
		t.Fatalf("revoked issuer back after replaying the old key set: %+v", r)
	}
	k.term(t)

	// Point 10: routine logs name no volunteer.
	logs := k.stderr.String()
	for _, id := range []string{"PE-530802-000001", "PE-530802-000002", "PE-530802-000009", "PE-530802-000666"} {
		if strings.Contains(logs, id) {
			t.Errorf("kiosk log names volunteer %s", id)
		}
	}
	// Nor a card: no serial of a card accepted or refused.
	for _, serial := range []string{"C2026-000001", "C2026-000002", "EVIL-1"} {
		if strings.Contains(logs, serial) {
			t.Errorf("kiosk log names card serial %s", serial)
		}
	}
	if !strings.Contains(logs, "volunteer_ref=") || !strings.Contains(logs, "record=") {
		t.Errorf("kiosk log has no record IDs or volunteer references:\n%s", logs)
	}
}

// TestNotYetValidCard: a card issued for 2030 is refused by a kiosk whose
// clock is right (here --clock-trusted, as with an RTC module); a kiosk
// whose clock is not synchronised cannot tell, so it takes the tap and
// flags its record for review. The refusal is logged without the card's
// serial or volunteer ID.
func TestNotYetValidCard(t *testing.T) {
	dir := t.TempDir()
	issuer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pubFile := keyFile(t, dir, "issuer.pub", reader.PublicKeyFile{KeyID: 1, PublicKey: cardimage.Hex(issuer.Public().(ed25519.PublicKey))})
	uid := []byte{0x04, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60}
	c := &credential.Credential{UID: uid, Volunteer: "PE-530802-002030", Serial: "C2030-000001",
		Issued: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Expires: time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC)}
	cred, err := c.Sign(1, issuer)
	if err != nil {
		t.Fatal(err)
	}
	im, err := cardimage.Issue("ntag215", uid, cred, cardimage.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := im.Save()
	var line bytes.Buffer
	json.Compact(&line, b)

	k := startKiosk(t, filepath.Join(dir, "synced"), "", "--issuer-key", pubFile, "--clock-trusted")
	if r := dialReader(t, k.reader).tapImage(t, line.Bytes()); r.OK || r.Reason != "not_yet_valid" {
		t.Fatalf("2030 card on a synced kiosk: %+v", r)
	}
	k.term(t)
	// The refusal is logged by its code, naming neither the card's serial
	// nor its volunteer.
	if logs := k.stderr.String(); !strings.Contains(logs, "not_yet_valid") ||
		strings.Contains(logs, "C2030-000001") || strings.Contains(logs, "PE-530802-002030") {
		t.Errorf("log of the refused 2030 card:\n%s", logs)
	}

	data := filepath.Join(dir, "unsynced")
	k = startKiosk(t, data, "", "--issuer-key", pubFile, "--fake-clock-offset", "-1h")
	if r := dialReader(t, k.reader).tapImage(t, line.Bytes()); !r.OK {
		t.Fatalf("2030 card on an unsynced kiosk: %+v", r)
	}
	k.term(t)
	st, err := store.Open(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Oldest(10)
	if err != nil || len(recs) != 1 || !recs[0].Review {
		t.Fatalf("record of the unchecked card: %+v %v", recs, err)
	}
}
