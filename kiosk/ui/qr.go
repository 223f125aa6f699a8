package ui

import (
	"errors"
	"image"
	"image/color"
)

// QR is a QR code symbol: Size×Size modules, true for dark.
type QR struct {
	Version int
	Size    int
	Mask    int
	modules []bool
	isFunc  []bool
}

// ErrQRTooLong: the data does not fit a version 10 symbol at level M.
var ErrQRTooLong = errors.New("qr: data too long for version 10-M")

// QR code parameters at error correction level M, versions 1 to 10 (ISO/IEC
// 18004 table 9): codewords in all, error correction codewords per block,
// and blocks.
var (
	qrTotalCodewords = [11]int{0, 26, 44, 70, 100, 134, 172, 196, 242, 292, 346}
	qrECPerBlock     = [11]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26}
	qrBlocks         = [11]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5}
	qrAlign          = [11][]int{nil, nil, {6, 18}, {6, 22}, {6, 26}, {6, 30}, {6, 34}, {6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50}}
)

// EncodeQR encodes data in byte mode at error correction level M, in the
// smallest version from 1 to 10 that holds it, with the mask of lowest
// penalty.
func EncodeQR(data []byte) (*QR, error) {
	ver := 0
	for v := 1; v <= 10; v++ {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		capBits := (qrTotalCodewords[v] - qrECPerBlock[v]*qrBlocks[v]) * 8
		if 4+countBits+8*len(data) <= capBits {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, ErrQRTooLong
	}
	codewords := qrAddEC(ver, qrDataCodewords(ver, data))
	q := &QR{Version: ver, Size: 17 + 4*ver}
	q.modules = make([]bool, q.Size*q.Size)
	q.isFunc = make([]bool, q.Size*q.Size)
	q.drawFunctionPatterns()
	q.drawCodewords(codewords)
	best, bestPenalty := 0, -1
	for m := 0; m < 8; m++ {
		q.applyMask(m)
		q.drawFormat(m)
		if p := q.penalty(); bestPenalty < 0 || p < bestPenalty {
			best, bestPenalty = m, p
		}
		q.applyMask(m) // XOR undoes it
	}
	q.Mask = best
	q.applyMask(best)
	q.drawFormat(best)
	return q, nil
}

// Dark reports whether the module at column x, row y is dark.
func (q *QR) Dark(x, y int) bool { return q.modules[y*q.Size+x] }

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

func qrDataCodewords(ver int, data []byte) []byte {
	capacity := qrTotalCodewords[ver] - qrECPerBlock[ver]*qrBlocks[ver]
	var bits []bool
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, v>>uint(i)&1 == 1)
		}
	}
	put(0b0100, 4)
	if ver >= 10 {
		put(len(data), 16)
	} else {
		put(len(data), 8)
	}
	for _, b := range data {
		put(int(b), 8)
	}
	put(0, min(4, capacity*8-len(bits)))
	put(0, (8-len(bits)%8)%8)
	out := make([]byte, 0, capacity)
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for j := 0; j < 8; j++ {
			if bits[i+j] {
				b |= 0x80 >> uint(j)
			}
		}
		out = append(out, b)
	}
	for pad := byte(0xEC); len(out) < capacity; pad ^= 0xEC ^ 0x11 {
		out = append(out, pad)
	}
	return out
}

// qrAddEC splits data into blocks, appends each block's Reed-Solomon
// codewords and interleaves them.
func qrAddEC(ver int, data []byte) []byte {
	nb, ecLen := qrBlocks[ver], qrECPerBlock[ver]
	total := qrTotalCodewords[ver]
	short := total / nb
	numShort := nb - total%nb
	gen := rsGenerator(ecLen)
	blocks := make([][]byte, nb)
	k := 0
	for i := range blocks {
		n := short - ecLen
		if i >= numShort {
			n++
		}
		d := data[k : k+n]
		k += n
		blocks[i] = append(append([]byte(nil), d...), rsRemainder(d, gen)...)
	}
	out := make([]byte, 0, total)
	for i := 0; i <= short-ecLen; i++ {
		for j, b := range blocks {
			// Short blocks have one data codeword fewer.
			if i == short-ecLen && j < numShort {
				continue
			}
			out = append(out, b[i])
		}
	}
	for i := 0; i < ecLen; i++ {
		for _, b := range blocks {
			out = append(out, b[len(b)-ecLen+i])
		}
	}
	return out
}

func gfMul(x, y byte) byte {
	var z byte
	for i := 7; i >= 0; i-- {
		hi := z >> 7
		z = z<<1 ^ hi*0x1D
		z ^= (y >> uint(i) & 1) * x
	}
	return z
}

// rsGenerator is the generator polynomial of degree n, highest term
// omitted, coefficients from the second-highest down.
func rsGenerator(n int) []byte {
	g := make([]byte, n)
	g[n-1] = 1
	root := byte(1)
	for i := 0; i < n; i++ {
		for j := range g {
			g[j] = gfMul(g[j], root)
			if j+1 < n {
				g[j] ^= g[j+1]
			}
		}
		root = gfMul(root, 0x02)
	}
	return g
}

func rsRemainder(data, gen []byte) []byte {
	r := make([]byte, len(gen))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		for i := range r {
			r[i] ^= gfMul(gen[i], f)
		}
	}
	return r
}

func (q *QR) set(x, y int, dark bool) {
	q.modules[y*q.Size+x] = dark
	q.isFunc[y*q.Size+x] = true
}

func (q *QR) drawFunctionPatterns() {
	n := q.Size
	for i := 0; i < n; i++ {
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	q.drawFinder(3, 3)
	q.drawFinder(n-4, 3)
	q.drawFinder(3, n-4)
	al := qrAlign[q.Version]
	for i, a := range al {
		for j, b := range al {
			if (i == 0 && j == 0) || (i == 0 && j == len(al)-1) || (i == len(al)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(a+dx, b+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat(0) // reserves the area; drawn for real after masking
	if q.Version >= 7 {
		rem := q.Version
		for i := 0; i < 12; i++ {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := q.Version<<12 | rem
		for i := 0; i < 18; i++ {
			dark := bits>>uint(i)&1 == 1
			a, b := n-11+i%3, i/3
			q.set(a, b, dark)
			q.set(b, a, dark)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (q *QR) drawFinder(cx, cy int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			x, y := cx+dx, cy+dy
			if x < 0 || y < 0 || x >= q.Size || y >= q.Size {
				continue
			}
			d := max(abs(dx), abs(dy))
			q.set(x, y, d != 2 && d != 4)
		}
	}
}

// formatBits is the 15-bit format information for level M and mask.
func formatBits(mask int) int {
	data := 0b00<<3 | mask // level M is 00
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem) ^ 0x5412
}

func (q *QR) drawFormat(mask int) {
	bits := formatBits(mask)
	bit := func(i int) bool { return bits>>uint(i)&1 == 1 }
	n := q.Size
	for i := 0; i <= 5; i++ {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := 0; i < 8; i++ {
		q.set(n-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, n-15+i, bit(i))
	}
	q.set(8, n-8, true) // the dark module
}

func (q *QR) drawCodewords(data []byte) {
	n := q.Size
	i := 0
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := 0; vert < n; vert++ {
			for j := 0; j < 2; j++ {
				x := right - j
				upward := (right+1)&2 == 0
				y := vert
				if upward {
					y = n - 1 - vert
				}
				if q.isFunc[y*n+x] || i >= len(data)*8 {
					continue
				}
				q.modules[y*n+x] = data[i>>3]>>uint(7-i&7)&1 == 1
				i++
			}
		}
	}
}

func (q *QR) applyMask(mask int) {
	n := q.Size
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var inv bool
			switch mask {
			case 0:
				inv = (x+y)%2 == 0
			case 1:
				inv = y%2 == 0
			case 2:
				inv = x%3 == 0
			case 3:
				inv = (x+y)%3 == 0
			case 4:
				inv = (x/3+y/2)%2 == 0
			case 5:
				inv = x*y%2+x*y%3 == 0
			case 6:
				inv = (x*y%2+x*y%3)%2 == 0
			case 7:
				inv = ((x+y)%2+x*y%3)%2 == 0
			}
			if inv && !q.isFunc[y*n+x] {
				q.modules[y*n+x] = !q.modules[y*n+x]
			}
		}
	}
}

// penalty scores the symbol by the four rules of ISO/IEC 18004 7.8.3.
func (q *QR) penalty() int {
	n := q.Size
	p := 0
	line := func(get func(i int) bool) {
		run, prev := 0, false
		var hist []int // run lengths, for the finder-like rule
		for i := 0; i < n; i++ {
			c := get(i)
			if i > 0 && c == prev {
				run++
				continue
			}
			if i > 0 {
				hist = append(hist, run)
				if run >= 5 {
					p += 3 + run - 5
				}
			}
			run, prev = 1, c
		}
		hist = append(hist, run)
		if run >= 5 {
			p += 3 + run - 5
		}
		// 1:1:3:1:1 dark-light-dark-light-dark with 4 light on a side.
		first := get(0)
		for k := 0; k+4 < len(hist); k++ {
			dark := (k%2 == 0) == first
			if !dark {
				continue
			}
			u := hist[k+1]
			if hist[k] == u && hist[k+2] == 3*u && hist[k+3] == u && hist[k+4] == u {
				before := k == 0 || hist[k-1] >= 4*u
				after := k+5 >= len(hist) || hist[k+5] >= 4*u
				if before || after {
					p += 40
				}
			}
		}
	}
	for y := 0; y < n; y++ {
		line(func(i int) bool { return q.Dark(i, y) })
	}
	for x := 0; x < n; x++ {
		line(func(i int) bool { return q.Dark(x, i) })
	}
	dark := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := q.Dark(x, y)
			if c {
				dark++
			}
			if x+1 < n && y+1 < n && c == q.Dark(x+1, y) && c == q.Dark(x, y+1) && c == q.Dark(x+1, y+1) {
				p += 3
			}
		}
	}
	total := n * n
	k := (abs(dark*20-total*10) + total - 1) / total
	return p + (k-1)*10*boolInt(k > 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
