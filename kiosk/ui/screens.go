package ui

import (
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
)

// button makes a touch target whose handler runs with the lock held and
// counts as activity for the idle timeout.
func (u *UI) button(text string, primary bool, f func()) *touchButton {
	theFont.check(text)
	b := newTouchButton(text, u.minTarget(), func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.touched()
		f()
	})
	if primary {
		b.Importance = widget.HighImportance
	}
	return b
}

func (u *UI) label(text string) *widget.Label {
	theFont.check(text)
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func (u *UI) heading(text string) *widget.Label {
	l := u.label(text)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	return l
}

func (u *UI) sub(text string) *widget.Label {
	l := u.label(text)
	l.SizeName = theme.SizeNameSubHeadingText
	l.TextStyle.Bold = true
	return l
}

// show puts content on screen; build rebuilds it after a change of
// language, text size, config or window size.
func (u *UI) show(name string, build func() fyne.CanvasObject) {
	if u.stopAnim != nil {
		u.stopAnim()
		u.stopAnim = nil
	}
	u.clockText = nil
	u.linkShow = nil
	if name != ScreenAdmin {
		u.readerTest = false // a card tapped elsewhere is a real tap
	}
	u.screen = name
	u.rerender = func() { u.size = u.win.Canvas().Size(); u.setContent(build()) }
	u.rerender()
	if u.opt.OnShow != nil {
		u.opt.OnShow(name)
	}
}

// setContent puts c in the window unless it is already there (a reused
// screen updated in place).
func (u *UI) setContent(c fyne.CanvasObject) {
	if u.win.Content() != c {
		u.win.SetContent(c)
	}
}

// linkMark is the quiet online/offline mark; updateLink keeps it right
// when the uplink connects or loses its broker.
func (u *UI) linkMark() fyne.CanvasObject {
	dot := canvas.NewCircle(color.Transparent)
	text := widget.NewLabel("")
	shown := Link(-1)
	set := func(l Link) {
		if l == shown {
			return
		}
		shown = l
		t, c := u.t("link_unknown"), theme.Color(theme.ColorNameDisabled)
		switch l {
		case LinkOnline:
			t, c = u.t("online"), theme.Color(theme.ColorNameSuccess)
		case LinkOffline:
			t, c = u.t("offline"), theme.Color(theme.ColorNameDisabled)
		}
		dot.FillColor = c
		dot.Refresh()
		text.SetText(t)
	}
	set(u.core.Status().Link)
	u.linkShow = set
	return container.NewHBox(container.NewCenter(container.NewGridWrap(fyne.NewSize(14, 14), dot)), text)
}

// updateLink shows the uplink's state on the screen shown.
func (u *UI) updateLink() {
	if u.linkShow != nil {
		u.linkShow(u.core.Status().Link)
	}
	if u.screen == ScreenAdmin || u.screen == ScreenHome && !u.configured() {
		u.refresh()
	}
}

// clockLabel is the header clock; tick updates it.
func (u *UI) clockLabel() fyne.CanvasObject {
	l := widget.NewLabel(u.clock())
	u.clockText = func(s string) {
		if l.Text != s {
			l.SetText(s)
		}
	}
	return l
}

// status is the online mark and the clock, or only the mark when the
// clock would squeeze the rest of a row below room.
func (u *UI) status(room float32) fyne.CanvasObject {
	mark := u.linkMark()
	clock := u.clockLabel()
	if mark.MinSize().Width+clock.MinSize().Width+theme.Padding() > room {
		u.clockText = nil
		return mark
	}
	return container.NewHBox(mark, clock)
}

// page is the frame of every screen but home: a title bar with Back and
// Home, and the body scrolling beneath.
func (u *UI) page(title string, back func(), body fyne.CanvasObject) fyne.CanvasObject {
	w := u.canvasSize().Width
	left := []fyne.CanvasObject{}
	if back != nil {
		left = append(left, u.button(u.t("btn_back"), false, back))
	}
	left = append(left, u.button(u.t("btn_home"), false, func() { u.service = ""; u.showHome() }))
	lbox := container.NewHBox(left...)
	pad := theme.Padding()
	// The status takes what the buttons and a short title leave.
	titleSize := theme.Size(theme.SizeNameSubHeadingText)
	st := u.status(w - lbox.MinSize().Width - 6*titleSize - 6*pad)
	room := w - lbox.MinSize().Width - st.MinSize().Width - 6*pad
	h := u.textBlock(title, titleSize, theme.TextSize(), true, theme.Color(theme.ColorNameForeground), room)
	bar := container.NewBorder(nil, nil, lbox, st, container.NewVBox(layoutSpacer(), h))
	return container.NewBorder(container.NewVBox(bar, widget.NewSeparator()), nil, nil, nil, u.scroller(container.NewPadded(body)))
}

// layoutSpacer is a small gap that centres a title beside taller buttons.
func layoutSpacer() fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(1, theme.Padding()))
	return r
}

// homeView is the home screen, built once and shown again after each tap
// result: rebuilding it each time would leave a trail of dead widgets,
// renderers and textures in Fyne's caches (they expire only after a
// minute unused). It is rebuilt only when what it shows changes.
type homeView struct {
	key   homeKey
	root  fyne.CanvasObject
	arrow *canvas.Text
	clock func(string)
	link  func(Link)
}

type homeKey struct {
	cfg             *wire.Config
	lang            Lang
	large, contrast bool
	service         string
	size            fyne.Size
	link            Link // shown in words on an unconfigured kiosk
}

// configured reports whether the cloud has given this kiosk its station:
// until then the home screen says so instead of showing a station.
func (u *UI) configured() bool {
	return u.cfg.Profile != nil && strings.TrimSpace(u.cfg.Profile.Name) != ""
}

func (u *UI) showHome() {
	u.show(ScreenHome, func() fyne.CanvasObject {
		key := homeKey{cfg: u.cfg, lang: u.lang, large: u.large, contrast: u.contrast, service: u.service, size: u.canvasSize()}
		if !u.configured() {
			key.link = u.core.Status().Link
		}
		if u.home == nil || u.home.key != key {
			u.home = u.buildHome(key)
		}
		h := u.home
		u.clockText, u.linkShow = h.clock, h.link
		if h.clock != nil {
			h.clock(u.clock())
		}
		h.link(u.core.Status().Link)
		if u.opt.Animate && h.arrow != nil {
			// A rerender (language, text size) calls this again: one
			// animation at a time.
			if u.stopAnim != nil {
				u.stopAnim()
			}
			a := canvas.NewPositionAnimation(fyne.NewPos(0, 0), fyne.NewPos(0, 20), 700*time.Millisecond, func(p fyne.Position) {
				h.arrow.Move(p)
				canvas.Refresh(h.arrow)
			})
			a.AutoReverse = true
			a.RepeatCount = fyne.AnimationRepeatForever
			a.Start()
			u.stopAnim = a.Stop
		}
		return h.root
	})
}

func (u *UI) buildHome(key homeKey) *homeView {
	size := key.size
	pad := theme.Padding()
	name := u.t("unconfigured_title")
	if u.configured() {
		name = u.cfg.Profile.Name
	}
	logo := canvas.NewText("雷锋", color.White)
	logo.TextStyle.Bold = true
	logo.TextSize = 18
	badge := container.NewGridWrap(fyne.NewSize(56, 56), container.NewStack(canvas.NewRectangle(leifengRed), container.NewCenter(logo)))

	// The title takes the row with the status when the name fits beside
	// it, else a row of its own: a 20-character station name must neither
	// push the clock off screen nor shrink to nothing.
	titleSize := theme.Size(theme.SizeNameSubHeadingText)
	fg := theme.Color(theme.ColorNameForeground)
	st := u.status(size.Width - 56 - 4*pad - 8*titleSize)
	besideRoom := size.Width - 56 - st.MinSize().Width - 6*pad
	var top fyne.CanvasObject
	if measure(name, titleSize, true) <= besideRoom {
		title := u.textBlock(name, titleSize, titleSize, true, fg, besideRoom)
		top = container.NewBorder(nil, nil, container.NewHBox(badge, container.NewCenter(title)), st)
	} else {
		title := u.textBlock(name, titleSize, theme.TextSize(), true, fg, size.Width-56-4*pad)
		top = container.NewVBox(
			container.NewBorder(nil, nil, badge, nil, container.NewVBox(layoutSpacer(), title)),
			container.NewBorder(nil, nil, nil, st))
	}

	width := size.Width - 4*pad - theme.ScrollBarSize()
	var center []fyne.CanvasObject
	var arrow *canvas.Text
	if !u.configured() {
		st := u.core.Status()
		center = append(center,
			container.NewCenter(u.textBlock(u.t("unconfigured_head"), theme.Size(theme.SizeNameHeadingText), theme.Size(theme.SizeNameSubHeadingText), true, fg, width)),
			u.label(u.t("admin_station", st.Station)),
			u.label(u.t("unconfigured_link", u.linkWords(key.link))),
			u.label(u.t("unconfigured_todo")),
			u.label(u.t("unconfigured_taps")))
	} else {
		prompt := u.textBlock(u.t("tap_prompt"), theme.Size(theme.SizeNameHeadingText), theme.Size(theme.SizeNameSubHeadingText), true, fg, width)
		hint := u.label(u.t("tap_hint"))
		hint.Alignment = fyne.TextAlignCenter
		arrow = canvas.NewText("▼", theme.Color(theme.ColorNamePrimary))
		arrow.TextSize = 48
		arrow.Alignment = fyne.TextAlignCenter
		arrowBox := container.NewWithoutLayout(arrow)
		arrowBox.Resize(fyne.NewSize(60, 80))
		arrow.Resize(fyne.NewSize(60, 60))
		center = []fyne.CanvasObject{container.NewCenter(prompt), hint, container.NewCenter(container.NewGridWrap(fyne.NewSize(60, 80), arrowBox))}
		if u.service != "" {
			chosen := u.label(u.t("chosen_service", u.serviceName(u.service)))
			chosen.Alignment = fyne.TextAlignCenter
			center = append(center, chosen, container.NewCenter(
				u.button(u.t("btn_no_service"), false, func() { u.service = ""; u.refresh() })))
		}
	}
	textSize := u.t("btn_large")
	if u.large {
		textSize = u.t("btn_normal")
	}
	buttons := u.tiles(4, size.Width-2*pad,
		u.button(u.t("btn_menu"), true, func() { u.showMenu() }),
		u.button(u.t("btn_board"), true, func() { u.showBoard() }),
		u.button(u.t("btn_honor"), true, func() { u.showHonor() }),
		u.button(u.t("btn_news"), true, func() { u.showNews() }),
		u.button(u.t("btn_need"), true, func() { u.need = needDraft{}; u.showNeedCategory() }),
		u.button(textSize, false, func() { u.large = !u.large; u.contrast = u.large; u.applyTheme(); u.refresh() }),
		u.button(u.t("btn_lang"), false, func() {
			if u.lang == Zh {
				u.lang = En
			} else {
				u.lang = Zh
			}
			u.refresh()
		}),
		u.button(u.t("btn_admin"), false, func() { u.pin = ""; u.showPIN("") }),
	)
	header := container.NewVBox(top, widget.NewSeparator())
	footer := container.NewPadded(buttons)
	// The prompt must be seen without scrolling: on a small screen in
	// large text the animated arrow, then the hint, give way to it.
	room := size.Height - header.MinSize().Height - footer.MinSize().Height - 2*pad
	if arrow != nil && container.NewVBox(center...).MinSize().Height > room {
		arrow = nil
		center = append(center[:2:2], center[3:]...)
		if container.NewVBox(center...).MinSize().Height > room {
			center = append(center[:1:1], center[2:]...)
		}
	}
	var body fyne.CanvasObject = container.NewCenter(container.NewVBox(center...))
	if !u.configured() {
		// Lines of text that wrap take the full width, not the centred
		// heading's.
		body = container.NewPadded(container.NewVBox(center...))
	}
	root := container.NewBorder(header, footer, nil, nil, u.scroller(body))
	return &homeView{key: key, root: root, arrow: arrow, clock: u.clockText, link: u.linkShow}
}

// linkWords is the uplink's state in words.
func (u *UI) linkWords(l Link) string {
	switch l {
	case LinkOnline:
		return u.t("online")
	case LinkOffline:
		return u.t("offline")
	}
	return u.t("link_unknown")
}

func (u *UI) serviceName(id string) string {
	for _, c := range u.cfg.Menu {
		for _, it := range c.Items {
			if it.ID == id {
				return it.Name
			}
		}
	}
	return id
}

// showTap shows the outcome of a tap, or feeds the admin's reader test:
// a card tapped for the test is read and verified by the reader, and the
// reader loop hands it here without recording anything.
func (u *UI) showTap(ev TapEvent) {
	if u.readerTest && u.screen == ScreenAdmin {
		u.readerTest = false
		if ev.Err != nil {
			u.testLine = u.t("admin_test_err", u.t(errorKey(ev.Err)))
		} else {
			u.testLine = u.t("admin_test_ok", ev.Tap.Volunteer, ev.Tap.Media)
		}
		u.refresh()
		return
	}
	ok := ev.Err == nil
	if ok && ev.Result.ID == "" {
		return // not recorded: a card the reader test took
	}
	var title string
	var lines []string
	var words string
	switch {
	case !ok:
		title = u.t("tap_failed")
		lines = []string{u.t(errorKey(ev.Err))}
		words = tr(Zh, "retap")
		if u.lang == En {
			words = tr(En, "retap")
		}
	case ev.Result.Kind == wire.KindCheckOut:
		r := ev.Result
		title = u.t("checkout_ok")
		words = title
		lines = append(lines, maskName(u.volunteerName(r.Volunteer)))
		if r.Service != "" {
			lines = append(lines, u.t("service_line", u.serviceName(r.Service)))
		}
		lines = append(lines, u.t("today_duration", formatDuration(u.lang, r.Duration)))
		lines = append(lines, u.hoursLines(r.Volunteer, true)...)
	default:
		r := ev.Result
		title = u.t("checkin_ok")
		words = title
		lines = append(lines, maskName(u.volunteerName(r.Volunteer)))
		if r.Service != "" {
			lines = append(lines, u.t("service_line", u.serviceName(r.Service)))
		}
		if r.AutoCheckOut != "" {
			lines = append(lines, u.t("auto_closed"))
		}
		lines = append(lines, u.hoursLines(r.Volunteer, false)...)
		u.service = ""
	}
	if ok && ev.Result.Repeat {
		lines = append([]string{u.t("repeat_tap")}, lines...)
	}
	if u.opt.Sound != nil {
		u.opt.Sound.Feedback(ok, words, string(u.lang))
	}
	u.resultEnd = time.Now().Add(u.opt.ResultFor)
	u.show(ScreenResult, func() fyne.CanvasObject {
		key := resultKey{lang: u.lang, large: u.large, contrast: u.contrast, size: u.canvasSize()}
		if u.result == nil || u.result.key != key {
			u.result = u.buildResult(key)
		}
		u.result.fill(u, ok, title, lines)
		return u.result.root
	})
}

// maskName masks a volunteer's name for a public screen (张*三, 王*) when
// the cloud sent it unmasked; an ID or an already masked name stays.
func maskName(name string) string {
	rs := []rune(name)
	if len(rs) < 2 || strings.ContainsRune(name, '*') || rs[0] < 0x2E80 {
		return name
	}
	if len(rs) == 2 {
		return string(rs[0]) + "*"
	}
	return string(rs[0]) + "*" + string(rs[len(rs)-1])
}

// resultView is the tap result screen, built once and updated in place
// for each tap: at a busy station the result screen follows tap after
// tap, and new widgets for each would pile up in Fyne's caches. It is
// rebuilt only for a new language, text size or window size.
type resultView struct {
	key           resultKey
	root          fyne.CanvasObject
	icon          *widget.Icon
	okRes, errRes fyne.Resource
	head          *fyne.Container
	body          *fyne.Container
	top           fyne.CanvasObject
	lines         []*widget.Label
	ok            *touchButton
	cue           *scrollCue
}

type resultKey struct {
	lang            Lang
	large, contrast bool
	size            fyne.Size
}

func (u *UI) buildResult(key resultKey) *resultView {
	r := &resultView{
		key:    key,
		okRes:  theme.NewColoredResource(theme.ConfirmIcon(), themeColorName(true)),
		errRes: theme.NewColoredResource(theme.ErrorIcon(), themeColorName(false)),
		head:   container.NewVBox(),
	}
	r.icon = widget.NewIcon(r.okRes)
	r.top = container.NewBorder(nil, nil, container.NewCenter(container.NewGridWrap(fyne.NewSize(72, 72), r.icon)), nil, container.NewCenter(r.head))
	r.body = container.NewVBox(r.top)
	r.ok = u.button("", true, func() { u.showHome() })
	sc := u.scroller(container.NewPadded(r.body))
	r.cue = sc.(*fyne.Container).Layout.(*scrollCue)
	r.root = container.NewBorder(nil, container.NewPadded(r.ok), nil, nil, sc)
	return r
}

// fill shows one tap's outcome: title and lines.
func (r *resultView) fill(u *UI, ok bool, title string, lines []string) {
	res, c := r.okRes, theme.Color(theme.ColorNameSuccess)
	if !ok {
		res, c = r.errRes, theme.Color(theme.ColorNameError)
	}
	if r.icon.Resource != res {
		r.icon.SetResource(res)
	}
	// The heading is large, and shrinks or wraps rather than being cut
	// off beside the icon on a small screen.
	size := theme.Size(theme.SizeNameHeadingText) * 1.4
	room := r.key.size.Width - 72 - 8*theme.Padding() - theme.ScrollBarSize()
	block := u.textBlock(title, size, theme.Size(theme.SizeNameHeadingText), true, c, room)
	r.head.Objects = block.Objects
	r.head.Refresh()
	// The name, then the other lines in one label: one label's line
	// spacing, not each label's padding, so a check-out in large text
	// fits a 7" screen.
	if len(lines) > 2 {
		lines = []string{lines[0], strings.Join(lines[1:], "\n")}
	}
	for len(r.lines) < len(lines) {
		w := u.label("")
		if len(r.lines) == 0 {
			w.SizeName = theme.SizeNameSubHeadingText
			w.TextStyle.Bold = true
		}
		r.lines = append(r.lines, w)
	}
	objs := append(make([]fyne.CanvasObject, 0, len(lines)+1), r.top)
	for i, l := range lines {
		theFont.check(l)
		r.lines[i].SetText(l)
		objs = append(objs, r.lines[i])
	}
	r.body.Objects = objs
	r.body.Refresh()
	r.cue.scroll.ScrollToTop()
	r.cue.update()
	r.ok.SetText(u.t("btn_ok"))
}

func themeColorName(ok bool) fyne.ThemeColorName {
	if ok {
		return theme.ColorNameSuccess
	}
	return theme.ColorNameError
}

// hoursLines are the volunteer's hours as the cloud last counted them,
// with their date when older than a day, the star level and the progress
// to the next star. A volunteer the kiosk has no figure for gets none:
// the kiosk never makes one up, and it does not add this session's time
// to the cloud's figure either (the cloud counts it once the record
// arrives, after review where it is flagged).
func (u *UI) hoursLines(volunteer string, checkout bool) []string {
	total, asOf, known := u.opt.Hours.Hours(volunteer)
	if !known {
		return nil
	}
	now := u.opt.Now()
	var lines []string
	if !asOf.IsZero() && now.Sub(asOf) > 24*time.Hour {
		at := asOf.In(ChinaTime)
		lines = append(lines, u.t("total_hours_asof", total, u.date(at)))
	} else {
		lines = append(lines, u.t("total_hours", total))
	}
	if checkout {
		lines = append(lines, u.t("hours_pending"))
	}
	level, next := starLevel(u.stars(), total)
	if level > 0 {
		lines = append(lines, u.t("star_level", u.starName(level)))
	} else {
		lines = append(lines, u.t("no_star"))
	}
	if next > 0 {
		lines = append(lines, u.t("to_next_star", u.starName(level+1), next-total))
	} else {
		lines = append(lines, u.t("top_star"))
	}
	return lines
}

// date is a day as a person reads it: 11月29日, or 29 Nov.
func (u *UI) date(t time.Time) string {
	t = t.In(ChinaTime)
	if u.lang == En {
		return t.Format("2 Jan 2006")
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}

// choice is a button whose label comes from the config.
type choice struct {
	text    string
	primary bool
	tapped  func()
}

// choices lays config-labelled buttons out in at most maxCols columns,
// fewer when a label would need more than two lines: a pushed menu may
// hold a long name, and a button cannot wrap its own label.
func (u *UI) choices(maxCols int, width float32, cs ...choice) fyne.CanvasObject {
	pad, inner := theme.Padding(), theme.InnerPadding()
	size := theme.TextSize()
	cols := max(1, min(maxCols, len(cs)))
	var labels [][]string
	for ; cols >= 1; cols-- {
		cell := (width-float32(cols-1)*pad)/float32(cols) - 2*inner
		labels = labels[:0]
		fits := true
		for _, c := range cs {
			ls := wrapLines(c.text, size, true, cell)
			labels = append(labels, ls)
			fits = fits && len(ls) <= 2
		}
		if fits || cols == 1 {
			break
		}
	}
	objs := make([]fyne.CanvasObject, len(cs))
	for i, c := range cs {
		b := u.button(strings.Join(labels[i], "\n"), c.primary, c.tapped)
		b.Name = c.text
		objs[i] = b
	}
	return container.NewGridWithColumns(max(1, cols), objs...)
}

func (u *UI) showMenu() {
	u.show(ScreenMenu, func() fyne.CanvasObject {
		var cs []choice
		for _, c := range u.cfg.Menu {
			cs = append(cs, choice{c.Name, true, func() { u.showItems(c) }})
		}
		if len(cs) == 0 {
			return u.page(u.t("menu_title"), nil, u.label(u.t("menu_empty")))
		}
		return u.page(u.t("menu_title"), nil, u.choices(3, u.bodyWidth(), cs...))
	})
}

func (u *UI) showItems(c wire.MenuCategory) {
	u.show(ScreenItems, func() fyne.CanvasObject {
		var cs []choice
		for _, it := range c.Items {
			cs = append(cs, choice{it.Name, true, func() { u.showDetail(c, it) }})
		}
		if len(cs) == 0 {
			return u.page(c.Name, func() { u.showMenu() }, u.label(u.t("menu_empty")))
		}
		return u.page(c.Name, func() { u.showMenu() }, u.choices(2, u.bodyWidth(), cs...))
	})
}

func (u *UI) showDetail(c wire.MenuCategory, it wire.MenuItem) {
	u.show(ScreenDetail, func() fyne.CanvasObject {
		var lines []fyne.CanvasObject
		add := func(key Key, v string) {
			if v != "" {
				lines = append(lines, u.label(u.t(key, v)))
			}
		}
		add("item_what", it.What)
		add("item_when", it.When)
		add("item_where", it.Where)
		add("item_who", it.Who)
		add("item_contact", it.Contact)
		lines = append(lines, u.button(u.t("btn_service"), false, func() { u.service = it.ID; u.showHome() }))
		var qr fyne.CanvasObject
		if it.URL != "" {
			if q, err := EncodeQR([]byte(it.URL)); err == nil {
				img := canvas.NewImageFromImage(q.Image(6, 4))
				img.ScaleMode = canvas.ImageScalePixels
				img.FillMode = canvas.ImageFillContain
				cap := u.label(u.t("item_qr"))
				cap.Alignment = fyne.TextAlignCenter
				side := min(float32(200), u.canvasSize().Height/3)
				qr = container.NewVBox(container.NewCenter(container.NewGridWrap(fyne.NewSize(side, side), img)), cap)
			} else {
				u.log.Warn("menu item URL too long for a QR code", "item", it.ID, "err", err)
			}
		}
		body := fyne.CanvasObject(container.NewVBox(lines...))
		switch {
		case qr == nil:
		case u.bodyWidth() >= 700:
			body = container.NewBorder(nil, nil, nil, qr, body)
		default: // narrow, or large text: the code below the details
			body = container.NewVBox(body, qr)
		}
		return u.page(it.Name, func() { u.showItems(c) }, body)
	})
}

func (u *UI) showBoard() {
	u.show(ScreenBoard, func() fyne.CanvasObject {
		b := u.cfg.Board
		if b == nil {
			b = &wire.Board{}
		}
		var objs []fyne.CanvasObject
		if len(b.Workflow) > 0 {
			objs = append(objs, u.sub(u.t("board_workflow")))
			for i, s := range b.Workflow {
				objs = append(objs, u.label(fmt.Sprintf("%d. %s", i+1, s)))
			}
		}
		if len(b.Services) > 0 {
			objs = append(objs, u.sub(u.t("board_services")), u.label(strings.Join(b.Services, "、")))
		}
		// The contact person is a public contact, named in full as the
		// station posts it: only volunteers' names are masked.
		if b.ContactPerson != "" {
			objs = append(objs, u.label(u.t("board_contact", b.ContactPerson)))
		}
		if b.Phone != "" {
			objs = append(objs, u.label(u.t("board_phone", b.Phone)))
		}
		if b.OpeningHours != "" {
			objs = append(objs, u.label(u.t("board_hours", b.OpeningHours)))
		}
		if p := u.cfg.Profile; p != nil && len(p.Checklist) > 0 {
			objs = append(objs, u.sub(u.t("board_checklist")))
			cols := 2
			if u.large || u.bodyWidth() < 700 {
				cols = 1
			}
			width := (u.bodyWidth()-float32(cols-1)*theme.Padding())/float32(cols) - 2*theme.InnerPadding()
			var items []fyne.CanvasObject
			for _, c := range p.Checklist {
				mark, state := "●", u.t("done")
				if !c.Done {
					mark, state = "○", u.t("not_done")
				}
				line := fmt.Sprintf("%s %s（%s）", mark, c.Item, state)
				if c.Note != "" {
					line += " " + c.Note
				}
				items = append(items, u.textCol(line, theme.TextSize(), false, width))
			}
			objs = append(objs, container.NewGridWithColumns(cols, items...))
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("board_empty")))
		}
		return u.page(u.t("board_title"), nil, container.NewVBox(objs...))
	})
}

func (u *UI) showHonor() {
	u.show(ScreenHonor, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		if p := u.cfg.HonorRollPeriod; p != "" && len(u.cfg.HonorRoll) > 0 {
			objs = append(objs, u.sub(u.t("honor_period", p)))
		}
		for i, h := range u.cfg.HonorRoll {
			stars := u.t("no_star")
			if h.Stars > 0 {
				stars = u.t("star_level", u.starName(h.Stars))
			}
			objs = append(objs, u.label(u.t("honor_line", i+1, maskName(h.Name), h.Hours, stars)))
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("honor_empty")))
		}
		return u.page(u.t("honor_title"), nil, container.NewVBox(objs...))
	})
}

func (u *UI) showNews() {
	u.show(ScreenNews, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		for _, a := range u.cfg.Announcements {
			objs = append(objs, u.sub(a.Title))
			if a.Body != "" {
				objs = append(objs, u.label(a.Body))
			}
			if !a.When.IsZero() {
				at := a.When.In(ChinaTime)
				when := at.Format("2006-01-02 15:04")
				if u.lang == Zh {
					when = fmt.Sprintf("%d月%d日 %s", at.Month(), at.Day(), at.Format("15:04"))
				}
				objs = append(objs, u.label(u.t("news_when", when)))
			}
			if a.Where != "" {
				objs = append(objs, u.label(u.t("news_where", a.Where)))
			}
			objs = append(objs, widget.NewSeparator())
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("news_empty")))
		}
		return u.page(u.t("news_title"), nil, container.NewVBox(objs...))
	})
}

func (u *UI) showNeedCategory() {
	u.show(ScreenNeedCat, func() fyne.CanvasObject {
		var cs []choice
		for _, c := range u.cfg.Menu {
			cs = append(cs, choice{c.Name, true, func() { u.need.service = c.Name; u.showNeedPhone() }})
		}
		// Without a menu a resident can still ask: the station calls back.
		other := u.t("need_other")
		cs = append(cs, choice{other, len(cs) == 0, func() { u.need.service = tr(Zh, "need_other"); u.showNeedPhone() }})
		return u.page(u.t("need_title"), nil, container.NewVBox(u.sub(u.t("need_step_cat")), u.choices(3, u.bodyWidth(), cs...)))
	})
}

// grid lays objects out in cols equal columns.
func grid(cols int, objs ...fyne.CanvasObject) fyne.CanvasObject {
	return container.NewGridWithColumns(cols, objs...)
}

// keypad is a large on-screen number pad editing *digits.
func (u *UI) keypad(digits *string, max int, changed func()) fyne.CanvasObject {
	var keys []fyne.CanvasObject
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		keys = append(keys, u.button(d, false, func() {
			if len(*digits) < max {
				*digits += d
			}
			changed()
		}))
	}
	keys = append(keys,
		u.button(u.t("btn_clear"), false, func() { *digits = ""; changed() }),
		u.button("0", false, func() {
			if len(*digits) < max {
				*digits += "0"
			}
			changed()
		}),
		u.button(u.t("btn_delete"), false, func() {
			if len(*digits) > 0 {
				*digits = (*digits)[:len(*digits)-1]
			}
			changed()
		}))
	return grid(3, keys...)
}

func validPhone(s string) bool {
	switch {
	case len(s) == 11 && s[0] == '1':
		return true
	case s != "" && s[0] == '0' && len(s) >= 10 && len(s) <= 12:
		return true
	}
	return false
}

func (u *UI) showNeedPhone() {
	u.show(ScreenNeedTel, func() fyne.CanvasObject {
		shown := u.heading(u.need.phone)
		shown.Alignment = fyne.TextAlignCenter
		next := u.button(u.t("btn_next"), true, func() {
			if !validPhone(u.need.phone) {
				u.need.badPhone = true
				u.refresh()
				return
			}
			u.showNeedNote()
		})
		pad := u.keypad(&u.need.phone, 12, func() {
			shown.SetText(u.need.phone)
			if u.need.badPhone {
				u.need.badPhone = false
				u.refresh()
			}
		})
		width, _ := u.columns(pad)
		left := []fyne.CanvasObject{
			u.textCol(u.t("need_chosen", u.need.service), theme.TextSize(), false, width),
			u.textCol(u.t("need_step_phone"), theme.Size(theme.SizeNameSubHeadingText), true, width),
			container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)), shown),
		}
		// The hint takes room only when it has something to say: in large
		// text on a 7" screen the Next button must stay in view.
		if u.need.badPhone {
			left = append(left, u.textCol(u.t("need_phone_bad"), theme.TextSize(), false, width))
		}
		left = append(left, next)
		return u.page(u.t("need_title"), func() { u.need.badPhone = false; u.showNeedCategory() }, u.besideOrBelow(container.NewVBox(left...), pad))
	})
}

func (u *UI) showNeedNote() {
	u.show(ScreenNeedNote, func() fyne.CanvasObject {
		var bs []fyne.CanvasObject
		for _, k := range []Key{"preset_urgent", "preset_home", "preset_morning", "preset_afternoon", "preset_family", "preset_none"} {
			text := u.t(k)
			primary := u.need.note == tr(Zh, k) || (k == "preset_none" && u.need.note == "")
			bs = append(bs, u.button(text, primary, func() {
				u.need.note = tr(Zh, k) // stored in Chinese for the station
				if k == "preset_none" {
					u.need.note = ""
				}
				u.refresh()
			}))
		}
		submit := u.button(u.t("btn_submit"), true, func() { u.submitNeed() })
		return u.page(u.t("need_title"), func() { u.showNeedPhone() }, container.NewVBox(
			u.label(u.t("need_chosen", u.need.service+" · "+u.need.phone)), u.sub(u.t("need_step_note")), u.tiles(2, u.bodyWidth(), bs...), submit))
	})
}

// submitNeed writes the request off the UI thread and shows the reference
// number when it is durable.
func (u *UI) submitNeed() {
	if u.need.saving {
		return
	}
	u.need.saving = true
	req := attendance.ServiceRequest{Service: u.need.service, Phone: u.need.phone, Note: u.need.note}
	ctx := u.ctx
	u.showNeedDone()
	go func() {
		res, err := u.core.Request(ctx, req)
		u.do(func() {
			u.need.saving = false
			if err != nil {
				u.log.Error("service request not stored", "err", err)
				u.need.failed = u.t("need_failed")
			} else {
				u.need.ref = fmt.Sprintf("XQ-%04d", res.Seq)
			}
			u.touched()
			if u.screen == ScreenNeedDone {
				u.showNeedDone()
			}
		})
	}()
}

func (u *UI) showNeedDone() {
	u.show(ScreenNeedDone, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		switch {
		case u.need.saving:
			objs = append(objs, u.heading(u.t("need_saving")))
		case u.need.failed != "":
			objs = append(objs, u.heading(u.need.failed))
		default:
			objs = append(objs, u.heading(u.t("need_done")), u.sub(u.t("need_ref", u.need.ref)), u.label(u.t("need_callback")))
		}
		objs = append(objs, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		return u.page(u.t("need_title"), nil, container.NewVBox(objs...))
	})
}

// columns is the width of a text column that goes beside a keypad, and
// whether it fits beside it or goes above it.
func (u *UI) columns(pad fyne.CanvasObject) (float32, bool) {
	w := u.bodyWidth()
	if w >= 600 && 2*pad.MinSize().Width+theme.Padding() <= w {
		return (w-theme.Padding())/2 - 2*theme.InnerPadding(), true
	}
	return w - 2*theme.InnerPadding(), false
}

// besideOrBelow puts a keypad beside the text it edits, or below it when
// the two would not fit side by side (see columns).
func (u *UI) besideOrBelow(left, pad fyne.CanvasObject) fyne.CanvasObject {
	if _, beside := u.columns(pad); beside {
		return grid(2, left, pad)
	}
	return container.NewVBox(left, pad)
}

// textCol is text wrapped to a column of known width, inset like a label.
// A wrapping label would do, were it not that Fyne sizes the row of a grid
// before the label knows its width, and its second line is then drawn over
// what follows.
func (u *UI) textCol(s string, size float32, bold bool, width float32) fyne.CanvasObject {
	b := u.textBlock(s, size, size, bold, theme.Color(theme.ColorNameForeground), width)
	in := theme.InnerPadding()
	return container.New(layout.NewCustomPaddedLayout(in/2, in/2, in, in), b)
}

func (u *UI) showPIN(msg string) {
	u.show(ScreenPIN, func() fyne.CanvasObject {
		if u.opt.AdminPIN == "" {
			// Without a PIN the screen stays locked: say so, and how to
			// open it, rather than calling every PIN wrong.
			return u.page(u.t("btn_admin"), nil, container.NewVBox(
				u.sub(u.t("pin_unset")), u.label(u.t("pin_unset_how"))))
		}
		dots := u.heading(strings.Repeat("●", len(u.pin)))
		dots.Alignment = fyne.TextAlignCenter
		ok := u.button(u.t("btn_ok"), true, func() {
			if u.pin == u.opt.AdminPIN {
				u.pin = ""
				u.testLine = ""
				u.showAdmin()
				return
			}
			u.pin = ""
			u.showPIN(u.t("pin_wrong"))
		})
		pad := u.keypad(&u.pin, 8, func() { dots.SetText(strings.Repeat("●", len(u.pin))) })
		width, _ := u.columns(pad)
		items := []fyne.CanvasObject{u.textCol(u.t("pin_title"), theme.Size(theme.SizeNameSubHeadingText), true, width), dots}
		if msg != "" {
			items = append(items, u.textCol(msg, theme.TextSize(), false, width))
		}
		left := container.NewVBox(append(items, ok)...)
		return u.page(u.t("btn_admin"), nil, u.besideOrBelow(left, pad))
	})
}

func (u *UI) showAdmin() {
	u.show(ScreenAdmin, func() fyne.CanvasObject {
		st := u.core.Status()
		u.adminSeen = st
		sync := u.t("admin_never")
		if !st.LastSync.IsZero() {
			sync = u.t("admin_sync_at", st.LastSync.In(ChinaTime).Format("2006-01-02 15:04:05"), st.Acked)
		}
		broker := st.Broker
		if broker == "" {
			broker = u.t("none")
		}
		onOff := func(b bool) string {
			if b {
				return u.t("on")
			}
			return u.t("off")
		}
		lines := []fyne.CanvasObject{
			u.label(u.t("admin_station", st.Station)),
			u.label(u.t("admin_network", u.linkWords(st.Link))),
			u.label(u.t("admin_broker", broker)),
			u.label(u.t("admin_outbox", st.Outbox)),
			u.label(u.t("admin_sync", sync)),
			u.label(u.t("admin_reader", st.Reader)),
			u.label(u.t("admin_config", u.cfg.Version)),
			u.label(u.t("admin_software", st.Software)),
		}
		test := u.testLine
		if u.readerTest {
			test = u.t("admin_test_wait")
		}
		if test != "" {
			lines = append(lines, u.sub(test))
		}
		buttons := u.tiles(2, u.bodyWidth(),
			u.button(u.t("admin_test"), true, func() { u.readerTest = true; u.testLine = ""; u.refresh() }),
			u.button(u.t("admin_refresh"), false, func() { u.refresh() }),
			u.button(u.t("admin_sound", onOff(u.sound)), false, func() { u.sound = !u.sound; u.soundChanged() }),
			u.button(u.t("admin_voice", onOff(u.voice)), false, func() { u.voice = !u.voice; u.soundChanged() }),
		)
		return u.page(u.t("admin_title"), nil, container.NewVBox(append(lines, buttons)...))
	})
}

func (u *UI) soundChanged() {
	if u.opt.Sound != nil {
		u.opt.Sound.SetEnabled(u.sound, u.voice)
	}
	u.refresh()
}
