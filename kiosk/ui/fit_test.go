package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

// placed is an object drawn on the window, with its absolute position and
// the scroller it sits in, if any.
type placed struct {
	obj    fyne.CanvasObject
	pos    fyne.Position
	scroll *container.Scroll
	scrPos fyne.Position // of the scroller
}

// placedObjects walks the visible objects of the window with their
// absolute positions.
func (k *kiosk) placedObjects() []placed {
	var out []placed
	var walk func(o fyne.CanvasObject, at fyne.Position, sc *container.Scroll, scAt fyne.Position)
	walk = func(o fyne.CanvasObject, at fyne.Position, sc *container.Scroll, scAt fyne.Position) {
		if !o.Visible() {
			return
		}
		pos := at.Add(o.Position())
		out = append(out, placed{o, pos, sc, scAt})
		switch v := o.(type) {
		case *container.Scroll:
			walk(v.Content, pos.Subtract(v.Offset), v, pos)
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c, pos, sc, scAt)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c, pos, sc, scAt)
			}
		}
	}
	walk(k.win.Content(), fyne.Position{}, nil, fyne.Position{})
	return out
}

// checkFits fails the test when the screen shown does not fit its window:
// the content needs more than the window (a full-screen kiosk would cut
// it off), a touch target is smaller than the minimum of the text mode or
// than its own label, or a target or a text lies outside the window — or,
// inside a scroller, outside the scroller's width (vertical overflow
// scrolls, and the cue says so).
func (k *kiosk) checkFits() {
	k.t.Helper()
	k.ui.mu.Lock()
	defer k.ui.mu.Unlock()
	// The size asked for: a test window grows to its content's minimum,
	// where a full-screen kiosk cuts the content off.
	win := k.size
	if c := k.win.Canvas().Size(); c != win {
		k.t.Fatalf("screen %s: the window grew from %vx%v to %vx%v to fit its content", k.ui.screen, win.Width, win.Height, c.Width, c.Height)
	}
	screen := k.ui.screen
	if m := k.win.Content().MinSize(); m.Width > win.Width+0.5 || m.Height > win.Height+0.5 {
		k.t.Fatalf("screen %s needs %vx%v, window is %vx%v", screen, m.Width, m.Height, win.Width, win.Height)
	}
	min := float32(MinTarget)
	if k.ui.large {
		min = MinTargetLarge
	}
	inside := func(p placed, what string) {
		k.t.Helper()
		s := p.obj.Size()
		left, top := fyne.NewPos(0, 0), fyne.NewPos(win.Width, win.Height)
		if p.scroll != nil {
			left = p.scrPos
			top = p.scrPos.Add(fyne.NewPos(p.scroll.Size().Width, p.scroll.Content.Size().Height+p.scroll.Size().Height))
			// Vertically, a scrolled object may be anywhere in the content.
			if p.pos.X < left.X-0.5 || p.pos.X+s.Width > top.X+0.5 {
				k.t.Fatalf("screen %s: %s at x %v..%v overflows its scroller %v..%v", screen, what, p.pos.X, p.pos.X+s.Width, left.X, top.X)
			}
			return
		}
		if p.pos.X < -0.5 || p.pos.Y < -0.5 || p.pos.X+s.Width > win.Width+0.5 || p.pos.Y+s.Height > win.Height+0.5 {
			k.t.Fatalf("screen %s: %s at %v size %v lies outside the %vx%v window", screen, what, p.pos, s, win.Width, win.Height)
		}
	}
	for _, p := range k.placedObjects() {
		switch v := p.obj.(type) {
		case *touchButton:
			s, m := v.Size(), v.MinSize()
			what := fmt.Sprintf("button %q", v.Name)
			if s.Width < min-0.5 || s.Height < min-0.5 {
				k.t.Fatalf("screen %s: %s is %vx%v, want at least %v", screen, what, s.Width, s.Height, min)
			}
			if s.Width < m.Width-0.5 || s.Height < m.Height-0.5 {
				k.t.Fatalf("screen %s: %s is %vx%v, smaller than its label needs (%vx%v): clipped", screen, what, s.Width, s.Height, m.Width, m.Height)
			}
			inside(p, what)
		case *widget.Label:
			if v.Text != "" {
				inside(p, fmt.Sprintf("label %q", v.Text))
			}
		case *canvas.Text:
			if v.Text != "" {
				s := fyne.MeasureText(v.Text, v.TextSize, v.TextStyle)
				q := p
				q.obj = sized{v, fyne.NewSize(s.Width, v.Size().Height)}
				inside(q, fmt.Sprintf("text %q", v.Text))
			}
		}
	}
}

// sized is an object with the size its text needs, for checkFits.
type sized struct {
	fyne.CanvasObject
	size fyne.Size
}

func (s sized) Size() fyne.Size { return s.size }

// longConfig is a station with a 24-character name, long menu names and
// long content, to push every screen to its limits.
func longConfig() *wire.Config {
	c := testConfig()
	c.Version = 11
	c.Profile.Name = "普洱市思茅区南屏街道振兴社区学雷锋志愿服务站"
	c.Menu[0].Name = "关爱空巢老人和留守儿童志愿服务（周末）"
	c.Menu[0].Items[0].Name = "上门探访陪伴、读报、打扫卫生和代购生活用品"
	c.Menu[0].Items[0].What = strings.Repeat("陪老人聊天、读报，帮忙打扫卫生。", 12)
	c.Board.Workflow = append(c.Board.Workflow, strings.Repeat("居民提出需求后，站点在两个工作日内电话回访并安排志愿者。", 4))
	c.Board.ContactPerson = "王丽（站长）"
	for i := 0; i < 12; i++ {
		c.Announcements = append(c.Announcements, wire.Announcement{Title: fmt.Sprintf("第%d期志愿者服务礼仪与安全培训（思茅区南屏街道）", i+1), Body: strings.Repeat("新志愿者服务礼仪与安全培训，", 5)})
		c.HonorRoll = append(c.HonorRoll, wire.Honor{Volunteer: fmt.Sprintf("V1%03d", i), Name: "岩*罕", Hours: 10.25 + float64(i), Stars: 1})
	}
	// An order to look up and rate, a volunteer with tasks, served counts.
	long := "关爱空巢老人和留守儿童志愿服务（周末）"
	c.Orders = []wire.OrderStatus{{Ref: "XQ-424242", Category: long, State: "completed", Check: wire.OrderCheck(c.Station, "XQ-424242", "5678"), Updated: fixedNow}}
	c.Volunteers = []wire.VolunteerSummary{{ID: "V0001", Name: "岩*罕", Hours: 10,
		Tasks: []wire.Task{{Ref: "XQ-424243", Category: long}, {Ref: "XQ-424244", Category: long}}}}
	for _, m := range c.Menu {
		c.Served = &wire.Served{Period: "2026年11月"}
		c.Served.Counts = append(c.Served.Counts, wire.ServedCount{Category: m.Name, Count: 12})
	}
	// Activities with long names on now, the notice list over pages, and
	// notes for the volunteer at their tap (issue 12).
	c.Activities, c.Notice = hoursActivities(), append(starNotice(), hoursNotice()...)
	c.Volunteers[0].Notes = []wire.VolunteerNote{{ID: "tap:1", Text: longOutcome}}
	c.Volunteers[0].StarEligible = 1
	return c
}

// TestEveryScreenFits walks every screen at the three display sizes, in
// normal and large text and in Chinese and English, with long names and
// long content, and checks each fits its window (checkFits).
func TestEveryScreenFits(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 12 kiosks")
	}
	for _, size := range screenSizes {
		for _, large := range []bool{false, true} {
			for _, lang := range []Lang{Zh, En} {
				t.Run(fmt.Sprintf("%vx%v-large=%v-%s", size.Width, size.Height, large, lang), func(t *testing.T) {
					k := newKioskWith(t, size, Options{}, longConfig())
					if lang == En {
						k.press("English")
					}
					if large {
						k.press(tr(lang, "btn_large"))
					}
					k.walkAll(lang)
				})
			}
		}
	}
}

// checkStep checks the screen shown fits, and whatever else the test
// asks of every screen (onStep).
func (k *kiosk) checkStep() {
	k.t.Helper()
	k.checkFits()
	if k.onStep != nil {
		k.onStep()
	}
}

// walkAll visits every screen by taps, checking each fits.
func (k *kiosk) walkAll(lang Lang) {
	k.t.Helper()
	T := func(key Key) string { return tr(lang, key) }
	c := longConfig()
	steps := []struct{ press, screen string }{
		{T("btn_menu"), ScreenMenu}, {c.Menu[0].Name, ScreenItems}, {c.Menu[0].Items[0].Name, ScreenDetail},
		{T("btn_back"), ScreenItems}, {T("btn_back"), ScreenMenu}, {T("btn_home"), ScreenHome},
		{T("btn_board"), ScreenBoard}, {T("btn_home"), ScreenHome},
		{T("btn_honor"), ScreenHonor}, {T("btn_home"), ScreenHome},
		{T("btn_news"), ScreenNews}, {T("btn_home"), ScreenHome},
		{T("btn_need"), ScreenNeedCat}, {"法律", ScreenNeedTel}, {"1", ScreenNeedTel}, {T("btn_next"), ScreenNeedTel}, {T("btn_home"), ScreenHome},
		{T("btn_need"), ScreenNeedCat}, {T("btn_order_lookup"), ScreenOrderRef},
		{"4", ScreenOrderRef}, {"2", ScreenOrderRef}, {"4", ScreenOrderRef}, {"2", ScreenOrderRef}, {"4", ScreenOrderRef}, {"2", ScreenOrderRef},
		{T("btn_next"), ScreenOrderTel}, {"5", ScreenOrderTel}, {"6", ScreenOrderTel}, {"7", ScreenOrderTel}, {"8", ScreenOrderTel},
		{T("btn_lookup"), ScreenOrderState}, {T("btn_rate"), ScreenOrderRate}, {T("rate_5"), ScreenOrderRate}, {T("comment_unsolved"), ScreenOrderRate},
		{T("btn_submit_rating"), ScreenOrderDone}, {T("btn_home"), ScreenHome},
		{T("btn_admin"), ScreenPIN}, {"2", ScreenPIN}, {"4", ScreenPIN}, {"6", ScreenPIN}, {"8", ScreenPIN}, {T("btn_ok"), ScreenAdmin},
		{T("admin_test"), ScreenAdmin}, {T("btn_home"), ScreenHome},
	}
	k.checkStep()
	for _, s := range steps {
		k.press(s.press)
		k.wait(s.screen)
		k.checkStep()
	}
	// A check-in with two tasks and its start button, a check-out and an
	// error, each with its 确定 button.
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.checkStep()
	k.press(tr(lang, "btn_start_task", c.Volunteers[0].Tasks[0].Ref))
	k.wait(ScreenTaskStart)
	k.checkStep()
	k.press(T("btn_home"))
	k.wait(ScreenHome)
	k.clock.advance(3 * 3600e9)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows(T("checkout_ok"))
	k.checkStep()
	// The errors: a withdrawn card, as the reader reports it, and a tap
	// the Book could not store; both with the longest sentences of the
	// catalogue and their 确定 button.
	for _, e := range []struct {
		err error
		key Key
	}{
		{reader.ErrRevoked, "err_revoked"},
		{fmt.Errorf("%w: disk", attendance.ErrStorage), "err_storage"},
	} {
		k.press(T("btn_ok"))
		k.wait(ScreenHome)
		k.ui.Notify(TapEvent{Tap: reader.Tap{Volunteer: "V0002", Card: "SIM-V0002", Media: "sim"}, Err: e.err})
		k.wait(ScreenResult)
		k.shows(T("tap_failed"), T(e.key), T("btn_ok"))
		k.checkStep()
	}
	k.press(T("btn_ok"))
	k.wait(ScreenHome)
	k.walkHours(lang)
}

// TestScrollCue: long content shows the cue; short content does not.
func TestScrollCue(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, longConfig())
	k.press("活动公告")
	k.wait(ScreenNews)
	if !k.cueShown() {
		t.Fatal("long announcements show no scroll cue")
	}
	k.press("返回首页")
	k.press("光荣榜")
	k.wait(ScreenHonor)
	k.press("返回首页")
	k.press("服务菜单")
	k.wait(ScreenMenu)
	if k.cueShown() {
		t.Fatal("a short menu shows the scroll cue")
	}
}

func (u *UI) cfgVersion() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cfg.Version
}

func (k *kiosk) cueShown() bool {
	want := tr(Zh, "scroll_more")
	for _, p := range k.placedObjects() {
		if t, ok := p.obj.(*canvas.Text); ok && t.Text == want {
			return true
		}
	}
	return false
}

// demoWords are the names and figures of the demonstration station the
// kiosk used to show when it had no config.
var demoWords = []string{"思茅区学雷锋志愿服务站", "0879-2123456", "558", "612", "张*三", "李*芳", "李*华", "岩*罕", "振兴大道", "上门探访陪伴", "学雷锋纪念日"}

// TestUnconfiguredShowsNothingMadeUp: a kiosk without a config shows a
// neutral 待配置 home with its station ID, its link and what to do, and
// none of the demonstration's names or numbers on any screen; taps still
// work, and a volunteer is shown without hours.
func TestUnconfiguredShowsNothingMadeUp(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, wire.DefaultConfig())
	k.shows("本机待配置", "站点编号：pe-simao-001", "联网状态：离线", "请联系管理员在管理后台为本站推送站点配置")
	k.link.Store(int32(LinkOnline))
	k.ui.LinkChanged()
	k.eventually("联网状态：在线")
	var all strings.Builder
	all.WriteString(k.texts())
	for _, steps := range [][]string{{"服务菜单"}, {"返回首页", "公示栏"}, {"返回首页", "光荣榜"}, {"返回首页", "活动公告"}, {"返回首页", "需求登记"}, {"其他需求"}} {
		for _, s := range steps {
			k.press(s)
		}
		all.WriteString(k.texts())
	}
	k.press("返回首页")
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签到成功", "V0001")
	all.WriteString(k.texts())
	for _, w := range demoWords {
		if strings.Contains(all.String(), w) {
			t.Errorf("an unconfigured kiosk shows %q", w)
		}
	}
	if strings.Contains(all.String(), "累计服务") {
		t.Error("hours shown for a volunteer the kiosk has no figure for")
	}
	if k.st.Depth() != 1 {
		t.Fatalf("outbox depth %d, want 1", k.st.Depth())
	}
}

// TestHoursFromTheCloud: the hours at a tap are the cloud's, dated when
// older than a day, and a volunteer the config does not list gets none.
func TestHoursFromTheCloud(t *testing.T) {
	c := testConfig()
	c.Volunteers[0].HoursAsOf = fixedNow.Add(-50 * time.Hour)
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("累计服务 558.0 小时（截至3月3日）")
	k.press("确定")
	k.cardTap("V0002")
	k.wait(ScreenResult)
	k.shows("累计服务 612.0 小时")
	if strings.Contains(k.texts(), "截至") {
		t.Fatal("an hour-old figure is dated")
	}
	k.press("确定")
	k.cardTap("V0999")
	k.wait(ScreenResult)
	if got := k.texts(); strings.Contains(got, "小时") || strings.Contains(got, "星") {
		t.Fatalf("a volunteer without a figure is shown hours:\n%s", got)
	}
}

// hoursFrom is an HoursSource of fixed figures.
type hoursFrom map[string]float64

func (h hoursFrom) Hours(v string) (float64, time.Time, bool) {
	x, ok := h[v]
	return x, fixedNow, ok
}

// TestHoursSource: the screen shows the newer of a given HoursSource's
// figure (an ack's, counted at fixedNow) and the config's (an hour older),
// and the config's where only it knows the volunteer.
func TestHoursSource(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{Hours: hoursFrom{"V0001": 2.96}})
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("累计服务 2.9 小时", "距一星志愿者还差 97.1 小时") // 2.96 cut, 97.04 rounded up
	k.press("确定")
	k.cardTap("V0002")
	k.wait(ScreenResult)
	k.shows("累计服务 612.0 小时")
	c := testConfig()
	c.Version = 12
	c.Issued = fixedNow.Add(time.Minute) // newer than the ack's count
	k.src.apply(c)
	k.press("确定")
	k.wait(ScreenHome)
	deadline := time.Now().Add(5 * time.Second)
	for k.ui.cfgVersion() != 12 {
		if time.Now().After(deadline) {
			t.Fatal("config not applied")
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.clock.advance(time.Minute)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("累计服务 558.0 小时")
}

// TestChinaTime: times are shown in China Standard Time whatever the
// clock's zone.
func TestChinaTime(t *testing.T) {
	utc := time.Date(2027, 3, 5, 1, 30, 0, 0, time.UTC)
	c := testConfig()
	c.Announcements = []wire.Announcement{{Title: "志愿者培训", When: time.Date(2027, 3, 19, 1, 30, 0, 0, time.UTC)}}
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{Now: func() time.Time { return utc }}, c)
	k.shows("3月5日 星期五 09:30")
	k.press("活动公告")
	k.shows("时间：3月19日 09:30")
}

// TestBoardAndHonor: the station manager is named in full on the contact
// board, volunteers are masked, and the honor roll says its period and
// cuts hours to one decimal alike (TestHoursAlike has the rest).
func TestBoardAndHonor(t *testing.T) {
	c := testConfig()
	c.Board.ContactPerson = "王丽（站长）"
	c.HonorRoll[0].Name = "张三丰" // the cloud forgot to mask it
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.press("公示栏")
	k.shows("联系人：王丽（站长）")
	k.press("返回首页")
	k.press("光荣榜")
	k.shows("统计期间：2027年2月", "1. 张*丰  42.5 小时", "4. 岩*罕  27.5 小时")
}

// TestHoursAlike: every screen that shows hours cuts them to one decimal,
// halves and quarters alike (42.25 and 27.75 were 42.2 and 27.8 under
// fmt's half-to-even), and the hours to the next star are rounded up so
// the two add up to the threshold.
func TestHoursAlike(t *testing.T) {
	c := testConfig()
	c.HonorRoll[0].Hours, c.HonorRoll[1].Hours = 42.25, 27.75
	c.HonorRoll[2].Hours, c.HonorRoll[3].Hours = 42.5, 27.5
	c.Volunteers[3].Hours = 27.75
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.press("光荣榜")
	k.wait(ScreenHonor)
	k.shows("1. 张*三  42.2 小时", "2. 李*芳  27.7 小时", "3. 王*  42.5 小时", "4. 岩*罕  27.5 小时")
	k.press("返回首页")
	k.wait(ScreenHome)
	k.cardTap("V0004")
	k.wait(ScreenResult)
	k.shows("累计服务 27.7 小时", "距一星志愿者还差 72.3 小时")
	if strings.Contains(k.texts(), "27.8") {
		t.Fatalf("27.75 hours shown rounded up:\n%s", k.texts())
	}
}

// TestHonorPeriodFallback: an honor roll whose config names no period is
// dated by the config's issue day (in China Standard Time), and one with
// neither says so, instead of showing figures of no stated period.
func TestHonorPeriodFallback(t *testing.T) {
	c := testConfig()
	c.HonorRollPeriod = ""
	c.Issued = time.Date(2027, 2, 28, 17, 0, 0, 0, time.UTC) // 1 March in Pu'er
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.press("光荣榜")
	k.wait(ScreenHonor)
	k.shows("统计期间：截至2027年3月1日", "1. 张*三  42.5 小时")
	k.press("返回首页")
	k.press("English")
	k.press("Honor roll")
	k.wait(ScreenHonor)
	k.shows("Period: up to 1 Mar 2027")

	c = testConfig()
	c.HonorRollPeriod, c.Issued = "", time.Time{}
	k = newKioskWith(t, fyne.NewSize(800, 480), Options{}, c)
	k.press("光荣榜")
	k.wait(ScreenHonor)
	k.shows("统计期间：未注明")
}
