package console_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/orders"
	"leifeng/cloud/store"
)

// The order pages, each role on both databases: the station manager
// registers a need for a resident (代办) and dispatches it to a suggested
// organisation; the organisation administrator accepts it, assigns a
// suggested volunteer (masked name), who sees it on the volunteer's page,
// starts and completes it; the manager records a rating from a phone
// call; the history says who did what, when and why, and each action is
// audited. Another county's administrator and an organisation it was not
// dispatched to get the 404 page; the auditor sees the phone masked and
// no forms, and its posts are refused; a post without the CSRF token
// changes nothing; a refusal is shown in Chinese.
func TestOrderPages(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		c.importCSV(c.login("city"), "volunteers", "v.csv", "id,name,id_number,community,phone,service_types,orgs\n"+
			"V1,王小明,530802199003071236,530802001001,13987912345,关爱空巢老人,org-1\n", 200)
		manager, org, auditor, ninger, simao := c.login("manager"), c.login("orgadmin"), c.login("auditor"), c.login("ninger"), c.login("simao")

		// 代办: the form, a bad phone refused with what to do, then a good one.
		code, body := manager.get("/console/orders/new")
		if code != 200 {
			t.Fatalf("manager: 代办 form: %d", code)
		}
		has(t, "代办 form", body, `id="needForm"`, "pe-simao-001", "关爱空巢老人", "南屏社区")
		for _, who := range []string{"city", "simao"} {
			if code, _ := c.login(who).get("/console/orders/new"); code != 200 {
				t.Errorf("%s: 代办 form: %d", who, code)
			}
		}
		if code, _ := manager.post("/console/orders", url.Values{"csrf_token": {"forged"}, "category": {"法律"}, "phone": {"13987900001"},
			"station": {"pe-simao-001"}}); code != 403 {
			t.Errorf("代办 without the CSRF token: %d", code)
		}
		if code, _ := auditor.post("/console/orders", url.Values{"category": {"法律"}, "phone": {"13987900001"}, "community": {"530802001001"}}); code != 403 {
			t.Errorf("auditor's 代办: %d", code)
		}
		// A station out of scope is refused.
		code, body = manager.post("/console/orders", url.Values{"category": {"法律"}, "phone": {"13987900001"}, "station": {"pe-ninger-001"}})
		if code != 422 {
			t.Errorf("代办 at another's station: %d", code)
		}
		has(t, "代办 at another's station", body, "找不到这个站点，或不在您的管理范围内")
		for _, who := range []*client{org, auditor} {
			if code, _ := who.get("/console/orders/new"); code != 404 {
				t.Errorf("代办 form for one who registers no needs: %d, want 404", code)
			}
		}
		need := url.Values{"station": {"pe-simao-001"}, "category": {"关爱空巢老人"}, "phone": {"1398791"},
			"note": {"独居老人，需要买菜"}, "preferred": {"周六上午"}}
		code, body = manager.post("/console/orders", need)
		if code != 422 {
			t.Fatalf("bad phone: %d", code)
		}
		has(t, "bad phone", body, "未登记：请填写居民的11位手机号码")
		need.Set("phone", "13987900001")
		code, body = manager.post("/console/orders", need)
		if code != 200 {
			t.Fatalf("代办: %d\n%s", code, body)
		}
		list, err := c.db.Orders(ctx, store.OrderFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("orders after 代办: %v %v", list, err)
		}
		o := list[0]
		if o.Source != orders.FromProxy || o.Community != "530802001001" || o.State != orders.Submitted {
			t.Fatalf("the order: %+v", o)
		}
		has(t, "the new order's page", body, "已登记需求，回执号 "+o.Ref, "待审核", "13987900001", "独居老人", `id="dispatchForm"`)
		path := fmt.Sprintf("/console/orders/%d", o.ID)

		// Queues: the manager's and the county's hold it, the other
		// county's and the organisation's not yet.
		row := fmt.Sprintf(`data-order="%d"`, o.ID)
		for name, cl := range map[string]*client{"manager": manager, "simao": simao, "auditor": auditor, "city": c.login("city")} {
			_, body := cl.get("/console/orders")
			has(t, name+" queue", body, row, "待审核", "关爱空巢老人")
		}
		for name, cl := range map[string]*client{"ninger": ninger, "orgadmin": org} {
			_, body := cl.get("/console/orders")
			hasNot(t, name+" queue", body, row)
			code, body := cl.get(path)
			if code != 404 {
				t.Errorf("%s: the order's page: %d, want 404", name, code)
			}
			has(t, name+" order", body, "不在您的管理范围内")
		}
		_, body = manager.get("/console/orders?state=dispatched")
		hasNot(t, "filtered by state", body, row)
		_, body = manager.get("/console/orders?state=submitted&community=530802001001")
		has(t, "filtered by state and community", body, row)

		// The auditor: phone masked, no forms, posts refused.
		code, body = auditor.get(path)
		if code != 200 {
			t.Fatalf("auditor: %d", code)
		}
		has(t, "auditor's order", body, "139****0001", `id="readOnly"`)
		hasNot(t, "auditor's order", body, "13987900001", "<form method=\"post\" action=\"/console/orders/")
		code, body = auditor.post(path+"/dispatch", url.Values{"org": {"org-1"}})
		if code != 403 {
			t.Errorf("auditor's dispatch: %d", code)
		}
		has(t, "auditor's dispatch", body, "审计员只能查看")

		// Without the CSRF token nothing happens.
		if code, _ := manager.post(path+"/dispatch", url.Values{"org": {"org-1"}, "csrf_token": {"forged"}}); code != 403 {
			t.Errorf("dispatch without CSRF: %d", code)
		}
		// A refusal in Chinese: the manager may not accept.
		code, body = manager.post(path+"/accept", url.Values{})
		if code != 409 && code != 403 {
			t.Errorf("manager's accept: %d", code)
		}
		has(t, "manager's accept", body, "未执行“接单”")
		if cur, _, _ := c.db.Order(ctx, o.ID); cur.State != orders.Submitted {
			t.Fatalf("refused posts changed the order: %s", cur.State)
		}

		// Dispatch to the suggested organisation, with its reasons.
		_, body = manager.get(path)
		has(t, "suggestions", body, `data-org="org-1"`, "思茅区青年志愿服务队")
		hasNot(t, "suggestions", body, `data-org="org-2"`)
		code, body = manager.post(path+"/dispatch", url.Values{"org": {"org-1"}})
		if code != 200 {
			t.Fatalf("dispatch: %d\n%s", code, body)
		}
		has(t, "dispatched", body, "已派单。当前状态：已派单", "思茅区青年志愿服务队（org-1）")

		// The organisation: accept, assign, start, complete.
		_, body = org.get("/console/orders")
		has(t, "org's queue", body, row, "已派单")
		_, body = org.get(path)
		has(t, "org's order", body, `id="acceptForm"`, "13987900001")
		hasNot(t, "org's order", body, `id="dispatchForm"`)
		for _, step := range []struct {
			act  string
			form url.Values
			want string
		}{
			{"accept", url.Values{}, "已接单"},
			{"assign", url.Values{"volunteers": {"V1"}}, "已指派志愿者"},
			{"start", url.Values{}, "服务中"},
		} {
			if step.act == "assign" {
				_, body := org.get(path)
				has(t, "volunteer suggestions", body, `value="V1"`, "王*明", "服务类别相符")
				hasNot(t, "volunteer suggestions", body, "王小明")
			}
			code, body := org.post(path+"/"+step.act, step.form)
			if code != 200 {
				t.Fatalf("%s: %d\n%s", step.act, code, body)
			}
			has(t, step.act, body, step.want)
		}
		_, body = org.get("/console/volunteers/V1")
		has(t, "volunteer's tasks", body, `id="taskList"`, row, "服务中")
		if code, body := org.post(path+"/complete", url.Values{}); code != 200 {
			t.Fatalf("complete: %d\n%s", code, body)
		}
		_, body = org.get("/console/volunteers/V1")
		hasNot(t, "volunteer's tasks after", body, `id="taskList"`)

		// The manager records the rating from a phone call; rating 0 is refused.
		code, body = manager.post(path+"/rate", url.Values{"rating": {"0"}})
		if code != 422 {
			t.Errorf("rating 0: %d", code)
		}
		has(t, "rating 0", body, "评分为1到5星")
		code, body = manager.post(path+"/rate", url.Values{"rating": {"5"}, "comment": {"准时到达"}})
		if code != 200 {
			t.Fatalf("rate: %d\n%s", code, body)
		}
		has(t, "rated", body, "已评价", "5 星：准时到达")
		for _, want := range []string{"点单", "派单", "组织 org-1", "接单", "指派志愿者", "志愿者 V1", "开始服务", "完成服务", "评价", "准时到达", "manager", "orgadmin"} {
			if !strings.Contains(body[strings.Index(body, `id="history"`):], want) {
				t.Errorf("history: want %q", want)
			}
		}
		c.mu.Lock()
		audited := strings.Join(c.audited, "\n")
		c.mu.Unlock()
		for _, want := range []string{fmt.Sprintf("manager order.create order %d", o.ID), fmt.Sprintf("manager order.action order %d dispatch", o.ID),
			fmt.Sprintf("orgadmin order.action order %d accept", o.ID), fmt.Sprintf("orgadmin order.action order %d complete", o.ID),
			fmt.Sprintf("manager order.action order %d rate", o.ID)} {
			if !strings.Contains(audited, want) {
				t.Errorf("audit: want %q in\n%s", want, audited)
			}
		}
		if strings.Contains(audited, "auditor order") {
			t.Errorf("the auditor's refused post was audited as a change:\n%s", audited)
		}

		// A second need: rejecting needs a reason; merged as a duplicate.
		need.Set("category", "法律")
		manager.post("/console/orders", need)
		list, _ = c.db.Orders(ctx, store.OrderFilter{})
		second := list[0]
		path2 := fmt.Sprintf("/console/orders/%d", second.ID)
		code, body = manager.post(path2+"/reject", url.Values{"reason": {" "}})
		if code != 422 {
			t.Errorf("reject without a reason: %d", code)
		}
		has(t, "reject without a reason", body, "拒绝需要填写原因")
		code, body = manager.post(path2+"/reject", url.Values{"duplicate_of": {fmt.Sprint(o.ID)}})
		if code != 200 {
			t.Fatalf("merge: %d\n%s", code, body)
		}
		has(t, "merged", body, "已拒绝", fmt.Sprintf("与需求 %d 重复", o.ID))
		// Another county's order cannot be the one it duplicates.
		other := &orders.Order{Community: "530821001001", Category: "法律", Phone: "13900000000", Source: orders.FromConsole, CreatedAt: c.svc.Now()}
		if _, err := c.db.CreateOrder(ctx, other, "ninger", c.svc.Now()); err != nil {
			t.Fatal(err)
		}
		manager.post("/console/orders", need)
		list, _ = c.db.Orders(ctx, store.OrderFilter{Community: "530802001001"})
		code, body = manager.post(fmt.Sprintf("/console/orders/%d/reject", list[0].ID), url.Values{"duplicate_of": {fmt.Sprint(other.ID)}})
		if code != 422 {
			t.Errorf("merged into another county's order: %d", code)
		}
		has(t, "merged into another county's order", body, "不在您的管理范围内")

		// The organisation declines a dispatched order (退回): back in the
		// queue. The manager cancels it for the resident, with a reason.
		need.Set("category", "家政")
		manager.post("/console/orders", need)
		list, _ = c.db.Orders(ctx, store.OrderFilter{Community: "530802001001"})
		path4 := fmt.Sprintf("/console/orders/%d", list[0].ID)
		manager.post(path4+"/dispatch", url.Values{"org": {"org-1"}})
		_, body = org.get(path4)
		has(t, "org's decline form", body, "退回（本组织不能服务）")
		hasNot(t, "org's decline form", body, `name="duplicate_of"`, `id="cancelForm"`)
		code, body = org.post(path4+"/reject", url.Values{"reason": {"本周人手不足"}})
		if code != 200 {
			t.Fatalf("org declines: %d\n%s", code, body)
		}
		has(t, "declined", body, "已退回需求")
		hasNot(t, "declined", body, fmt.Sprintf(`data-order="%d"`, list[0].ID))
		_, body = manager.get(path4)
		has(t, "declined", body, "待审核", "本周人手不足")
		if code, body := manager.post(path4+"/cancel", url.Values{"reason": {""}}); code != 422 || !strings.Contains(body, "代居民取消需要填写原因") {
			t.Errorf("cancel without a reason: %d", code)
		}
		code, body = manager.post(path4+"/cancel", url.Values{"reason": {"居民已自行解决"}})
		if code != 200 {
			t.Fatalf("cancel: %d\n%s", code, body)
		}
		has(t, "cancelled", body, "已取消", "居民已自行解决")

		// Unanswered, an order rises to the county: the queue says so.
		need.Set("category", "文化服务")
		manager.post("/console/orders", need)
		if _, err := c.db.TickOrders(ctx, orders.Policy{AnswerWithin: time.Hour}, c.svc.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, body = simao.get("/console/orders?state=submitted")
		has(t, "escalated", body, "已上报县级中心")

		// Supply and demand: the county's communities only; a category
		// no volunteer offers is named as demand without supply.
		code, body = simao.get("/console/supply")
		if code != 200 {
			t.Fatalf("supply: %d", code)
		}
		has(t, "supply", body, `data-category="关爱空巢老人">`, `data-category="法律" class="nosupply"`, "南屏社区",
			"⚠ 无供给：有需求，没有提供此服务的志愿者", "有 3 项需求没有供给", "5.0")
		hasNot(t, "supply", body, "530821001001")
		_, body = ninger.get("/console/supply")
		has(t, "other county's supply", body, `data-community="530821001001"`)
		hasNot(t, "other county's supply", body, `data-community="530802001001"`)
		if code, _ := ninger.get("/console/supply?area=530802"); code != 404 {
			t.Errorf("another county's supply: %d, want 404", code)
		}
		if code, _ := org.get("/console/supply"); code != 404 {
			t.Errorf("organisation's supply page: %d, want 404", code)
		}
	})
}
