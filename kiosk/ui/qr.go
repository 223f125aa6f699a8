package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QR is a QR code symbol: Size×Size modules, true for dark. The symbol is
// encoded by github.com/yeqown/go-qrcode/v2; this type only renders it at
// the scale the kiosk's screen needs.
type QR struct {
	// Version is the symbol version, 1 to MaxQRVersion.
	Version int
	// Size is the number of modules per side, 17+4×Version.
	Size    int
	modules [][]bool
}

// MaxQRVersion is the largest symbol the kiosk shows: a version 10 symbol
// (57 modules) still reads from a phone at arm's length on a 7-inch
// screen, a larger one does not.
const MaxQRVersion = 10

// ErrQRTooLong: the data does not fit a symbol of MaxQRVersion at level M.
var ErrQRTooLong = errors.New("qr: data too long for version 10-M")

// EncodeQR encodes data in byte mode at error correction level M (15 %
// of the symbol may be damaged or dirty), in the smallest version that
// holds it.
func EncodeQR(data []byte) (*QR, error) {
	c, err := qrcode.NewWith(data,
		qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	var m matrixOf
	if err := c.Save(&m); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	q := &QR{Size: len(m.bits), modules: m.bits}
	q.Version = (q.Size - 17) / 4
	if q.Version > MaxQRVersion {
		return nil, ErrQRTooLong
	}
	return q, nil
}

// matrixOf is the go-qrcode Writer that keeps the symbol's modules.
type matrixOf struct{ bits [][]bool }

func (m *matrixOf) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrixOf) Close() error                  { return nil }

// Dark reports whether the module at column x, row y is dark.
func (q *QR) Dark(x, y int) bool { return q.modules[y][x] }

// Image renders the symbol with scale pixels per module and a quiet zone
// of quiet modules.
func (q *QR) Image(scale, quiet int) image.Image {
	n := (q.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y := 0; y < q.Size; y++ {
		for x := 0; x < q.Size; x++ {
			if !q.Dark(x, y) {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	return img
}
