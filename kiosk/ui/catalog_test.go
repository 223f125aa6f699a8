package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-text/typesetting/font"
)

// TestCatalogueComplete: every key in every language.
func TestCatalogueComplete(t *testing.T) {
	for key, m := range catalogue {
		for _, l := range []Lang{Zh, En} {
			if strings.TrimSpace(m[l]) == "" {
				t.Errorf("%s has no %s text", key, l)
			}
		}
	}
}

// TestFontCoversCatalogue fails when a string the kiosk shows has a rune
// the bundled font lacks: rerun font/subset.sh after adding strings.
func TestFontCoversCatalogue(t *testing.T) {
	face, err := font.ParseTTF(bytes.NewReader(fontData))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, m := range catalogue {
		for _, s := range m {
			all.WriteString(s)
		}
	}
	demo, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	json.Unmarshal(demo, &decoded)
	collect(&all, decoded)
	all.WriteString("0123456789●○▼月日星期一二三四五六")
	missing := map[rune]bool{}
	for _, r := range all.String() {
		if r < ' ' || r == '%' {
			continue
		}
		if _, ok := face.NominalGlyph(r); !ok {
			missing[r] = true
		}
	}
	if len(missing) > 0 {
		var rs []rune
		for r := range missing {
			rs = append(rs, r)
		}
		t.Fatalf("font lacks %q: run sh kiosk/ui/font/subset.sh", string(rs))
	}
	if len(fontData) > 400<<10 {
		t.Errorf("font subset is %d KB; keep it small", len(fontData)>>10)
	}
}

func collect(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
	case []any:
		for _, e := range v {
			collect(b, e)
		}
	case map[string]any:
		for _, e := range v {
			collect(b, e)
		}
	}
}
