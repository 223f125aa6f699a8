package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"leifeng/gateway/wire"
)

// The MIIT's 2021 elderly-friendly rules (《移动互联网应用（APP）适老化通用
// 设计规范》) in device-independent pixels, and the official Raspberry Pi
// 7" display: 800×480 pixels on a 154.08 × 85.92 mm active area, so
// 131.9 pixels per inch and 0.824 pixels per dp (dp = px × 160 / dpi).
const (
	pi7PixelsPerInch = 800 / (154.08 / 25.4)
	pxPerDP          = pi7PixelsPerInch / 160
	minBodyDP        = 18
	minTargetDP      = 60
	minContrast      = 4.5
)

// TestElderlyFriendly walks every screen in large-text mode at the 7"
// display's 800×480 and measures, on the rendered image, every text's
// size and contrast against what is behind it, and every touch target's
// size: body text at least 18 dp, targets at least 60×60 dp, contrast at
// least 4.5:1. The measured extremes are logged.
func TestElderlyFriendly(t *testing.T) {
	for _, lang := range []Lang{Zh, En} {
		t.Run(string(lang), func(t *testing.T) {
			k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, longConfig())
			if lang == En {
				k.press("English")
			}
			k.press(tr(lang, "btn_large"))
			m := &measures{minText: math.Inf(1), minTarget: math.Inf(1), minContrast: math.Inf(1)}
			k.onStep = func() { k.measureElderly(m) }
			k.walkAll(lang)
			t.Logf("%d texts, %d targets on %d screens: smallest text %.1f dp, smallest target %.1f dp, lowest contrast %.2f:1 (%s)",
				m.texts, m.targets, m.screens, m.minText, m.minTarget, m.minContrast, m.worst)
			if m.texts < 100 || m.targets < 50 {
				t.Fatalf("measured only %d texts and %d targets", m.texts, m.targets)
			}
		})
	}
}

type measures struct {
	screens, texts, targets         int
	minText, minTarget, minContrast float64
	worst                           string
}

// measureElderly measures the screen shown.
func (k *kiosk) measureElderly(m *measures) {
	k.t.Helper()
	k.ui.mu.Lock()
	defer k.ui.mu.Unlock()
	m.screens++
	img := k.win.Canvas().Capture()
	scale := float64(img.Bounds().Dx()) / float64(k.size.Width)
	screen := k.ui.screen
	var cue image.Rectangle
	placed := k.placedObjects()
	for _, p := range placed {
		if t, ok := p.obj.(*canvas.Text); ok && t.Text == tr(k.ui.lang, "scroll_more") {
			// The scroll cue's bar lies over the content: what it covers is
			// not measured (the cue's own text is).
			cue = image.Rect(0, int((p.pos.Y-20)*float32(scale)), img.Bounds().Dx(), img.Bounds().Dy())
		}
	}
	for _, p := range placed {
		switch v := p.obj.(type) {
		case *touchButton:
			s := v.Size()
			dp := math.Min(float64(s.Width), float64(s.Height)) / pxPerDP
			m.targets++
			m.minTarget = math.Min(m.minTarget, dp)
			if dp < minTargetDP-0.01 {
				k.t.Errorf("screen %s: button %q is %.0f×%.0f px = %.1f dp, under %d dp", screen, v.Text, s.Width, s.Height, dp, minTargetDP)
			}
		case *canvas.Text:
			if v.Text == "" || v.Text == " " {
				continue
			}
			r := image.Rect(int(p.pos.X*float32(scale)), int(p.pos.Y*float32(scale)),
				int((p.pos.X+v.Size().Width)*float32(scale)), int((p.pos.Y+v.Size().Height)*float32(scale)))
			if !r.In(img.Bounds()) || r.Dx() < 2 || r.Dy() < 2 {
				continue // scrolled out of view
			}
			if p.scroll != nil {
				view := image.Rect(int(p.scrPos.X*float32(scale)), int(p.scrPos.Y*float32(scale)),
					int((p.scrPos.X+p.scroll.Size().Width)*float32(scale)), int((p.scrPos.Y+p.scroll.Size().Height)*float32(scale)))
				if !r.In(view) {
					continue
				}
			}
			if !cue.Empty() && r.Overlaps(cue) && v.Text != tr(k.ui.lang, "scroll_more") {
				continue
			}
			size := float64(v.TextSize) / pxPerDP
			m.texts++
			m.minText = math.Min(m.minText, size)
			if size < minBodyDP-0.01 {
				k.t.Errorf("screen %s: text %q is %.1f px = %.1f dp, under %d dp", screen, v.Text, v.TextSize, size, minBodyDP)
			}
			c := contrastIn(img, r)
			if c < m.minContrast {
				m.minContrast, m.worst = c, fmt.Sprintf("%q on %s", v.Text, screen)
			}
			if c < minContrast {
				k.t.Errorf("screen %s: text %q has contrast %.2f:1 against its background, under %.1f:1", screen, v.Text, c, minContrast)
			}
		}
	}
}

// contrastIn measures the contrast of the text drawn in r of img: the
// background is the commonest colour there, the text the colour farthest
// from it in luminance (the glyphs' solid strokes), as WCAG 2 defines the
// ratio.
func contrastIn(img image.Image, r image.Rectangle) float64 {
	count := map[color.RGBA]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			count[c]++
		}
	}
	var bg color.RGBA
	most := 0
	for c, n := range count {
		if n > most {
			bg, most = c, n
		}
	}
	lb := luminance(bg)
	best := 1.0
	for c := range count {
		l := luminance(c)
		hi, lo := math.Max(l, lb), math.Min(l, lb)
		best = math.Max(best, (hi+0.05)/(lo+0.05))
	}
	return best
}

// luminance is WCAG 2's relative luminance of an sRGB colour.
func luminance(c color.RGBA) float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// The measure itself: black on white is 21:1, mid grey on a slightly
// lighter grey fails.
func TestContrastMeasure(t *testing.T) {
	paint := func(fg, bg color.RGBA) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 40, 20))
		for y := 0; y < 20; y++ {
			for x := 0; x < 40; x++ {
				c := bg
				if x > 10 && x < 14 {
					c = fg // a stroke
				}
				img.Set(x, y, c)
			}
		}
		return img
	}
	if c := contrastIn(paint(color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}), image.Rect(0, 0, 40, 20)); math.Abs(c-21) > 0.01 {
		t.Fatalf("black on white: %.2f", c)
	}
	if c := contrastIn(paint(color.RGBA{0x77, 0x77, 0x77, 255}, color.RGBA{0x99, 0x99, 0x99, 255}), image.Rect(0, 0, 40, 20)); c >= minContrast {
		t.Fatalf("grey on grey: %.2f passes", c)
	}
}

// No step times out while the resident is still touching the screen:
// scrolling through long announcements keeps the screen; once the
// resident stops, it returns home after the idle timeout.
func TestScrollingKeepsTheScreen(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{IdleTimeout: 400 * time.Millisecond, Tick: 10 * time.Millisecond}, longConfig())
	k.press("活动公告")
	k.wait(ScreenNews)
	var sc *container.Scroll
	for _, p := range k.placedObjects() {
		if s, ok := p.obj.(*container.Scroll); ok {
			sc = s
		}
	}
	if sc == nil {
		t.Fatal("no scroller on the announcements")
	}
	for i := 0; i < 12; i++ {
		time.Sleep(100 * time.Millisecond)
		dy := float32(-20)
		if i%2 == 1 {
			dy = 20
		}
		sc.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, dy)})
		if s := k.ui.Screen(); s != ScreenNews {
			t.Fatalf("after %d ms of scrolling the screen is %s", (i+1)*100, s)
		}
	}
	k.wait(ScreenHome)
}

// speaker records what the kiosk reads aloud.
type speaker struct {
	mu   sync.Mutex
	said []string
}

func (s *speaker) Feedback(bool, string, string) {}
func (s *speaker) SetEnabled(bool, bool)         {}
func (s *speaker) Say(words, lang string) {
	s.mu.Lock()
	s.said = append(s.said, lang+":"+words)
	s.mu.Unlock()
}

func (s *speaker) words() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.said)
}

// With voice on, each step of a resident's task is read aloud once: the
// need's steps, and the lookup's, the order's state included.
func TestVoiceReadsEachStep(t *testing.T) {
	sp := &speaker{}
	cfg := orderConfig()
	on := true
	cfg.UI = &wire.UISettings{Voice: &on}
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{Sound: sp}, cfg)
	k.press("需求登记")
	k.wait(ScreenNeedCat)
	k.press("法律")
	k.wait(ScreenNeedTel)
	k.press("1") // a keypress rerenders: not read again
	k.press("返回首页")
	k.lookup("0043", "1111")
	want := []string{
		"zh:" + tr(Zh, "need_step_cat"), "zh:" + tr(Zh, "need_step_phone"),
		"zh:" + tr(Zh, "need_step_cat"), "zh:" + tr(Zh, "order_step_ref"), "zh:" + tr(Zh, "order_step_phone"),
		"zh:当前状态：已拒绝。这个需求没有被受理。原因：不在本站服务范围，已转介司法所",
	}
	if got := sp.words(); !slices.Equal(got, want) {
		t.Fatalf("read aloud:\n%q\nwant\n%q", got, want)
	}
	// Voice off: nothing.
	sp2 := &speaker{}
	k2 := newKioskWith(t, fyne.NewSize(800, 480), Options{Sound: sp2}, orderConfig())
	k2.press("需求登记")
	k2.wait(ScreenNeedCat)
	if got := sp2.words(); len(got) != 0 {
		t.Fatalf("voice off, yet read: %q", got)
	}
}
