package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"leifeng/cloud/api"
	"leifeng/cloud/store"
)

// Ratings feed the organisation's evaluation and the volunteer's record
// (志愿服务条例 Art. 10), on SQLite and PostgreSQL: four orders served by
// O2 with V1, three rated (5, 4, 5): GET /api/v1/organisations/O2 says 4
// served, 3 rated, mean 4.67, to those who see O2 and 404 to the others;
// V1's export (JSON and CSV) lists the four orders with their ratings and
// no resident's phone; the suggestions for a new order carry O2's
// evaluation and rank it by its mean rating.
func TestOrgEvaluationAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			testOrgEvaluationAPI(t, c)
		})
	}
}

func testOrgEvaluationAPI(t *testing.T, c *testCloud) {
	base := c.srv.URL
	step := func(user, path, body string) string {
		t.Helper()
		code, out := as(t, base, user, "POST", path, body)
		if code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", user, path, code, out)
		}
		return out
	}
	newOrder := func() string {
		var o api.OrderView
		if err := json.Unmarshal([]byte(step("manager", "/api/v1/orders", `{"station":"pe-simao-001","category":"家政","phone":"13800005678"}`)), &o); err != nil {
			t.Fatal(err)
		}
		return "/api/v1/orders/" + strconv.FormatInt(o.ID, 10)
	}
	for _, rating := range []int{5, 4, 5, 0} {
		p := newOrder()
		step("manager", p+"/dispatch", `{"org":"O2"}`)
		step("org", p+"/accept", "")
		step("org", p+"/assign", `{"volunteers":["V1"]}`)
		step("org", p+"/start", "")
		step("org", p+"/complete", "")
		if rating > 0 {
			step("manager", p+"/rate", `{"rating":`+strconv.Itoa(rating)+`,"comment":"准时到达"}`)
		}
	}
	// One still open counts for nothing.
	open := newOrder()

	runScope(t, base, []scopeHit{
		{user: "simao", method: "GET", path: "/api/v1/organisations/O2", want: 200,
			has: []string{`"evaluation":{"orders_served":4,"rated":3,"mean_rating":4.67}`}},
		{user: "org", method: "GET", path: "/api/v1/organisations/O2", want: 200, has: []string{`"orders_served":4`}},
		{user: "ninger", method: "GET", path: "/api/v1/organisations/O2", want: 404},
		{user: "ninger", method: "GET", path: "/api/v1/organisations/O3", want: 200,
			has: []string{`"evaluation":{"orders_served":0,"rated":0,"mean_rating":null}`}},
	})

	code, out := as(t, base, "city", "GET", "/api/v1/volunteers/V1/export?format=json", "")
	var x struct {
		Orders []store.ServedOrder `json:"orders"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &x) != nil || len(x.Orders) != 4 {
		t.Fatalf("export: %d %s", code, out)
	}
	var ratings []int
	for _, o := range x.Orders {
		ratings = append(ratings, o.Rating)
		if o.Org != "O2" || o.Category != "家政" || o.Ref == "" {
			t.Fatalf("exported order %+v", o)
		}
	}
	if len(ratings) != 4 || ratings[0]+ratings[1]+ratings[2]+ratings[3] != 14 || strings.Contains(out, "13800005678") {
		t.Fatalf("exported ratings %v, or the resident's phone in %s", ratings, out)
	}
	code, out = as(t, base, "city", "GET", "/api/v1/volunteers/V1/export?format=csv", "")
	if code != 200 || !strings.Contains(out, "order,1,rating,") || !strings.Contains(out, "order,4,state,completed") {
		t.Fatalf("CSV export: %d %s", code, out)
	}

	code, out = as(t, base, "manager", "GET", open+"/suggestions", "")
	var sg api.Suggestions
	if code != 200 || json.Unmarshal([]byte(out), &sg) != nil || len(sg.Orgs) == 0 || sg.Orgs[0].ID != "O2" {
		t.Fatalf("suggestions: %d %s", code, out)
	}
	if o := sg.Orgs[0]; o.Evaluation.Rated != 3 || !slices.Contains(o.Reasons, "群众评价平均4.7分（3单）") {
		t.Fatalf("O2 suggested %+v", o)
	}
}
