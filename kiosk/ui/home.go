package ui

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leifeng/gateway/wire"
)

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
	activity        int64
	acts            string // the activities on (activitiesKey)
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
		key := homeKey{cfg: u.cfg, lang: u.lang, large: u.large, contrast: u.contrast, service: u.service, size: u.canvasSize(),
			activity: u.activity, acts: u.activitiesKey()}
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
		center = append(center, u.homeActivity(width-2*theme.InnerPadding())...)
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
