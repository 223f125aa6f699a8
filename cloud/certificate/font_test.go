package certificate

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/font/opentype/tables"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Every character a certificate can hold has a glyph in the bundled font:
// the 8,105 characters of the 通用规范汉字表 (what a name is registered
// with), all of GB 2312, and every character of the certificate's own
// text (this package's sources).
func TestFontCoversCertificates(t *testing.T) {
	ttf, err := fontBytes()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := ot.NewLoader(bytes.NewReader(ttf))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ld.RawTable(ot.MustNewTag("glyf")); err != nil {
		t.Fatalf("the bundled font has no TrueType outlines (glyf): %v", err)
	}
	raw, err := ld.RawTable(ot.MustNewTag("cmap"))
	if err != nil {
		t.Fatal(err)
	}
	tb, _, err := tables.ParseCmap(raw)
	if err != nil {
		t.Fatal(err)
	}
	cm, _, err := font.ProcessCmap(tb, 0)
	if err != nil {
		t.Fatal(err)
	}
	missing := map[rune]string{}
	check := func(r rune, where string) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return
		}
		if _, ok := cm.Lookup(r); !ok {
			missing[r] = where
		}
	}
	f, err := os.Open("../../kiosk/ui/testdata/tongyong8105.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			for _, r := range strings.TrimSpace(line) {
				check(r, "通用规范汉字表")
				n++
			}
		}
	}
	if n != 8105 {
		t.Fatalf("%d characters of the 通用规范汉字表, want 8105", n)
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	for hi := 0xB0; hi <= 0xF7; hi++ { // GB 2312's hanzi rows
		for lo := 0xA1; lo <= 0xFE; lo++ {
			if s, err := dec.Bytes([]byte{byte(hi), byte(lo)}); err == nil {
				for _, r := range string(s) {
					if r != unicode.ReplacementChar && unicode.Is(unicode.Han, r) {
						check(r, "GB 2312")
					}
				}
			}
		}
	}
	srcs, _ := filepath.Glob("*.go")
	for _, name := range srcs {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(b) {
			if r > 0x7F {
				check(r, name)
			}
		}
	}
	for r, where := range missing {
		t.Errorf("no glyph for %q U+%04X (%s)", r, r, where)
	}
}
