package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// A review decision sends the record's station its document at once: the
// volunteer's roster entry carries the outcome as a note (shown at the
// next tap) and the record is in the station's notice list, without
// waiting for the roster refresh.
func TestHoursDecisionRefreshesStation(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			hoursUsers(t, c.db)
			ctx := context.Background()
			if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{
				reviewRecord("tap:st1", "V2", "pe-simao-001", "530802001001", "", "station", "auto_check_out"),
			}, "hours", time.Now()); err != nil {
				t.Fatal(err)
			}
			code, body := as(t, c.srv.URL, "manager", "POST", "/api/v1/hours/records/tap:st1/approve", `{"reason":"核实无误"}`)
			if code != http.StatusOK {
				t.Fatalf("approve: %d %s", code, body)
			}
			var rec struct {
				Outcome string `json:"outcome"`
			}
			if err := json.Unmarshal([]byte(body), &rec); err != nil || !strings.Contains(rec.Outcome, "审核通过") {
				t.Fatalf("outcome %q %v", rec.Outcome, err)
			}
			d, err := c.db.Config(ctx, fleet.StationScope("pe-simao-001"))
			if err != nil {
				t.Fatalf("no document pushed to the station: %v", err)
			}
			var doc wire.Config
			if err := json.Unmarshal(d.Doc, &doc); err != nil {
				t.Fatal(err)
			}
			noted := false
			for _, v := range doc.Volunteers {
				for _, n := range v.Notes {
					if v.ID == "V2" && n.ID == "tap:st1" && n.Text == rec.Outcome {
						noted = true
					}
				}
			}
			if !noted {
				t.Errorf("the document does not carry the outcome %q: %+v", rec.Outcome, doc.Volunteers)
			}
			if len(doc.Notice) != 1 || doc.Notice[0].ID != "tap:st1" {
				t.Errorf("notice list %+v", doc.Notice)
			}
		})
	}
}
