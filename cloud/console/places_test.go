package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The leading office: named on the settings page by the city
// administrator only, shown at the foot of every page, audited.
func TestLeadingOfficePage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		city, simao := c.login("city"), c.login("simao")
		_, body := simao.get("/console/stations")
		has(t, "default office", body, `id="office">主管部门：志愿服务主管部门<`)
		code, body := city.post("/console/settings", url.Values{"leading_office": {" 中共普洱市委社会工作部 "}})
		if code != 200 {
			t.Fatalf("save the office: %d", code)
		}
		has(t, "saved", body, "已保存", `value="中共普洱市委社会工作部"`, `主管部门：中共普洱市委社会工作部`)
		_, body = simao.get("/console/volunteers")
		has(t, "the county's page", body, `主管部门：中共普洱市委社会工作部`)
		for _, name := range []string{"simao", "auditor", "manager"} {
			cl := c.login(name)
			if code, _ := cl.get("/console/settings"); code != http.StatusNotFound {
				t.Errorf("%s: settings page %d, want 404", name, code)
			}
			if code, _ := cl.post("/console/settings", url.Values{"leading_office": {"x"}}); code != http.StatusNotFound {
				t.Errorf("%s: save settings %d, want 404", name, code)
			}
		}
		if code, body := city.post("/console/settings", url.Values{"leading_office": {strings.Repeat("部", 61)}}); code != 400 {
			t.Errorf("a name too long: %d %s", code, body)
		}
		if name, err := c.db.LeadingOffice(context.Background()); err != nil || name != "中共普洱市委社会工作部" {
			t.Errorf("stored office %q %v", name, err)
		}
		c.audit(t, "city settings.leading_office setting leading_office")
	})
}

// Areas and organisations added and edited on their pages within the
// user's scope, with the import's rules; the reason of a refusal on the
// page; out of scope 404; an auditor and an organisation administrator
// change nothing.
func TestPlacePages(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		simao := c.login("simao")
		_, body := simao.get("/console/areas")
		has(t, "county's areas", body, `id="areaEditForm"`, `id="areaAddForm"`, "添加乡镇（街道）")
		code, body := simao.post("/console/areas", url.Values{"code": {"530802002"}, "name": {"倚象街道"}, "parent": {"530802"},
			"level": {"township"}, "population": {"50000"}})
		if code != 200 {
			t.Fatalf("add a township: %d %s", code, body)
		}
		has(t, "added township", body, "已保存", "倚象街道", "添加社区（村）")
		code, body = simao.post("/console/areas", url.Values{"code": {"530821009"}, "name": {"x"}, "parent": {"530821"}, "level": {"township"}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("a township in another county: %d", code)
		}
		has(t, "refused", body, "没有保存", "不在您的管理范围内")
		code, body = simao.post("/console/areas", url.Values{"code": {"530802003"}, "name": {"x"}, "parent": {"530802"}, "level": {"township"}, "population": {"很多"}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("a bad population: %d", code)
		}
		has(t, "bad population", body, "常住人口应为不小于 0 的整数")
		if code, _ := simao.post("/console/areas/530821001", url.Values{"name": {"x"}, "parent": {"530821"}, "level": {"township"}}); code != 404 {
			t.Errorf("edit another county's area: %d, want 404", code)
		}
		code, body = simao.post("/console/areas/530802001001", url.Values{"name": {"南屏社区"}, "parent": {"530802001"}, "level": {"community"}, "population": {"12500"}})
		if code != 200 {
			t.Fatalf("edit a community: %d %s", code, body)
		}
		if a, err := c.db.Area(ctx, "530802001001"); err != nil || a.Population != 12500 {
			t.Errorf("edited area %+v %v", a, err)
		}
		aud := c.login("auditor")
		_, body = aud.get("/console/areas?area=530802")
		hasNot(t, "auditor's areas", body, `id="areaEditForm"`, `id="areaAddForm"`)
		if code, _ := aud.post("/console/areas/530802", url.Values{"name": {"x"}, "parent": {"5308"}, "level": {"county"}}); code != 403 {
			t.Errorf("auditor edits an area: %d, want 403", code)
		}
		if code, _ := c.login("manager").post("/console/areas", url.Values{"code": {"530802004"}, "name": {"x"}, "parent": {"530802"}, "level": {"township"}}); code != 404 {
			t.Errorf("station manager adds an area: %d, want 404", code)
		}

		code, body = simao.post("/console/orgs", url.Values{"id": {"org-3"}, "name": {"思茅区助老服务队"}, "type": {"志愿服务队"},
			"county": {"530802"}, "community": {"530802001001"}, "parent": {"org-1"}})
		if code != 200 {
			t.Fatalf("add an organisation: %d %s", code, body)
		}
		has(t, "added organisation", body, "已保存", "思茅区助老服务队", `id="orgEditForm"`)
		code, body = simao.post("/console/orgs", url.Values{"id": {"org-4"}, "name": {"x"}, "county": {"530802"}, "parent": {"org-2"}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("an organisation under another county's: %d", code)
		}
		has(t, "refused organisation", body, "没有保存", "找不到该志愿服务组织", `value="org-4"`)
		if code, _ := simao.get("/console/orgs/org-2"); code != 404 {
			t.Errorf("another county's organisation: %d, want 404", code)
		}
		if code, _ := simao.post("/console/orgs/org-2", url.Values{"name": {"x"}, "county": {"530821"}}); code != 404 {
			t.Errorf("edit another county's organisation: %d, want 404", code)
		}
		code, body = simao.post("/console/orgs/org-1", url.Values{"name": {"思茅区青年志愿者协会"}, "type": {"协会"}, "county": {"530802"}, "community": {"530802001001"}})
		if code != 200 {
			t.Fatalf("edit an organisation: %d %s", code, body)
		}
		if o, err := c.db.Organisation(ctx, "org-1"); err != nil || o.Name != "思茅区青年志愿者协会" || o.Type != "协会" {
			t.Errorf("edited organisation %+v %v", o, err)
		}
		if code, _ := simao.post("/console/orgs/org-1", url.Values{"name": {"x"}, "county": {""}, "community": {"530821001001"}}); code != http.StatusUnprocessableEntity {
			t.Errorf("move an organisation out of the county: %d", code)
		}
		org := c.login("orgadmin")
		_, body = org.get("/console/orgs/org-1")
		hasNot(t, "organisation administrator's page", body, `id="orgEditForm"`)
		_, body = org.get("/console/orgs")
		hasNot(t, "organisation administrator's list", body, `id="orgAddForm"`)
		code, body = org.post("/console/orgs/org-1", url.Values{"name": {"x"}})
		if code != http.StatusForbidden {
			t.Errorf("organisation administrator edits: %d", code)
		}
		has(t, "org admin refused", body, "市级或县（区）级管理员")
		c.audit(t, "simao area.add area 530802002", "simao area.edit area 530802001001", "simao org.add organisation org-3", "simao org.edit organisation org-1")
	})
}

// A station's community and name on its page: the city and the county
// move it (the county within its county), a station manager only renames
// it; each change audited.
func TestStationCommunityPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		city, simao, manager := c.login("city"), c.login("simao"), c.login("manager")
		_, body := simao.get("/console/stations/pe-simao-002")
		has(t, "county's station page", body, `id="community">南屏社区（530802001001）<`, `id="stationEditForm"`, `id="stCommunity"`)
		code, body := simao.post("/console/stations/pe-simao-002", url.Values{"name": {"南屏社区站"}, "community": {"530821001001"}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("county moves a station out: %d", code)
		}
		has(t, "refused move", body, "所属社区编码不对")
		// A station registered without a name may stay without one.
		if code, body := simao.post("/console/stations/pe-simao-002", url.Values{"name": {""}, "community": {"530802001001"}}); code != 200 {
			t.Errorf("save a station without a name: %d %s", code, body)
		}
		code, body = city.post("/console/stations/pe-simao-002", url.Values{"name": {"宁洱社区站"}, "community": {"530821001001"}})
		if code != 200 {
			t.Fatalf("city moves a station: %d %s", code, body)
		}
		has(t, "moved", body, "已保存", "宁洱社区（530821001001）", "宁洱社区站")
		if code, _ := simao.get("/console/stations/pe-simao-002"); code != 404 {
			t.Errorf("the county after the move: %d, want 404", code)
		}
		_, body = manager.get("/console/stations/pe-simao-001")
		has(t, "manager's page", body, `id="stationEditForm"`)
		hasNot(t, "manager's page", body, `id="stCommunity"`)
		if code, _ := manager.post("/console/stations/pe-simao-001", url.Values{"name": {"x"}, "community": {"530821001001"}}); code != http.StatusForbidden {
			t.Errorf("manager moves its station: %d, want 403", code)
		}
		if code, _ := manager.post("/console/stations/pe-simao-001", url.Values{"name": {"茶源社区学雷锋志愿服务站"}}); code != 200 {
			t.Errorf("manager renames its station: %d", code)
		}
		if code, _ := manager.post("/console/stations/pe-simao-001", url.Values{"name": {" "}}); code != http.StatusBadRequest {
			t.Errorf("manager takes its station's name away: %d, want 400", code)
		}
		if code, _ := manager.post("/console/stations/pe-simao-002", url.Values{"name": {"x"}}); code != 404 {
			t.Errorf("manager renames another station: %d, want 404", code)
		}
		reg, err := c.db.Registration(ctx, "pe-simao-001")
		if err != nil || reg.Name != "茶源社区学雷锋志愿服务站" || reg.Community != "530802001001" {
			t.Errorf("pe-simao-001: %+v %v", reg, err)
		}
		if code, _ := c.login("auditor").post("/console/stations/pe-simao-001", url.Values{"name": {"x"}}); code != 403 {
			t.Errorf("auditor renames: %d, want 403", code)
		}
		c.audit(t, "city station.edit station pe-simao-002", "manager station.edit station pe-simao-001")
	})
}

// audit checks that each entry ("who action target") was recorded.
func (c *testConsole) audit(t *testing.T, entries ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		if !contains(c.audited, e) {
			t.Errorf("not audited: %q in %q", e, c.audited)
		}
	}
}
