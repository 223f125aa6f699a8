package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The notice and star pages: the city edits the holiday calendar (a bad
// line is named and nothing saved), others only read it; an objection
// raised in the console holds the record, the county sees it without the
// buttons and the station manager dismisses it; a volunteer with 100
// counted hours is applied for at the station, the application is in
// 思茅区's star queue and not 宁洱县's nor the city's, and its approval
// starts the notice.
func TestNoticeAndStarPages(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		city, simao, manager, ninger := c.login("city"), c.login("simao"), c.login("manager"), c.login("ninger")
		c.importCSV(city, "volunteers", "volunteers.csv", volunteerFile, 200)
		now := time.Now()
		if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{
			{ID: "tap:P1", Ledger: store.LedgerCard, Volunteer: "V002", Org: "org-1", Community: "530802001001", Station: "pe-simao-001",
				ActivityName: "社区助老", Day: now.Format(time.DateOnly), CountedCents: 150, Status: store.StatusNotice,
				Reasons: []string{}, NoticeUntil: now.Add(72 * time.Hour)},
			{ID: "imp:P2", Ledger: store.LedgerImported, Volunteer: "V001", Org: "org-1", Community: "530802001001",
				ActivityName: "历史记录", Day: "2025-06-01", CountedCents: 10000, Status: store.StatusFinal, Reasons: []string{}},
		}, "test", now); err != nil {
			t.Fatal(err)
		}

		// Holidays.
		bad := url.Values{"year": {"2026"}, "days": {"2026-10-01,休,国庆节\n2026-10-09,班,x\n"}}
		code, body := city.post("/console/holidays", bad)
		if code != 422 {
			t.Fatalf("bad calendar: %d", code)
		}
		has(t, "bad calendar", body, "第2行", "星期五", "整份未保存")
		code, body = city.post("/console/holidays", url.Values{"year": {"2026"}, "days": {"2026-10-01,休,国庆节\n2026-10-10,班,国庆节调休上班\n"}})
		if code != 200 {
			t.Fatalf("calendar: %d %s", code, body)
		}
		has(t, "calendar", body, "已保存（2 天）", "国庆节调休上班")
		_, body = manager.get("/console/holidays?year=2026")
		has(t, "manager reads", body, "国庆节调休上班")
		hasNot(t, "manager reads", body, `id="holidaysForm"`)
		if code, _ := manager.post("/console/holidays", url.Values{"year": {"2026"}, "days": {""}}); code != 403 {
			t.Errorf("manager saves the calendar: %d", code)
		}

		// Objections.
		code, body = simao.post("/console/objections", url.Values{"record": {"tap:P1"}, "reason": {"当天站点没有开放"}})
		if code != 200 {
			t.Fatalf("objection: %d %s", code, body)
		}
		has(t, "objection", body, "已提出异议（第1号）", `data-objection="1"`, "由站点处理")
		if code, body := ninger.post("/console/objections", url.Values{"record": {"tap:P1"}, "reason": {"x"}}); code != 404 {
			t.Errorf("another county objects: %d %s", code, body)
		}
		if r, _ := c.db.ServiceRecord(ctx, "tap:P1"); r.Status != store.StatusObjected {
			t.Fatalf("record after the objection: %s", r.Status)
		}
		_, body = manager.get("/console/objections")
		has(t, "manager's objections", body, "当天站点没有开放", "异议不成立")
		if code, _ := simao.post("/console/objections/1", url.Values{"action": {"dismiss"}, "reason": {"x"}}); code != 403 {
			t.Errorf("county resolves a station's objection: %d", code)
		}
		if code, body := manager.post("/console/objections/1", url.Values{"action": {"dismiss"}}); code != 400 || !strings.Contains(body, "请写明原因") {
			t.Errorf("without a reason: %d", code)
		}
		code, body = manager.post("/console/objections/1", url.Values{"action": {"dismiss"}, "reason": {"核对签到表无误"}})
		if code != 200 {
			t.Fatalf("dismiss: %d %s", code, body)
		}
		has(t, "dismiss", body, "记录回到公示")
		if r, _ := c.db.ServiceRecord(ctx, "tap:P1"); r.Status != store.StatusNotice {
			t.Fatalf("record after dismissal: %s", r.Status)
		}

		// Stars.
		_, body = manager.get("/console/volunteers/V001/stars")
		has(t, "stars page", body, "可申请升级为一星志愿者", `id="applyBtn"`)
		if code, _ := ninger.get("/console/volunteers/V001/stars"); code != 404 {
			t.Errorf("another county sees the stars: %d", code)
		}
		code, body = manager.post("/console/volunteers/V001/stars/apply", url.Values{})
		if code != 200 {
			t.Fatalf("apply: %d %s", code, body)
		}
		has(t, "apply", body, "已提交一星申请，等待县级审批", "待审批")
		_, body = ninger.get("/console/stars")
		hasNot(t, "宁洱 queue", body, "V001")
		_, body = city.get("/console/stars")
		hasNot(t, "city queue", body, "V001")
		_, body = simao.get("/console/stars")
		has(t, "思茅 queue", body, "V001", "张三", "一星")
		if code, _ := manager.get("/console/stars"); code != 404 {
			t.Errorf("a station manager opens the star queue: %d", code)
		}
		code, body = simao.post("/console/stars/1", url.Values{"action": {"approve"}, "reason": {"符合条件"}})
		if code != 200 {
			t.Fatalf("approve: %d %s", code, body)
		}
		has(t, "approve", body, "已通过，公示至")
		_, body = manager.get("/console/volunteers/V001/stars")
		has(t, "after approval", body, "公示中")
		// An organisation's stars: its administrator sees the criteria,
		// another county does not see it at all.
		code, body = c.login("orgadmin").get("/console/orgs/org-1/stars")
		if code != 200 {
			t.Fatalf("organisation stars: %d", code)
		}
		has(t, "organisation stars", body, "注册志愿者", "距一星组织还差", "尚无评价")
		hasNot(t, "organisation stars", body, `id="applyBtn"`)
		if code, _ := ninger.get("/console/orgs/org-1/stars"); code != 404 {
			t.Errorf("another county sees the organisation's stars: %d", code)
		}
		if code, _ := c.login("orgadmin").post("/console/orgs/org-1/stars/apply", url.Values{}); code != 409 {
			t.Errorf("an organisation short of the criteria applies: %d", code)
		}
		c.mu.Lock()
		audited := strings.Join(c.audited, "\n")
		c.mu.Unlock()
		has(t, "audit", audited, "city holidays.set holidays 2026", "simao hours.objection service record tap:P1",
			"manager hours.objection_resolve objection 1", "manager stars.apply volunteer V001", "simao stars.decide star application 1")
	})
}
