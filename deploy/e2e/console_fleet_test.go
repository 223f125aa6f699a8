package e2e

import (
	"strings"
	"testing"
	"time"
)

// The console edits what a station runs without wiping the rest: it loads
// the effective config, an admin changes the phone only, and the menu,
// name and announcements stay. A push that would empty the menu is refused
// with the reason in Chinese, and a command the kiosk refuses (its clock
// is an hour ahead, so the command arrives expired) shows as failed.
func TestConsolePartialPushAndRefusedCommand(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-web-010", c.mqtt, "--fake-clock-offset", "1h")
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	c.push(t, `{"profile":{"name":"思茅区南屏街道学雷锋志愿服务站"},
		"menu":[{"id":"elderly","name":"关爱空巢老人","items":[{"id":"visit","name":"上门探访"}]}],
		"board":{"contact_person":"王丽（站长）","phone":"0879-2123456"},
		"announcements":[{"title":"端午节包粽子活动","where":"社区活动室"}]}`, "--station", k.station)

	page := openPage(t, browser, c.http+"/console")
	c.consoleLogin(t, page)
	page.goTo(t, c.http+"/console/stations")
	page.waitTrue(t, `document.querySelector('tr[data-station="pe-web-010"]') !== null`)
	page.goTo(t, c.http+"/console/config")
	page.eval(t, `(() => {
		document.getElementById('target').value = 'station';
		document.getElementById('targetValue').value = 'pe-web-010';
		document.getElementById('load').click();
		return true; })()`)
	page.waitTrue(t, `document.getElementById('menu') !== null && document.getElementById('menu').value.includes('关爱空巢老人')`)
	page.eval(t, `(() => { document.getElementById('phone').value = '0879-2999999';
		document.getElementById('push').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已推送')`)
	var doc struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		Menu  []struct{ ID string } `json:"menu"`
		Board struct {
			Phone         string `json:"phone"`
			ContactPerson string `json:"contact_person"`
		} `json:"board"`
		Announcements []struct {
			Title string `json:"title"`
			Where string `json:"where"`
		} `json:"announcements"`
	}
	c.get(t, "/api/v1/config?station="+k.station, &doc)
	if doc.Board.Phone != "0879-2999999" || doc.Board.ContactPerson != "王丽（站长）" || len(doc.Menu) != 1 ||
		doc.Profile.Name == "" || len(doc.Announcements) != 1 || doc.Announcements[0].Where != "社区活动室" {
		t.Fatalf("after a phone-only push from the console: %+v", doc)
	}

	// After the push the form holds what the station now runs: emptying
	// the menu is refused with the reason.
	page.eval(t, `(() => { document.getElementById('menu').value = '[]';
		document.getElementById('push').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.error') !== null && document.querySelector('.error').textContent.includes('服务菜单将为空')`)

	page.goTo(t, c.http+"/console/stations/pe-web-010")
	page.eval(t, `(() => { document.getElementById('cmdName').value = 'resync';
		document.getElementById('cmdSend').click(); return true; })()`)
	page.waitTrue(t, `document.getElementById('cmdMsg').textContent.includes('失败') && document.getElementById('cmdMsg').textContent.includes('过期')`)
	page.goTo(t, c.http+"/console/stations")
	page.waitTrue(t, `document.querySelector('tr[data-station="pe-web-010"] td.command').textContent.includes('失败')`)
	// Times read as China Standard Time, not UTC.
	seen := page.eval(t, `document.querySelector('tr[data-station="pe-web-010"] td.seen').textContent`)
	if strings.Contains(string(seen), "Z") || !strings.Contains(string(seen), ":") {
		t.Fatalf("last seen shown as %s", seen)
	}
}
