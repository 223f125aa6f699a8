package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"leifeng/cloud/hours"
)

// The hour rules through the API, on SQLite and PostgreSQL: every
// signed-in user reads them (version 1 is the defaults, stored at the
// first read); only the city stores a new version, refused with the
// reason in Chinese when it does not hold together; audited.
func TestHourRulesAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			base := c.srv.URL
			r := hours.Default()
			r.OrgCap, r.CountyCap = 6, 10
			good, _ := json.Marshal(r)
			r.OrgCap = 12
			bad, _ := json.Marshal(r)
			runScope(t, base, []scopeHit{
				{user: "org", method: "GET", path: "/api/v1/hour-rules", want: 200, has: []string{`"current":1`, `"org_cap":8`, `"created_by":"system"`}},
				{user: "simao", method: "PUT", path: "/api/v1/hour-rules", body: string(good), want: 403, has: []string{"市级管理员"}},
				{user: "auditor", method: "PUT", path: "/api/v1/hour-rules", body: string(good), want: 403},
				{user: "city", method: "PUT", path: "/api/v1/hour-rules", body: `{"bands":[],"nonsense":1}`, want: 400, has: []string{"message_zh"}},
				{user: "city", method: "PUT", path: "/api/v1/hour-rules", body: string(bad), want: 400, has: []string{"必须小于县（区）审核上限"}},
				{user: "city", method: "PUT", path: "/api/v1/hour-rules", body: string(good), want: 200, has: []string{`"current":2`, `"org_cap":6`}},
				{user: "simao", method: "GET", path: "/api/v1/hour-rules", want: 200, has: []string{`"current":2`, `"version":1`, `"version":2`, `"created_by":"city"`}},
			})
			if _, body := as(t, base, "auditor", "GET", "/api/v1/audit?action=hours.rules", ""); !strings.Contains(body, `"after":{"rules":`) ||
				!strings.Contains(body, `"version":2`) || !strings.Contains(body, `"status":403`) {
				t.Errorf("audit of the hour rules: %s", body)
			}
		})
	}
}
