package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/api"
	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/gateway/wire"
)

// Orders through the API, scoped, on SQLite and PostgreSQL: a station
// manager registers a need for a resident (代办), a kiosk's need is taken
// in; each role sees the orders of its scope and 404 for the others'; the
// flow dispatch → accept → assign → start → complete → rate, each step in
// the history; refusals say why in Chinese; an auditor reads with the
// phone masked and changes nothing.
func TestOrdersAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			testOrdersAPI(t, c)
		})
	}
}

func testOrdersAPI(t *testing.T, c *testCloud) {
	base := c.srv.URL
	ctx := context.Background()

	// 代办 at the manager's station.
	code, body := as(t, base, "manager", "POST", "/api/v1/orders", `{"station":"pe-simao-001","category":"家政","phone":"13800005678","note":"每周二上午"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var mine api.OrderView
	if err := json.Unmarshal([]byte(body), &mine); err != nil || mine.Community != "530802001001" || mine.Source != "proxy" || mine.StateZh != "待审核" {
		t.Fatalf("created %s (%v)", body, err)
	}
	id := strconv.FormatInt(mine.ID, 10)

	// A need from 宁洱's kiosk.
	e := storetest.NewTraffic("pe-ninger-001", time.Now().Add(-time.Hour)).Entries(1)
	e[0].Kind, e[0].Volunteer, e[0].Card, e[0].Service, e[0].Phone = wire.KindServiceRequest, "", "", "法律", "13900001111"
	if _, err := c.db.Ingest(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n, err := c.db.IntakeOrders(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("intake %d %v", n, err)
	}
	theirs := strconv.FormatInt(mine.ID+1, 10)

	runScope(t, base, []scopeHit{
		// Creating needs a phone and a community in scope.
		{user: "manager", method: "POST", path: "/api/v1/orders", body: `{"station":"pe-simao-001","category":"家政","phone":"123"}`, want: 422},
		{user: "manager", method: "POST", path: "/api/v1/orders", body: `{"station":"pe-ninger-001","category":"家政","phone":"13800005678"}`, want: 404},
		{user: "auditor", method: "POST", path: "/api/v1/orders", body: `{"station":"pe-simao-001","category":"家政","phone":"13800005678"}`, want: 403},
		// Lists and single orders by scope.
		{user: "city", method: "GET", path: "/api/v1/orders", want: 200, has: []string{`"id":` + id + `,`, `"id":` + theirs + `,`}},
		{user: "simao", method: "GET", path: "/api/v1/orders", want: 200, has: []string{`"id":` + id + `,`}, hasNot: []string{"13900001111"}},
		{user: "ninger", method: "GET", path: "/api/v1/orders?state=submitted", want: 200, has: []string{"13900001111"}, hasNot: []string{"13800005678"}},
		{user: "manager", method: "GET", path: "/api/v1/orders?community=530802001001", want: 200, has: []string{"13800005678"}},
		{user: "org", method: "GET", path: "/api/v1/orders", want: 200, hasNot: []string{"13800005678", "13900001111"}},
		{user: "simao", method: "GET", path: "/api/v1/orders/" + theirs, want: 404},
		{user: "ninger", method: "GET", path: "/api/v1/orders/" + id, want: 404},
		{user: "org", method: "GET", path: "/api/v1/orders/" + id, want: 404},
		{user: "simao", method: "POST", path: "/api/v1/orders/" + theirs + "/dispatch", body: `{"org":"O3"}`, want: 404},
		{user: "city", method: "GET", path: "/api/v1/orders?state=lost", want: 400},
		{user: "auditor", method: "GET", path: "/api/v1/orders/" + id, want: 200, has: []string{"138****5678"}, hasNot: []string{"13800005678"}},
		// The flow, with refusals on the way.
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/rate", body: `{"rating":5}`, want: 409},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/fly", want: 404},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/dispatch", body: `{"org":"NOPE"}`, want: 422},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/dispatch", body: `{"org":"O2"}`, want: 200, has: []string{`"state":"dispatched"`}},
		{user: "auditor", method: "POST", path: "/api/v1/orders/" + id + "/accept", want: 403},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/accept", want: 403},
		{user: "org", method: "GET", path: "/api/v1/orders", want: 200, has: []string{"13800005678"}},
		{user: "org", method: "POST", path: "/api/v1/orders/" + id + "/accept", want: 200, has: []string{`"state":"accepted"`}},
		{user: "org", method: "POST", path: "/api/v1/orders/" + id + "/assign", body: `{"volunteers":["V2"]}`, want: 422},
		{user: "org", method: "POST", path: "/api/v1/orders/" + id + "/assign", body: `{"volunteers":["V1"]}`, want: 200, has: []string{`"V1"`}},
		{user: "org", method: "POST", path: "/api/v1/orders/" + id + "/start", want: 200, has: []string{`"state":"in_service"`}},
		{user: "org", method: "POST", path: "/api/v1/orders/" + id + "/complete", want: 200, has: []string{`"state":"completed"`}},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/rate", body: `{"rating":9}`, want: 422},
		{user: "manager", method: "POST", path: "/api/v1/orders/" + id + "/rate", body: `{"rating":5,"comment":"准时到达"}`, want: 200, has: []string{`"state":"rated"`, `"state_zh":"已评价"`}},
		// Rejection needs a reason the resident is told.
		{user: "ninger", method: "POST", path: "/api/v1/orders/" + theirs + "/reject", body: `{}`, want: 422},
		{user: "ninger", method: "POST", path: "/api/v1/orders/" + theirs + "/reject", body: `{"reason":"不在服务范围，已转介司法所"}`, want: 200, has: []string{`"state":"rejected"`}},
	})

	code, body = as(t, base, "simao", "GET", "/api/v1/orders/"+id, "")
	var d api.OrderDetail
	if code != 200 || json.Unmarshal([]byte(body), &d) != nil {
		t.Fatalf("detail: %d %s", code, body)
	}
	var acts []string
	for _, ev := range d.History {
		acts = append(acts, string(ev.Action)+"/"+ev.Who)
	}
	want := []string{"submit/manager", "dispatch/manager", "accept/org", "assign/org", "start/org", "complete/org", "rate/manager"}
	if len(acts) != len(want) {
		t.Fatalf("history %v, want %v", acts, want)
	}
	for i := range want {
		if acts[i] != want[i] {
			t.Fatalf("history %v, want %v", acts, want)
		}
	}
	if d.Rating != 5 || d.Comment != "准时到达" {
		t.Fatalf("rating: %+v", d.Order)
	}

	// Suggestions for dispatching: the organisation linked to the order's
	// community first; volunteers of the organisation, names masked.
	code, body = as(t, base, "manager", "GET", "/api/v1/orders/"+id+"/suggestions", "")
	var sg api.Suggestions
	if code != 200 || json.Unmarshal([]byte(body), &sg) != nil || len(sg.Orgs) == 0 || sg.Orgs[0].ID != "O2" ||
		len(sg.Volunteers) != 1 || sg.Volunteers[0].ID != "V1" || sg.Volunteers[0].Name != "王*明" {
		t.Fatalf("suggestions: %d %s", code, body)
	}
	if code, _ := as(t, base, "simao", "GET", "/api/v1/orders/"+theirs+"/suggestions", ""); code != 404 {
		t.Fatalf("suggestions out of scope: %d", code)
	}

	// Supply and demand per community and category, in scope.
	code, body = as(t, base, "city", "GET", "/api/v1/order-stats", "")
	var st struct {
		Stats []store.OrderStat `json:"stats"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("stats: %d %s", code, body)
	}
	got := map[string]store.OrderStat{}
	for _, s := range st.Stats {
		got[s.Community+"/"+s.Category] = s
	}
	if s := got["530802001001/家政"]; s.Orders != 1 || s.Accepted != 1 || s.AcceptedInTime != 1 || s.Completed != 1 || s.Rated != 1 || s.AvgRating != 5 {
		t.Fatalf("家政: %+v (%s)", s, body)
	}
	if s := got["530821001001/法律"]; s.Orders != 1 || s.Rejected != 1 || !s.NoSupply {
		t.Fatalf("法律: %+v (%s)", s, body)
	}
	if _, body := as(t, base, "simao", "GET", "/api/v1/order-stats?area=530802", ""); strings.Contains(body, "530821") || !strings.Contains(body, "530802001001") {
		t.Fatalf("county stats: %s", body)
	}
	if code, _ := as(t, base, "simao", "GET", "/api/v1/order-stats?area=530821", ""); code != 404 {
		t.Fatalf("stats of another county: %d", code)
	}

	// The changes are in the audit log.
	code, body = as(t, base, "city", "GET", "/api/v1/audit?action=order.action", "")
	if code != 200 {
		t.Fatalf("audit: %d %s", code, body)
	}
	var log struct {
		Entries []struct {
			Target string `json:"target"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(body), &log); err != nil || len(log.Entries) < 7 {
		t.Fatalf("audit entries: %s (%v)", body, err)
	}
}
