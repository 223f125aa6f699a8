// Package certtest reads a certificate PDF back with the tools a person
// would use: pdftotext (poppler-utils) for its text, pdftoppm and zbarimg
// (zbar-tools) for its QR code. Without a tool the test is skipped, or
// fails when LEIFENG_REQUIRE_SERVICES is set (make test).
package certtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Require skips t (fails it under LEIFENG_REQUIRE_SERVICES) without the
// named programs.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, name := range tools {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("LEIFENG_REQUIRE_SERVICES") != "" {
				t.Fatalf("%s not installed (make deps: poppler-utils, zbar-tools)", name)
			}
			t.Skipf("%s not installed (make deps: poppler-utils, zbar-tools)", name)
		}
	}
}

func write(t testing.TB, pdf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Text is the text of pdf as pdftotext -layout reads it.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	Require(t, "pdftotext")
	out, err := exec.Command("pdftotext", "-layout", write(t, pdf), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// QR renders the first page of pdf at 150 dpi (pdftoppm) and returns the
// QR code zbarimg reads on it.
func QR(t testing.TB, pdf []byte) string {
	t.Helper()
	Require(t, "pdftoppm", "zbarimg")
	p := write(t, pdf)
	base := filepath.Join(filepath.Dir(p), "page")
	if out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", p, base).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", base+".png").Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code on the page: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// HasRow reports whether a line of text holds exactly these fields
// (separated by spaces).
func HasRow(text string, fields ...string) bool {
	want := strings.Join(fields, " ")
	for _, line := range strings.Split(text, "\n") {
		if strings.Join(strings.Fields(line), " ") == want {
			return true
		}
	}
	return false
}
