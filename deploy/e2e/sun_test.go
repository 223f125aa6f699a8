package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

// tapImage presents a card image to the kiosk's simulated reader.
func (k *kiosk) tapImage(t *testing.T, im []byte) tapReply {
	t.Helper()
	r, err := k.rc.Image(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A cloned NTAG 424 DNA card: the bytes of one genuine read (its SUN
// message, counter and all) are played back at another station's real
// kiosk. Each kiosk accepts the card, as it must offline; the cloud, which
// sees both taps, raises a clone alert.
func TestReplayedSUNAtKiosks(t *testing.T) {
	e := startEnv(t, backends[0])
	dir := t.TempDir()
	_, issuer, _ := ed25519.GenerateKey(nil)
	pubFile := filepath.Join(dir, "issuer.pub.json")
	pub, _ := json.Marshal(reader.PublicKeyFile{KeyID: 7, PublicKey: cardimage.Hex(issuer.Public().(ed25519.PublicKey))})
	master := credential.SUNKeys{MetaRead: make([]byte, 16), FileRead: make([]byte, 16)}
	rand.Read(master.MetaRead)
	rand.Read(master.FileRead)
	sunFile := filepath.Join(dir, "sun.json")
	sun, _ := json.Marshal(reader.SUNKeyFile{MetaRead: master.MetaRead, FileRead: master.FileRead})
	for f, b := range map[string][]byte{pubFile: pub, sunFile: sun} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	uid := []byte{0x04, 0x52, 0x4A, 0x11, 0x22, 0x33, 0x80}
	now := time.Now()
	c := &credential.Credential{UID: uid, Volunteer: "V-424", Serial: "C2026-424001", Issued: now.AddDate(0, -1, 0), Expires: now.AddDate(1, 0, 0)}
	cred, err := c.Sign(7, issuer)
	if err != nil {
		t.Fatal(err)
	}
	im, err := cardimage.Issue("ntag424", uid, cred, cardimage.IssueOptions{SUNMaster: master})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := im.Save()
	if err != nil {
		t.Fatal(err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, saved); err != nil {
		t.Fatal(err)
	}
	read := line.Bytes() // one read of the card, as a cloner keeps it
	a := startKiosk(t, "st-sun-a", e.cloud.mqtt, "--issuer-key", pubFile, "--sun-keys", sunFile)
	b := startKiosk(t, "st-sun-b", e.cloud.mqtt, "--issuer-key", pubFile, "--sun-keys", sunFile)
	if r := a.tapImage(t, read); !r.OK || r.Kind != "check_in" {
		t.Fatalf("genuine tap at A: %+v", r)
	}
	e.cloud.waitRecords(t, "st-sun-a", 1, 20*time.Second)
	if m := e.cloud.metrics(t); !strings.Contains(m, "leifeng_clone_alerts_total 0") {
		t.Fatalf("an alert before any clone:\n%s", grepLines(m, "clone"))
	}
	if r := b.tapImage(t, read); !r.OK || r.Kind != "check_in" {
		t.Fatalf("the replayed read at B: %+v", r)
	}
	e.cloud.waitRecords(t, "st-sun-b", 1, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.cloud.metrics(t), "leifeng_clone_alerts_total 1") {
		if time.Now().After(deadline) {
			t.Fatalf("no clone alert counted:\n%s", grepLines(e.cloud.metrics(t), "clone"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(e.cloud.data, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alerts, err := s.CloneAlerts(context.Background(), "C2026-424001")
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Reason != store.CloneSUNReplay || alerts[0].Volunteer != "V-424" ||
		alerts[0].CounterA == 0 || alerts[0].CounterA != alerts[0].CounterB {
		t.Fatalf("alerts %+v: want one sun_replay with the decrypted counter repeated", alerts)
	}
}
