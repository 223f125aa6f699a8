package certificate

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
)

// bundledFont is the certificates' CJK font: the kiosk's bundled subset of
// Noto Sans CJK SC (SIL Open Font License 1.1, font/OFL.txt) — every
// character of the 通用规范汉字表 (8,105, the characters a name may be
// registered with), all of GB 2312, ASCII, Latin-1 and common punctuation
// — with its CFF outlines converted to TrueType ones (font/make-font.sh),
// since github.com/go-pdf/fpdf embeds only TrueType. 1.7 MB gzipped; a
// PDF embeds only the glyphs it uses (some 40 KB).
//
// Why this font: Noto is what the kiosk already bundles and a Pi may have
// installed, so paper and screen look alike and the repository carries
// no second CJK font family; the Debian TrueType CJK fonts
// (fonts-wqy-microhei, fonts-droid-fallback, fonts-arphic-uming) are
// larger (4–20 MB) and would have to be cut the same way.
//
//go:embed font/NotoSansSC-cert.ttf.gz
var bundledFont []byte

var (
	fontOnce sync.Once
	fontTTF  []byte
	fontErr  error
)

// fontBytes is the bundled font, decompressed once.
func fontBytes() ([]byte, error) {
	fontOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(bundledFont))
		if err != nil {
			fontErr = fmt.Errorf("certificate: bundled font: %w", err)
			return
		}
		fontTTF, fontErr = io.ReadAll(zr)
		if fontErr != nil {
			fontErr = fmt.Errorf("certificate: bundled font: %w", fontErr)
		}
	})
	return fontTTF, fontErr
}
