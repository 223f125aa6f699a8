package e2e

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

// The console flow in a real Chromium against the real cloud
// binary: sign in, import the area tree, import a volunteer file with bad
// rows and read the per-row report, register a volunteer with the form and
// read the volunteer's page (ID number masked). Each page is also looked
// at on a phone (375×800) and a laptop (1280×800): nothing may stick out
// sideways, and with LEIFENG_SCREENSHOTS=DIR the screenshots are kept.
func TestConsolePeopleInChromium(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-web-030", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	c.addStation(t, "pe-web-031", "思茅区")

	page := openPage(t, browser, c.http+"/console")
	page.screenshot(t, "login", 375, 800)
	c.consoleLogin(t, page)

	importFile := func(kind, name, content string) {
		t.Helper()
		page.goTo(t, c.http+"/console/import")
		page.eval(t, fmt.Sprintf(`(() => {
			document.getElementById('kind').value = %q;
			const b = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
			const dt = new DataTransfer(); dt.items.add(new File([b], %q, {type: 'text/csv'}));
			document.getElementById('file').files = dt.files;
			document.getElementById('importBtn').click(); return true; })()`,
			kind, base64.StdEncoding.EncodeToString([]byte(content)), name))
		page.waitTrue(t, `document.getElementById('summary') !== null`)
	}
	importFile("areas", "areas.csv", `code,name,parent,level,population
5308,普洱市,,city,2404954
530802,思茅区,5308,county,400000
530802001,思茅街道,530802,township,90000
530802001001,南屏社区,530802001,community,12000
`)
	page.waitTrue(t, `document.getElementById('summary').textContent.includes('新增 4')`)

	// 序号 2 and 3 are good; 4 has a malformed ID number, 5 no name, 6 an
	// unknown community.
	importFile("volunteers", "志愿者.csv", `志愿者编号,姓名,性别,出生日期,身份证件号码,居住区域,联系电话,专业技能,服务类别,人员类别,所属组织
V001,张三,,,53080219900101123X,530802001001,13800138000,急救,关爱空巢老人,党员,
V002,李四,,,530802198505052313,530802001001,13900139000,,,教师,
V003,王五,,,530802199001011230,530802001001,13700137000,,,,
V004,,,,11010519491231002X,530802001001,13600136000,,,,
V005,赵六,,,530802199506073217,999999,13500135000,,,,
`)
	page.waitTrue(t, `document.getElementById('summary').textContent.includes('新增 2') && document.getElementById('summary').textContent.includes('未导入 3')`)
	for line, reason := range map[int]string{4: "身份证件号码格式不对", 5: "缺少姓名", 6: "找不到该社区（村）代码"} {
		page.waitTrue(t, fmt.Sprintf(`(() => { const tr = document.querySelector('#problems tr[data-line="%d"]');
			return tr !== null && tr.textContent.includes('第 %d 行') && tr.textContent.includes(%q); })()`, line, line, reason))
	}
	page.screenshot(t, "import-report", 375, 800)
	page.screenshot(t, "import-report", 1280, 800)

	page.goTo(t, c.http+"/console/volunteers")
	page.eval(t, `(() => {
		const set = (id, v) => { document.getElementById(id).value = v; };
		set('vid', 'V100'); set('vname', '陈小红'); set('vidnum', '530802199203040020');
		set('vphone', '13812345678'); set('vcommunity', '530802001001'); set('vgroup', 'teacher');
		set('vskills', '英语、急救');
		document.getElementById('registerBtn').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已登记')`)
	page.waitTrue(t, `document.querySelector('#volunteer .idnumber').textContent === '5308**********0020' && !document.body.innerText.includes('530802199203040020')`)
	page.screenshot(t, "volunteer", 375, 800)
	page.screenshot(t, "volunteer", 1280, 800)

	// The same person again is refused with the reason.
	page.goTo(t, c.http+"/console/volunteers")
	page.eval(t, `(() => {
		const set = (id, v) => { document.getElementById(id).value = v; };
		set('vid', 'V101'); set('vname', '陈小红'); set('vidnum', '530802199203040020');
		set('vphone', '13812345678'); set('vcommunity', '530802001001');
		document.getElementById('registerBtn').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.error') !== null && document.querySelector('.error').textContent.includes('同一人不能重复注册')`)
	page.screenshot(t, "register-refused", 375, 800)
	page.screenshot(t, "register-refused", 1280, 800)

	for _, p := range []string{"stations", "stations/pe-web-030", "config", "review", "areas", "orgs"} {
		page.goTo(t, c.http+"/console/"+p)
		name := map[string]string{"stations/pe-web-030": "station"}[p]
		if name == "" {
			name = p
		}
		page.screenshot(t, name, 375, 800)
		page.screenshot(t, name, 1280, 800)
	}
}
