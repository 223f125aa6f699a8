package certificate

import (
	"fmt"
	"io"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/yeqown/go-qrcode/v2"

	"leifeng/cloud/calendar"
)

// A4 portrait, in millimetres.
const (
	pageW   = 210.0
	margin  = 20.0
	bodyW   = pageW - 2*margin
	rowH    = 8.0
	labelW  = 32.0
	fontFam = "noto"
)

// PDF writes c as a PDF of one A4 page (more if the periods are many).
func (c *Certificate) PDF(w io.Writer) error {
	ttf, err := fontBytes()
	if err != nil {
		return err
	}
	qr, err := qrModules(c.VerifyURL)
	if err != nil {
		return err
	}
	issued := c.Issued.In(calendar.CST)
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin)
	pdf.SetCreationDate(issued)
	pdf.SetModificationDate(issued)
	pdf.SetTitle("志愿服务证明 "+c.Number, true)
	pdf.SetCreator("leifeng-cloud", true)
	pdf.AddUTF8FontFromBytes(fontFam, "", ttf)
	pdf.AddPage()
	pdf.SetDrawColor(60, 60, 60)
	pdf.SetLineWidth(0.3)

	// Title and number.
	pdf.SetFont(fontFam, "", 24)
	pdf.CellFormat(bodyW, 14, "志愿服务证明", "", 1, "C", false, 0, "")
	pdf.SetFont(fontFam, "", 10)
	pdf.CellFormat(bodyW, 6, "证明编号："+c.Number, "", 1, "R", false, 0, "")
	pdf.Ln(2)

	section := func(title string) {
		pdf.Ln(2)
		pdf.SetFont(fontFam, "", 13)
		pdf.SetFillColor(235, 235, 235)
		pdf.CellFormat(bodyW, rowH, title, "1", 1, "L", true, 0, "")
		pdf.SetFont(fontFam, "", 11)
	}
	field := func(label, value string, w float64, ln int) {
		pdf.CellFormat(labelW, rowH, label, "1", 0, "C", false, 0, "")
		pdf.CellFormat(w-labelW, rowH, " "+value, "1", ln, "L", false, 0, "")
	}

	// 一、志愿者信息
	section("一、志愿者信息")
	field("姓名", c.Name, bodyW/2, 0)
	field("志愿者编号", firstOf(c.NationalID, c.VolunteerID), bodyW/2, 1)
	field("身份证件号码", firstOf(c.IDMasked, "（未登记）"), bodyW, 1)

	// 二、志愿服务信息
	section("二、志愿服务信息")
	field("服务期间", fmt.Sprintf("%s 至 %s", dayZh(c.From), dayZh(c.To)), bodyW, 1)
	imported := c.Total.Imported > 0
	cols := []string{"期间", "刷卡记录（小时）", "补录记录（小时）", "合计（小时）"}
	widths := []float64{38, 44, 44, 44}
	if imported {
		cols = []string{"期间", "刷卡记录（小时）", "补录记录（小时）", "导入记录（小时）", "合计（小时）"}
		widths = []float64{34, 34, 34, 34, 34}
	}
	pdf.SetFillColor(245, 245, 245)
	for i, h := range cols {
		pdf.CellFormat(widths[i], rowH, h, "1", 0, "C", true, 0, "")
	}
	pdf.Ln(-1)
	row := func(p Period) {
		vals := []string{p.Label, Hours(p.Card), Hours(p.Manual), Hours(p.Sum())}
		if imported {
			vals = []string{p.Label, Hours(p.Card), Hours(p.Manual), Hours(p.Imported), Hours(p.Sum())}
		}
		for i, v := range vals {
			pdf.CellFormat(widths[i], rowH-1, v, "1", 0, "C", false, 0, "")
		}
		pdf.Ln(-1)
	}
	for _, p := range c.Periods {
		row(p)
	}
	row(c.Total)
	pdf.SetFont(fontFam, "", 11)
	pdf.CellFormat(labelW, rowH, "服务内容", "LTR", 0, "C", false, 0, "")
	x, y := pdf.GetXY()
	lines := wrap(pdf, firstOf(c.Content, "（期间内无已确认的服务记录）"), bodyW-labelW-4)
	for i, l := range lines {
		pdf.SetXY(x, y+float64(i)*rowH)
		pdf.CellFormat(bodyW-labelW, rowH, " "+l, "", 0, "L", false, 0, "")
	}
	h := float64(len(lines)) * rowH
	pdf.Rect(x-labelW, y, labelW, h, "D")
	pdf.Rect(x, y, bodyW-labelW, h, "D")
	pdf.SetXY(margin, y+h)
	pdf.SetFont(fontFam, "", 10)
	paragraph(pdf, 6, fmt.Sprintf("以上共%d条服务记录，均为公示期满、已确认的记录（刷卡记录由志愿者证卡和服务站终端证明，补录记录经审核批准）。", c.Records))

	// 三、出具组织信息
	section("三、出具组织信息")
	field("出具组织", c.Issuer.Org, bodyW, 1)
	field("负责人", c.Issuer.Lead, bodyW/2, 0)
	field("经办人", c.Issuer.Handler, bodyW/2, 1)
	field("联系方式", c.Issuer.Contact, bodyW, 1)

	// The statement.
	pdf.Ln(4)
	pdf.SetFont(fontFam, "", 12)
	paragraph(pdf, 7, fmt.Sprintf("　　兹证明 %s 同志于 %s 至 %s 期间参加志愿服务，累计志愿服务时长 %s 小时。特此证明。",
		c.Name, dayZh(c.From), dayZh(c.To), Hours(c.Total.Sum())))

	// 四、证明编号与出具日期, with the QR code beside them.
	section("四、证明编号与出具日期")
	top := pdf.GetY() + 2
	const qrSize = 36.0
	pdf.SetXY(margin, top)
	pdf.SetFont(fontFam, "", 11)
	pdf.CellFormat(bodyW-qrSize-6, rowH, "证明编号："+c.Number, "", 2, "L", false, 0, "")
	pdf.CellFormat(bodyW-qrSize-6, rowH, "出具日期："+fmt.Sprintf("%d年%d月%d日", issued.Year(), issued.Month(), issued.Day()), "", 2, "L", false, 0, "")
	pdf.CellFormat(bodyW-qrSize-6, rowH, "出具组织（盖章）：", "", 2, "L", false, 0, "")
	pdf.SetFont(fontFam, "", 9)
	textW := bodyW - qrSize - 6
	for _, s := range []string{"扫描右侧二维码或访问下列网址，可核验本证明的编号、期间、时长及是否有效：", c.VerifyURL,
		"本证明依据《志愿服务条例》和《志愿服务记录与证明出具办法（试行）》免费出具。"} {
		for _, l := range wrap(pdf, s, textW) {
			pdf.CellFormat(textW, 5, l, "", 2, "L", false, 0, "")
		}
	}
	drawQR(pdf, qr, pageW-margin-qrSize, top, qrSize)
	if pdf.Err() {
		return fmt.Errorf("certificate: pdf: %w", pdf.Error())
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("certificate: pdf: %w", err)
	}
	return nil
}

// wrap cuts s into lines no wider than w in the current font, between
// any two characters (Chinese has no spaces to break at; fpdf's own
// MultiCell drops the character where it breaks such a line).
func wrap(pdf *fpdf.Fpdf, s string, w float64) []string {
	var (
		lines []string
		line  []rune
	)
	for _, r := range s {
		if r == '\n' {
			lines, line = append(lines, string(line)), nil
			continue
		}
		if len(line) > 0 && pdf.GetStringWidth(string(append(line, r))) > w {
			lines, line = append(lines, string(line)), nil
		}
		line = append(line, r)
	}
	return append(lines, string(line))
}

// paragraph writes s across the body's width, lineH apart.
func paragraph(pdf *fpdf.Fpdf, lineH float64, s string) {
	for _, l := range wrap(pdf, s, bodyW) {
		pdf.CellFormat(bodyW, lineH, l, "", 1, "L", false, 0, "")
	}
}

// dayZh writes a day (2026-03-01) as 2026年3月1日.
func dayZh(day string) string {
	t, err := ParseDay(day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// qrModules encodes url at error correction level M.
func qrModules(url string) ([][]bool, error) {
	c, err := qrcode.NewWith(url, qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("certificate: qr: %w", err)
	}
	var m matrix
	if err := c.Save(&m); err != nil {
		return nil, fmt.Errorf("certificate: qr: %w", err)
	}
	return m.bits, nil
}

type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrix) Close() error                  { return nil }

// drawQR draws the symbol as filled rectangles (one per run of dark
// modules in a row) in a size×size square at x, y, quiet zone included.
func drawQR(pdf *fpdf.Fpdf, bits [][]bool, x, y, size float64) {
	n := len(bits)
	if n == 0 {
		return
	}
	const quiet = 4
	mod := size / float64(n+2*quiet)
	pdf.SetFillColor(0, 0, 0)
	for r, row := range bits {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			s := c
			for c < len(row) && row[c] {
				c++
			}
			pdf.Rect(x+float64(quiet+s)*mod, y+float64(quiet+r)*mod, float64(c-s)*mod, mod, "F")
		}
	}
}
