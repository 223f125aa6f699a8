package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/cloud/targets/targetstest"
	"leifeng/internal/pgtest"
)

// figureAnswer is one figure as the page must show it: status ("" for
// none), its words, and the value as written.
type figureAnswer struct{ status, words, value string }

// The answers for targetstest's city on 20 November 2026, worked out by
// hand from its package doc (registered: A has VA1–VA5 and VA8, VA6
// being deregistered; B VB1, VB2, VB3, VR; C VC2; D VD1 and VC1, who
// moved there; the city 13 of population 100, 思茅区 11 of 75).
var targetAnswers = map[string]map[string]figureAnswer{
	targetstest.City: {
		// 13/100; 8 active of 13; 385.5 h / 13; O1 of O1, O2, O3, O5;
		// VA4 and VB2 of VA4, VA5, VB2; O1–O4 have a county.
		"registered_share":      {"missed", "未达标", "13.0%"},
		"active_share":          {"missed", "未达标", "61.5%"},
		"hours_per_volunteer":   {"missed", "未达标", "29.65小时"},
		"org_monthly_visits":    {"missed", "未达标", "25.0%"},
		"college_student_hours": {"missed", "未达标", "66.7%"},
		"organisations":         {"missed", "未达标", "4个"},
	},
	targetstest.County: {
		// 11/75 ≥ 0.9 × 0.15; 6 of 11; 360 h / 11; O1 of O1, O2, O5; 2
		// of 3; O1 and O2, no target for a county.
		"registered_share":      {"at_risk", "有风险", "14.7%"},
		"active_share":          {"missed", "未达标", "54.5%"},
		"hours_per_volunteer":   {"missed", "未达标", "32.73小时"},
		"org_monthly_visits":    {"missed", "未达标", "33.3%"},
		"college_student_hours": {"missed", "未达标", "66.7%"},
		"organisations":         {"", "无目标", "2个"},
	},
	targetstest.Community: {
		// 6/46 ≥ 0.13; 4 of 6 (< 0.9 × 0.75); 155 h / 6; O1 of O1; VA4
		// of VA4, VA5; no organisation has a community for its county.
		"registered_share":      {"met", "达标", "13.0%"},
		"active_share":          {"missed", "未达标", "66.7%"},
		"hours_per_volunteer":   {"missed", "未达标", "25.83小时"},
		"org_monthly_visits":    {"met", "达标", "100.0%"},
		"college_student_hours": {"missed", "未达标", "50.0%"},
		"organisations":         {"", "无目标", "0个"},
	},
}

// The dashboard in a real Chromium on targetstest's city, with the
// cloud's clock at the fixture's: the city's, a county's and a
// community's page each show every figure with its status in words and
// colour as worked out by hand, the areas below ranked (by the share of
// registered volunteers, and by the active share, which turns the city's
// order round), both ECharts charts drawn with the months' data, the
// export links answering files; a county administrator lands on its
// county and does not see the city; at 375 px nothing sticks out
// sideways. On SQLite and on PostgreSQL.
func TestConsoleTargetsInChromium(t *testing.T) {
	browser := findChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		testConsoleTargets(t, browser, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testConsoleTargets(t, browser, pgtest.NewDatabase(t, pgtest.Start(t)))
	})
}

func testConsoleTargets(t *testing.T, browser, dsn string) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := targetstest.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	const password = "目标看板测试密码2026"
	hash, err := access.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []access.User{{Name: "city", Role: access.City}, {Name: "simao", Role: access.County, Scope: targetstest.County}} {
		if _, err := db.AddUser(ctx, store.User{User: u, PasswordHash: hash, Created: time.Now(), PasswordSet: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := fleet.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The cloud of `serve` but in the test, so that its clock is the
	// fixture's (the answers hold on 20 November 2026 only).
	srv := httptest.NewServer(api.New(db, prometheus.NewRegistry(), log, &api.Fleet{
		Service: fleet.NewService(db, keys, nil, log), Store: db, Now: func() time.Time { return targetstest.Now }}))
	t.Cleanup(srv.Close)

	page := openPage(t, browser, srv.URL+"/console")
	login := func(name string) {
		t.Helper()
		// A signed-in user is sent on from the login page.
		page.eval(t, fmt.Sprintf(`(() => { window.leaving = true; location.href = %q; return true; })()`, srv.URL+"/console/login"))
		page.waitTrue(t, `!window.leaving && document.readyState === 'complete'`)
		if ok, _ := page.value(t, `document.getElementById('logout') !== null`); string(ok) == "true" {
			page.eval(t, `(() => { window.leaving = true; document.getElementById('logout').click(); return true; })()`)
			page.waitTrue(t, `!window.leaving && document.getElementById('login') !== null && document.readyState === 'complete'`)
		}
		page.waitTrue(t, `document.getElementById('login') !== null && document.readyState === 'complete'`)
		page.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('name').value = %q; document.getElementById('password').value = %q;
			document.getElementById('loginBtn').click(); return true; })()`, name, password))
		page.waitTrue(t, fmt.Sprintf(`!window.leaving && document.getElementById('logout') !== null && document.querySelector('.who').textContent.includes(%q)`, name))
	}
	// check holds the page shown to the answers of area.
	check := func(area, name string) {
		t.Helper()
		page.waitTrue(t, fmt.Sprintf(`document.getElementById('areaName').textContent === %q && document.getElementById('yearShown').textContent === '2026'`, name))
		for key, a := range targetAnswers[area] {
			page.waitTrue(t, fmt.Sprintf(`(() => { const s = document.querySelector('#figures .figure[data-key="%s"]');
				return s !== null && s.dataset.status === %q && s.querySelector('.v').textContent === %q &&
					s.querySelector('.mark').textContent.includes(%q) &&
					s.classList.contains(%q); })()`, key, a.status, a.value, a.words, "st-"+map[bool]string{true: a.status, false: "none"}[a.status != ""]))
		}
		// The status is in colour too: each mark's colour is its status's.
		page.waitTrue(t, `(() => { const c = st => { const m = document.querySelector('#figures .figure.st-' + st + ' .mark'); return m && getComputedStyle(m).color; };
			const seen = ['met', 'at_risk', 'missed'].map(c).filter(Boolean); return seen.length > 0 && new Set(seen).size === seen.length; })()`)
		// Every definition is written on the page.
		page.waitTrue(t, `document.querySelectorAll('#definitions tbody tr').length === 6 && document.getElementById('definitions').textContent.includes('学年（上一年9月1日至本年8月31日）')`)
		// Both charts drawn by ECharts, each series with the months'
		// data (January to November).
		page.waitTrue(t, `typeof echarts !== 'undefined' && ['chartHours', 'chartVolunteers'].every(id => {
			const el = document.getElementById(id), c = echarts.getInstanceByDom(el);
			return c && el.querySelector('canvas') !== null && c.getOption().series.length === 2 &&
				c.getOption().series.every(s => s.data.length === 11); })`)
	}
	ranking := func(codes ...string) {
		t.Helper()
		page.waitTrue(t, fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#ranking tbody tr')].map(tr => tr.dataset.code + ':' + tr.dataset.rank)) === %q`,
			rankJSON(codes)))
	}

	login("city")
	page.goTo(t, srv.URL+"/console/targets")
	check(targetstest.City, "普洱市")
	ranking(targetstest.County, targetstest.County2)
	// The months' hours: November has O1's and O3's visits only, which
	// VX (not registered) made: 0; March has VA1's 30 and VA4's 50.
	page.waitTrue(t, `(() => { const d = echarts.getInstanceByDom(document.getElementById('chartHours')).getOption().series[0].data;
		return d[2] === 80 && d[10] === 0; })()`)
	page.screenshot(t, "targets-city", 375, 800)
	page.screenshot(t, "targets-city", 1280, 800)
	// Ranked by the active share, 宁洱县 (2 of 2) comes before 思茅区 (6 of 11).
	page.eval(t, `(() => { window.leaving = true; document.getElementById('rank').value = 'active_share';
		document.querySelector('#pick button').click(); return true; })()`)
	page.waitTrue(t, `!window.leaving && document.readyState === 'complete' && location.search.includes('rank=active_share')`)
	ranking(targetstest.County2, targetstest.County)

	// The county through its link in the ranking, the community through
	// the picker.
	page.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.querySelector('#ranking tr[data-code="%s"] a').click(); return true; })()`, targetstest.County))
	page.waitTrue(t, `!window.leaving && document.readyState === 'complete'`)
	check(targetstest.County, "思茅区")
	page.eval(t, `(() => { window.leaving = true; document.getElementById('rank').value = 'registered_share';
		document.querySelector('#pick button').click(); return true; })()`)
	page.waitTrue(t, `!window.leaving && document.readyState === 'complete' && location.search.includes('rank=registered_share')`)
	ranking(targetstest.Township, "530802002")
	page.eval(t, fmt.Sprintf(`(() => { window.leaving = true; document.getElementById('area').value = %q;
		document.querySelector('#pick button').click(); return true; })()`, targetstest.Community))
	page.waitTrue(t, `!window.leaving && document.readyState === 'complete'`)
	check(targetstest.Community, "南屏社区")
	page.waitTrue(t, `document.getElementById('ranking') === null`)
	page.screenshot(t, "targets-community", 375, 800)

	// The export links answer files for this session, with the notice.
	page.waitTrue(t, `document.querySelectorAll('#exports a.export').length === 6`)
	for _, id := range []string{"export-records-xlsx", "export-stats-csv"} {
		page.waitTrue(t, fmt.Sprintf(`(async () => { const r = await fetch(document.getElementById(%q).href); const b = await r.blob();
			return r.ok && b.size > 0 && r.headers.get('Content-Disposition').startsWith('attachment'); })()`, id))
	}
	// The statistics county offices file, counted as the figures are:
	// 思茅区 has A's 6 and B's 4 and C's VC2 registered, 6 of them active
	// with 8 final records of 2026 (VA1 2, VA2, VA4, VA5, VB1, VB2 2)
	// and 360 h; 宁洱县 VD1 (2 records, 21.5 h) and VC1 (4 h, made in C
	// before the move); organisations by linked community, O4 by county;
	// the one station in B.
	page.waitTrue(t, fmt.Sprintf(`(async () => {
		const r = await fetch('/api/v1/exports/statistics.csv?area=%s&year=2026'); return (await r.text()).trim() === %q; })()`,
		targetstest.City, strings.Join([]string{
			"区域代码,区域,注册志愿者,活跃志愿者,服务人次,服务时长（小时）,志愿服务组织,服务站点",
			"530802,思茅区,11,6,8,360,3,1",
			"530821,宁洱县,2,2,3,25.5,2,0",
			"合计,普洱市,13,8,11,385.5,5,1"}, "\r\n")))
	page.eval(t, `(() => { document.getElementById('export-stats-csv').click(); return true; })()`)
	page.waitTrue(t, `document.getElementById('exportStatus').textContent.includes('已生成 statistics-530802001001-2026.csv')`)
	// The form: one organisation's records of a period, and a period
	// the wrong way round refused with the API's reason.
	page.eval(t, `(() => { document.getElementById('exOrg').value = 'O1'; document.getElementById('exFrom').value = '2026-03-01';
		document.getElementById('exportCsv').click(); return true; })()`)
	page.waitTrue(t, `document.getElementById('exportStatus').textContent.includes('已生成 service-records-530802001001-O1-2026-03-01-2026-12-31.csv')`)
	page.eval(t, `(() => { document.getElementById('exFrom').value = '2026-12-31'; document.getElementById('exTo').value = '2026-01-01';
		document.getElementById('exportXlsx').click(); return true; })()`)
	page.waitTrue(t, `document.getElementById('exportStatus').textContent.includes('开始日期晚于结束日期')`)

	// A county administrator lands on its county; the city is not there.
	login("simao")
	page.goTo(t, srv.URL+"/console/targets")
	check(targetstest.County, "思茅区")
	page.waitTrue(t, fmt.Sprintf(`document.querySelector('#area option[value="%s"]') === null`, targetstest.City))
	page.goTo(t, srv.URL+"/console/targets?area="+targetstest.City)
	page.waitTrue(t, `document.getElementById('figures') === null && document.body.innerText.includes('不在您的管理范围内')`)
	page.goTo(t, srv.URL+"/console/targets?year=2027")
	page.waitTrue(t, `document.getElementById('figures') === null && document.body.innerText.includes('年份应在')`)
}

func rankJSON(codes []string) string {
	var parts []string
	for i, c := range codes {
		parts = append(parts, fmt.Sprintf(`"%s:%d"`, c, i+1))
	}
	return "[" + strings.Join(parts, ",") + "]"
}
