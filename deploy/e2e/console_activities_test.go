package e2e

import (
	"testing"
	"time"
)

// An activity announced on the console's 活动预告 page, in Chromium,
// reaches the kiosk: the station's signed document carries it in place of
// the announcement pushed by hand, and the kiosk applies that version;
// deleting it on the page sends a document without it. The page is
// looked at on a phone and a laptop.
func TestConsoleActivityReachesKiosk(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-web-040", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	c.push(t, `{"profile":{"name":"思茅区南屏街道学雷锋志愿服务站"},
		"menu":[{"id":"elderly","name":"关爱空巢老人","items":[{"id":"visit","name":"上门探访"}]}],
		"announcements":[{"title":"手工推送的公告"}]}`, "--station", k.station)
	before := c.waitStation(t, k.station, "the hand-pushed config applied", 20*time.Second, func(s stationView) bool {
		return s.DesiredConfig > 0 && s.ConfigVersion == s.DesiredConfig
	})

	page := openPage(t, browser, c.http+"/console")
	c.consoleLogin(t, page)
	page.goTo(t, c.http+"/console/activities")
	start := time.Now().Add(48 * time.Hour).In(time.FixedZone("CST", 8*3600))
	page.eval(t, `(() => {
		document.getElementById('atitle').value = '重阳节敬老活动';
		document.getElementById('aplace').value = '南屏社区活动室';
		document.getElementById('astart').value = '`+start.Format("2006-01-02T15:04")+`';
		document.getElementById('aend').value = '`+start.Add(3*time.Hour).Format("2006-01-02T15:04")+`';
		document.querySelector('input[name="stations"][value="pe-web-040"]').checked = true;
		document.getElementById('activityBtn').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已发布活动预告')`)
	page.waitTrue(t, `document.querySelector('tr[data-activity]') !== null`)
	page.screenshot(t, "activities", 375, 800)
	page.screenshot(t, "activities", 1280, 800)

	type doc struct {
		Announcements []struct {
			Title string    `json:"title"`
			Where string    `json:"where"`
			When  time.Time `json:"when"`
		} `json:"announcements"`
	}
	var d doc
	c.get(t, "/api/v1/config?station="+k.station, &d)
	if len(d.Announcements) != 1 || d.Announcements[0].Title != "重阳节敬老活动" || d.Announcements[0].Where != "南屏社区活动室" ||
		!d.Announcements[0].When.Equal(start.Truncate(time.Minute)) {
		t.Fatalf("the station's document after the activity: %+v", d)
	}
	added := c.waitStation(t, k.station, "the activity's config applied", 20*time.Second, func(s stationView) bool {
		return s.DesiredConfig > before.DesiredConfig && s.ConfigVersion == s.DesiredConfig
	})

	page.eval(t, `(() => { document.querySelector('tr[data-activity] form button').click(); return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已删除活动预告')`)
	d = doc{}
	c.get(t, "/api/v1/config?station="+k.station, &d)
	if len(d.Announcements) != 0 {
		t.Fatalf("the station's document after the delete: %+v", d)
	}
	c.waitStation(t, k.station, "the config without the activity applied", 20*time.Second, func(s stationView) bool {
		return s.DesiredConfig > added.DesiredConfig && s.ConfigVersion == s.DesiredConfig
	})
}
