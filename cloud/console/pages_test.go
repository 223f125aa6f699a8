package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"leifeng/cloud/access"
	"leifeng/cloud/store"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Each role's menu holds only its pages; a page outside the role answers
// 404, and so does a station, an area or a volunteer outside the user's
// scope, which looks the same as one that does not exist.
func TestPagesByRole(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		all := []string{"stations", "config", "review", "orders", "supply", "areas", "orgs", "volunteers", "import"}
		menus := map[string][]string{
			"city":     {"stations", "config", "review", "orders", "supply", "areas", "orgs", "volunteers", "import"},
			"simao":    {"stations", "config", "review", "orders", "supply", "areas", "orgs", "volunteers"},
			"manager":  {"stations", "config", "review", "orders", "supply"},
			"orgadmin": {"orders", "orgs", "volunteers"},
			"auditor":  {"stations", "review", "orders", "supply", "areas", "orgs", "volunteers"},
		}
		for name, menu := range menus {
			cl := c.login(name)
			for _, p := range all {
				code, body := cl.get("/console/" + p)
				want := 404
				for _, m := range menu {
					if m == p {
						want = 200
					}
				}
				if code != want {
					t.Errorf("%s: GET /console/%s: %d, want %d", name, p, code, want)
					continue
				}
				if want == 404 {
					has(t, name+" "+p, body, "不在您的管理范围内")
					continue
				}
				for _, q := range all {
					link := `href="/console/` + q + `"`
					in := strings.Contains(body, link)
					if in != contains(menu, q) {
						t.Errorf("%s: /console/%s: menu link %s present %v", name, p, q, in)
					}
				}
			}
		}

		// Stations: the city sees all three, the county its two, the
		// manager its one.
		for name, want := range map[string][]string{
			"city":    {"pe-simao-001", "pe-simao-002", "pe-ninger-001"},
			"simao":   {"pe-simao-001", "pe-simao-002"},
			"manager": {"pe-simao-001"},
		} {
			cl := c.login(name)
			_, body := cl.get("/console/stations")
			for _, id := range []string{"pe-simao-001", "pe-simao-002", "pe-ninger-001"} {
				if strings.Contains(body, `data-station="`+id+`"`) != contains(want, id) {
					t.Errorf("%s: station %s listed: %v", name, id, !contains(want, id))
				}
				code, _ := cl.get("/console/stations/" + id)
				if (code == 200) != contains(want, id) {
					t.Errorf("%s: GET /console/stations/%s: %d", name, id, code)
				}
			}
		}
		simao := c.login("simao")
		if code, _ := simao.get("/console/areas?area=530821"); code != 404 {
			t.Errorf("county: another county's area: %d, want 404", code)
		}
		code, body := simao.get("/console/areas")
		if code != 200 {
			t.Fatalf("county areas: %d", code)
		}
		has(t, "county areas", body, "思茅区", "思茅街道")
		hasNot(t, "county areas", body, "宁洱镇")
		_, body = simao.get("/console/orgs")
		has(t, "county orgs", body, "org-1")
		hasNot(t, "county orgs", body, "org-2")
		_, body = c.login("orgadmin").get("/console/orgs")
		has(t, "org orgs", body, "org-1")
		hasNot(t, "org orgs", body, "org-2")
		_, body = c.login("city").get("/console/areas?area=530802001")
		has(t, "city areas", body, "南屏社区", "普洱市", "思茅区")
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// Without a session every page answers 401 with the login form; a change
// without the session's CSRF token is refused; a wrong password is
// refused with the reason; logging out ends the session.
func TestLoginAndCSRF(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		anon := c.anon()
		for _, p := range []string{"/console/stations", "/console/stations/pe-simao-001", "/console/config", "/console/review",
			"/console/areas", "/console/orgs", "/console/volunteers", "/console/import", "/console/nowhere"} {
			code, body := anon.get(p)
			if code != http.StatusUnauthorized {
				t.Errorf("anonymous GET %s: %d, want 401", p, code)
			}
			has(t, "anonymous "+p, body, "请先登录", `id="login"`)
		}
		if code, body := anon.post("/console/config", url.Values{"target": {"all"}, "phone": {"1"}}); code != 401 {
			t.Errorf("anonymous push: %d %s", code, body)
		}
		code, body := anon.post("/console/login", url.Values{"name": {"city"}, "password": {"wrong"}})
		if code != 401 {
			t.Errorf("wrong password: %d", code)
		}
		has(t, "wrong password", body, "用户名或密码不对")

		city := c.login("city")
		form := url.Values{"op": {"push"}, "target": {"station"}, "value": {"pe-simao-001"}, "phone": {"0879-2123456"}, "csrf_token": {"forged"}}
		code, body = city.post("/console/config", form)
		if code != http.StatusForbidden {
			t.Errorf("push without the CSRF token: %d", code)
		}
		has(t, "no CSRF", body, "请刷新页面后再试")
		if st, _ := c.db.Stations(context.Background()); st[0].DesiredConfig != 0 {
			t.Errorf("a push without the CSRF token was stored: %+v", st[0])
		}
		// The token in every form of the page.
		_, body = city.get("/console/config")
		has(t, "config form", body, `name="csrf_token" value="`+city.csrf+`"`)

		if code, _ := city.post("/console/logout", url.Values{}); code != 200 && code != 401 {
			t.Errorf("logout: %d", code)
		}
		if code, _ := city.get("/console/stations"); code != 401 {
			t.Errorf("after logout: %d, want 401", code)
		}
	})
}

// An auditor reads and changes nothing: no change form on its pages, and
// every change it posts is refused.
func TestAuditorChangesNothing(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		aud := c.login("auditor")
		_, body := aud.get("/console/stations/pe-simao-001")
		hasNot(t, "auditor station page", body, `id="cmdForm"`)
		_, body = aud.get("/console/volunteers")
		hasNot(t, "auditor volunteers page", body, `id="registerForm"`)
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/console/stations/pe-simao-001/commands", url.Values{"name": {"resync"}}},
			{"/console/config", url.Values{"op": {"push"}, "target": {"all"}, "phone": {"0879-2123456"}}},
			{"/console/volunteers", url.Values{"id": {"V1"}, "name": {"张三"}}},
			{"/console/review/0190a1b2-0000-7000-8000-000000000000", url.Values{"approve": {"true"}}},
		} {
			code, _ := aud.post(p.path, p.form)
			if code != http.StatusForbidden && code != http.StatusNotFound {
				t.Errorf("auditor POST %s: %d, want 403 or 404", p.path, code)
			}
		}
		if code, _ := aud.upload("/console/import", [][2]string{{"kind", "areas"}}, "file", "a.csv", "code,name,parent,level,population\n"); code != 404 {
			t.Errorf("auditor import: %d, want 404", code)
		}
		if cs, _ := c.svc.Commands(context.Background(), "pe-simao-001", 5); len(cs) != 0 {
			t.Errorf("the auditor's command was sent: %+v", cs)
		}
	})
}

// The config page loads what a station runs and pushes only what was
// changed: a phone-only edit keeps the menu and the announcements; a push
// that would empty the menu is refused with the reason in Chinese; a
// station manager cannot push to another station or to the fleet.
func TestConfigPartialPush(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		doc := `{"profile":{"name":"南屏街道学雷锋志愿服务站"},"menu":[{"id":"elderly","name":"关爱空巢老人","items":[{"id":"visit","name":"上门探访"}]}],
			"board":{"contact_person":"王丽","phone":"0879-2123456"},"announcements":[{"title":"端午节包粽子活动","where":"社区活动室"}]}`
		if _, err := c.svc.Apply(ctx, []string{"pe-simao-001"}, json.RawMessage(doc), false); err != nil {
			t.Fatal(err)
		}
		city := c.login("city")
		code, body := city.get("/console/config?target=station&value=pe-simao-001")
		if code != 200 {
			t.Fatalf("load: %d %s", code, body)
		}
		has(t, "loaded", body, "已读取", "关爱空巢老人", "0879-2123456", "端午节包粽子活动")
		base := field(t, body, "base")
		menu := textarea(t, body, "menu")
		form := url.Values{"op": {"push"}, "target": {"station"}, "value": {"pe-simao-001"}, "base": {base}, "menu": {menu},
			"contact": {"王丽"}, "phone": {"0879-2999999"}, "ann": {"端午节包粽子活动"}}
		code, body = city.post("/console/config", form)
		if code != 200 {
			t.Fatalf("push: %d %s", code, body)
		}
		has(t, "pushed", body, "已推送：pe-simao-001 v")
		eff, err := c.svc.Effective(ctx, "pe-simao-001")
		if err != nil {
			t.Fatal(err)
		}
		if eff.Board.Phone != "0879-2999999" || eff.Board.ContactPerson != "王丽" || len(eff.Menu) != 1 ||
			len(eff.Announcements) != 1 || eff.Announcements[0].Where != "社区活动室" || eff.Profile.Name == "" {
			t.Fatalf("after a phone-only push: %+v", eff)
		}

		form.Set("base", field(t, body, "base"))
		form.Set("menu", "[]")
		code, body = city.post("/console/config", form)
		if code != 422 {
			t.Errorf("emptying the menu: %d", code)
		}
		has(t, "empty menu", body, "服务菜单将为空")
		form.Set("menu", "[{")
		_, body = city.post("/console/config", form)
		has(t, "bad JSON", body, "服务菜单不是有效的 JSON")

		mgr := c.login("manager")
		for _, f := range []url.Values{
			{"op": {"push"}, "target": {"station"}, "value": {"pe-simao-002"}, "phone": {"0879-2111111"}},
			{"op": {"push"}, "target": {"all"}, "phone": {"0879-2111111"}},
			{"op": {"push"}, "target": {"county"}, "value": {"思茅区"}, "phone": {"0879-2111111"}},
		} {
			code, body := mgr.post("/console/config", f)
			if code != 404 {
				t.Errorf("manager push to %s %s: %d", f.Get("target"), f.Get("value"), code)
			}
			has(t, "manager push", body, "不在您的管理范围内")
		}
		// The county administrator pushes to its county's stations.
		code, body = c.login("simao").post("/console/config", url.Values{"op": {"push"}, "target": {"county"}, "value": {"530802"},
			"menu": {`[{"id":"m","name":"助老服务"}]`}})
		if code != 200 {
			t.Fatalf("county push: %d %s", code, body)
		}
		has(t, "county push", body, "pe-simao-001 v", "pe-simao-002 v")
		hasNot(t, "county push", body, "pe-ninger-001")
		if code, _ := c.login("simao").post("/console/config", url.Values{"op": {"push"}, "target": {"county"},
			"value": {"530821"}, "phone": {"0879-2111111"}}); code != 404 {
			t.Errorf("county push to another county: %d", code)
		}
	})
}

// field is the value of the hidden input name in a page.
func field(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no field %s in\n%s", name, body)
	}
	rest := body[i+len(`name="`+name+`" value="`):]
	return htmlUnescape(rest[:strings.Index(rest, `"`)])
}

// textarea is the text of the textarea id in a page.
func textarea(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no textarea %s", id)
	}
	rest := body[i:]
	rest = rest[strings.Index(rest, ">")+1:]
	return htmlUnescape(rest[:strings.Index(rest, "</textarea>")])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'", "&amp;", "&").Replace(s)
}

// A command from the station page: sent, shown pending, and listed.
func TestCommandFromStationPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		mgr := c.login("manager")
		code, body := mgr.post("/console/stations/pe-simao-001/commands", url.Values{"name": {"resync"}})
		if code != 200 {
			t.Fatalf("command: %d %s", code, body)
		}
		has(t, "command sent", body, "等待站点回应")
		_, body = mgr.get("/console/stations/pe-simao-001")
		has(t, "station page", body, "resync 等待回应")
		if code, _ := mgr.post("/console/stations/pe-simao-002/commands", url.Values{"name": {"resync"}}); code != 404 {
			t.Errorf("command to another station: %d, want 404", code)
		}
		if code, body := mgr.post("/console/stations/pe-simao-001/commands", url.Values{"name": {"update_offer"}}); code != 400 {
			t.Errorf("an update offer by hand: %d %s", code, body)
		}
		// Every change is in the audit log with who made it.
		c.mu.Lock()
		audited := strings.Join(c.audited, "\n")
		c.mu.Unlock()
		has(t, "audit", audited, "city import.areas areas.csv", "manager station.command station pe-simao-001")
	})
}

// The htmx file is served from the binary with a year-long cache; pages
// allow scripts from the console's own files only.
func TestStaticFiles(t *testing.T) {
	c := newTestConsole(t, backends[0].dsn(t))
	resp, err := http.Get(c.srv.URL + "/console/static/htmx-2.0.11.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("htmx: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	code, body := c.login("city").get("/console/stations")
	if code != 200 {
		t.Fatal(code)
	}
	has(t, "layout", body, `src="/console/static/htmx-2.0.11.min.js"`, `/console/static/console.css?v=`, `lang="zh-CN"`, `name="viewport"`)
	resp, _ = http.Get(c.srv.URL + "/console/login")
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
}

// A volunteer file with bad rows imported from the console: the good rows
// are registered, each bad row is reported with its line and its reason in
// Chinese, no ID number appears on the page, and the same file again
// changes nothing.
func TestImportReport(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		city := c.login("city")
		file := volunteerFile
		body := c.importCSV(city, "volunteers", "volunteers.csv", file, 200)
		has(t, "report", body, "共 5 行：新增 <b>2</b>", `data-line="4"`, "第 4 行", "身份证件号码格式不对",
			`data-line="5"`, "缺少姓名", `data-line="6"`, "找不到该社区（村）代码")
		hasNot(t, "report", body, "53080219900101123X", "530802198505052313")
		body = c.importCSV(city, "volunteers", "volunteers.csv", file, 200)
		has(t, "again", body, "新增 <b>0</b>", "未变 2")
		if n, err := c.db.CountVolunteers(context.Background()); err != nil || n != 2 {
			t.Fatalf("%d volunteers, %v", n, err)
		}
		// A file without the required columns is refused as a whole.
		body = c.importCSV(city, "volunteers", "bad.csv", "foo,bar\n1,2\n", 422)
		has(t, "bad header", body, "文件无法导入")
	})
}

// Two good rows (lines 2 and 3) and three bad: a malformed ID number, a
// missing name, an unknown community.
const volunteerFile = `id,name,gender,birth_date,id_number,community,phone,skills,service_types,group,orgs
V001,张三,,,53080219900101123X,530802001001,13800138000,急救,关爱空巢老人,party_member,org-1
V002,李四,,,530802198505052313,530802001001,13900139000,,,teacher,
V003,王五,,,530802199001011230,530802001001,13700137000,,,,
V004,,,,11010519491231002X,530802001001,13600136000,,,,
V005,赵六,,,530802199506073217,999999,13500135000,,,,
`

// A volunteer registered with the form: the page shows the ID number
// masked, never in clear; registering the same person again is refused as
// a duplicate; a county administrator registers only in its county and
// gets 404 for another county's volunteer; an auditor sees the name and
// phone masked.
func TestRegisterVolunteer(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		simao := c.login("simao")
		form := url.Values{"id": {"V100"}, "name": {"陈小红"}, "id_number": {"530802199203040020"}, "community": {"530802001001"},
			"phone": {"13812345678"}, "group": {"teacher"}, "skills": {"英语、急救"}}
		code, body := simao.post("/console/volunteers", form)
		if code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
		has(t, "registered", body, "已登记", "陈小红", "5308**********0020", "教师", "急救、英语")
		hasNot(t, "registered", body, "530802199203040020")
		form.Set("id", "V101")
		code, body = simao.post("/console/volunteers", form)
		if code != 422 {
			t.Errorf("the same person again: %d", code)
		}
		has(t, "duplicate", body, "同一人不能重复注册")
		form.Set("id_number", "530802199203040027")
		_, body = simao.post("/console/volunteers", form)
		has(t, "bad ID number", body, "身份证件号码格式不对")
		form = url.Values{"id": {"V102"}, "name": {"刘一"}, "id_number": {"11010519491231002X"}, "community": {"530821001001"}, "phone": {"13812345679"}}
		code, body = simao.post("/console/volunteers", form)
		if code != 422 {
			t.Errorf("register in another county: %d %s", code, body)
		}
		has(t, "other county", body, "不在您的管理范围内")
		form.Del("csrf_token")
		if code, _ := c.login("city").post("/console/volunteers", form); code != 200 {
			t.Fatalf("city registers in 宁洱: %d", code)
		}
		if code, _ := simao.get("/console/volunteers/V102"); code != 404 {
			t.Errorf("county reads another county's volunteer: %d", code)
		}
		_, body = c.login("auditor").get("/console/volunteers/V100")
		has(t, "auditor", body, "陈*红", "138****5678")
		hasNot(t, "auditor", body, "陈小红", "13812345678")
	})
}

// A new user changes the initial password before anything else: every
// page leads to the password form, every change is refused; a wrong
// current password or a mistyped repeat is refused in Chinese.
func TestFirstLoginPasswordChange(t *testing.T) {
	c := newTestConsole(t, backends[0].dsn(t))
	nc := c.login("newcomer")
	code, body := nc.get("/console/stations")
	if code != 200 || !strings.Contains(body, `id="passwordForm"`) || strings.Contains(body, `class="menu"`) {
		t.Fatalf("a new user's first page: %d\n%s", code, body)
	}
	if code, _ := nc.post("/console/config", url.Values{"op": {"push"}, "target": {"all"}, "phone": {"0879-2123456"}}); code != 403 {
		t.Errorf("a change before the password: %d, want 403", code)
	}
	_, body = nc.post("/console/password", url.Values{"old": {reverse("newcomer")}, "new": {"a-new-password"}, "again": {"another-one!"}})
	has(t, "mistyped", body, "两次输入的新密码不一样")
	_, body = nc.post("/console/password", url.Values{"old": {"wrong"}, "new": {"a-new-password"}, "again": {"a-new-password"}})
	has(t, "wrong old", body, "当前密码不正确")
	code, body = nc.post("/console/password", url.Values{"old": {reverse("newcomer")}, "new": {"a-new-password"}, "again": {"a-new-password"}})
	if code != 200 {
		t.Fatalf("change: %d %s", code, body)
	}
	has(t, "changed", body, "密码已修改", `class="menu"`)
	if code, _ := nc.get("/console/stations"); code != 200 {
		t.Errorf("after the change: %d", code)
	}
}

// The card desk on a volunteer's page: the city issues a card and gets
// the file leifeng-card writes; a bad UID is refused in Chinese; revoking
// pushes the fleet defaults with the revocation; the auditor sees the
// cards without a form and its posts are refused; another county's
// administrator gets 404.
func TestCardDesk(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		city := c.login("city")
		if code, body := city.post("/console/volunteers", url.Values{"id": {"V100"}, "name": {"陈小红"}, "id_number": {"530802199203040020"},
			"community": {"530802001001"}, "phone": {"13812345678"}}); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
		_, body := city.get("/console/volunteers/V100")
		has(t, "desk", body, `id="issueForm"`, "还没有志愿服务证")
		code, body := city.post("/console/volunteers/V100/cards", url.Values{"uid": {"zz"}, "media": {"ntag215"}})
		if code != 400 {
			t.Errorf("bad UID: %d", code)
		}
		has(t, "bad UID", body, "卡号（UID）有误")
		code, body = city.post("/console/volunteers/V100/cards", url.Values{"uid": {"04C1C2C3C4C5C6"}, "media": {"ntag215"}})
		if code != 200 {
			t.Fatalf("issue: %d %s", code, body)
		}
		has(t, "issued", body, "已签发志愿服务证", `id="cardWrite"`, "&#34;write&#34;", `data-card="`, "有效", "04C1C2C3C4C5C6")
		hasNot(t, "issued", body, "陈小红&#34;", "530802199203040020")
		cs, err := c.db.VolunteerCards(context.Background(), "V100")
		if err != nil || len(cs) != 1 {
			t.Fatalf("cards: %+v %v", cs, err)
		}
		serial := cs[0].Serial

		aud := c.login("auditor")
		_, body = aud.get("/console/volunteers/V100")
		has(t, "auditor", body, serial)
		hasNot(t, "auditor", body, `id="issueForm"`, `class="revoke"`)
		if code, _ := aud.post("/console/volunteers/V100/cards/"+serial+"/revoke", url.Values{}); code != 403 {
			t.Errorf("auditor revokes: %d", code)
		}
		c.importCSV(city, "volunteers", "v.csv", "id,name,id_number,community,phone\nV200,刘一,11010519491231002X,530821001001,13812345679\n", 200)
		simao := c.login("simao")
		if code, _ := simao.post("/console/volunteers/V200/cards", url.Values{"uid": {"04D1D2D3D4D5D6"}}); code != 404 {
			t.Errorf("county issues for another county's volunteer: %d", code)
		}
		if code, _ := simao.post("/console/volunteers/V100/cards/C-none/revoke", url.Values{}); code != 404 {
			t.Errorf("revoke of a card not the volunteer's: %d", code)
		}

		code, body = city.post("/console/volunteers/V100/cards/"+serial+"/revoke", url.Values{"reason": {"卡片遗失"}, "lost": {"yes"}})
		if code != 200 {
			t.Fatalf("revoke: %d %s", code, body)
		}
		has(t, "revoked", body, "已停用", "已挂失（卡片遗失）")
		if code, body = city.post("/console/volunteers/V100/cards/"+serial+"/revoke", url.Values{}); code != 409 {
			t.Errorf("revoke twice: %d", code)
		}
		has(t, "twice", body, "已停用或已补办过")
	})
}

// The register's pages: search lists volunteers masked and in scope only;
// an edit changes only what differs and shows in the history (personal
// values masked); the export is a file with the ID number in full, for
// the volunteer; deregistration needs a reason and the confirmation.
func TestVolunteerRegisterPages(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		city := c.login("city")
		c.importCSV(city, "volunteers", "volunteers.csv", volunteerFile, 200)
		c.importCSV(city, "volunteers", "v.csv", "id,name,id_number,community,phone\nV200,刘一,11010519491231002X,530821001001,13812345679\n", 200)
		_, body := city.get("/console/volunteers?q=13800138000")
		has(t, "search by phone", body, `data-volunteer="V001"`, "张*", "138****8000")
		hasNot(t, "search by phone", body, "张三", "V002")
		simao := c.login("simao")
		_, body = simao.get("/console/volunteers")
		has(t, "county list", body, `data-volunteer="V001"`, `data-volunteer="V002"`)
		hasNot(t, "county list", body, `data-volunteer="V200"`)

		code, body := simao.post("/console/volunteers/V001/edit", url.Values{"phone": {"13900000001"}, "community": {"530802001001"},
			"group": {"party_member"}, "skills": {"急救"}, "service_types": {"关爱空巢老人"}, "orgs": {"org-1"}})
		if code != 200 {
			t.Fatalf("edit: %d %s", code, body)
		}
		has(t, "edited", body, "已保存：联系电话", `id="history"`, "139****0001")
		hasNot(t, "edited", body, "13900000001&lt;")
		code, body = simao.post("/console/volunteers/V001/edit", url.Values{"phone": {"123"}, "community": {"530802001001"},
			"group": {"party_member"}, "skills": {"急救"}, "service_types": {"关爱空巢老人"}, "orgs": {"org-1"}})
		if code != 422 {
			t.Errorf("a bad phone: %d", code)
		}
		has(t, "bad phone", body, "联系电话格式不对")

		resp, err := simao.http.PostForm(c.srv.URL+"/console/volunteers/V001/export", url.Values{"format": {"json"}, "csrf_token": {simao.csrf}})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "volunteer-V001.json") ||
			!strings.Contains(string(data), "53080219900101123X") {
			t.Fatalf("export: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), data)
		}
		if code, _ := simao.post("/console/volunteers/V200/export", url.Values{"format": {"json"}}); code != 404 {
			t.Errorf("export of another county's volunteer: %d", code)
		}

		code, body = simao.post("/console/volunteers/V002/deregister", url.Values{"reason": {"本人申请"}})
		if code != 400 {
			t.Errorf("deregister without confirming: %d", code)
		}
		code, body = simao.post("/console/volunteers/V002/deregister", url.Values{"reason": {"本人申请"}, "confirm": {"yes"}})
		if code != 200 {
			t.Fatalf("deregister: %d %s", code, body)
		}
		has(t, "deregistered", body, "已注销")
		hasNot(t, "deregistered", body, `id="editForm"`)
		if code, _ := c.login("auditor").post("/console/volunteers/V001/deregister", url.Values{"reason": {"x"}, "confirm": {"yes"}}); code != 403 {
			t.Errorf("auditor deregisters: %d", code)
		}
	})
}

// The users page: the city administrator adds a county administrator
// (who must change the initial password) and disables one; a weak
// password and an unknown scope are refused in Chinese; the county
// administrator gets 404, the city's auditor reads without forms.
func TestUsersPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		hash, err := access.HashPassword("first city password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.AddUser(ctx, store.User{User: access.User{Name: "boss", Role: access.City}, PasswordHash: hash, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		city := c.login("city")
		code, body := city.post("/console/users", url.Values{"name": {"zhang"}, "role": {"county"}, "scope": {"530802"}, "password": {"short"}})
		if code != 400 {
			t.Errorf("weak password: %d", code)
		}
		has(t, "weak", body, "未添加")
		code, body = city.post("/console/users", url.Values{"name": {"zhang"}, "role": {"county"}, "scope": {"999"}, "password": {"a long initial password"}})
		if code != 422 {
			t.Errorf("unknown scope: %d %s", code, body)
		}
		has(t, "scope", body, "范围不存在")
		code, body = city.post("/console/users", url.Values{"name": {"zhang"}, "role": {"county"}, "scope": {"530802"}, "password": {"a long initial password"}})
		if code != 200 {
			t.Fatalf("add: %d %s", code, body)
		}
		has(t, "added", body, "已添加用户 zhang", `data-user="zhang"`, "待首次登录改密码")
		hasNot(t, "added", body, "a long initial password")
		u, err := c.db.UserByName(ctx, "zhang")
		if err != nil || u.Role != access.County || !u.MustChangePassword || !access.VerifyPassword(u.PasswordHash, "a long initial password") {
			t.Fatalf("stored: %+v %v", u, err)
		}
		code, body = city.post("/console/users/zhang/disable", url.Values{})
		if code != 200 {
			t.Fatalf("disable: %d", code)
		}
		has(t, "disabled", body, "已停用用户 zhang")
		if code, _ := c.login("simao").get("/console/users"); code != 404 {
			t.Errorf("county administrator: %d", code)
		}
		_, body = c.login("auditor").get("/console/users")
		has(t, "auditor", body, `data-user="zhang"`)
		hasNot(t, "auditor", body, `id="userForm"`)
	})
}

// The audit page lists the log newest first for the city administrator
// and the auditor, filtered by user and action; others get 404.
func TestAuditPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		ctx := context.Background()
		for i, a := range []string{"card.revoke", "config.push", "card.revoke"} {
			if err := c.db.Audit(ctx, store.AuditEntry{At: time.Now().Add(time.Duration(i) * time.Second), User: "zhang", Role: "county",
				Via: "session", Action: a, Target: fmt.Sprint("card C", i), Status: 200, After: json.RawMessage(`{"n":1}`)}); err != nil {
				t.Fatal(err)
			}
		}
		code, body := c.login("city").get("/console/audit?action=card.revoke")
		if code != 200 {
			t.Fatalf("audit: %d", code)
		}
		has(t, "audit", body, "card C0", "card C2", "zhang（county）", `{&#34;n&#34;:1}`)
		hasNot(t, "audit", body, "card C1")
		if i, j := strings.Index(body, "card C2"), strings.Index(body, "card C0"); i > j {
			t.Errorf("not newest first")
		}
		_, body = c.login("auditor").get("/console/audit?user=nobody")
		has(t, "auditor", body, "没有符合条件的记录")
		for _, who := range []string{"simao", "manager", "orgadmin"} {
			if code, _ := c.login(who).get("/console/audit"); code != 404 {
				t.Errorf("%s: audit page %d, want 404", who, code)
			}
		}
		if code, _ := c.login("city").get("/console/audit?from=yesterday"); code != 400 {
			t.Errorf("a bad date: %d", code)
		}
	})
}
