package ui

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/font/opentype/tables"
)

// bundledFont is Noto Sans CJK SC (SIL Open Font License 1.1, font/OFL.txt)
// cut to every character of the 通用规范汉字表 and of GB 2312, the kiosk's
// own strings, ASCII, Latin-1 and common symbols (font/subset.sh), gzipped:
// 2.0 MB of font, 1.7 MB in the binary, decompressed when Fyne loads it.
//
//go:embed font/NotoSansSC-kiosk.otf.gz
var bundledFont []byte

// SystemFontFile is where Debian and Raspberry Pi OS put fonts-noto-cjk's
// sans collection; SystemFontFamily is the face of it the kiosk uses.
const (
	SystemFontFile   = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	SystemFontFamily = "Noto Sans CJK SC"
)

// FontSource says where the kiosk's CJK font comes from.
type FontSource int

// Font sources, for Options.Font.
const (
	// FontAuto uses the bundled font. A character it lacks is drawn from
	// an installed fonts-noto-cjk when there is one (Fyne looks it up in
	// the system's fonts), else as a box.
	FontAuto FontSource = iota
	// FontBundled uses only the bundled font.
	FontBundled
	// FontSystem uses the installed fonts-noto-cjk face (all 65,535 glyphs
	// of Noto Sans CJK SC) and falls back to the bundled font when it is
	// not installed. It costs some 35 MB more memory: Fyne copies a font's
	// tables once per text style.
	FontSystem
)

// ErrNoSystemFont is returned when the installed font is missing or holds
// no Noto Sans CJK SC face.
var ErrNoSystemFont = errors.New("ui: no installed Noto Sans CJK SC")

// kioskFont is the font the theme hands to Fyne: a fyne.Resource whose
// bytes are produced on use, so a headless kiosk never pays for them.
// They are not kept: Fyne copies a font's tables into its own parsed face
// (once per text style) and asks again only after a theme change, so
// holding them would only cost a Pi 2 MB (16 MB for the installed font).
type kioskFont struct {
	mu     sync.Mutex
	source FontSource
	loaded bool
	name   string
	system bool // the installed face, not the bundled one
	cmap   font.Cmap
	log    *slog.Logger

	missing sync.Map // rune → struct{}: logged once
}

// theFont is shared by every UI in the process: Fyne caches parsed fonts
// per process, and so does this.
var theFont = &kioskFont{}

// use sets where the font comes from; it takes effect only before the
// first load.
func (f *kioskFont) use(src FontSource, log *slog.Logger) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		f.source = src
	}
	if log != nil {
		f.log = log
	}
}

// Name implements fyne.Resource.
func (f *kioskFont) Name() string {
	f.load()
	return f.name
}

// Content implements fyne.Resource.
func (f *kioskFont) Content() []byte {
	f.load()
	f.mu.Lock()
	defer f.mu.Unlock()
	var data []byte
	var err error
	if f.system {
		data, err = SystemFont(SystemFontFile)
	} else {
		data, err = BundledFont()
	}
	if err != nil {
		f.logger().Error("font: unreadable", "font", f.name, "err", err)
	}
	return data
}

func (f *kioskFont) logger() *slog.Logger {
	if f.log != nil {
		return f.log
	}
	return slog.Default()
}

func (f *kioskFont) load() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded {
		return
	}
	f.loaded = true
	if f.source == FontSystem {
		data, err := SystemFont(SystemFontFile)
		if err == nil && f.set("NotoSansCJKsc-system.otf", data) {
			f.system = true
			f.logger().Info("font: installed Noto Sans CJK SC", "file", SystemFontFile, "bytes", len(data))
			return
		}
		f.logger().Info("font: installed font not usable, using the bundled one", "err", err)
	}
	data, err := BundledFont()
	if err != nil {
		// The embedded bytes are part of the binary: this is a broken
		// build, and Fyne's own Latin font still draws something.
		f.logger().Error("font: bundled font unreadable", "err", err)
		return
	}
	f.set("NotoSansSC-kiosk.otf", data)
}

// set takes the font's name and character map, and reports whether it
// has one.
func (f *kioskFont) set(name string, data []byte) bool {
	cm, err := parseCmap(data)
	if err != nil {
		f.logger().Error("font: no character map", "font", name, "err", err)
		return false
	}
	f.name, f.cmap = name, cm
	return true
}

// has reports whether the font maps r to a glyph.
func (f *kioskFont) has(r rune) bool {
	f.load()
	if f.cmap == nil {
		return false
	}
	_, ok := f.cmap.Lookup(r)
	return ok
}

// check logs, once per character and process, each character of s the
// font lacks: it is drawn from another installed font if one has it, else
// as a box. Controls and the variation selectors are not drawn at all.
// U+FFFD is logged too: the bundled font draws it as a box, but in a text
// it means the text was damaged before it reached the kiosk.
func (f *kioskFont) check(s string) {
	for _, r := range s {
		if r < ' ' || (r >= 0xFE00 && r <= 0xFE0F) || r == '\u200d' || (f.has(r) && r != 0xFFFD) {
			continue
		}
		if _, seen := f.missing.LoadOrStore(r, struct{}{}); !seen {
			f.logger().Warn("font: character not in the kiosk font; shown as a box unless an installed font has it",
				"char", string(r), "code_point", fmt.Sprintf("U+%04X", r), "font", f.name)
		}
	}
}

// BundledFont returns the bundled font, decompressed.
func BundledFont() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundledFont))
	if err != nil {
		return nil, fmt.Errorf("ui: bundled font: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("ui: bundled font: %w", err)
	}
	return data, nil
}

// SystemFont extracts the Noto Sans CJK SC face of the collection file as
// a stand-alone OpenType font: Fyne parses single fonts only.
func SystemFont(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSystemFont, err)
	}
	defer f.Close()
	lds, err := ot.NewLoaders(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoSystemFont, file, err)
	}
	for _, ld := range lds {
		if d, _ := font.Describe(ld, nil); d.Family != SystemFontFamily {
			continue
		}
		var ts []ot.Table
		for _, tag := range ld.Tables() {
			b, err := ld.RawTable(tag)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: table %s: %w", ErrNoSystemFont, file, tag, err)
			}
			ts = append(ts, ot.Table{Tag: tag, Content: b})
		}
		return ot.WriteTTF(ts), nil
	}
	return nil, fmt.Errorf("%w: %s has no %s face", ErrNoSystemFont, file, SystemFontFamily)
}

// parseCmap reads only the character map of an OpenType font: the glyph
// check must not cost a second copy of the outlines.
func parseCmap(data []byte) (font.Cmap, error) {
	ld, err := ot.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := ld.RawTable(ot.MustNewTag("cmap"))
	if err != nil {
		return nil, err
	}
	tb, _, err := tables.ParseCmap(raw)
	if err != nil {
		return nil, err
	}
	cm, _, err := font.ProcessCmap(tb, 0)
	return cm, err
}
