package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/kiosk/ui/catalog"

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

// TestFontHoldsSubsetCharacters runs the character-collecting part of
// font/subset.sh (its --chars mode): it must find the kiosk's sources
// (one file per screen, the catalogue in kiosk/ui/catalog), and the bundled
// font must hold every character it collects, so regenerating the font
// works and would not drop anything the kiosk shows.
func TestFontHoldsSubsetCharacters(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal("python3 not installed (apt-get install python3)")
		}
		t.Skip("python3 not installed (apt-get install python3)")
	}
	out := filepath.Join(t.TempDir(), "chars.txt")
	if b, err := exec.Command("sh", "font/subset.sh", "--chars", out).CombinedOutput(); err != nil {
		t.Fatalf("subset.sh --chars: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	chars := string(b)
	// 8,105 of the 通用规范汉字表, GB 2312 and the catalogue's own words.
	if n := len([]rune(chars)); n < 8105 || !strings.Contains(chars, "签") || !strings.ContainsRune(chars, '雷') {
		t.Fatalf("subset.sh collected %d characters", n)
	}
	cm := bundledCmap(t)
	var missing []rune
	for _, r := range chars {
		if _, ok := cm.Lookup(r); !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("font lacks %q that subset.sh would keep: run sh kiosk/ui/font/subset.sh", string(missing))
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
