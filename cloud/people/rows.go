package people

import (
	"io"
	"time"
)

// Rows reads a CSV (UTF-8 or GB18030) or XLSX file row by row with the
// rows' line numbers, as Import does, for the other imports of the cloud
// (service records' history): one reader for every file the city brings.
type Rows struct{ src rowSource }

// OpenRows starts reading r in format; tmpDir is as Options.TmpDir. Close
// the Rows when done.
func OpenRows(format Format, r io.Reader, tmpDir string) (*Rows, error) {
	src, err := openRows(format, r, tmpDir)
	if err != nil {
		return nil, err
	}
	return &Rows{src: src}, nil
}

// Next is the next row and its line in the file (the first is line 1);
// io.EOF after the last. The cells are valid until the next call.
func (r *Rows) Next() (line int, cells []string, err error) { return r.src.next() }

// Close releases the file (and an XLSX's unzipped worksheet).
func (r *Rows) Close() { r.src.close() }

// Blank reports whether a row's cells are all empty (a row Import skips).
func Blank(cells []string) bool { return blank(cells) }

// Columns is a file's header contract: each English column name with the
// Chinese headers accepted for it, and which columns are required.
type Columns struct{ cs columnSet }

// NewColumns makes the columns: cols maps each English name to its
// Chinese headers.
func NewColumns(required []string, cols map[string][]string) Columns {
	return Columns{newColumns(required, cols)}
}

// Index maps each known column of header to its position; a required
// column missing, or one given twice, is an error wrapping ErrFile.
// Unknown columns are ignored.
func (c Columns) Index(header []string) (map[string]int, error) { return c.cs.index(header) }

// ParseDate reads a date as files write it (2006-01-02, 2006/1/2,
// 2006年1月2日, an Excel serial number); "" is the zero time, anything
// else unreadable ErrBadDate.
func ParseDate(s string) (time.Time, error) { return parseDate(s) }
