package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// Public notice, objections, holidays and stars through the API, on
// SQLite and PostgreSQL, each role held to its part: a user who sees a
// record objects to it (an auditor cannot, another county gets 404); the
// record's station manager resolves it, the county only sees it; the
// holiday calendar and the star rules change only by the city, with
// every bad line named; a county star goes to that county's queue and
// nobody else's, and its approval starts the notice.
func TestNoticeAndStarsAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			ctx := context.Background()
			now := time.Now()
			rec := func(id, station, community string, status string, cents int64) store.ServiceRecord {
				return store.ServiceRecord{ID: id, Ledger: store.LedgerCard, Volunteer: "V1", Org: "O2", Community: community,
					Station: station, ActivityName: "社区助老", Day: now.Format(time.DateOnly), CountedCents: cents,
					Status: status, Reasons: []string{}, NoticeUntil: now.Add(72 * time.Hour)}
			}
			if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{
				rec("tap:R1", "pe-simao-001", "530802001001", store.StatusNotice, 150),
				rec("tap:R2", "pe-ninger-001", "530821001001", store.StatusNotice, 100),
				rec("imp:H1", "", "530802001001", store.StatusFinal, 12000),
			}, "test", now); err != nil {
				t.Fatal(err)
			}
			base := c.srv.URL
			runScope(t, base, []scopeHit{
				{user: "ninger", method: "POST", path: "/api/v1/hours/records/tap:R1/objection", body: `{"reason":"x"}`, want: 404},
				{user: "auditor", method: "POST", path: "/api/v1/hours/records/tap:R1/objection", body: `{"reason":"x"}`, want: 403},
				{user: "simao", method: "POST", path: "/api/v1/hours/records/tap:R1/objection", body: `{"reason":" "}`, want: 400, has: []string{"请写明原因"}},
				{user: "simao", method: "POST", path: "/api/v1/hours/records/imp:H1/objection", body: `{"reason":"x"}`, want: 409, has: []string{"已生效"}},
				{user: "simao", method: "POST", path: "/api/v1/hours/records/tap:R1/objection", body: `{"reason":"当天没有开展活动"}`, want: 201, has: []string{`"objected"`}},
				{user: "manager", method: "GET", path: "/api/v1/hours/objections", want: 200, has: []string{"tap:R1", `"can_resolve":true`}},
				{user: "simao", method: "GET", path: "/api/v1/hours/objections", want: 200, has: []string{"tap:R1", `"can_resolve":false`}},
				{user: "simao", method: "GET", path: "/api/v1/hours/objections?mine=1", want: 200, hasNot: []string{"tap:R1"}},
				{user: "ninger", method: "GET", path: "/api/v1/hours/objections", want: 200, hasNot: []string{"tap:R1"}},
				{user: "manager", method: "GET", path: "/api/v1/stations/pe-simao-001/notice", want: 200, has: []string{"王*明", `"objected":true`}, hasNot: []string{"王小明"}},
				{user: "ninger", method: "GET", path: "/api/v1/stations/pe-simao-001/notice", want: 404},
				{user: "simao", method: "POST", path: "/api/v1/hours/objections/1/dismiss", body: `{"reason":"x"}`, want: 403, has: []string{"站点管理员"}},
				{user: "ninger", method: "POST", path: "/api/v1/hours/objections/1/dismiss", body: `{"reason":"x"}`, want: 404},
				{user: "manager", method: "POST", path: "/api/v1/hours/objections/1/uphold", body: `{}`, want: 400},
				{user: "manager", method: "POST", path: "/api/v1/hours/objections/1/close", body: `{"reason":"x"}`, want: 404},
				{user: "manager", method: "POST", path: "/api/v1/hours/objections/1/dismiss", body: `{"reason":"核对签到表无误"}`, want: 200, has: []string{`"dismissed"`, `"status":"notice"`}},
				{user: "manager", method: "POST", path: "/api/v1/hours/objections/1/uphold", body: `{"reason":"x"}`, want: 409},

				{user: "simao", method: "PUT", path: "/api/v1/holidays/2026", body: "2026-10-01,休,国庆节", want: 403, has: []string{"市级管理员"}},
				{user: "city", method: "PUT", path: "/api/v1/holidays/2026", body: "day,kind,name\n2026-10-01,休,国庆节\n2026-10-09,班,x\n", want: 422, has: []string{"第3行", "星期五"}},
				{user: "city", method: "PUT", path: "/api/v1/holidays/2026", body: "2026-10-01,休,国庆节\n2026-10-10,班,国庆节调休上班\n", want: 200, has: []string{"2026-10-10"}},
				{user: "manager", method: "GET", path: "/api/v1/holidays?year=2026", want: 200, has: []string{"国庆节调休上班"}},
				{user: "manager", method: "GET", path: "/api/v1/holidays?year=26", want: 400},

				{user: "manager", method: "GET", path: "/api/v1/star-rules", want: 200, has: []string{`"hours":[100,300,600,1000,1500]`}},
				{user: "simao", method: "PUT", path: "/api/v1/star-rules", body: `{}`, want: 403},
				{user: "city", method: "PUT", path: "/api/v1/star-rules", body: `{"hours":[1]}`, want: 422, has: []string{"一星到五星"}},

				{user: "simao", method: "GET", path: "/api/v1/volunteers/V1/stars", want: 200, has: []string{`"eligible":true`, `"next":1`}},
				{user: "ninger", method: "GET", path: "/api/v1/volunteers/V1/stars", want: 404},
				{user: "ninger", method: "POST", path: "/api/v1/volunteers/V1/stars/apply", want: 404},
				{user: "manager", method: "POST", path: "/api/v1/volunteers/V1/stars/apply", want: 201, has: []string{`"state":"applied"`, `"approver":"county"`}},
				{user: "manager", method: "POST", path: "/api/v1/volunteers/V1/stars/apply", want: 409, has: []string{"正在审批或公示中"}},
				{user: "simao", method: "GET", path: "/api/v1/stars/queue", want: 200, has: []string{`"subject":"V1"`, "王*明", "一星"}},
				{user: "ninger", method: "GET", path: "/api/v1/stars/queue", want: 200, hasNot: []string{"V1"}},
				{user: "city", method: "GET", path: "/api/v1/stars/queue", want: 200, hasNot: []string{"V1"}},
				{user: "ninger", method: "POST", path: "/api/v1/stars/1/approve", body: `{}`, want: 404},
				{user: "city", method: "POST", path: "/api/v1/stars/1/approve", body: `{}`, want: 403, has: []string{"县级"}},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/reject", body: `{}`, want: 400},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/approve", body: `{"reason":"符合条件"}`, want: 200, has: []string{`"state":"notice"`}},
				{user: "simao", method: "GET", path: "/api/v1/organisations/O2/stars", want: 200, has: []string{`"next":1`, `"eligible":false`}},
				{user: "ninger", method: "GET", path: "/api/v1/organisations/O2/stars", want: 404},
			})
			// A city's rule: 1★ from 50 h, approved by the city; the
			// next application (V3 has 60 h) goes to the city's queue.
			rules := `{"hours":[50,300,600,1000,1500],"annual":false,"tenure_months":[0,0,0,0,0],"tenure_from":"registration",` +
				`"approvers":["city","county","city","city","city"],"notice_days":3,"org":{"levels":[` +
				strings.Repeat(`{"members":1,"hours":1,"visit_months":0,"min_rating":0},`, 4) + `{"members":1,"hours":1,"visit_months":0,"min_rating":0}],` +
				`"approvers":["county","county","city","city","city"]}}`
			v3 := rec("imp:H3", "", "530802001002", store.StatusFinal, 6000)
			v3.Volunteer = "V3"
			if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{v3}, "test", now); err != nil {
				t.Fatal(err)
			}
			runScope(t, base, []scopeHit{
				{user: "city", method: "PUT", path: "/api/v1/star-rules", body: rules, want: 200, has: []string{`"hours":[50,`}},
				{user: "simao", method: "GET", path: "/api/v1/star-rules", want: 200, has: []string{`"approvers":["city"`}},
				{user: "simao", method: "POST", path: "/api/v1/volunteers/V3/stars/apply", want: 201, has: []string{`"approver":"city"`}},
				{user: "simao", method: "GET", path: "/api/v1/stars/queue", want: 200, hasNot: []string{"V3"}},
				{user: "city", method: "GET", path: "/api/v1/stars/queue", want: 200, has: []string{`"subject":"V3"`}},
				{user: "simao", method: "POST", path: "/api/v1/stars/2/approve", body: `{}`, want: 403, has: []string{"市级"}},
				{user: "city", method: "POST", path: "/api/v1/stars/2/reject", body: `{"reason":"材料不全"}`, want: 200, has: []string{`"state":"rejected"`}},
			})
			for _, action := range []string{"stars.rules", "hours.objection", "hours.objection_resolve", "holidays.set", "stars.apply", "stars.decide"} {
				log, err := c.db.AuditLog(ctx, store.AuditFilter{Action: action, Limit: 10})
				if err != nil || len(log) == 0 {
					t.Errorf("audit of %s: %v %v", action, log, err)
				}
			}
			if o, err := c.db.Objection(ctx, 1); err != nil || o.ResolvedBy != "manager" || !strings.Contains(o.Resolution, "签到表") {
				t.Errorf("objection as stored: %+v %v", o, err)
			}
		})
	}
}
