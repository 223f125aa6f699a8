package ui

import (
	"leifeng/kiosk/ui/catalog"
	"strings"
	"testing"

	"github.com/go-text/typesetting/font"
)

// TestFontCoversCatalogue: every string the kiosk shows of its own is in
// the bundled font.
func TestFontCoversCatalogue(t *testing.T) {
	cm := bundledCmap(t)
	var all strings.Builder
	for _, k := range catalog.Keys() {
		for _, l := range catalog.Langs {
			all.WriteString(catalog.Text(l, k))
		}
	}
	all.WriteString("0123456789●○▼月日星期一二三四五六")
	var missing []rune
	for _, r := range all.String() {
		if r < ' ' || r == '%' {
			continue
		}
		if _, ok := cm.Lookup(r); !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("font lacks %q: run sh kiosk/ui/font/subset.sh", string(missing))
	}
}

func bundledCmap(t *testing.T) font.Cmap {
	t.Helper()
	data, err := BundledFont()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := parseCmap(data)
	if err != nil {
		t.Fatal(err)
	}
	return cm
}
