package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
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
	u.sayStep(name)
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
