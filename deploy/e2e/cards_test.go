package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// authPost is POST path with the admin token and a JSON body; it returns
// the status and the answer.
func (c *cloud) authPost(t testing.TB, path string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.http+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token(t))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestCloudIssuedCard is issue 11 point 4 against the real binaries. The
// cloud's issuer key is exported (leifeng-cloud issuer-key) and signed
// into the key set by the offline root (leifeng-card keyset sign), which
// the fleet config relays. The console's API issues a card to a volunteer
// the kiosk's roster does not list; leifeng-card write lays the answer on
// the card; tapped at the kiosk it is accepted and the kiosk greets the
// volunteer by the masked name on the card. The card is revoked through
// the API, which pushes the fleet defaults at once; once the kiosk has
// applied that push the same card is refused as revoked. The lost card is
// re-issued on a new card, which is accepted.
func TestCloudIssuedCard(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	card(t, "keygen", "-root", "-root-id", "pe-root", "-out", p("root"))

	c := startCloud(t, cloudOpt{})
	out := cloudCmd(t, "issuer-key", "--data", c.data, "--out", p("cloud-issuer.pub"))
	if !strings.Contains(out, "card issuer key 100") {
		t.Fatalf("issuer-key: %s", out)
	}
	card(t, "keyset", "sign", "-root", p("root.key"), "-pub", p("cloud-issuer.pub"), "-out", p("keyset.json"))
	ks, err := os.ReadFile(p("keyset.json"))
	if err != nil {
		t.Fatal(err)
	}

	const station = "pe-cards-001"
	bundle := c.addStation(t, station, "", "--issuer-root", p("root.pub"))
	k := startKiosk(t, station, c.mqtt, "--bundle", bundle)
	c.waitStation(t, station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	// The key set, and the volunteer's name for the cloud's roster: the
	// fleet defaults carry no roster, so the kiosk never hears of her.
	const vol = "PE-530802-000456"
	v := c.push(t, `{"key_set":`+string(ks)+`,"volunteers":[{"id":"`+vol+`","name":"欧阳娜娜"}]}`, "--all")
	c.waitStation(t, station, fmt.Sprintf("fleet config %d applied", v), 20*time.Second, func(s stationView) bool {
		return s.FleetConfigVersion >= v && s.ConfigError == ""
	})

	issue := func(path string, body any) (serial string, image []byte) {
		t.Helper()
		code, ans := c.authPost(t, path, body)
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, code, ans)
		}
		var a struct {
			Card struct {
				Serial string `json:"serial"`
			} `json:"card"`
		}
		json.Unmarshal(ans, &a)
		file := p(a.Card.Serial + ".answer.json")
		os.WriteFile(file, ans, 0o600)
		card(t, "write", "-in", file, "-out", p(a.Card.Serial+".card.json"))
		return a.Card.Serial, imageLine(t, p(a.Card.Serial+".card.json"))
	}
	serial, first := issue("/api/v1/volunteers/"+vol+"/cards", map[string]string{"uid": "04C1C2C3C4C5C6", "media": "ntag215"})

	r := present(t, k, first)
	if !r.OK || r.Kind != "check_in" || r.Volunteer != vol || r.Name != "欧**娜" {
		t.Fatalf("cloud-issued card: %+v\n%s", r, tail(k.log.String(), 20))
	}

	// Revoked: the API pushed the fleet defaults with the serial.
	code, ans := c.authPost(t, "/api/v1/cards/"+serial+"/revoke", map[string]any{"reason": "卡片遗失", "lost": true})
	if code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, ans)
	}
	var rev struct {
		Config    uint64 `json:"config"`
		PushError string `json:"push_error"`
	}
	json.Unmarshal(ans, &rev)
	if rev.Config == 0 {
		t.Fatalf("revoke pushed nothing: %s", ans)
	}
	c.waitStation(t, station, fmt.Sprintf("fleet config %d with the revocation applied", rev.Config), 20*time.Second, func(s stationView) bool {
		return s.FleetConfigVersion >= rev.Config
	})
	if r = present(t, k, first); r.OK || r.Reason != "revoked" {
		t.Fatalf("revoked card: %+v\n%s", r, tail(k.log.String(), 20))
	}

	// A new card for her, re-issued from the lost one: accepted.
	_, second := issue("/api/v1/cards/"+serial+"/reissue", map[string]string{"uid": "04D1D2D3D4D5D6"})
	// (It closes the session the lost card opened.)
	if r = present(t, k, second); !r.OK || r.Kind != "check_out" || r.Name != "欧**娜" {
		t.Fatalf("re-issued card: %+v\n%s", r, tail(k.log.String(), 20))
	}
	if r = present(t, k, first); r.OK || r.Reason != "revoked" {
		t.Fatalf("lost card after re-issue: %+v", r)
	}
}
