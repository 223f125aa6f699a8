package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// Objections to a star award in public notice through the API, on SQLite
// and PostgreSQL: the award shows in its station's notice (masked); a
// user who sees it objects (another county gets 404, an auditor 403);
// it goes back to the approver's queue with the objection, cannot be
// approved again as it is, only the approver resolves it (dismiss: back
// in notice; a later objection upheld: rejected with the reason); every
// step audited.
func TestStarObjectionAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			ctx := context.Background()
			now := time.Now()
			if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{{ID: "imp:H1", Ledger: store.LedgerImported,
				Volunteer: "V1", Org: "O2", Community: "530802001001", ActivityName: "社区助老", Day: now.Format(time.DateOnly),
				CountedCents: 12000, Status: store.StatusFinal, Reasons: []string{}}}, "test", now); err != nil {
				t.Fatal(err)
			}
			base := c.srv.URL
			runScope(t, base, []scopeHit{
				{user: "manager", method: "POST", path: "/api/v1/volunteers/V1/stars/apply", want: 201},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"x"}`, want: 409, has: []string{"不在公示期"}},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/approve", body: `{"reason":"符合条件"}`, want: 200, has: []string{`"state":"notice"`}},
				{user: "manager", method: "GET", path: "/api/v1/stations/pe-simao-001/notice", want: 200, has: []string{`"stars":[{"ref":"star:1"`, "王*明", `"level":1`}, hasNot: []string{"王小明"}},
				{user: "ninger", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"x"}`, want: 404},
				{user: "auditor", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"x"}`, want: 403},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":" "}`, want: 400, has: []string{"请写明原因"}},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"服务记录存疑"}`, want: 201, has: []string{`"state":"applied"`, `"objections":1`}},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"再次"}`, want: 409, has: []string{"不必重复"}},
				{user: "manager", method: "GET", path: "/api/v1/stations/pe-simao-001/notice", want: 200, has: []string{`"ref":"star:1"`, `"objected":true`}},
				{user: "simao", method: "GET", path: "/api/v1/stars/queue", want: 200, has: []string{`"open_objections"`, "服务记录存疑"}},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/approve", body: `{"reason":"x"}`, want: 409, has: []string{"先处理异议"}},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/dismiss", body: `{"reason":"x"}`, want: 403, has: []string{"县级"}},
				{user: "ninger", method: "POST", path: "/api/v1/stars/1/dismiss", body: `{"reason":"x"}`, want: 404},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/dismiss", body: `{}`, want: 400},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/dismiss", body: `{"reason":"核实无误"}`, want: 200, has: []string{`"state":"notice"`, `"dismissed"`}},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/dismiss", body: `{"reason":"x"}`, want: 409, has: []string{"没有待处理的异议"}},
				{user: "manager", method: "POST", path: "/api/v1/stars/1/objection", body: `{"reason":"重复登记时长"}`, want: 201},
				{user: "simao", method: "POST", path: "/api/v1/stars/1/uphold", body: `{"reason":"部分时长重复"}`, want: 200, has: []string{`"state":"rejected"`, "部分时长重复", `"upheld"`}},
				{user: "manager", method: "GET", path: "/api/v1/stations/pe-simao-001/notice", want: 200, has: []string{`"stars":[]`}},
			})
			for _, action := range []string{"stars.objection", "stars.decide"} {
				log, err := c.db.AuditLog(ctx, store.AuditFilter{Action: action, Limit: 10})
				if err != nil || len(log) == 0 {
					t.Errorf("audit of %s: %v %v", action, log, err)
				}
			}
			if objs, err := c.db.StarObjections(ctx, 1); err != nil || len(objs) != 2 || objs[0].State != store.ObjectionDismissed ||
				objs[1].State != store.ObjectionUpheld || !strings.Contains(objs[1].Resolution, "重复") {
				t.Errorf("objections as stored: %+v %v", objs, err)
			}
		})
	}
}
