// Package history imports the service records the city already holds in
// other systems (issue 12 point 8, `leifeng-cloud import records FILE`):
// a CSV (UTF-8 or GB18030) or XLSX file read row by row with the people
// import's reader, each good row stored as a final record of the imported
// ledger ('imp:' + the file's id, rule version 0), each bad row reported
// with its line and the reason in Chinese and English.
//
// Importing a file twice changes nothing: a record whose id is stored is
// left as it is. Memory stays flat however long the file, but for the
// set of ids seen (to refuse an id given twice in the file), 8 bytes of
// hash and 4 of line a row.
//
// Hours: the file's hours are what the old system counted, kept as they
// are (in hundredths), with raw_seconds the span from start to end. They
// may be less than the span (breaks and travel do not count, 民函〔2012〕
// 340号), but not more than the span plus Tolerance: the rounding bands
// of the plan round 45 minutes up to an hour, and older systems rounded to
// the half hour; more than that is how bought hours look.
package history

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// Tolerance is how many hundredths of an hour a row's hours may exceed
// the span from its start to its end: half an hour.
const Tolerance = 50

// RuleNote is the rule note of every imported record.
const RuleNote = "导入的历史记录"

// IDPrefix starts the ID of every imported record.
const IDPrefix = "imp:"

// Limits of a row's fields, in characters.
const (
	MaxID       = 64
	MaxActivity = 100
	MaxContent  = 1000
	MaxPerson   = 50
)

// Sink looks up what rows name and stores the good ones; the cloud's
// store is one.
type Sink interface {
	LookupImportRefs(ctx context.Context, volunteers, orgs, communities, stations []string) (*store.ImportRefs, error)
	ImportServiceRecords(ctx context.Context, recs []store.ServiceRecord, who string, now time.Time) ([]bool, error)
}

// Options tune Import.
type Options struct {
	// Who imports: the records' entered_by and their events' who.
	Who string
	// Now is the time of the import (time.Now if nil): the records'
	// final time; a service date after its day is refused.
	Now func() time.Time
	// Batch is how many rows are stored in one transaction (500 if 0, as
	// the command's --batch).
	Batch int
	// Progress, if set, is called after each batch with the rows read.
	Progress func(rows int)
	// TmpDir is as people.Options.TmpDir: where a large XLSX worksheet
	// is unzipped while it is read (give a private directory).
	TmpDir string
}

// Report is what an import did.
type Report struct {
	Rows int
	// Added rows were stored; Unchanged ones were stored already.
	Added, Unchanged int
	Problems         []people.Problem
}

// Summary is one line of counts in Chinese and English.
func (r *Report) Summary() string {
	return fmt.Sprintf("共 %d 行：新增 %d，已有 %d，未导入 %d / %d rows: %d added, %d already stored, %d refused",
		r.Rows, r.Added, r.Unchanged, len(r.Problems), r.Rows, r.Added, r.Unchanged, len(r.Problems))
}

// required are the fields a row must fill, with their Chinese names for
// the report.
var required = []struct{ en, zh string }{
	{"id", "编号"}, {"volunteer", "志愿者编号"}, {"org", "活动组织单位"}, {"community", "社区（村）代码"},
	{"activity", "活动名称"}, {"date", "日期"}, {"start", "开始时间"}, {"end", "结束时间"}, {"hours", "服务时长"},
}

// columns is the file's header: the English names, and the
// Chinese headers of the national record (民政部令第67号 Art. 7).
var columns = people.NewColumns(
	[]string{"id", "volunteer", "org", "community", "activity", "date", "start", "end", "hours"},
	map[string][]string{
		"id":        {"编号", "记录编号"},
		"volunteer": {"志愿者", "志愿者编号"},
		"org":       {"组织", "组织编号", "活动组织单位"},
		"community": {"社区", "社区（村）", "服务社区", "地点"},
		"station":   {"站点", "站点编号", "服务站点"},
		"activity":  {"活动", "活动名称"},
		"content":   {"内容", "服务内容"},
		"date":      {"日期", "服务日期"},
		"start":     {"开始", "开始时间"},
		"end":       {"结束", "结束时间"},
		"hours":     {"时长", "服务时长", "小时"},
		"lead":      {"负责人", "活动负责人"},
		"recorder":  {"记录人"},
	})

// Import reads a file of service records in format from r and stores its
// good rows in sink, batch by batch. A bad row is reported and skipped;
// the error is for the file as a whole (wrapping people.ErrFile) or the
// database; rows stored before it stay stored.
func Import(ctx context.Context, sink Sink, format people.Format, r io.Reader, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	src, err := people.OpenRows(format, r, opts.TmpDir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	_, header, err := src.Next()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: 文件是空的 / the file is empty", people.ErrFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", people.ErrFile, err)
	}
	idx, err := columns.Index(header)
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	im := &importer{ctx: ctx, sink: sink, opts: opts, idx: idx, rep: &Report{}, now: now,
		today: calendar.Day(now), seed: maphash.MakeSeed(), seen: map[uint64]int32{}}
	for {
		line, cells, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return im.rep, fmt.Errorf("%w: line %d: %w", people.ErrFile, line, err)
		}
		if people.Blank(cells) {
			continue
		}
		im.rep.Rows++
		im.add(line, cells)
		if len(im.batch) >= opts.Batch {
			if err := im.flush(); err != nil {
				return im.rep, err
			}
		}
	}
	err = im.flush()
	// A row's own faults are found as it is read, what it names at its
	// batch's end: the report is in the file's order.
	slices.SortStableFunc(im.rep.Problems, func(a, b people.Problem) int { return a.Line - b.Line })
	return im.rep, err
}

type importer struct {
	ctx   context.Context
	sink  Sink
	opts  Options
	idx   map[string]int
	rep   *Report
	now   time.Time
	today string

	// seen maps a hash of each id read to its line: an id given twice
	// is refused without keeping a million strings. Two ids sharing a
	// 64-bit hash in a file of n rows: about n²/2⁶⁵ (3·10⁻⁸ for a
	// million), when the second is refused as a repeat.
	seed maphash.Seed
	seen map[uint64]int32

	batch []row
	recs  []store.ServiceRecord
}

type row struct {
	line int
	rec  store.ServiceRecord
}

func (im *importer) problem(line int, err error) {
	im.rep.Problems = append(im.rep.Problems, people.Problem{Line: line, Reason: people.Explain(err), Err: err})
}

// add parses and checks one row on its own, queueing it for the next
// batch, which checks what it names against the database.
func (im *importer) add(line int, cells []string) {
	get := func(col string) string {
		if i, ok := im.idx[col]; ok && i < len(cells) {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	id := get("id")
	if id != "" {
		h := maphash.String(im.seed, id)
		if first, dup := im.seen[h]; dup {
			im.problem(line, refuse(ErrDuplicateID, "line %d", first))
			return
		}
		im.seen[h] = int32(line)
	}
	rec, err := im.parse(get)
	if err != nil {
		im.problem(line, err)
		return
	}
	im.batch = append(im.batch, row{line: line, rec: rec})
}

func (im *importer) parse(get func(string) string) (store.ServiceRecord, error) {
	for _, col := range required {
		if get(col.en) == "" {
			return store.ServiceRecord{}, refuse(ErrMissing, "%s %s", col.en, col.zh)
		}
	}
	for _, f := range []struct {
		col string
		max int
	}{{"id", MaxID}, {"activity", MaxActivity}, {"content", MaxContent}, {"lead", MaxPerson}, {"recorder", MaxPerson}} {
		if n := utf8.RuneCountInString(get(f.col)); n > f.max {
			return store.ServiceRecord{}, refuse(ErrTooLong, "%s: %d > %d", f.col, n, f.max)
		}
	}
	r := store.ServiceRecord{ID: IDPrefix + get("id"), Ledger: store.LedgerImported, Volunteer: get("volunteer"),
		Org: get("org"), Community: get("community"), Station: get("station"), ActivityName: get("activity"),
		Content: get("content"), Lead: get("lead"), Recorder: get("recorder"),
		RuleNote: RuleNote, Status: store.StatusFinal, Final: im.now, EnteredBy: im.opts.Who}
	d, err := people.ParseDate(get("date"))
	if err != nil {
		return r, err
	}
	r.Day = d.Format(calendar.Layout)
	if r.Day > im.today {
		return r, refuse(ErrFutureDate, "%s", r.Day)
	}
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, calendar.CST)
	start, err := parseClock(get("start"), d)
	if err != nil {
		return r, err
	}
	end, err := parseClock(get("end"), d)
	if err != nil {
		return r, err
	}
	if end <= start {
		return r, refuse(ErrEndBeforeStart, "%s–%s", get("start"), get("end"))
	}
	r.Start, r.End = day.Add(start), day.Add(end)
	r.RawSeconds = int64((end - start) / time.Second)
	if r.CountedCents, err = parseHours(get("hours")); err != nil {
		return r, err
	}
	if span := r.RawSeconds * 100 / 3600; r.CountedCents > span+Tolerance {
		return r, refuse(ErrHoursOverSpan, "%s h, %s–%s", get("hours"), get("start"), get("end"))
	}
	return r, nil
}

// parseClock reads a time of day on day: 9:30, 09:30:00, 9时30分, an
// Excel time (a fraction of a day, as a cell formatted as a number holds
// it), or a date and time on that day ("2025-04-30 09:30", or
// "4/30/25 09:30" as excelize renders a date-time cell).
func parseClock(s string, day time.Time) (time.Duration, error) {
	if i := strings.LastIndexAny(s, " T"); i > 0 {
		d, err := people.ParseDate(strings.TrimSpace(s[:i]))
		if err != nil {
			d, err = time.Parse("1/2/06", strings.TrimSpace(s[:i]))
		}
		if err != nil || !d.Equal(day) {
			return 0, refuse(ErrBadTime, "%q is not a time on %s", s, day.Format(calendar.Layout))
		}
		s = s[i+1:]
	}
	for _, l := range []string{"15:04", "15:04:05", "15时04分", "15时4分", "15时", "15.04"} {
		if t, err := time.Parse(l, s); err == nil {
			return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1 {
		return (time.Duration(math.Round(f*86400)) * time.Second).Truncate(time.Second), nil
	}
	return 0, refuse(ErrBadTime, "%q", s)
}

// parseHours reads hours (1.5, 1.5小时, 2h) into hundredths.
func parseHours(s string) (int64, error) {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "小时"), "h"), "时"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 24 {
		return 0, refuse(ErrBadHours, "%q", s)
	}
	return int64(math.Round(f * 100)), nil
}

// flush checks the queued rows' references in one lookup and stores the
// good ones.
func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	var vols, orgs, comms, stations []string
	seen := map[string]bool{}
	add := func(list *[]string, kind, key string) {
		if key != "" && !seen[kind+key] {
			seen[kind+key] = true
			*list = append(*list, key)
		}
	}
	for i := range im.batch {
		r := &im.batch[i].rec
		add(&vols, "v", r.Volunteer)
		add(&orgs, "o", r.Org)
		add(&comms, "c", r.Community)
		add(&stations, "s", r.Station)
	}
	refs, err := im.sink.LookupImportRefs(im.ctx, vols, orgs, comms, stations)
	if err != nil {
		return fmt.Errorf("history: import, rows of lines %d–%d: %w", im.batch[0].line, im.batch[len(im.batch)-1].line, err)
	}
	im.recs = im.recs[:0]
	lines := make([]int, 0, len(im.batch))
	for i := range im.batch {
		b := &im.batch[i]
		if err := resolve(&b.rec, refs); err != nil {
			im.problem(b.line, err)
			continue
		}
		im.recs = append(im.recs, b.rec)
		lines = append(lines, b.line)
	}
	if len(im.recs) > 0 {
		inserted, err := im.sink.ImportServiceRecords(im.ctx, im.recs, im.opts.Who, im.now)
		if err != nil {
			return fmt.Errorf("history: import, rows of lines %d–%d: %w", lines[0], lines[len(lines)-1], err)
		}
		for _, in := range inserted {
			if in {
				im.rep.Added++
			} else {
				im.rep.Unchanged++
			}
		}
	}
	im.batch = im.batch[:0]
	if im.opts.Progress != nil {
		im.opts.Progress(im.rep.Rows)
	}
	return nil
}

// resolve checks what r names is stored and fills in the names the
// national record shows: the organisation's (活动组织单位) and the place
// (the station's name, or the community's).
func resolve(r *store.ServiceRecord, refs *store.ImportRefs) error {
	if !refs.Volunteers[r.Volunteer] {
		return refuse(ErrUnknownVolunteer, "%s", r.Volunteer)
	}
	name, ok := refs.Orgs[r.Org]
	if !ok {
		return fmt.Errorf("%w: %s", people.ErrUnknownOrg, r.Org)
	}
	r.OrgName = name
	place, ok := refs.Communities[r.Community]
	if !ok {
		return fmt.Errorf("%w: %s", people.ErrUnknownCommunity, r.Community)
	}
	r.Place = place
	if r.Station != "" {
		st, ok := refs.Stations[r.Station]
		switch {
		case !ok:
			return refuse(ErrUnknownStation, "%s", r.Station)
		case st.Community != r.Community:
			return refuse(ErrStationElsewhere, "%s in %q", r.Station, st.Community)
		}
		if st.Name != "" {
			r.Place = st.Name
		}
	}
	return nil
}
