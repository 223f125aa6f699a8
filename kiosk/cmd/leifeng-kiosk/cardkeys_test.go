package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"leifeng/gateway/wire"
	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

// cardReply is a simulated reader's reply to a card image.
type cardReply struct {
	OK     bool   `json:"ok"`
	Kind   string `json:"kind"`
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

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
	if _, err := fmt.Fprintf(tp.c, "{\"image\":%s}\n", im); err != nil {
		t.Fatal(err)
	}
	line, err := tp.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var r cardReply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return r
}

// TestCardKeysFromConfigLive: a signed config that revokes a card's serial
// and trusts a new issuer key takes effect on the running kiosk: the next
// tap of the revoked card is refused as revoked, and a card signed by the
// new key is accepted, with no restart.
func TestCardKeysFromConfigLive(t *testing.T) {
	g, broker := startGateway(t, true)
	dir := t.TempDir()

	issuer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	newIssuer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	cloudKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))

	pubFile := filepath.Join(dir, "issuer.pub.json")
	pub, _ := json.Marshal(reader.PublicKeyFile{KeyID: 1, PublicKey: cardimage.Hex(issuer.Public().(ed25519.PublicKey))})
	if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	bundleFile := filepath.Join(dir, "bundle.json")
	err := wire.WriteBundle(bundleFile, &wire.Bundle{
		Station: station, Broker: broker, Username: station,
		ConfigKeys: map[string][]byte{"cloud-1": cloudKey.Public().(ed25519.PublicKey)},
	})
	if err != nil {
		t.Fatal(err)
	}

	k := startKiosk(t, filepath.Join(dir, "data"), broker, "--bundle", bundleFile, "--issuer-key", pubFile)
	g.waitOnline(t, true)
	tp := dialReader(t, k.reader)

	old := cardImage(t, 1, issuer, []byte{0x04, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60}, "PE-530802-000001", "C2026-000001")
	fresh := cardImage(t, 2, newIssuer, []byte{0x04, 0x11, 0x21, 0x31, 0x41, 0x51, 0x61}, "PE-530802-000002", "C2026-000002")
	if r := tp.tapImage(t, old); !r.OK {
		t.Fatalf("card before the config: %+v\n%s", r, k.stderr)
	}
	if r := tp.tapImage(t, fresh); r.OK || r.Reason != "forged" {
		t.Fatalf("card of an untrusted issuer: %+v", r)
	}

	doc := &wire.Config{
		Version: 1, Station: station, Issued: time.Now(),
		Revoked:     []string{"C2026-000001"},
		TrustedKeys: []wire.TrustedKey{{ID: 2, PublicKey: newIssuer.Public().(ed25519.PublicKey)}},
	}
	payload, err := wire.EncodeConfig(doc)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := wire.Seal(cloudKey, "cloud-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Publish(wire.StationTopic(station, wire.LeafConfig), sealed, true, 1); err != nil {
		t.Fatal(err)
	}

	// The config arrives asynchronously; until it does the card still
	// passes (a repeat of the check-in within the debounce).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := tp.tapImage(t, old)
		if !r.OK {
			if r.Reason != "revoked" {
				t.Fatalf("revoked card refused as %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revocation never applied\n%s", k.stderr)
		}
	}
	if r := tp.tapImage(t, fresh); !r.OK {
		t.Fatalf("card of the issuer the config trusts: %+v\n%s", r, k.stderr)
	}
	if r := tp.tapImage(t, old); r.OK || r.Reason != "revoked" {
		t.Fatalf("revoked card again: %+v", r)
	}
	k.term(t)
}
