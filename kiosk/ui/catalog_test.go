package ui

import (
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

// TestFontCoversCatalogue: every string the kiosk shows of its own is in
// the bundled font.
func TestFontCoversCatalogue(t *testing.T) {
	cm := bundledCmap(t)
	var all strings.Builder
	for _, m := range catalogue {
		for _, s := range m {
			all.WriteString(s)
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
