package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/cards"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
	"leifeng/reader"
	"leifeng/reader/credential"
)

// issuedJSON is the answer to issue and reissue.
type issuedJSON struct {
	Card  store.Card            `json:"card"`
	Write reader.CredentialFile `json:"write"`
	Old   *cards.Withdrawn      `json:"old"`
}

func (c *testCloud) cardCall(method, path string, body any, want int) []byte {
	c.t.Helper()
	code, b := c.call(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if want >= 400 && !strings.Contains(string(b), "message_zh") {
		c.t.Fatalf("%s %s: refusal without message_zh: %s", method, path, b)
	}
	return b
}

// verifyCard checks a credential the API returned as a kiosk trusting the
// cloud's issuer key would, and returns it.
func (c *testCloud) verifyCard(w reader.CredentialFile) *credential.Credential {
	c.t.Helper()
	pub := c.cards.PublicKey()
	v := &credential.Verifier{Keys: map[uint16]ed25519.PublicKey{pub.KeyID: ed25519.PublicKey(pub.PublicKey)}}
	cred, err := v.Verify(w.UID, w.Credential)
	if err != nil {
		c.t.Fatal(err)
	}
	return cred
}

// Issue point 4 on both databases through the JSON API: a card issued to
// a volunteer carries their masked name, signed; a card already carrying
// a credential, an unknown volunteer, a bad UID and a card too small are
// refused with a Chinese reason; revoking pushes the fleet defaults with
// the serial in "revoked" at once; re-issuing a lost card revokes it and
// gives a new serial; and the next push to a station carries every
// revocation too.
func TestCardDesk(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			ctx := context.Background()
			const station = "pe-simao-001"
			c.addStation(station, "思茅区")
			view := c.listen(station)
			if err := c.db.SaveVolunteers(ctx, station, []store.RosterEntry{{ID: "PE-530802-000123", Name: "王小明"}}, time.Now()); err != nil {
				t.Fatal(err)
			}
			const vol = "/api/v1/volunteers/PE-530802-000123/cards"

			var first issuedJSON
			json.Unmarshal(c.cardCall("POST", vol, map[string]string{"uid": "04A23B1C558091", "media": "ntag215", "expires": "2029-12-31"}, 200), &first)
			if first.Card.State != store.CardActive || first.Card.UID != "04A23B1C558091" || first.Card.IssuedBy != "admin" || first.Card.Expires != "2029-12-31" {
				t.Fatalf("card %+v", first.Card)
			}
			cred := c.verifyCard(first.Write)
			if cred.Name != "王*明" || cred.Serial != first.Card.Serial || cred.Volunteer != "PE-530802-000123" || first.Write.Name != "王*明" {
				t.Fatalf("credential %+v, file %+v", cred, first.Write)
			}
			if first.Write.Format != reader.CredentialFormat || first.Write.Media != "ntag215" {
				t.Fatalf("write file %+v", first.Write)
			}

			// Refusals.
			c.cardCall("POST", vol, map[string]string{"uid": "04:A2:3B:1C:55:80:91"}, http.StatusConflict)
			c.cardCall("POST", "/api/v1/volunteers/PE-NOBODY/cards", map[string]string{"uid": "04112233445566"}, http.StatusNotFound)
			c.cardCall("POST", vol, map[string]string{"uid": "04ZZ"}, http.StatusBadRequest)
			c.cardCall("POST", vol, map[string]string{"uid": "04112233445566", "expires": "2001-01-01"}, http.StatusBadRequest)
			if b := c.cardCall("POST", vol, map[string]string{"uid": "04112233445566", "media": "ntag213"}, http.StatusBadRequest); !strings.Contains(string(b), "容量不足") {
				t.Fatalf("ntag213: %s", b)
			}
			c.cardCall("GET", "/api/v1/volunteers/PE-NOBODY/cards", nil, http.StatusNotFound)
			c.cardCall("POST", "/api/v1/cards/C-NONE/revoke", map[string]string{"reason": "x"}, http.StatusNotFound)

			// Revoke: the fleet defaults go out at once with the serial.
			var rev cards.Withdrawn
			json.Unmarshal(c.cardCall("POST", "/api/v1/cards/"+first.Card.Serial+"/revoke", map[string]string{"reason": "志愿者退出"}, 200), &rev)
			if rev.Card.State != store.CardRevoked || rev.Card.Reason != "志愿者退出" || rev.Config == 0 || rev.PushError != "" {
				t.Fatalf("revoked %+v", rev)
			}
			fleetDoc, _ := view.config(t, c, wire.FleetConfigTopic, rev.Config)
			if !slices.Contains(fleetDoc.Revoked, first.Card.Serial) {
				t.Fatalf("fleet config %d revokes %v, not %s", fleetDoc.Version, fleetDoc.Revoked, first.Card.Serial)
			}
			c.cardCall("POST", "/api/v1/cards/"+first.Card.Serial+"/revoke", nil, http.StatusConflict)

			// The same card can now carry a new credential; re-issue a
			// lost one: old lost, new serial, revocation pushed.
			var second issuedJSON
			json.Unmarshal(c.cardCall("POST", vol, map[string]string{"uid": "04A23B1C558091", "media": "classic1k"}, 200), &second)
			var third issuedJSON
			json.Unmarshal(c.cardCall("POST", "/api/v1/cards/"+second.Card.Serial+"/reissue",
				map[string]any{"uid": "04BBCCDDEEFF00", "lost": true, "reason": "丢失"}, 200), &third)
			if third.Card.Serial == second.Card.Serial || third.Card.Media != "classic1k" || third.Card.State != store.CardActive {
				t.Fatalf("re-issued card %+v", third.Card)
			}
			if o := third.Old; o == nil || o.Card.State != store.CardLost || o.Card.ReplacedBy != third.Card.Serial || o.Config == 0 {
				t.Fatalf("old card after re-issue %+v", third.Old)
			}
			c.verifyCard(third.Write)
			fleetDoc, _ = view.config(t, c, wire.FleetConfigTopic, third.Old.Config)
			if !slices.Contains(fleetDoc.Revoked, second.Card.Serial) || !slices.Contains(fleetDoc.Revoked, first.Card.Serial) || slices.Contains(fleetDoc.Revoked, third.Card.Serial) {
				t.Fatalf("fleet config revokes %v", fleetDoc.Revoked)
			}
			// A card re-issued once is not re-issued again.
			c.cardCall("POST", "/api/v1/cards/"+second.Card.Serial+"/reissue", map[string]string{"uid": "04010203040506"}, http.StatusConflict)

			var list struct {
				Cards []store.Card `json:"cards"`
			}
			json.Unmarshal(c.cardCall("GET", vol, nil, 200), &list)
			if len(list.Cards) != 3 || list.Cards[0].State != store.CardRevoked || list.Cards[1].State != store.CardLost || list.Cards[2].State != store.CardActive {
				t.Fatalf("cards %+v", list.Cards)
			}

			// The next push to a station, whatever it is about, carries
			// the revocations, and keeps a hand-revoked offline card.
			c.mustPush("station", station, `{"profile":{"name":"南屏街道学雷锋志愿服务站"},"revoked":["DESK-0001"]}`)
			stDoc, _ := view.config(t, c, wire.StationTopic(station, wire.LeafConfig), c.version("station:"+station))
			if want := []string{"DESK-0001", first.Card.Serial, second.Card.Serial}; !sameSet(stDoc.Revoked, want) {
				t.Fatalf("station config revokes %v, want %v", stDoc.Revoked, want)
			}

			// Deregistration (注销) revokes every active card at once.
			n, err := c.cards.RevokeAll(ctx, "PE-530802-000123", "志愿者注销", "admin")
			if err != nil || n != 1 {
				t.Fatalf("revoke all: %d %v", n, err)
			}
			if n, err := c.cards.RevokeAll(ctx, "PE-530802-000123", "志愿者注销", "admin"); err != nil || n != 0 {
				t.Fatalf("revoke all again: %d %v", n, err)
			}
			json.Unmarshal(c.cardCall("GET", vol, nil, 200), &list)
			for _, cd := range list.Cards {
				if cd.State == store.CardActive {
					t.Fatalf("active card after deregistration: %+v", cd)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
