package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/gateway/wire"
	"leifeng/kiosk/simreader"
)

var (
	cardOnce sync.Once
	cardErr  error
)

// card runs the real leifeng-card, built once next to the other binaries.
func card(t testing.TB, args ...string) string {
	t.Helper()
	cardOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin+"/", "leifeng/reader/cmd/leifeng-card").CombinedOutput()
		if err != nil {
			cardErr = fmt.Errorf("building leifeng-card: %v\n%s", err, out)
		}
	})
	if cardErr != nil {
		t.Fatal(cardErr)
	}
	out, err := exec.Command(filepath.Join(bin, "leifeng-card"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("leifeng-card %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cardReply is the simulated reader's answer to a card image.
type cardReply = simreader.Reply

// present sends one request line (a card image file's content, or a bare
// volunteer tap) to the kiosk's simulated reader.
func present(t testing.TB, k *kiosk, line []byte) cardReply {
	t.Helper()
	r, err := k.rc.SendLine(context.Background(), line)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// imageLine reads a card image file as the one line the reader takes.
func imageLine(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var line bytes.Buffer
	line.WriteString(`{"image":`)
	if err := json.Compact(&line, b); err != nil {
		t.Fatal(err)
	}
	line.WriteString(`}`)
	return line.Bytes()
}

// TestIssuerKeyPushedOnline is issue 9 point 3 against the real binaries.
// The attacker holds the online admin token, and then even the cloud's
// config signing key, and pushes trusted_keys with an issuer key of their
// own so that self-made cards work at every kiosk. The cloud refuses the
// push; the kiosk refuses the document signed with the stolen key and
// reports why; the self-made card stays refused. The genuine way works: a
// key set signed offline with the issuer root (leifeng-card keyset sign),
// whose public key the kiosk got in its bundle (station add
// --issuer-root), relayed by `config push`.
func TestIssuerKeyPushedOnline(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	card(t, "keygen", "-root", "-root-id", "pe-root", "-out", p("root"))
	card(t, "keygen", "-id", "1", "-out", p("issuer"))
	card(t, "keygen", "-id", "66", "-out", p("attacker"))
	issue := func(key, volunteer, serial, uid, out string) []byte {
		card(t, "issue", "-key", p(key), "-volunteer", volunteer, "-serial", serial, "-issued", time.Now().AddDate(0, -1, 0).Format("2006-01-02"),
			"-expires", "2099-12-31", "-media", "ntag215", "-uid", uid, "-out", p(out))
		return imageLine(t, p(out))
	}
	genuine := issue("issuer.key", "PE-530802-000001", "C2026-000001", "04102030405060", "genuine.json")
	forged := issue("attacker.key", "PE-530802-000666", "EVIL-000001", "04112131415161", "forged.json")

	c := startCloud(t, cloudOpt{})
	const station = "pe-keys-001"
	bundle := c.addStation(t, station, "", "--issuer-root", p("root.pub"))
	k := startKiosk(t, station, c.mqtt, "--bundle", bundle)
	c.waitStation(t, station, "online", 20*time.Second, func(s stationView) bool { return s.Online })

	attackerPub, err := os.ReadFile(p("attacker.pub"))
	if err != nil {
		t.Fatal(err)
	}
	var pf struct {
		KeyID     uint16 `json:"key_id"`
		PublicKey string `json:"public_key"`
	}
	json.Unmarshal(attackerPub, &pf)
	keyJSON := fmt.Sprintf(`[{"id":%d,"public_key":%q}]`, pf.KeyID, mustB64(t, pf.PublicKey))

	// With the admin's API token: the cloud refuses to push bare issuer keys.
	file := p("attack.json")
	os.WriteFile(file, []byte(`{"trusted_keys":`+keyJSON+`}`), 0o600)
	out, err := cloudExec(t, "config", "push", "--api", c.http, "--data", c.data,
		"--file", file, "--station", station).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "trusted_keys") {
		t.Fatalf("the cloud pushed bare issuer keys: %v\n%s", err, out)
	}

	// With the cloud's config key itself: the kiosk refuses the document.
	keys := c.keys(t)
	doc := fmt.Appendf(nil, `{"v":1,"version":%d,"station":%q,"trusted_keys":%s}`, time.Now().Unix()+1000, station, keyJSON)
	pub := c.asCloud(t, c.mqtt)
	if tok := pub.Publish(wire.StationTopic(station, wire.LeafConfig), 1, true, sealRaw(t, keys.ConfigKey, keys.KeyID, doc)); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	s := c.waitStation(t, station, "the bare issuer key refused", 20*time.Second, func(s stationView) bool {
		return strings.Contains(s.ConfigError, "trusted_keys")
	})
	if s.ConfigVersion != 0 {
		t.Fatalf("the kiosk runs the attacker's config %d", s.ConfigVersion)
	}
	if r := present(t, k, forged); r.OK || r.Reason != "forged" {
		t.Fatalf("self-made card after the attack: %+v\n%s", r, tail(k.log.String(), 20))
	}

	// The genuine way: the root signs offline, the cloud relays.
	card(t, "keyset", "sign", "-root", p("root.key"), "-pub", p("issuer.pub"), "-out", p("keyset.json"))
	ks, err := os.ReadFile(p("keyset.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := c.push(t, `{"key_set":`+string(ks)+`}`, "--station", station)
	c.waitStation(t, station, fmt.Sprintf("config %d with the key set applied", v), 20*time.Second, func(s stationView) bool {
		return s.ConfigVersion == v && s.ConfigError == ""
	})
	if r := present(t, k, genuine); !r.OK || r.Kind != "check_in" {
		t.Fatalf("card of the issuer in the root-signed key set: %+v\n%s", r, tail(k.log.String(), 20))
	}
	if r := present(t, k, forged); r.OK || r.Reason != "forged" {
		t.Fatalf("self-made card: %+v", r)
	}
	// Point 10: with issuer keys, a bare volunteer tap is no longer taken.
	if r := present(t, k, []byte(`{"volunteer":"PE-530802-000777"}`)); r.OK || r.Reason != "unsigned" {
		t.Fatalf("bare volunteer tap on a kiosk that checks cards: %+v", r)
	}
}

// mustB64 turns the hex of a key file into the base64 a config carries.
func mustB64(t testing.TB, hexKey string) string {
	t.Helper()
	b, err := hex.DecodeString(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestOldConfigOnFreshKiosk is issue 9 point 10: the fleet config once
// revoked nothing (version 1); a later one revokes a stolen card (version
// 2). A broker under an attacker's control hands a freshly installed kiosk
// the old version 1, signed by the cloud and so genuine, to bring the old
// revocation list back. The kiosk's bundle, written after version 2, says
// nothing older than version 2 is acceptable: the kiosk refuses it and
// reports why.
func TestOldConfigOnFreshKiosk(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	pub := c.asCloud(t, c.mqtt)
	v1 := c.push(t, `{"board":{"phone":"0879-1111111"}}`, "--all")
	old := make(chan []byte, 1)
	if tok := pub.Subscribe(wire.FleetConfigTopic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case old <- append([]byte(nil), m.Payload()...):
		default:
		}
	}); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	var sealedV1 []byte
	select {
	case sealedV1 = <-old:
	case <-time.After(10 * time.Second):
		t.Fatal("the retained fleet config never came")
	}
	pub.Unsubscribe(wire.FleetConfigTopic).Wait()
	v2 := c.push(t, `{"board":{"phone":"0879-1111111"},"revoked":["C2026-STOLEN"]}`, "--all")
	if v2 <= v1 {
		t.Fatalf("versions %d then %d", v1, v2)
	}

	const station = "pe-fresh-001"
	bundle := c.addStation(t, station, "")
	// The attacker's broker replaces the retained fleet config.
	if tok := pub.Publish(wire.FleetConfigTopic, 1, true, sealedV1); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	startKiosk(t, station, c.mqtt, "--bundle", bundle)
	var f struct {
		Stations []struct {
			ID                 string `json:"id"`
			FleetConfigVersion uint64 `json:"fleet_config_version"`
			FleetConfigError   string `json:"fleet_config_error"`
		} `json:"stations"`
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c.get(t, "/api/v1/fleet", &f)
		done := false
		for _, s := range f.Stations {
			if s.ID != station {
				continue
			}
			if s.FleetConfigVersion == v1 {
				t.Fatalf("the fresh kiosk took the old fleet config %d (the current one is %d)", v1, v2)
			}
			done = strings.Contains(s.FleetConfigError, "minimum")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fresh kiosk never reported refusing the old fleet config: %+v", f)
		}
	}
}
