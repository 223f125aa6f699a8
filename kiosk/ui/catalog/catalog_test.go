package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

// TestCatalogueComplete: every key in every language.
func TestCatalogueComplete(t *testing.T) {
	for _, key := range Keys() {
		for _, l := range Langs {
			if s, ok := catalogue[key][l]; !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s has no %s text", key, l)
			}
		}
	}
}

// TestEveryCodeHasASentence: each error code of the packages that own
// errors has one sentence in every language.
func TestEveryCodeHasASentence(t *testing.T) {
	for _, code := range Codes() {
		if !Has(ErrorKey(code)) {
			t.Errorf("error code %q has no sentence (add %q to the catalogue)", code, ErrorKey(code))
			continue
		}
		for _, l := range Langs {
			if strings.TrimSpace(catalogue[ErrorKey(code)][l]) == "" {
				t.Errorf("error code %q has no %s sentence", code, l)
			}
		}
	}
}

// TestCodeOfErrors: each exported sentinel (wrapped, as callers see them)
// gets its own code, and its sentence.
func TestCodeOfErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{reader.ErrSeveralCards, "several_cards"},
		{reader.ErrUnreadable, "unreadable"},
		{reader.ErrExpired, "expired"},
		{reader.ErrNotYetValid, "not_yet_valid"},
		{reader.ErrRevoked, "revoked"},
		{reader.ErrForged, "forged"},
		{reader.ErrUnsupported, "unsupported"},
		{errors.Join(reader.ErrReaderFault, errors.New("spi")), "reader_fault"},
		{fmt.Errorf("%w: %w", attendance.ErrStorage, syscall.ENOSPC), "disk_full"},
		{fmt.Errorf("%w: io", attendance.ErrStorage), "storage"},
		{attendance.ErrInvalidTap, "invalid_tap"},
		{errors.New("something else"), "other"},
	} {
		err := fmt.Errorf("tap: %w", c.err)
		if got := Code(err); got != c.code {
			t.Errorf("Code(%v) = %q, want %q", c.err, got, c.code)
		}
		if got, want := Sentence(Zh, Code(err)), catalogue[ErrorKey(c.code)][Zh]; got != want {
			t.Errorf("Sentence(Code(%v)) = %q, want %q", c.err, got, want)
		}
	}
	if Code(nil) != "" {
		t.Error("Code(nil) is not empty")
	}
	if got := Sentence(En, "no_such_code"); got != catalogue["err_other"][En] {
		t.Errorf("unknown code: %q", got)
	}
}

// TestNoSentencesElsewhere: the error sentences live here only. No other
// source file of the kiosk or the reader holds one of them (not even a
// reworded copy of its opening words), and none names the station manager
// by another word than 站点管理员.
func TestNoSentencesElsewhere(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	here, _ := filepath.Abs(".")
	var needles []string
	for _, key := range Keys() {
		if !strings.HasPrefix(string(key), "err_") {
			continue
		}
		s := catalogue[key][Zh]
		s, _, _ = strings.Cut(s, "%")
		s, _, _ = strings.Cut(s, "，")
		needles = append(needles, strings.TrimRight(s, "：。"))
	}
	needles = append(needles, "站长")
	checked := 0
	for _, dir := range []string{"kiosk", "reader"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path == here || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			for _, n := range needles {
				if strings.Contains(string(b), n) {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s holds %q: say it through kiosk/ui/catalog", rel, n)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 20 {
		t.Fatalf("only %d source files checked: is the repository root %s?", checked, root)
	}
}

// TestHours: hours are cut to one decimal, never rounded up (halves and
// quarters alike); hours still to serve are rounded up.
func TestHours(t *testing.T) {
	for h, want := range map[float64]string{
		42.25: "42.2", 27.75: "27.7", 42.5: "42.5", 27.5: "27.5",
		0: "0.0", 2.3: "2.3", 2.96: "2.9", 29.99: "29.9", 558: "558.0", 0.7: "0.7",
	} {
		if got := Hours(h); got != want {
			t.Errorf("Hours(%v) = %q, want %q", h, got, want)
		}
	}
	for h, want := range map[float64]string{2.25: "2.3", 72.25: "72.3", 42: "42.0", 0.01: "0.1", 0.7: "0.7", 2.3: "2.3"} {
		if got := HoursToGo(h); got != want {
			t.Errorf("HoursToGo(%v) = %q, want %q", h, got, want)
		}
	}
	if got := Text(Zh, "total_hours", Hours(27.75)); got != "累计服务 27.7 小时" {
		t.Errorf("total_hours: %q", got)
	}
}
