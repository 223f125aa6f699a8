package ui

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQRStructure checks what a reader needs to find the symbol, whatever
// the library: the smallest version for the length at level M, the three
// finder patterns and the timing lines; and that data too long for a
// symbol the screen can show is refused.
func TestQRStructure(t *testing.T) {
	for _, tc := range []struct {
		n, version int
	}{{1, 1}, {14, 1}, {15, 2}, {26, 2}, {42, 3}, {62, 4}, {84, 5}, {106, 6}, {122, 7}, {152, 8}, {180, 9}, {213, 10}} {
		q, err := EncodeQR(bytes.Repeat([]byte("a"), tc.n))
		if err != nil {
			t.Fatal(err)
		}
		if q.Version != tc.version || q.Size != 17+4*tc.version {
			t.Fatalf("%d bytes: version %d size %d, want version %d", tc.n, q.Version, q.Size, tc.version)
		}
		for _, c := range [][2]int{{0, 0}, {q.Size - 7, 0}, {0, q.Size - 7}} {
			for i := 0; i < 7; i++ {
				if !q.Dark(c[0]+i, c[1]) || !q.Dark(c[0], c[1]+i) || !q.Dark(c[0]+3, c[1]+3) {
					t.Fatalf("version %d: finder at %v broken", q.Version, c)
				}
			}
		}
		for i := 8; i < q.Size-8; i++ {
			if q.Dark(i, 6) != (i%2 == 0) || q.Dark(6, i) != (i%2 == 0) {
				t.Fatalf("version %d: timing broken at %d", q.Version, i)
			}
		}
	}
	if _, err := EncodeQR(make([]byte, 214)); err != ErrQRTooLong {
		t.Fatalf("214 bytes: err %v, want ErrQRTooLong", err)
	}
}

// TestQRDecodes decodes symbols of every version with zbarimg, when it is
// installed.
func TestQRDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatal("zbarimg not installed (apt-get install zbar-tools)")
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools); structure is checked by TestQRStructure")
	}
	dir := t.TempDir()
	for _, n := range []int{5, 20, 40, 60, 80, 100, 120, 150, 180, 213} {
		text := strings.Repeat("https://zyz.puer.gov.cn/s/", 10)[:n]
		q, err := EncodeQR([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "q.png")
		f, _ := os.Create(path)
		png.Encode(f, q.Image(4, 4))
		f.Close()
		out, err := exec.Command(zbar, "-q", "--raw", path).Output()
		if err != nil {
			t.Fatalf("version %d (%d bytes): zbarimg: %v", q.Version, n, err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != text {
			t.Fatalf("version %d: decoded %q, want %q", q.Version, got, text)
		}
	}
}
