package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The activity list through the API, on SQLite and PostgreSQL: the city
// announces for any station, a county for its stations and areas, a
// station manager for its own stations, nobody else; each sees the
// activities for its scope and 404 for the others; refusals say why in
// Chinese; every change is in the audit log. The flow into the configs:
// an activity created reaches its stations' documents at once, an edit
// moves it, one that has ended leaves at the next refresh, a deleted one
// at once.
func TestActivitiesAPI(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			testActivitiesAPI(t, c)
		})
	}
}

func testActivitiesAPI(t *testing.T, c *testCloud) {
	base := c.srv.URL
	ctx := context.Background()
	at := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	body := func(title string, hours int, targets string) string {
		return `{"title":"` + title + `","body":"请带上身份证","place":"茶源社区活动室","start":"` + at(time.Hour) +
			`","end":"` + at(time.Duration(hours)*time.Hour) + `","org":"O2",` + targets + `}`
	}
	create := func(user, b string) int64 {
		t.Helper()
		code, out := as(t, base, user, "POST", "/api/v1/activities", b)
		var a store.Activity
		if code != http.StatusCreated || json.Unmarshal([]byte(out), &a) != nil || a.ID == 0 {
			t.Fatalf("%s create: %d %s", user, code, out)
		}
		return a.ID
	}
	announced := func(station string) []string {
		t.Helper()
		code, out := as(t, base, "city", "GET", "/api/v1/config?station="+station, "")
		var doc struct {
			Announcements []struct{ Title, Where string } `json:"announcements"`
		}
		if code != 200 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("config of %s: %d %s", station, code, out)
		}
		var titles []string
		for _, a := range doc.Announcements {
			titles = append(titles, a.Title)
		}
		return titles
	}

	mine := create("manager", body("义务理发", 3, `"stations":["pe-simao-001"]`))
	county := create("simao", body("防诈骗讲座", 30, `"communities":["530802"]`))
	ninger := create("ninger", body("宁洱义诊", 3, `"communities":["530821001001"]`))
	city := create("city", body("全市志愿者培训", 5, `"stations":[],"communities":[]`))
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	runScope(t, base, []scopeHit{
		// Who may announce for whom.
		{user: "manager", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"stations":["pe-simao-002"]`), want: 422, has: []string{"不在您的管理范围内"}},
		{user: "manager", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"communities":["530802001001"]`), want: 422},
		{user: "simao", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"communities":["530821001001"]`), want: 422},
		{user: "simao", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"stations":[]`), want: 403, has: []string{"市级管理员"}},
		{user: "org", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"communities":["530802001001"]`), want: 403},
		{user: "auditor", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"stations":["pe-simao-001"]`), want: 403},
		// What an activity must say.
		{user: "city", method: "POST", path: "/api/v1/activities", body: body("", 2, `"stations":["pe-simao-001"]`), want: 422, has: []string{"活动名称"}},
		{user: "city", method: "POST", path: "/api/v1/activities", body: body("x", 0, `"stations":["pe-simao-001"]`), want: 422, has: []string{"结束时间"}},
		{user: "city", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"stations":["pe-nowhere"]`), want: 422},
		{user: "city", method: "POST", path: "/api/v1/activities", body: body("x", 2, `"communities":["999"]`), want: 422},
		{user: "city", method: "POST", path: "/api/v1/activities", body: `{"title":"x","start":"明天"}`, want: 400},
		// Who sees what.
		{user: "manager", method: "GET", path: "/api/v1/activities", want: 200, has: []string{"义务理发", "防诈骗讲座", "全市志愿者培训"}, hasNot: []string{"宁洱义诊"}},
		{user: "simao", method: "GET", path: "/api/v1/activities", want: 200, has: []string{"义务理发", "防诈骗讲座"}, hasNot: []string{"宁洱义诊"}},
		{user: "ninger", method: "GET", path: "/api/v1/activities", want: 200, has: []string{"宁洱义诊", "全市志愿者培训"}, hasNot: []string{"义务理发", "防诈骗讲座"}},
		{user: "org", method: "GET", path: "/api/v1/activities", want: 200, has: []string{"义务理发"}},
		{user: "ninger-reader", method: "GET", path: "/api/v1/activities", want: 200, has: []string{"宁洱义诊"}, hasNot: []string{"义务理发"}},
		// Changing: out of scope is 404; seen but not one's own is 403.
		{user: "simao", method: "PATCH", path: "/api/v1/activities/" + id(ninger), body: `{"title":"改"}`, want: 404},
		{user: "manager", method: "DELETE", path: "/api/v1/activities/" + id(ninger), want: 404},
		{user: "manager", method: "PATCH", path: "/api/v1/activities/" + id(county), body: `{"title":"改"}`, want: 403},
		{user: "simao", method: "DELETE", path: "/api/v1/activities/" + id(city), want: 403},
		{user: "auditor", method: "DELETE", path: "/api/v1/activities/" + id(mine), want: 403},
		{user: "manager", method: "PATCH", path: "/api/v1/activities/" + id(mine), body: `{"stations":["pe-ninger-001"]}`, want: 422},
		{user: "simao", method: "PATCH", path: "/api/v1/activities/" + id(mine), body: `{"place":"南屏社区广场"}`, want: 200, has: []string{"南屏社区广场", "义务理发"}},
		{user: "city", method: "PATCH", path: "/api/v1/activities/999", body: `{"title":"x"}`, want: 404},
	})

	// Into the configs: each station carries the activities for it.
	for station, want := range map[string][]string{
		"pe-simao-001":  {"全市志愿者培训", "义务理发", "防诈骗讲座"},
		"pe-simao-002":  {"全市志愿者培训", "防诈骗讲座"},
		"pe-ninger-001": {"全市志愿者培训", "宁洱义诊"},
	} {
		got := announced(station)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s announces %v, want %s", station, got, want)
		}
	}
	// An edit moves it: the haircut goes to the second station.
	if code, out := as(t, base, "simao", "PATCH", "/api/v1/activities/"+id(mine), `{"stations":["pe-simao-002"]}`); code != 200 {
		t.Fatalf("move: %d %s", code, out)
	}
	if a, b := announced("pe-simao-001"), announced("pe-simao-002"); slices.Contains(a, "义务理发") || !slices.Contains(b, "义务理发") {
		t.Fatalf("after the move: %v %v", a, b)
	}
	// Ended: gone at the next refresh (a clock 6 hours on), the county's
	// talk (30 h) stays.
	c.svc.Now = func() time.Time { return time.Now().Add(6 * time.Hour) }
	if err := c.svc.RefreshRosters(ctx); err != nil {
		t.Fatal(err)
	}
	if got := announced("pe-simao-002"); len(got) != 1 || got[0] != "防诈骗讲座" {
		t.Fatalf("after three activities ended: %v", got)
	}
	// Deleted: gone at once.
	if code, out := as(t, base, "simao", "DELETE", "/api/v1/activities/"+id(county), ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, out)
	}
	if got := announced("pe-simao-002"); len(got) != 0 {
		t.Fatalf("after the delete: %v", got)
	}

	// Every change is audited, with the activity before and after.
	code, out := as(t, base, "city", "GET", "/api/v1/audit?action=activity.delete", "")
	if code != 200 || !strings.Contains(out, `"target":"activity `+id(county)+`"`) || !strings.Contains(out, "防诈骗讲座") {
		t.Fatalf("audit of the delete: %d %s", code, out)
	}
	code, out = as(t, base, "city", "GET", "/api/v1/audit?action=activity.create", "")
	if code != 200 || strings.Count(out, `"status":201`) != 4 || !strings.Contains(out, `"status":422`) {
		t.Fatalf("audit of the creates: %d %s", code, out)
	}
}

// The national record's fields through the API: given on create and
// patch, returned as stored; a category not of the plan's list and a
// second default for a station refused with the reason in Chinese.
func TestActivityRecordFieldsAPI(t *testing.T) {
	c := newTestCloudOn(t, scopeBackends[0].dsn(t))
	peopleFixture(t, c)
	seedUsers(t, c.db)
	base := c.srv.URL
	at := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	body := func(title, extra string) string {
		return `{"title":"` + title + `","start":"` + at(time.Hour) + `","end":"` + at(9*time.Hour) +
			`","stations":["pe-simao-001"],"category":"邻里互助","content":"帮邻居修水管","lead":"张三","recorder":"李四","kind":"service"` + extra + `}`
	}
	code, out := as(t, base, "manager", "POST", "/api/v1/activities", body("站点日常服务", `,"default":true`))
	var a store.Activity
	if code != http.StatusCreated || json.Unmarshal([]byte(out), &a) != nil {
		t.Fatalf("create: %d %s", code, out)
	}
	if a.Category != "邻里互助" || a.Content != "帮邻居修水管" || a.Lead != "张三" || a.Recorder != "李四" || a.Kind != "service" || !a.Default {
		t.Errorf("created %+v", a)
	}
	code, out = as(t, base, "manager", "PATCH", "/api/v1/activities/"+strconv.FormatInt(a.ID, 10), `{"kind":"duty","recorder":"王五"}`)
	if code != 200 || !strings.Contains(out, `"kind":"duty"`) || !strings.Contains(out, `"recorder":"王五"`) || !strings.Contains(out, `"lead":"张三"`) {
		t.Errorf("patch: %d %s", code, out)
	}
	for _, bad := range []struct {
		body string
		code int
		zh   string
	}{
		{body("乱填", `,"category":"打麻将"`), 422, "不在全市的服务类别中"},
		{body("乱填", `,"kind":"party"`), 422, "活动类型应为"},
		{body("又一个默认", `,"default":true`), 409, "每个站点同一时间只能有一个默认活动"},
	} {
		if code, out := as(t, base, "manager", "POST", "/api/v1/activities", bad.body); code != bad.code || !strings.Contains(out, bad.zh) {
			t.Errorf("%s: %d %s", bad.body, code, out)
		}
	}
}
