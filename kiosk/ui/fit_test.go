package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leifeng/gateway/wire"
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
	win := k.win.Canvas().Size()
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
		{T("btn_admin"), ScreenPIN}, {"2", ScreenPIN}, {"4", ScreenPIN}, {"6", ScreenPIN}, {"8", ScreenPIN}, {T("btn_ok"), ScreenAdmin},
		{T("admin_test"), ScreenAdmin}, {T("btn_home"), ScreenHome},
	}
	k.checkFits()
	for _, s := range steps {
		k.press(s.press)
		k.wait(s.screen)
		k.checkFits()
	}
	// A check-in, a check-out and an error, each with its 确定 button.
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.checkFits()
	k.press(T("btn_ok"))
	k.wait(ScreenHome)
	k.clock.advance(3 * 3600e9)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows(T("checkout_ok"))
	k.checkFits()
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

func (k *kiosk) cueShown() bool {
	want := tr(Zh, "scroll_more")
	for _, p := range k.placedObjects() {
		if t, ok := p.obj.(*canvas.Text); ok && t.Text == want {
			return true
		}
	}
	return false
}
