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

// TestQRStructure checks what a reader needs to find the symbol: version
// by length, finder patterns, timing lines and the format information,
// decoded back to level M and the chosen mask.
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
		var bits int
		for i := 0; i <= 5; i++ {
			if q.Dark(8, i) {
				bits |= 1 << i
			}
		}
		if q.Dark(8, 7) {
			bits |= 1 << 6
		}
		if q.Dark(8, 8) {
			bits |= 1 << 7
		}
		if q.Dark(7, 8) {
			bits |= 1 << 8
		}
		for i := 9; i < 15; i++ {
			if q.Dark(14-i, 8) {
				bits |= 1 << i
			}
		}
		f := (bits ^ 0x5412) >> 10
		if f>>3 != 0 || f&7 != q.Mask {
			t.Fatalf("version %d: format %05b, want level M (00) mask %d", q.Version, f, q.Mask)
		}
	}
	if _, err := EncodeQR(make([]byte, 214)); err != ErrQRTooLong {
		t.Fatalf("214 bytes: err %v, want ErrQRTooLong", err)
	}
}

// TestQRVector checks a known symbol: "01234567" in byte mode at 1-M
// starts with the mode, count and data codewords of ISO/IEC 18004, and its
// error correction codewords are the Reed-Solomon remainder.
func TestQRVector(t *testing.T) {
	d := qrDataCodewords(1, []byte("01234567"))
	want := []byte{0x40, 0x83, 0x03, 0x13, 0x23, 0x33, 0x43, 0x53, 0x63, 0x70, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11}
	if !bytes.Equal(d, want) {
		t.Fatalf("data codewords % X, want % X", d, want)
	}
	// The ISO/IEC 18004 annex I example: "01234567" in numeric mode at 1-M
	// has data 10 20 0C 56 61 80 EC 11 EC 11 EC 11 EC 11 EC 11 and error
	// correction A5 24 D4 C1 ED 36 C7 87 2C 55.
	iso := []byte{0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11}
	ec := rsRemainder(iso, rsGenerator(10))
	if wantEC := []byte{0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55}; !bytes.Equal(ec, wantEC) {
		t.Fatalf("EC % X, want % X", ec, wantEC)
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
