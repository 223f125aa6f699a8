package export

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Sheet names of the XLSX exports.
const (
	RecordsSheet = "服务记录"
	LeftOutSheet = "未导出记录"
	StatsSheet   = "统计"
)

// Encodings of the CSV exports.
const (
	UTF8    = "utf-8"
	GB18030 = "gb18030"
)

// ErrEncoding is returned for a CSV encoding other than UTF8 and GB18030.
var ErrEncoding = errors.New("export: unknown encoding")

// XLSX writes a service-record export as a workbook: the records
// streamed to a first sheet, the left-out report to a second. Close
// writes the workbook to w.
type XLSX struct {
	w    io.Writer
	f    *excelize.File
	sw   *excelize.StreamWriter
	n    int
	left []LeftOut
}

// NewXLSX starts a service-record workbook for w.
func NewXLSX(w io.Writer) (*XLSX, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", RecordsSheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(RecordsSheet)
	if err != nil {
		return nil, err
	}
	x := &XLSX{w: w, f: f, sw: sw, n: 1}
	return x, x.header(sw, RecordColumns)
}

func (x *XLSX) header(sw *excelize.StreamWriter, cols []string) error {
	// Panes come before any row in a stream.
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return sw.SetRow("A1", anys(cols))
}

// Row implements Sink: hours as a number, the rest as text.
func (x *XLSX) Row(r *Row) error {
	x.n++
	vals := anys(r.Strings())
	vals[9] = float64(r.Cents) / 100
	cell, _ := excelize.CoordinatesToCellName(1, x.n)
	return x.sw.SetRow(cell, vals)
}

// LeftOut implements Sink; the report is written by Close.
func (x *XLSX) LeftOut(l *LeftOut) error {
	x.left = append(x.left, *l)
	return nil
}

// Close finishes both sheets and writes the workbook.
func (x *XLSX) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if _, err := x.f.NewSheet(LeftOutSheet); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(LeftOutSheet)
	if err != nil {
		return err
	}
	if err := x.header(sw, LeftOutColumns); err != nil {
		return err
	}
	for i := range x.left {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, anys(x.left[i].Strings())); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.w)
}

// CSV writes a service-record export as CSV, a header line then the
// rows; left-out records are only counted (the report is the JSON one).
type CSV struct {
	w *csv.Writer
}

// NewCSV starts a CSV export in encoding (UTF8, with a byte-order mark,
// or GB18030) on w.
func NewCSV(w io.Writer, encoding string) (*CSV, error) {
	cw, err := csvWriter(w, encoding)
	if err != nil {
		return nil, err
	}
	return &CSV{w: cw}, cw.Write(RecordColumns)
}

func csvWriter(w io.Writer, encoding string) (*csv.Writer, error) {
	switch encoding {
	case UTF8, "":
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return nil, err
		}
	case GB18030:
		w = simplifiedchinese.GB18030.NewEncoder().Writer(w)
	default:
		return nil, fmt.Errorf("%w %q", ErrEncoding, encoding)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw, nil
}

// Row implements Sink.
func (c *CSV) Row(r *Row) error { return c.w.Write(defuse(r.Strings())) }

// defuse keeps a spreadsheet opening the CSV from reading a field as a
// formula (=HYPERLINK(…) typed as an activity's name by whoever may name
// one): such a field gets a leading apostrophe, which Excel and WPS show
// as text and do not display. The XLSX exports need none: their cells
// are typed as text.
func defuse(fields []string) []string {
	for i, f := range fields {
		if f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
			fields[i] = "'" + f
		}
	}
	return fields
}

// LeftOut implements Sink.
func (c *CSV) LeftOut(*LeftOut) error { return nil }

// Close flushes what is buffered.
func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// Report collects the left-out records (the JSON report of a CSV
// export), counting the rows.
type Report struct {
	Summary
	Hours string    `json:"hours"`
	Left  []LeftOut `json:"left_out_records"`
}

// Row implements Sink.
func (r *Report) Row(*Row) error { return nil }

// LeftOut implements Sink.
func (r *Report) LeftOut(l *LeftOut) error {
	r.Left = append(r.Left, *l)
	return nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
