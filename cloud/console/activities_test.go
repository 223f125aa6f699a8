package console_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/fleet"
)

// The activity page, on SQLite and PostgreSQL: a station manager
// announces for its station (not another), the county edits it (and
// then it is the county's to delete), the city
// announces for the whole city; each sees the list of its scope with edit
// and delete only where it may; an auditor and an organisation
// administrator read only; a form without the CSRF token changes nothing;
// each change reaches the stations' documents at once and the audit log.
func TestActivitiesPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		day := time.Now().In(fleet.CST).Add(24 * time.Hour)
		form := func(title string, stations ...string) url.Values {
			return url.Values{"title": {title}, "place": {"南屏社区活动室"}, "body": {"请带上身份证"},
				"start": {day.Format("2006-01-02T15:04")}, "end": {day.Add(2 * time.Hour).Format("2006-01-02T15:04")},
				"stations": stations}
		}
		announced := func(station string) []string {
			t.Helper()
			doc, err := c.svc.Effective(ctx, station)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range doc.Announcements {
				out = append(out, a.Title+"@"+a.Where)
			}
			return out
		}

		manager := c.login("manager")
		code, body := manager.post("/console/activities", form("义务理发", "pe-simao-001"))
		if code != 200 {
			t.Fatalf("manager adds: %d %s", code, body)
		}
		has(t, "manager's list", body, "已发布活动预告“义务理发”", "义务理发", "站点 pe-simao-001", `/console/activities/1"`)
		if got := announced("pe-simao-001"); !slices.Equal(got, []string{"义务理发@南屏社区活动室"}) {
			t.Fatalf("pe-simao-001 announces %v", got)
		}
		if got := announced("pe-simao-002"); len(got) != 0 {
			t.Fatalf("pe-simao-002 announces %v", got)
		}
		code, body = manager.post("/console/activities", form("别人的站", "pe-simao-002"))
		if code != 422 {
			t.Fatalf("manager for another station: %d", code)
		}
		has(t, "refusal", body, "未保存：", "不在您的管理范围内", `value="别人的站"`)
		code, body = manager.post("/console/activities", url.Values{"title": {"没有时间"}, "stations": {"pe-simao-001"}})
		has(t, "no times", body, "请填写活动的开始和结束时间")

		// The city, for everyone; the county sees both, changes only the manager's.
		code, body = c.login("city").post("/console/activities", form("全市志愿者培训"))
		if code != 200 || !strings.Contains(body, "全市所有站点") {
			t.Fatalf("city adds: %d %s", code, body)
		}
		simao := c.login("simao")
		_, body = simao.get("/console/activities")
		has(t, "county's list", body, "义务理发", "全市志愿者培训", `/console/activities/1"`, `name="communities"`)
		hasNot(t, "county's list", body, `/console/activities/2"`)
		code, body = simao.get("/console/activities/1")
		if code != 200 {
			t.Fatalf("edit form: %d", code)
		}
		has(t, "edit form", body, "修改活动预告", `value="义务理发"`, `action="/console/activities/1"`)
		edit := form("义务理发（改到下午）", "pe-simao-001", "pe-simao-002")
		if code, body = simao.post("/console/activities/1", edit); code != 200 {
			t.Fatalf("county edits: %d %s", code, body)
		}
		if got := announced("pe-simao-002"); !slices.Contains(got, "义务理发（改到下午）@南屏社区活动室") || !slices.Contains(got, "全市志愿者培训@南屏社区活动室") {
			t.Fatalf("pe-simao-002 after the edit announces %v", got)
		}
		if code, _ = simao.post("/console/activities/2/delete", url.Values{}); code != 403 {
			t.Fatalf("county deletes the city's: %d, want 403", code)
		}
		if code, _ = simao.post("/console/activities/99", edit); code != 404 {
			t.Fatalf("no such activity: %d, want 404", code)
		}

		// Read only: the auditor and the organisation; no CSRF token, no change.
		code, body = c.login("auditor").get("/console/activities")
		if code != 200 {
			t.Fatalf("auditor: %d", code)
		}
		has(t, "auditor's list", body, "义务理发", "全市志愿者培训")
		hasNot(t, "auditor's list", body, `id="activityForm"`, "删除")
		if code, _ = c.login("auditor").post("/console/activities/1/delete", url.Values{}); code != 403 {
			t.Fatalf("auditor deletes: %d", code)
		}
		if code, _ = c.login("orgadmin").post("/console/activities", form("组织自己发", "pe-simao-001")); code != 403 {
			t.Fatalf("organisation adds: %d", code)
		}
		if code, _ = manager.post("/console/activities/1/delete", url.Values{"csrf_token": {"forged"}}); code != 403 {
			t.Fatalf("forged CSRF token: %d", code)
		}

		// Now also for pe-simao-002, the activity is no longer the
		// manager's to delete; the county's.
		if code, _ = manager.post("/console/activities/1/delete", url.Values{}); code != 403 {
			t.Fatalf("manager deletes one for another station too: %d, want 403", code)
		}
		if code, body = simao.post("/console/activities/1/delete", url.Values{}); code != 200 {
			t.Fatalf("county deletes: %d %s", code, body)
		}
		has(t, "after delete", body, "已删除活动预告")
		if got := announced("pe-simao-001"); !slices.Equal(got, []string{"全市志愿者培训@南屏社区活动室"}) {
			t.Fatalf("pe-simao-001 after the delete announces %v", got)
		}
		c.mu.Lock()
		audited := strings.Join(c.audited, "\n")
		c.mu.Unlock()
		has(t, "audit", audited, "manager activity.create activity 1", "city activity.create activity 2",
			"simao activity.edit activity 1", "simao activity.delete activity 1")
	})
}

// The national record's fields on the activity form, on SQLite and
// PostgreSQL: a station manager sets 服务类别, 活动类型, 服务内容, 活动负责人
// and 记录人 and makes the activity its station's default; the list
// shows them in Chinese and the edit form has them filled in; a category
// not of the plan's list, an unknown kind, a lead too long, a default for
// communities and a second default for the same station at the same time
// are refused, in Chinese, with what was typed kept.
func TestActivityRecordFields(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		day := time.Now().In(fleet.CST).Add(24 * time.Hour)
		form := func(title string, extra url.Values) url.Values {
			v := url.Values{"title": {title}, "place": {"南屏社区活动室"},
				"start": {day.Format("2006-01-02T15:04")}, "end": {day.Add(8 * time.Hour).Format("2006-01-02T15:04")},
				"stations": {"pe-simao-001"}, "category": {"关爱空巢老人"}, "kind": {"service"},
				"content": {"上门陪老人聊天、量血压"}, "lead": {"张三"}, "recorder": {"李四"}}
			for k, x := range extra {
				v[k] = x
			}
			return v
		}
		manager := c.login("manager")
		_, body := manager.get("/console/activities")
		has(t, "empty form", body, `name="category"`, `<option value="关爱空巢老人">关爱空巢老人</option>`,
			`<option value="service" selected>志愿服务</option>`, `<option value="meeting">会议</option>`,
			`name="lead"`, `name="recorder"`, `name="content"`, `name="default" value="1"`)

		code, body := manager.post("/console/activities", form("站点日常服务", url.Values{"default": {"1"}}))
		if code != 200 {
			t.Fatalf("manager adds a default activity: %d %s", code, body)
		}
		has(t, "list", body, "站点日常服务", "默认活动", "服务内容：上门陪老人聊天、量血压", "关爱空巢老人", "志愿服务", "张三 / 李四")
		_, body = manager.get("/console/activities/1")
		has(t, "edit form", body, `<option value="关爱空巢老人" selected>`, `value="张三"`, `value="李四"`,
			"上门陪老人聊天、量血压</textarea>", `name="default" value="1" checked`)

		for _, bad := range []struct {
			name string
			form url.Values
			code int
			want []string
		}{
			{"category", form("乱填类别", url.Values{"category": {"打麻将"}}), 422, []string{"服务类别“打麻将”不在全市的服务类别中", `value="乱填类别"`}},
			{"kind", form("乱填类型", url.Values{"kind": {"party"}}), 422, []string{"活动类型应为 志愿服务、会议 或 日常值守"}},
			{"lead", form("负责人太长", url.Values{"lead": {strings.Repeat("张", 51)}}), 422, []string{"活动负责人和记录人各不能超过50个字"}},
			{"second default", form("又一个默认", url.Values{"default": {"1"}}), 409, []string{"站点 pe-simao-001 在这段时间已有默认活动“站点日常服务”", `value="又一个默认"`}},
		} {
			code, body := manager.post("/console/activities", bad.form)
			if code != bad.code {
				t.Errorf("%s: %d, want %d", bad.name, code, bad.code)
			}
			has(t, bad.name, body, append([]string{"未保存："}, bad.want...)...)
		}
		code, body = c.login("simao").post("/console/activities",
			form("社区默认", url.Values{"default": {"1"}, "stations": nil, "communities": {"530802001001"}}))
		if code != 422 {
			t.Errorf("default for a community: %d", code)
		}
		has(t, "default for a community", body, "站点的默认活动须逐一选择它所属的站点")

		// A meeting that is not a default, for the same station, is fine;
		// and the default itself may be saved again.
		if code, body = manager.post("/console/activities", form("志愿者例会", url.Values{"kind": {"meeting"}, "category": {""}})); code != 200 {
			t.Fatalf("meeting: %d %s", code, body)
		}
		has(t, "meeting", body, "志愿者例会", "未分类", "会议")
		if code, body = manager.post("/console/activities/1", form("站点日常服务", url.Values{"default": {"1"}, "recorder": {"王五"}})); code != 200 {
			t.Fatalf("default saved again: %d %s", code, body)
		}
		has(t, "saved again", body, "张三 / 王五")
	})
}
