package console_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The public notice page lists the records and the star awards in notice
// within the user's scope (names masked; another county sees neither);
// an objection to a star raised there sends it back to 思茅区's star
// queue with the objection, where the approver dismisses it (notice
// resumes) or, for a later one, upholds it (not awarded).
func TestStarNoticePage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		city, simao, manager, ninger := c.login("city"), c.login("simao"), c.login("manager"), c.login("ninger")
		c.importCSV(city, "volunteers", "volunteers.csv", volunteerFile, 200)
		now := time.Now()
		if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{
			{ID: "tap:P1", Ledger: store.LedgerCard, Volunteer: "V002", Org: "org-1", Community: "530802001001", Station: "pe-simao-001",
				ActivityName: "社区助老", Day: now.Format(time.DateOnly), CountedCents: 150, Status: store.StatusNotice,
				Reasons: []string{}, NoticeUntil: now.Add(72 * time.Hour)},
		}, "test", now); err != nil {
			t.Fatal(err)
		}
		a, err := c.db.ApplyStar(ctx, store.StarAward{SubjectKind: store.SubjectVolunteer, Subject: "V002", Level: 1, Basis: "测试",
			Approver: "county", AppliedBy: "manager"}, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.DecideStar(ctx, a.ID, func(x *store.StarAward) error {
			x.State, x.ApprovedBy, x.NoticeUntil = store.StarNotice, "simao", now.Add(72*time.Hour)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, body := manager.get("/console/notice")
		has(t, "manager's notice", body, `data-star="1"`, "志愿者 李*", "一星", "公示中", `data-record="tap:P1"`, "提出异议")
		hasNot(t, "manager's notice", body, "李四")
		_, body = ninger.get("/console/notice")
		hasNot(t, "ninger's notice", body, `data-star="1"`, `data-record="tap:P1"`)
		if code, _ := ninger.post("/console/stars/1/objection", url.Values{"reason": {"x"}}); code != 404 {
			t.Errorf("another county objects: %d", code)
		}
		if code, _ := manager.post("/console/stars/1/objection", url.Values{"reason": {" "}}); code != 400 {
			t.Errorf("objection without a reason: %d", code)
		}
		code, body := manager.post("/console/stars/1/objection", url.Values{"reason": {"服务时长有重复登记"}})
		if code != 200 {
			t.Fatalf("objection: %d %s", code, body)
		}
		has(t, "objection", body, "已提出异议", "有异议，审批人核实中")
		if x, _ := c.db.StarAward(ctx, 1); x.State != store.StarApplied || x.Objections != 1 {
			t.Fatalf("held award %+v", x)
		}
		_, body = manager.get("/console/volunteers/V002/stars")
		has(t, "V002's stars", body, "公示期间收到异议，待审批人处理")
		_, body = simao.get("/console/stars")
		has(t, "simao's queue", body, "公示期间收到异议", "服务时长有重复登记", "异议不成立")
		if code, _ := simao.post("/console/stars/1", url.Values{"action": {"approve"}, "reason": {"x"}}); code != 409 {
			t.Errorf("approve under objection: %d", code)
		}
		code, body = simao.post("/console/stars/1", url.Values{"action": {"dismiss"}, "reason": {"核实无重复"}})
		if code != 200 {
			t.Fatalf("dismiss: %d %s", code, body)
		}
		has(t, "dismissed", body, "恢复公示")
		if code, _ := manager.post("/console/stars/1/objection", url.Values{"reason": {"另有问题"}}); code != 200 {
			t.Fatalf("second objection: %d", code)
		}
		code, body = simao.post("/console/stars/1", url.Values{"action": {"uphold"}, "reason": {"部分时长重复"}})
		if code != 200 {
			t.Fatalf("uphold: %d %s", code, body)
		}
		has(t, "upheld", body, "不予认定")
		if x, _ := c.db.StarAward(ctx, 1); x.State != store.StarRejected {
			t.Fatalf("upheld award %+v", x)
		}
	})
}
