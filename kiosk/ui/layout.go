package ui

import (
	"image/color"
	"strings"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The screens must fit the 800×480 official 7" display in large text as
// well as a 1280×800 one: a screen whose minimum size is larger than the
// window is cut off on a full-screen kiosk, because Fyne cannot grow the
// window. So every screen is built for the canvas it is shown on: long
// content scrolls (with a cue), long titles wrap, button grids take as
// many columns as fit, and every touch target has a minimum size.

// touchButton is a button with a minimum side, so a short label ("返回",
// "0") still makes a target a finger hits.
type touchButton struct {
	widget.Button
	min float32
	// Name is the label before it was wrapped onto lines, for tests and
	// logs.
	Name string
}

func newTouchButton(text string, min float32, tapped func()) *touchButton {
	b := &touchButton{min: min, Name: text}
	b.Text, b.OnTapped = text, tapped
	b.ExtendBaseWidget(b)
	return b
}

// MinSize is the button's own minimum, at least min on each side.
func (b *touchButton) MinSize() fyne.Size {
	return b.Button.MinSize().Max(fyne.NewSize(b.min, b.min))
}

// minTarget is the smallest side of a touch target in the current text
// mode.
func (u *UI) minTarget() float32 {
	if u.large {
		return MinTargetLarge
	}
	return MinTarget
}

// canvasSize is the size of the window's canvas, or the official 7"
// display's before the window has one.
func (u *UI) canvasSize() fyne.Size {
	s := u.win.Canvas().Size()
	if s.Width < 1 || s.Height < 1 {
		return fyne.NewSize(800, 480)
	}
	return s
}

// tiles lays objs out in as many columns as fit the width, at most
// maxCols: a grid of fixed columns would push its right column off a
// narrow screen when a label is long or the text is large.
func (u *UI) tiles(maxCols int, width float32, objs ...fyne.CanvasObject) fyne.CanvasObject {
	pad := theme.Padding()
	var widest float32
	for _, o := range objs {
		widest = max(widest, o.MinSize().Width)
	}
	cols := int((width + pad) / (widest + pad))
	cols = max(1, min(cols, maxCols, len(objs)))
	return container.NewGridWithColumns(cols, objs...)
}

// bodyWidth is the width a page body has inside its scroller and padding.
func (u *UI) bodyWidth() float32 {
	return u.canvasSize().Width - 4*theme.Padding() - theme.ScrollBarSize()
}

// measure is the width of s drawn at size.
func measure(s string, size float32, bold bool) float32 {
	return fyne.MeasureText(s, size, fyne.TextStyle{Bold: bold}).Width
}

// wrapLines breaks s into lines no wider than width at size: at spaces in
// Latin text, anywhere between two Chinese characters. A word longer than
// the width is broken where it must be.
func wrapLines(s string, size float32, bold bool, width float32) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line, before := "", len(lines)
		for para != "" {
			// The next unit: a Latin word with its trailing space, or one
			// other character.
			r, n := utf8.DecodeRuneInString(para)
			unit := para[:n]
			if r < 0x2E80 && !unicode.IsSpace(r) {
				end := strings.IndexFunc(para, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x2E80 })
				if end < 0 {
					end = len(para)
				}
				for end < len(para) && para[end] == ' ' {
					end++
				}
				unit = para[:end]
			}
			switch {
			case measure(line+unit, size, bold) <= width:
				line += unit
			case line != "":
				lines = append(lines, strings.TrimRight(line, " "))
				line = ""
				continue
			default: // a word wider than a line: break it where it must
				for _, r := range unit {
					if line != "" && measure(line+string(r), size, bold) > width {
						break
					}
					line += string(r)
				}
				lines = append(lines, line)
				para = para[len(line):]
				line = ""
				continue
			}
			para = para[len(unit):]
		}
		if line != "" || len(lines) == before {
			lines = append(lines, strings.TrimRight(line, " "))
		}
	}
	return lines
}

// textBlock draws s in at most width, shrinking it from size down to
// minSize before wrapping it onto more lines: a long station name stays
// readable on one line when it can, and never runs off the screen.
func (u *UI) textBlock(s string, size, minSize float32, bold bool, c color.Color, width float32) *fyne.Container {
	theFont.check(s)
	for size > minSize && measure(s, size, bold) > width {
		size = max(minSize, size-2)
	}
	box := container.NewVBox()
	for _, l := range wrapLines(s, size, bold, width) {
		t := canvas.NewText(l, c)
		t.TextSize = size
		t.TextStyle.Bold = bold
		box.Add(t)
	}
	return box
}

// scrollCue is a scroller with a visible cue at its bottom while more
// content lies below: Fyne's own scroll bar shows only while scrolling,
// and a resident at a touchscreen would not guess there is more.
type scrollCue struct {
	scroll *container.Scroll
	cue    *fyne.Container
}

func (u *UI) scroller(content fyne.CanvasObject) fyne.CanvasObject {
	s := container.NewVScroll(content)
	text := canvas.NewText(u.t("scroll_more"), theme.Color(theme.ColorNameForegroundOnPrimary))
	text.TextStyle.Bold = true
	text.TextSize = theme.TextSize()
	bg := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
	sc := &scrollCue{scroll: s, cue: container.NewStack(bg, container.NewCenter(text))}
	sc.cue.Hide()
	s.OnScrolled = func(fyne.Position) {
		sc.update()
		// Reading by scrolling is touching: the screen must not time out
		// under the resident's finger. When the lock is held, the scroll is
		// the UI's own (a new screen's scroll to the top), not a touch.
		if u.mu.TryLock() {
			u.touched()
			u.mu.Unlock()
		}
	}
	return container.New(sc, s, sc.cue)
}

// more reports whether content lies below the visible part.
func (c *scrollCue) more() bool {
	return c.scroll.Content.MinSize().Height-c.scroll.Offset.Y > c.scroll.Size().Height+1
}

func (c *scrollCue) update() {
	if c.more() == c.cue.Visible() {
		return
	}
	if c.more() {
		c.cue.Show()
	} else {
		c.cue.Hide()
	}
}

// Layout implements fyne.Layout.
func (c *scrollCue) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	c.scroll.Resize(size)
	h := c.cue.MinSize().Height
	c.cue.Resize(fyne.NewSize(size.Width, h))
	c.cue.Move(fyne.NewPos(0, size.Height-h))
	c.update()
}

// MinSize implements fyne.Layout.
func (c *scrollCue) MinSize([]fyne.CanvasObject) fyne.Size {
	return c.scroll.MinSize().Max(c.cue.MinSize())
}
