package api_test

import (
	"strings"
	"testing"
)

// Areas and organisations added and edited one at a time through the
// API, on SQLite and PostgreSQL: the city changes everything, a county
// administrator its county's subtree and organisations without moving
// anything out of it (out of scope: 404, a target out of scope: 422),
// others 403; the import's rules apply (levels, parents, a loop of
// organisations); every change is in the audit log with the before and
// after. The leading office is named by the city only, audited.
func TestPlaces(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			t.Run("Areas", func(t *testing.T) { testAreaEdits(t, c) })
			t.Run("Organisations", func(t *testing.T) { testOrgEdits(t, c) })
			t.Run("LeadingOffice", func(t *testing.T) { testLeadingOffice(t, c) })
		})
	}
}

func testAreaEdits(t *testing.T, c *testCloud) {
	base := c.srv.URL
	runScope(t, base, []scopeHit{
		{user: "city", method: "POST", path: "/api/v1/areas", body: `{"code":"530802001003","name":"新城社区","parent":"530802001","level":"社区","population":3000}`,
			want: 201, has: []string{`"level":"community"`, `"population":3000`}},
		{user: "simao", method: "POST", path: "/api/v1/areas", body: `{"code":"530802001004","name":"倚象社区","parent":"530802001","level":"community","population":2500}`, want: 201},
		{user: "simao", method: "GET", path: "/api/v1/areas?parent=530802001", want: 200, has: []string{"530802001003", "530802001004"}},
		{user: "simao", method: "POST", path: "/api/v1/areas", body: `{"code":"530821001009","name":"x","parent":"530821001","level":"community"}`, want: 422, has: []string{"管理范围"}},
		{user: "simao", method: "POST", path: "/api/v1/areas", body: `{"code":"530899","name":"x","parent":"5308","level":"county"}`, want: 422},
		{user: "simao", method: "POST", path: "/api/v1/areas", body: `{"code":"530802001005","name":"x","parent":"530802","level":"community"}`, want: 422, has: []string{`"reason":"bad_parent"`}},
		{user: "simao", method: "POST", path: "/api/v1/areas", body: `{"code":"530802001006","parent":"530802001","level":"community"}`, want: 422, has: []string{`"reason":"missing_name"`}},
		{user: "city", method: "POST", path: "/api/v1/areas", body: `{"code":"530802","name":"思茅区","parent":"5308","level":"county"}`, want: 409, has: []string{"换一个编号"}},
		{user: "city", method: "POST", path: "/api/v1/areas", body: `{"code":"5308x","name":"x","level":"city","size":1}`, want: 400},
		{user: "simao", method: "PATCH", path: "/api/v1/areas/530802001001", body: `{"population":8100}`, want: 200, has: []string{`"population":8100`, `"name":"茶源社区"`}},
		{user: "simao", method: "PATCH", path: "/api/v1/areas/530802", body: `{"name":"思茅区","population":310000}`, want: 200},
		{user: "simao", method: "PATCH", path: "/api/v1/areas/530821001001", body: `{"population":1}`, want: 404, hasNot: []string{"西门社区"}},
		{user: "simao", method: "PATCH", path: "/api/v1/areas/530802001002", body: `{"parent":"530821001"}`, want: 422},
		{user: "simao", method: "PATCH", path: "/api/v1/areas/530802", body: `{"parent":"530821"}`, want: 422},
		{user: "city", method: "PATCH", path: "/api/v1/areas/530802001", body: `{"level":"community"}`, want: 422, has: []string{`"reason":"bad_parent"`}},
		{user: "city", method: "PATCH", path: "/api/v1/areas/530802001002", body: `{"parent":"530821001"}`, want: 200, has: []string{`"parent":"530821001"`}},
		{user: "city", method: "PATCH", path: "/api/v1/areas/530802001002", body: `{"population":-1}`, want: 422, has: []string{`"reason":"bad_population"`}},
		{user: "city", method: "PATCH", path: "/api/v1/areas/530899", body: `{"population":1}`, want: 404},
		{user: "manager", method: "POST", path: "/api/v1/areas", body: `{"code":"530802001007","name":"x","parent":"530802001","level":"community"}`, want: 403},
		{user: "org", method: "PATCH", path: "/api/v1/areas/530802001001", body: `{"population":1}`, want: 403},
		{user: "auditor", method: "PATCH", path: "/api/v1/areas/530802001001", body: `{"population":1}`, want: 403, has: []string{"审计员"}},
		// The moved community now belongs to 宁洱县.
		{user: "ninger", method: "GET", path: "/api/v1/areas", want: 200, has: []string{"530802001002"}},
		{user: "simao", method: "GET", path: "/api/v1/areas", want: 200, hasNot: []string{"530802001002", "530802001007"}},
	})
	// Out of scope answers like missing.
	_, missing := as(t, base, "simao", "PATCH", "/api/v1/areas/530802999", `{"population":1}`)
	_, hidden := as(t, base, "simao", "PATCH", "/api/v1/areas/530821001001", `{"population":1}`)
	if strings.ReplaceAll(missing, "530802999", "530821001001") != hidden {
		t.Errorf("area out of scope %s differs from missing %s", hidden, missing)
	}
	for q, want := range map[string]string{
		"?action=area.edit&user=simao": `"before":{"code":"530802001001","name":"茶源社区","parent":"530802001","level":"community","population":8000},"after":{"code":"530802001001","name":"茶源社区","parent":"530802001","level":"community","population":8100}`,
		"?action=area.add&user=simao":  `"target":"area 530802001004"`,
		"?action=area.edit&user=city":  `"after":{"code":"530802001002","name":"南屏社区","parent":"530821001"`,
	} {
		if _, body := as(t, base, "city", "GET", "/api/v1/audit"+q, ""); !strings.Contains(body, want) {
			t.Errorf("audit %s: %s lacks %s", q, body, want)
		}
	}
}

func testOrgEdits(t *testing.T, c *testCloud) {
	base := c.srv.URL
	runScope(t, base, []scopeHit{
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O4","name":"思茅区助老服务队","type":"志愿服务队","county":"530802","community":"530802001001","parent":"O1"}`,
			want: 201, has: []string{`"id":"O4"`}},
		{user: "simao", method: "GET", path: "/api/v1/organisations/O4", want: 200, has: []string{"思茅区助老服务队"}},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O5","name":"x","county":"530821"}`, want: 422},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O5","name":"x"}`, want: 422},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O5","name":"x","county":"530802","parent":"O3"}`, want: 422, has: []string{`"reason":"unknown_org"`}},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O5","name":"x","county":"530802","parent":"O9"}`, want: 422, has: []string{`"reason":"unknown_org"`}},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O5","name":"x","county":"530802001001"}`, want: 422, has: []string{`"reason":"bad_county"`}},
		{user: "simao", method: "POST", path: "/api/v1/organisations", body: `{"id":"O1","name":"x","county":"530802"}`, want: 409},
		{user: "city", method: "POST", path: "/api/v1/organisations", body: `{"id":"O6","name":"普洱市志愿服务联合会"}`, want: 201},
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O3", body: `{"name":"x"}`, want: 404, hasNot: []string{"宁洱县志愿服务队"}},
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O6", body: `{"name":"x"}`, want: 404},
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O2", body: `{"type":"社区志愿服务队"}`, want: 200, has: []string{`"type":"社区志愿服务队"`, `"parent":"O1"`}},
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O2", body: `{"community":"530821001001","county":""}`, want: 422},
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O2", body: `{"parent":"O6"}`, want: 422, has: []string{`"reason":"unknown_org"`}},
		{user: "city", method: "PATCH", path: "/api/v1/organisations/O1", body: `{"parent":"O2"}`, want: 422, has: []string{`"reason":"self_parent"`}},
		{user: "city", method: "PATCH", path: "/api/v1/organisations/O1", body: `{"parent":"O6"}`, want: 200, has: []string{`"parent":"O6"`}},
		// O1 under the city's O6 (set by the city): the county still edits it.
		{user: "simao", method: "PATCH", path: "/api/v1/organisations/O1", body: `{"name":"思茅区志愿服务联合会","parent":"O6"}`, want: 200},
		{user: "org", method: "PATCH", path: "/api/v1/organisations/O2", body: `{"name":"x"}`, want: 403},
		{user: "manager", method: "POST", path: "/api/v1/organisations", body: `{"id":"O7","name":"x","community":"530802001001"}`, want: 403},
		{user: "auditor", method: "POST", path: "/api/v1/organisations", body: `{"id":"O7","name":"x"}`, want: 403},
	})
	if _, body := as(t, base, "city", "GET", "/api/v1/audit?action=org.edit&user=simao", ""); !strings.Contains(body,
		`"before":{"id":"O2","name":"茶源社区志愿服务队","county":"530802","community":"530802001001","parent":"O1"},"after":{"id":"O2","name":"茶源社区志愿服务队","type":"社区志愿服务队"`) {
		t.Errorf("audit of org.edit: %s", body)
	}
}

func testLeadingOffice(t *testing.T, c *testCloud) {
	base := c.srv.URL
	runScope(t, base, []scopeHit{
		{user: "simao", method: "GET", path: "/api/v1/settings/leading-office", want: 200, has: []string{`"name":"志愿服务主管部门","default":true`}},
		{user: "simao", method: "PUT", path: "/api/v1/settings/leading-office", body: `{"name":"思茅区文明办"}`, want: 403, has: []string{"市级管理员"}},
		{user: "auditor", method: "PUT", path: "/api/v1/settings/leading-office", body: `{"name":"x"}`, want: 403},
		{user: "city", method: "PUT", path: "/api/v1/settings/leading-office", body: `{}`, want: 400},
		{user: "city", method: "PUT", path: "/api/v1/settings/leading-office", body: `{"name":"` + strings.Repeat("部", 61) + `"}`, want: 400},
		{user: "city", method: "PUT", path: "/api/v1/settings/leading-office", body: `{"name":" 中共普洱市委社会工作部 "}`, want: 200, has: []string{`"name":"中共普洱市委社会工作部","default":false`}},
		{user: "org", method: "GET", path: "/api/v1/settings/leading-office", want: 200, has: []string{"中共普洱市委社会工作部"}},
	})
	if _, body := as(t, base, "auditor", "GET", "/api/v1/audit?action=settings.leading_office", ""); !strings.Contains(body,
		`"before":{"name":"志愿服务主管部门"},"after":{"name":"中共普洱市委社会工作部"}`) || !strings.Contains(body, `"status":403`) {
		t.Errorf("audit of the leading office: %s", body)
	}
	runScope(t, base, []scopeHit{
		{user: "city", method: "PUT", path: "/api/v1/settings/leading-office", body: `{"name":""}`, want: 200, has: []string{`"default":true`}},
	})
}
