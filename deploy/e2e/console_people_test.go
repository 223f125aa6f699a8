package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The console flow in a real Chromium against the real binaries:
// sign in, import the area tree, import a volunteer file with bad rows and
// read the per-row report, register a volunteer with the form and read
// the volunteer's page (ID number masked), issue her a card on that page,
// write it with leifeng-card and tap it at a kiosk with the simulated
// reader (accepted, greeted by the masked name), revoke it on the page and
// see the kiosk refuse it once it has applied the push. Each page is also
// looked at on a phone (375×800) and a laptop (1280×800): nothing may
// stick out sideways, and with LEIFENG_SCREENSHOTS=DIR the screenshots are
// kept.
func TestConsolePeopleInChromium(t *testing.T) {
	browser := findChromium(t)
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	card(t, "keygen", "-root", "-root-id", "pe-root", "-out", p("root"))
	c := startCloud(t, cloudOpt{})
	cloudCmd(t, "issuer-key", "--data", c.data, "--out", p("cloud-issuer.pub"))
	card(t, "keyset", "sign", "-root", p("root.key"), "-pub", p("cloud-issuer.pub"), "-out", p("keyset.json"))
	ks, err := os.ReadFile(p("keyset.json"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := c.addStation(t, "pe-web-030", "", "--issuer-root", p("root.pub"))
	k := startKiosk(t, "pe-web-030", c.mqtt, "--bundle", bundle)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	v := c.push(t, `{"key_set":`+string(ks)+`}`, "--all")
	c.waitStation(t, k.station, fmt.Sprintf("fleet config %d applied", v), 20*time.Second, func(s stationView) bool {
		return s.FleetConfigVersion >= v && s.ConfigError == ""
	})
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

	// A card for her, issued on her page, written at the desk, tapped at
	// the kiosk: accepted, and the kiosk greets her by the masked name.
	page.goTo(t, c.http+"/console/volunteers/V100")
	page.eval(t, `(() => { window.leaving = true; document.getElementById('cardUID').value = '04C1C2C3C4C5C6';
		document.getElementById('issueBtn').click(); return true; })()`)
	page.waitTrue(t, `!window.leaving && document.getElementById('cardWrite') !== null`)
	page.screenshot(t, "card-issued", 375, 800)
	page.screenshot(t, "card-issued", 1280, 800)
	var answer string
	json.Unmarshal(page.eval(t, `document.getElementById('cardWrite').value`), &answer)
	var issued struct {
		Card struct{ Serial string } `json:"card"`
	}
	if err := json.Unmarshal([]byte(answer), &issued); err != nil || issued.Card.Serial == "" {
		t.Fatalf("the page's card file: %v\n%s", err, answer)
	}
	os.WriteFile(p("answer.json"), []byte(answer), 0o600)
	card(t, "write", "-in", p("answer.json"), "-out", p("card.json"))
	image := imageLine(t, p("card.json"))
	if r := present(t, k, image); !r.OK || r.Kind != "check_in" || r.Volunteer != "V100" || r.Name != "陈*红" {
		t.Fatalf("the card issued on the console: %+v\n%s", r, tail(k.log.String(), 20))
	}

	// Revoked on her page: the push leaves at once; once the kiosk has
	// applied it, the card is refused.
	row := fmt.Sprintf(`document.querySelector('tr[data-card="%s"]')`, issued.Card.Serial)
	page.eval(t, `(() => { window.leaving = true; const f = `+row+`.querySelector('form.revoke');
		f.querySelector('input[name=reason]').value = '卡片遗失'; f.querySelector('input[name=lost]').checked = true;
		f.querySelector('button').click(); return true; })()`)
	page.waitTrue(t, `!window.leaving && document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已停用')`)
	page.waitTrue(t, row+`.querySelector('.state').textContent.startsWith('已挂失')`)
	var pushed uint64
	fmt.Sscanf(string(page.eval(t, `document.querySelector('.flash').textContent.replace(/^.*版本 (\d+).*$/, '$1')`)), `"%d"`, &pushed)
	if pushed == 0 {
		t.Fatalf("revoke: no push in %s", page.eval(t, `document.querySelector('.flash').textContent`))
	}
	c.waitStation(t, k.station, fmt.Sprintf("fleet config %d with the revocation applied", pushed), 20*time.Second, func(s stationView) bool {
		return s.FleetConfigVersion >= pushed
	})
	if r := present(t, k, image); r.OK || r.Reason != "revoked" {
		t.Fatalf("the card revoked on the console: %+v\n%s", r, tail(k.log.String(), 20))
	}
	page.screenshot(t, "card-revoked", 375, 800)

	for _, p := range []string{"stations", "stations/pe-web-030", "config", "review", "areas", "orgs", "volunteers", "users", "audit", "settings"} {
		page.goTo(t, c.http+"/console/"+p)
		name := map[string]string{"stations/pe-web-030": "station"}[p]
		if name == "" {
			name = p
		}
		page.screenshot(t, name, 375, 800)
		page.screenshot(t, name, 1280, 800)
	}
}
