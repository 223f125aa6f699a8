package people

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Kind is what a file holds.
type Kind string

// The kinds of file Import reads (the words of `leifeng-cloud import`).
const (
	KindAreas      Kind = "areas"
	KindOrgs       Kind = "orgs"
	KindVolunteers Kind = "volunteers"
)

// Format is a file's format.
type Format string

// The formats Import reads.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// FormatOf picks the format by the file name's extension (.xlsx, else CSV).
func FormatOf(name string) Format {
	if strings.HasSuffix(strings.ToLower(name), ".xlsx") {
		return XLSX
	}
	return CSV
}

// Sink stores checked rows, a batch at a time, and says per row what it
// did. The cloud's store is one.
type Sink interface {
	SaveAreas(ctx context.Context, areas []Area, now time.Time) ([]Result, error)
	SaveOrganisations(ctx context.Context, orgs []Organisation, now time.Time) ([]Result, error)
	RegisterVolunteers(ctx context.Context, vs []Volunteer, now time.Time) ([]Result, error)
}

// Options tune Import.
type Options struct {
	// Vault seals volunteers' ID numbers; volunteers need one.
	Vault *Vault
	// Now is the time of the import (time.Now if nil); its date is the
	// registration date of a volunteer whose row gives none.
	Now func() time.Time
	// Batch is how many rows are stored in one transaction (500 if 0).
	Batch int
	// Progress, if set, is called after each batch with the rows read.
	Progress func(rows int)
	// TmpDir is where an XLSX worksheet too large to hold in memory
	// (over 16 MB unzipped, about 20,000 volunteers) is unzipped while it
	// is read, so that memory stays flat; the file is removed when the
	// import ends. It holds what the uploaded file holds, in clear: give
	// a private directory (the command gives --data). "" is the system's.
	TmpDir string
}

// Problem is a row that was not imported.
type Problem struct {
	// Line is the row's line in the file (the header is line 1).
	Line   int
	Reason *Reason
	// Err is the full error, with a detail that holds no personal data.
	Err error
}

// String is the problem for the person who fixes the file, in Chinese and
// English: "第 5 行：缺少姓名，请填写 / line 5: missing name".
func (p Problem) String() string {
	zh, en := p.Err.Error(), p.Err.Error()
	if p.Reason != nil {
		zh = p.Reason.Zh
		if d, ok := strings.CutPrefix(en, p.Reason.En+": "); ok {
			zh += "（" + d + "）"
		}
	}
	return fmt.Sprintf("第 %d 行：%s / line %d: %s", p.Line, zh, p.Line, en)
}

// Report is what an import did.
type Report struct {
	Rows                      int
	Added, Updated, Unchanged int
	Problems                  []Problem
}

// Summary is one line of counts in Chinese and English.
func (r *Report) Summary() string {
	return fmt.Sprintf("共 %d 行：新增 %d，更新 %d，未变 %d，未导入 %d / %d rows: %d added, %d updated, %d unchanged, %d refused",
		r.Rows, r.Added, r.Updated, r.Unchanged, len(r.Problems), r.Rows, r.Added, r.Updated, r.Unchanged, len(r.Problems))
}

// ErrFile is wrapped by errors about the file as a whole (unreadable, no
// header, a required column missing), when nothing was imported.
var ErrFile = errors.New("people: cannot import the file")

// Import reads a file of kind in format from r and stores its good rows
// in sink, batch by batch, reading one row at a time so memory stays flat
// however long the file. A bad row is reported and skipped; importing the
// same file again changes nothing. The error is for the file or the
// database; rows imported before it stay imported.
func Import(ctx context.Context, sink Sink, kind Kind, format Format, r io.Reader, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if kind == KindVolunteers && opts.Vault == nil {
		return nil, fmt.Errorf("%w: volunteers need the ID-number key", ErrFile)
	}
	cols, ok := columns[kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %q (areas, orgs, volunteers)", ErrFile, kind)
	}
	src, err := openRows(format, r, opts.TmpDir)
	if err != nil {
		return nil, err
	}
	defer src.close()
	_, header, err := src.next()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: 文件是空的 / the file is empty", ErrFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	idx, err := cols.index(header)
	if err != nil {
		return nil, err
	}
	im := &importer{ctx: ctx, sink: sink, kind: kind, opts: opts, idx: idx, rep: &Report{}, now: opts.Now()}
	for {
		line, cells, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return im.rep, fmt.Errorf("%w: line %d: %w", ErrFile, line, err)
		}
		if blank(cells) {
			continue
		}
		im.rep.Rows++
		im.add(line, cells)
		if im.pending() >= opts.Batch {
			if err := im.flush(); err != nil {
				return im.rep, err
			}
		}
	}
	return im.rep, im.flush()
}

type importer struct {
	ctx  context.Context
	sink Sink
	kind Kind
	opts Options
	idx  map[string]int
	rep  *Report
	now  time.Time

	lines []int
	areas []Area
	orgs  []Organisation
	vols  []Volunteer
}

func (im *importer) pending() int { return len(im.lines) }

func (im *importer) problem(line int, err error) {
	im.rep.Problems = append(im.rep.Problems, Problem{Line: line, Reason: Explain(err), Err: err})
}

// add parses and checks one row, queueing it for the next batch.
func (im *importer) add(line int, cells []string) {
	get := func(col string) string {
		if i, ok := im.idx[col]; ok && i < len(cells) {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	var err error
	switch im.kind {
	case KindAreas:
		var a Area
		a, err = parseArea(get)
		if err == nil {
			err = a.Validate()
		}
		if err == nil {
			im.areas = append(im.areas, a)
		}
	case KindOrgs:
		o := Organisation{ID: get("id"), Name: get("name"), Type: get("type"), County: get("county"),
			Community: get("community"), Parent: get("parent")}
		if err = o.Validate(); err == nil {
			im.orgs = append(im.orgs, o)
		}
	case KindVolunteers:
		var v Volunteer
		v, err = parseVolunteer(get)
		if err == nil {
			err = v.Check(im.opts.Vault, im.now)
		}
		if err == nil {
			im.vols = append(im.vols, v)
		}
	}
	if err != nil {
		im.problem(line, err)
		return
	}
	im.lines = append(im.lines, line)
}

// flush stores the queued rows.
func (im *importer) flush() error {
	if len(im.lines) == 0 {
		return nil
	}
	var (
		res []Result
		err error
	)
	switch im.kind {
	case KindAreas:
		res, err = im.sink.SaveAreas(im.ctx, im.areas, im.now)
	case KindOrgs:
		res, err = im.sink.SaveOrganisations(im.ctx, im.orgs, im.now)
	case KindVolunteers:
		res, err = im.sink.RegisterVolunteers(im.ctx, im.vols, im.now)
	}
	if err != nil {
		return fmt.Errorf("people: import %s, rows of lines %d–%d: %w", im.kind, im.lines[0], im.lines[len(im.lines)-1], err)
	}
	for i, r := range res {
		switch r.Outcome {
		case Added:
			im.rep.Added++
		case Updated:
			im.rep.Updated++
		case Unchanged:
			im.rep.Unchanged++
		default:
			im.problem(im.lines[i], r.Err)
		}
	}
	im.lines, im.areas, im.orgs, im.vols = im.lines[:0], im.areas[:0], im.orgs[:0], im.vols[:0]
	if im.opts.Progress != nil {
		im.opts.Progress(im.rep.Rows)
	}
	return nil
}

func parseArea(get func(string) string) (Area, error) {
	a := Area{Code: get("code"), Name: get("name"), Parent: get("parent")}
	l, err := ParseLevel(get("level"))
	if err != nil {
		return a, err
	}
	a.Level = l
	if p := strings.ReplaceAll(get("population"), ",", ""); p != "" {
		if a.Population, err = strconv.ParseInt(p, 10, 64); err != nil || a.Population < 0 {
			return a, refuse(ErrBadPopulation, "%q", p)
		}
	}
	return a, nil
}

func parseVolunteer(get func(string) string) (Volunteer, error) {
	v := Volunteer{ID: get("id"), Name: get("name"), IDNumber: get("id_number"), Community: get("community"),
		Phone: get("phone"), Skills: list(get("skills")), ServiceTypes: list(get("service_types")),
		Orgs: list(get("orgs")), NationalID: get("national_id")}
	var err error
	if v.Name == "" {
		return v, ErrMissingName
	}
	if v.Gender, err = ParseGender(get("gender")); err != nil {
		return v, err
	}
	if v.BirthDate, err = parseDate(get("birth_date")); err != nil {
		return v, err
	}
	if v.Group, err = ParseGroup(get("group")); err != nil {
		return v, err
	}
	if v.GuardianConsent, err = parseBool(get("guardian_consent")); err != nil {
		return v, err
	}
	if v.RegisteredOn, err = parseDate(get("registered_on")); err != nil {
		return v, err
	}
	return v, nil
}

// list splits a cell of several values: semicolons (ASCII or full-width)
// and the enumeration comma 、.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' || r == '、' })
}

var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日",
	// excelize's rendering of Excel's built-in date format 14.
	"01-02-06"}

// parseDate reads a date as files write it; a bare number is an Excel
// serial date (a cell formatted as a number). "" is the zero time.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 2958466 {
		if t, err := excelize.ExcelDateToTime(f, false); err == nil {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, refuse(ErrBadDate, "%q", s)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "n", "否", "无", "不同意":
		return false, nil
	case "1", "true", "yes", "y", "是", "有", "同意", "已同意":
		return true, nil
	}
	return false, refuse(ErrBadBool, "%q", s)
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// columnSet is the columns of one kind: each English name (the contract of
// the issue) with the Chinese headers accepted for it, and which are
// required.
type columnSet struct {
	names    map[string]string // normalised header → English name
	required []string
}

func newColumns(required []string, cols map[string][]string) columnSet {
	cs := columnSet{names: map[string]string{}, required: required}
	for en, zh := range cols {
		cs.names[normHeader(en)] = en
		for _, z := range zh {
			cs.names[normHeader(z)] = en
		}
	}
	return cs
}

var columns = map[Kind]columnSet{
	KindAreas: newColumns([]string{"code", "name", "level"}, map[string][]string{
		"code":       {"代码", "区划代码", "编码", "区域代码"},
		"name":       {"名称", "区域名称"},
		"parent":     {"上级", "上级代码", "上级区域"},
		"level":      {"层级", "级别"},
		"population": {"常住人口", "人口"},
	}),
	KindOrgs: newColumns([]string{"id", "name"}, map[string][]string{
		"id":        {"编号", "组织编号"},
		"name":      {"名称", "组织名称"},
		"type":      {"类型", "组织类型"},
		"county":    {"县区", "县（区）", "所属县区", "所属县（区）"},
		"community": {"社区", "结对社区", "社区（村）"},
		"parent":    {"上级", "上级组织"},
	}),
	KindVolunteers: newColumns([]string{"id", "name", "id_number"}, map[string][]string{
		"id":               {"编号", "志愿者编号"},
		"name":             {"姓名"},
		"gender":           {"性别"},
		"birth_date":       {"出生日期"},
		"id_number":        {"身份证件号码", "身份证号", "身份证号码", "证件号码"},
		"community":        {"居住区域", "社区", "社区（村）", "所在社区"},
		"phone":            {"联系方式", "联系电话", "手机", "手机号", "电话"},
		"skills":           {"专业技能", "技能"},
		"service_types":    {"服务类别", "服务类型"},
		"group":            {"人员类别", "类别"},
		"orgs":             {"所属组织", "组织"},
		"national_id":      {"志愿者统一编号", "统一编号"},
		"guardian_consent": {"监护人同意", "监护人同意书"},
		"registered_on":    {"注册日期", "登记日期"},
	}),
}

// normHeader makes "Birth Date", "birth_date" and " 出生日期 " alike.
func normHeader(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")
	s = strings.NewReplacer(" ", "", "_", "", "-", "", "(", "（", ")", "）").Replace(strings.ToLower(s))
	return s
}

// index maps each known column of header to its position and checks the
// required ones are there. Unknown columns are ignored (files carry notes).
func (cs columnSet) index(header []string) (map[string]int, error) {
	idx := map[string]int{}
	for i, h := range header {
		if en, ok := cs.names[normHeader(h)]; ok {
			if _, dup := idx[en]; dup {
				return nil, fmt.Errorf("%w: 列 %q 出现两次 / column %q appears twice", ErrFile, en, en)
			}
			idx[en] = i
		}
	}
	var missing []string
	for _, r := range cs.required {
		if _, ok := idx[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		m := strings.Join(missing, ", ")
		return nil, fmt.Errorf("%w: 第 1 行缺少列 %s，请检查表头 / line 1: missing columns %s", ErrFile, m, m)
	}
	return idx, nil
}

// rowSource yields a file's rows with their line numbers.
type rowSource interface {
	next() (line int, cells []string, err error)
	close()
}

func openRows(format Format, r io.Reader, tmpDir string) (rowSource, error) {
	switch format {
	case XLSX:
		f, err := excelize.OpenReader(r, excelize.Options{TmpDir: tmpDir})
		if err != nil {
			return nil, fmt.Errorf("%w: 不是有效的 XLSX 文件 / not a valid XLSX file: %w", ErrFile, err)
		}
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			f.Close()
			return nil, fmt.Errorf("%w: no sheet", ErrFile)
		}
		rs, err := f.Rows(sheets[0])
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %w", ErrFile, err)
		}
		return &xlsxRows{f: f, rs: rs}, nil
	case CSV, "":
		cr := csv.NewReader(utf8Reader(r))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		return &csvRows{r: cr}, nil
	}
	return nil, fmt.Errorf("%w: unknown format %q", ErrFile, format)
}

// utf8Reader reads r as UTF-8, or as GB18030 (which Excel in Chinese
// writes as "CSV") when its first 64 KiB are not valid UTF-8.
func utf8Reader(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	// A multi-byte character may be cut at the end of the peek.
	for i := len(head) - 1; i >= 0 && i >= len(head)-utf8.UTFMax; i-- {
		if utf8.RuneStart(head[i]) {
			if !utf8.FullRune(head[i:]) {
				head = head[:i]
			}
			break
		}
	}
	if utf8.Valid(head) {
		return br
	}
	return simplifiedchinese.GB18030.NewDecoder().Reader(br)
}

type csvRows struct{ r *csv.Reader }

func (c *csvRows) next() (int, []string, error) {
	rec, err := c.r.Read()
	line, _ := c.r.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		return line, nil, err
	}
	return line, rec, nil
}

func (c *csvRows) close() {}

type xlsxRows struct {
	f    *excelize.File
	rs   *excelize.Rows
	line int
}

func (x *xlsxRows) next() (int, []string, error) {
	if !x.rs.Next() {
		if err := x.rs.Error(); err != nil {
			return x.line, nil, err
		}
		return x.line, nil, io.EOF
	}
	x.line++
	cells, err := x.rs.Columns()
	return x.line, cells, err
}

func (x *xlsxRows) close() {
	x.rs.Close()
	x.f.Close()
}
