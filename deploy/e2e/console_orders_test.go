package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// e2eInitial is the initial password c.user gives; e2eChanged the one
// each user chooses at the first console login.
const (
	e2eInitial = "e2e initial password 2026"
	e2eChanged = "e2e console password 2026"
)

// consoleLoginAs signs name (made by c.user) in on the console's login
// form, choosing a new password at the first login; the page signed in
// before is signed out first.
func consoleLoginAs(t *testing.T, c *cloud, p *page, name string, first bool) {
	t.Helper()
	// A signed-in user is sent on from the login page.
	p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; location.href = %q; return true; })()`, c.http+"/console/login"))
	p.waitTrue(t, `!window.leaving && document.readyState === 'complete'`)
	if ok, _ := p.value(t, `document.getElementById('logout') !== null`); string(ok) == "true" {
		p.eval(t, `(() => { window.leaving = true; document.getElementById('logout').click(); return true; })()`)
		p.waitTrue(t, `!window.leaving && document.getElementById('login') !== null && document.readyState === 'complete'`)
	}
	pw := e2eChanged
	if first {
		pw = e2eInitial
	}
	p.waitTrue(t, `document.getElementById('login') !== null && document.readyState === 'complete'`)
	p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('name').value = %q; document.getElementById('password').value = %q;
		document.getElementById('loginBtn').click(); return true; })()`, name, pw))
	if first {
		p.waitTrue(t, `!window.leaving && document.getElementById('passwordForm') !== null && document.readyState === 'complete'`)
		p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('old').value = %q; document.getElementById('new').value = %q;
			document.getElementById('again').value = %q; document.getElementById('passwordBtn').click(); return true; })()`, e2eInitial, e2eChanged, e2eChanged))
		p.waitTrue(t, `!window.leaving && document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('密码已修改')`)
	}
	p.waitTrue(t, fmt.Sprintf(`!window.leaving && document.getElementById('logout') !== null && document.querySelector('.who').textContent.includes(%q)`, name))
}

// submit runs js (which fills a form and clicks its button) and waits for
// the next page, which must show the flash want.
func (p *page) submit(t *testing.T, js, want string) {
	t.Helper()
	p.eval(t, `(() => { window.leaving = true; `+js+`; return true; })()`)
	p.waitTrue(t, fmt.Sprintf(`!window.leaving && document.readyState === 'complete' && document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes(%q)`, want))
}

// The console's order pages in a real Chromium against the real cloud:
// a station manager registers a need for a resident (代办) and dispatches
// it to the organisation the page suggests; the organisation's
// administrator accepts it, assigns the suggested volunteer (masked
// name), starts and completes the service; the manager records the
// resident's rating from a phone call and reads the history, every step
// with who did it. Another county's administrator gets the 404 page for
// the order. The queue and the order page are looked at on a phone
// (375×800) and a laptop (1280×800); with LEIFENG_SCREENSHOTS=DIR the
// screenshots are kept.
func TestConsoleOrdersInChromium(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	orderFixture(t, c)
	c.addStation(t, "st-a", "530802", "--community", "530802001001")
	c.user(t, "manager-a", "station", "st-a")
	c.user(t, "org-o2", "org", "O2")
	c.user(t, "county-ninger", "county", "530821")

	page := openPage(t, browser, c.http+"/console/login")
	consoleLoginAs(t, c, page, "manager-a", true)

	// 代办: the manager registers a need for a resident.
	page.goTo(t, c.http+"/console/orders/new")
	page.screenshot(t, "order-new", 375, 800)
	page.screenshot(t, "order-new", 1280, 800)
	page.submit(t, `const set = (id, v) => { document.getElementById(id).value = v; };
		set('nstation', 'st-a'); set('ncategory', '关爱空巢老人'); set('nphone', '13987900001');
		set('npreferred', '周六上午'); set('nnote', '独居老人，腿脚不便，需要代买药品');
		document.getElementById('needBtn').click()`, "已登记需求")
	var path string
	json.Unmarshal(page.eval(t, `location.pathname`), &path)
	if !strings.HasPrefix(path, "/console/orders/") {
		t.Fatalf("after 代办: %s", path)
	}
	id := strings.TrimPrefix(path, "/console/orders/")
	orderURL := c.http + path
	page.waitTrue(t, `document.getElementById('orderState').textContent === '待审核' && document.querySelector('#order .phone').textContent === '13987900001'`)

	page.goTo(t, c.http+"/console/orders")
	page.waitTrue(t, fmt.Sprintf(`(() => { const tr = document.querySelector('tr[data-order="%s"]');
		return tr !== null && tr.querySelector('.state').textContent === '待审核' && tr.textContent.includes('关爱空巢老人') && tr.textContent.includes('茶源社区'); })()`, id))
	page.screenshot(t, "orders-queue", 375, 800)
	page.screenshot(t, "orders-queue", 1280, 800)

	// Dispatch to the organisation the page suggests, with its reasons.
	page.goTo(t, orderURL)
	page.waitTrue(t, `(() => { const tr = document.querySelector('#orgSuggestions tr[data-org="O2"]');
		return tr !== null && tr.textContent.includes('茶源社区志愿服务队') && tr.textContent.includes('本社区'); })()`)
	page.screenshot(t, "order-submitted", 375, 800)
	page.screenshot(t, "order-submitted", 1280, 800)
	page.submit(t, `document.getElementById('dorg').value = 'O2'; document.getElementById('dispatchBtn').click()`, "已派单")
	page.waitTrue(t, `document.getElementById('orderState').textContent === '已派单' && document.getElementById('acceptForm') === null`)

	// The organisation accepts, assigns the suggested volunteer, starts
	// and completes the service.
	consoleLoginAs(t, c, page, "org-o2", true)
	page.goTo(t, c.http+"/console/orders")
	page.waitTrue(t, fmt.Sprintf(`document.querySelector('tr[data-order="%s"] .state').textContent === '已派单'`, id))
	page.goTo(t, orderURL)
	page.submit(t, `document.getElementById('acceptBtn').click()`, "已接单")
	page.waitTrue(t, `(() => { const v = document.querySelector('#assignForm input[value="V1"]');
		return v !== null && v.parentElement.textContent.includes('王*明') && !document.body.innerText.includes('王小明'); })()`)
	page.screenshot(t, "order-assign", 375, 800)
	page.screenshot(t, "order-assign", 1280, 800)
	page.submit(t, `document.querySelector('#assignForm input[value="V1"]').checked = true; document.getElementById('assignBtn').click()`, "已指派志愿者")
	page.waitTrue(t, `document.querySelector('#order .volunteers').textContent === 'V1'`)
	page.submit(t, `document.getElementById('startBtn').click()`, "已开始服务")
	page.goTo(t, c.http+"/console/volunteers/V1")
	page.waitTrue(t, fmt.Sprintf(`document.querySelector('#taskList tr[data-order="%s"]') !== null`, id))
	page.goTo(t, orderURL)
	page.submit(t, `document.getElementById('completeBtn').click()`, "已完成服务")
	page.waitTrue(t, `document.getElementById('orderState').textContent === '已完成' && document.getElementById('rateForm') === null`)

	// The manager records the rating from a phone call and reads the history.
	consoleLoginAs(t, c, page, "manager-a", false)
	page.goTo(t, orderURL)
	page.submit(t, `document.querySelector('#rateForm input[name=rating][value="5"]').checked = true;
		document.getElementById('rcomment').value = '准时到达'; document.getElementById('rateBtn').click()`, "已评价")
	page.waitTrue(t, `document.getElementById('orderState').textContent === '已评价' && document.querySelector('#order .rating').textContent === '5 星：准时到达'`)
	var history []string
	json.Unmarshal(page.eval(t, `[...document.querySelectorAll('#history tbody tr')].map(tr => tr.dataset.action + ' ' + tr.children[1].textContent + ' ' + tr.children[3].textContent)`), &history)
	want := []string{"submit manager-a 待审核", "dispatch manager-a 待审核 → 已派单", "accept org-o2 已派单 → 已接单",
		"assign org-o2 已接单", "start org-o2 已接单 → 服务中", "complete org-o2 服务中 → 已完成", "rate manager-a 已完成 → 已评价"}
	if strings.Join(history, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the order's history:\n%s\nwant\n%s", strings.Join(history, "\n"), strings.Join(want, "\n"))
	}
	page.screenshot(t, "order-rated", 375, 800)
	page.screenshot(t, "order-rated", 1280, 800)
	page.goTo(t, c.http+"/console/orders")
	page.screenshot(t, "orders-queue-rated", 1280, 800)
	page.goTo(t, c.http+"/console/supply")
	page.waitTrue(t, `document.querySelector('#supply tr[data-category="关爱空巢老人"]') !== null`)
	page.screenshot(t, "supply", 375, 800)
	page.screenshot(t, "supply", 1280, 800)

	// Another county's administrator: the 404 page, no order.
	consoleLoginAs(t, c, page, "county-ninger", true)
	page.goTo(t, orderURL)
	page.waitTrue(t, `document.querySelector('.error') !== null && document.querySelector('.error').textContent.includes('不在您的管理范围内') && document.getElementById('order') === null`)
	if code := string(page.eval(t, `fetch(location.href).then(r => r.status)`)); code != "404" {
		t.Fatalf("another county's administrator: the order's page answered %s, want 404", code)
	}
	page.goTo(t, c.http+"/console/orders")
	page.waitTrue(t, fmt.Sprintf(`document.querySelector('tr[data-order="%s"]') === null && document.getElementById('noOrders') !== null`, id))
}
