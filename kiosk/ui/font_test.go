package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"golang.org/x/text/encoding/simplifiedchinese"

	"leifeng/gateway/wire"
)

// readChars reads a testdata file of characters, skipping # comments,
// spaces and the full-width brackets of 王丽（站长）.
func readChars(t *testing.T, name string) []rune {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []rune
	seen := map[rune]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		for _, r := range sc.Text() {
			if r > ' ' && !seen[r] {
				seen[r] = true
				rs = append(rs, r)
			}
		}
	}
	return rs
}

// gb2312 is every character of GB 2312, decoded from its code table.
func gb2312(t *testing.T) []rune {
	t.Helper()
	dec := simplifiedchinese.HZGB2312.NewDecoder()
	var rs []rune
	for hi := 0x21; hi <= 0x77; hi++ {
		for lo := 0x21; lo <= 0x7E; lo++ {
			// HZ-GB-2312 carries GB 2312 in 7 bits between ~{ and ~}.
			out, err := dec.Bytes([]byte{'~', '{', byte(hi), byte(lo), '~', '}'})
			if err != nil || len(out) == 0 {
				continue
			}
			for _, r := range string(out) {
				if r != 0xFFFD {
					rs = append(rs, r)
				}
			}
		}
	}
	return rs
}

// TestFontCoversTables: the bundled font has every character of the
// 通用规范汉字表 (all 8,105, including the 196 beyond the BMP and the 77 of
// Extension A) and of GB 2312.
func TestFontCoversTables(t *testing.T) {
	cm := bundledCmap(t)
	table := readChars(t, "tongyong8105.txt")
	if len(table) != 8105 {
		t.Fatalf("the table file holds %d characters, want 8105", len(table))
	}
	gb := gb2312(t)
	if len(gb) < 7445 {
		t.Fatalf("GB 2312 decoded to %d characters, want 7445", len(gb))
	}
	for name, rs := range map[string][]rune{"通用规范汉字表": table, "GB 2312": gb, "Pu'er names": readChars(t, "puer_names.txt")} {
		var missing []string
		for _, r := range rs {
			if _, ok := cm.Lookup(r); !ok {
				missing = append(missing, fmt.Sprintf("%c U+%04X", r, r))
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: bundled font lacks %d characters: %v", name, len(missing), missing)
		}
	}
}

// TestSystemFontExtracted: the installed fonts-noto-cjk collection's SC
// face is cut out into a font Fyne's parser reads, with every character
// of the table.
func TestSystemFontExtracted(t *testing.T) {
	if _, err := os.Stat(SystemFontFile); err != nil {
		msg := "fonts-noto-cjk not installed (apt-get install fonts-noto-cjk)"
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	data, err := SystemFont(SystemFontFile)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := parseCmap(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readChars(t, "tongyong8105.txt") {
		if _, ok := cm.Lookup(r); !ok {
			t.Fatalf("installed face lacks %c U+%04X", r, r)
		}
	}
	if _, err := SystemFont("/nonexistent.ttc"); err == nil {
		t.Fatal("a missing file gave a font")
	}
}

// namesConfig is a station config whose every text is drawn from Pu'er's
// place and personal names and from a sample across the 通用规范汉字表 —
// every 13th character, which takes in its rarest ones too.
func namesConfig(t *testing.T) (*wire.Config, []rune) {
	names := readChars(t, "puer_names.txt")
	table := readChars(t, "tongyong8105.txt")
	var sample []rune
	for i := 0; i < len(table); i += 13 {
		sample = append(sample, table[i])
	}
	sample = append(sample, table[len(table)-40:]...) // the rarest, beyond the BMP
	c := testConfig()
	c.Version = 9
	c.Profile.Name = "思茅区南屏街道学雷锋志愿服务站"
	c.Board.ContactPerson = "王丽（站长）"
	c.Board.Workflow = chunk(string(names), 40)
	c.Board.Services = chunk(string(sample), 30)
	c.Announcements = append(c.Announcements, wire.Announcement{Title: "端午节包粽子活动", Body: "岩罕 玉叶 扎约 娜倮 傣族 哈尼族 拉祜族 佤族"})
	c.Menu[0].Name = "岩罕玉叶扎娜傣"
	c.Menu[0].Items[0].What = string(sample)
	c.HonorRoll[0].Name = "岩*罕"
	return c, append(names, sample...)
}

func chunk(s string, n int) []string {
	var out []string
	rs := []rune(s)
	for len(rs) > 0 {
		k := min(n, len(rs))
		out = append(out, string(rs[:k]))
		rs = rs[k:]
	}
	return out
}

// TestEveryCharacterRenders pushes a config of 699 name characters and a
// sample across the 通用规范汉字表, walks every screen and checks that the
// font in use maps every character shown; that nothing was logged as
// missing; and, rendering through Fyne, that each sampled character draws
// a glyph of its own, not the box a missing one gets.
func TestEveryCharacterRenders(t *testing.T) {
	logs := &logSink{}
	k := newKiosk(t, fyne.NewSize(1280, 800), Options{Logger: slog.New(logs)})
	cfg, chars := namesConfig(t)
	k.src.apply(cfg)
	k.eventually("思茅区南屏街道学雷锋志愿服务站")
	var shown strings.Builder
	for _, steps := range [][]string{
		nil, {"服务菜单"}, {"岩罕玉叶扎娜傣"}, {"上门探访陪伴"}, {"返回首页", "公示栏"}, {"返回首页", "光荣榜"},
		{"返回首页", "活动公告"}, {"返回首页", "需求登记"},
	} {
		for _, s := range steps {
			k.press(s)
		}
		shown.WriteString(k.texts())
	}
	text := shown.String()
	for _, want := range []string{"王丽（站长）", "思茅区南屏街道", "端午节包粽子活动", "岩罕", "哈尼族", "拉祜族", "佤族"} {
		if !strings.Contains(text, want) {
			t.Errorf("screens never showed %q", want)
		}
	}
	for _, r := range chars {
		if !strings.ContainsRune(text, r) {
			t.Fatalf("%c U+%04X was pushed but never shown", r, r)
		}
	}
	for _, r := range text {
		if r >= ' ' && !theFont.has(r) {
			t.Errorf("shown %c U+%04X is not in the font", r, r)
		}
	}
	if l := logs.find("character not in the kiosk font"); l != "" {
		t.Errorf("logged a missing character: %s", l)
	}

	// Rendered: a character the font lacks (U+10FFFD, private use) is
	// drawn as a box, like □, and every character of the font as a glyph
	// of its own, neither the box nor nothing.
	box := renderRune(t, 0x10FFFD)
	blank := renderRune(t, ' ')
	if !isBox(box) {
		writePNG(t, t.TempDir()+"/missing.png", box)
		t.Fatal("a missing character is not drawn as a box")
	}
	for i, r := range chars {
		if i%7 != 0 && r < 0x10000 { // every 7th, and all beyond the BMP
			continue
		}
		if img := renderRune(t, r); imageDiff(img, box) == 0 || imageDiff(img, blank) == 0 {
			t.Errorf("%c U+%04X renders as the missing box or as nothing", r, r)
		}
	}
}

// renderRune draws r alone at 32 px with the kiosk theme.
func renderRune(t *testing.T, r rune) image.Image {
	t.Helper()
	txt := canvas.NewText(string(r), color.Black)
	txt.TextSize = 32
	w := test.NewWindow(container.NewCenter(txt))
	defer w.Close()
	w.Resize(fyne.NewSize(56, 56))
	return w.Canvas().Capture()
}

// isBox reports whether the dark pixels of img form a hollow square: the
// box of a missing character, not "�" (a filled diamond) or nothing.
func isBox(img image.Image) bool {
	b := img.Bounds()
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	dark := func(x, y int) bool { r, _, _, _ := img.At(x, y).RGBA(); return r < 0x8000 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	w, h := maxX-minX, maxY-minY
	if w < 10 || h < 10 || w*5 < h*4 || h*5 < w*4 {
		return false
	}
	return !dark((minX+maxX)/2, (minY+maxY)/2) && dark(minX, (minY+maxY)/2) && dark(maxX, (minY+maxY)/2)
}

// TestMissingCharacterLogged: a character outside the font is logged once
// with its code point, however often it is shown.
func TestMissingCharacterLogged(t *testing.T) {
	logs := &logSink{}
	k := newKiosk(t, fyne.NewSize(800, 480), Options{Logger: slog.New(logs)})
	c := testConfig()
	c.Version = 8
	c.Profile.Name = "学雷锋\U00030000服务站" // Extension G: not in the bundled font
	k.src.apply(c)
	k.eventually("学雷锋\U00030000服务站")
	k.press("公示栏")
	k.press("返回首页")
	k.press("English")
	k.eventually("Services")
	if n := logs.count("U+30000"); n != 1 {
		t.Fatalf("U+30000 logged %d times, want once:\n%s", n, logs.all())
	}
	// Damaged text (U+FFFD) is drawn as the same box and logged too.
	c = testConfig()
	c.Version = 9
	c.Profile.Name = "王\uFFFD（站长）"
	k.src.apply(c)
	k.eventually("王\uFFFD（站长）")
	if n := logs.count("U+FFFD"); n != 1 {
		t.Fatalf("U+FFFD logged %d times, want once:\n%s", n, logs.all())
	}
	if !isBox(renderRune(t, 0xFFFD)) {
		t.Fatal("U+FFFD is not drawn as a box")
	}
}

// logSink collects log records as text.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var b bytes.Buffer
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

func (l *logSink) find(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func (l *logSink) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestRareCharacterFromInstalledFont: a character outside the bundled
// font (龘, U+9F98) is drawn from an installed fonts-noto-cjk, not as a
// box, while it is still logged as not in the kiosk's font.
func TestRareCharacterFromInstalledFont(t *testing.T) {
	if _, err := os.Stat(SystemFontFile); err != nil {
		msg := "fonts-noto-cjk not installed (apt-get install fonts-noto-cjk)"
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	newKiosk(t, fyne.NewSize(800, 480), Options{})
	if theFont.has('龘') {
		t.Fatal("龘 is in the bundled font; pick a rarer character")
	}
	img := renderRune(t, '龘')
	if isBox(img) || imageDiff(img, renderRune(t, ' ')) == 0 {
		t.Fatal("龘 is drawn as a box or as nothing with fonts-noto-cjk installed")
	}
}
