package notice

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
)

// The 2026 calendar shipped with the cloud, loaded on first start when
// nobody has entered that year. It was entered from memory of the State
// Council's notice (国办发明电〔2025〕7号): 元旦 1–3 Jan (4 Jan worked),
// 春节 15–23 Feb (14 and 28 Feb worked), 清明 4–6 Apr, 劳动节 1–5 May
// (9 May worked), 端午 19–21 Jun, 中秋 25–27 Sep, 国庆 1–7 Oct (20 Sep
// and 10 Oct worked) — to be checked against the State Council notice;
// a city administrator corrects it with `holidays set` or the console.
//
//go:embed holidays/*.csv
var defaults embed.FS

// LineError is one refused line of a holiday file: Line counts from 1
// as an editor shows it; Zh says what is wrong and how to put it right.
type LineError struct {
	Line int
	Zh   string
}

func (e LineError) Error() string { return fmt.Sprintf("第%d行：%s", e.Line, e.Zh) }

// FileError is every refused line of a file; nothing of it is stored.
type FileError struct{ Lines []LineError }

func (e *FileError) Error() string {
	s := make([]string, len(e.Lines))
	for i, l := range e.Lines {
		s[i] = l.Error()
	}
	return strings.Join(s, "\n")
}

// kinds are the words a file may use for a kind.
var kinds = map[string]string{
	"holiday": store.HolidayOff, "休": store.HolidayOff, "放假": store.HolidayOff,
	"workday": store.HolidayWorkday, "班": store.HolidayWorkday, "上班": store.HolidayWorkday,
}

// ParseHolidays reads a year's calendar as CSV: day,kind,name — day
// 2026-10-01, kind holiday (or 休) for a weekday off or workday (or 班)
// for a weekend day worked, name what it is (国庆节). A header row and
// lines starting with # are skipped. Every bad line is reported (a
// *FileError), so that one pass over the file shows all to correct.
func ParseHolidays(r io.Reader, year int) ([]store.Holiday, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.Comment, cr.FieldsPerRecord, cr.TrimLeadingSpace = '#', -1, true
	var (
		out  []store.Holiday
		bad  []LineError
		seen = map[string]int{}
	)
	for first := true; ; first = false {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, err
			}
			bad = append(bad, LineError{pe.Line, "不是正确的 CSV（引号不成对？），请每行写成：日期,类型,名称"})
			continue
		}
		line, _ := cr.FieldPos(0)
		for i := range row {
			row[i] = strings.TrimSpace(row[i])
		}
		if first && (strings.EqualFold(row[0], "day") || row[0] == "日期") {
			continue
		}
		if len(row) == 1 && row[0] == "" {
			continue
		}
		h, zh := holidayRow(row, year)
		if zh == "" {
			if prev, dup := seen[h.Day]; dup {
				zh = fmt.Sprintf("%s 在第%d行已经写过，每天只写一行", h.Day, prev)
			}
		}
		if zh != "" {
			bad = append(bad, LineError{line, zh})
			continue
		}
		seen[h.Day] = line
		out = append(out, h)
	}
	if len(bad) > 0 {
		return nil, &FileError{bad}
	}
	slices.SortFunc(out, func(a, b store.Holiday) int { return strings.Compare(a.Day, b.Day) })
	return out, nil
}

// holidayRow checks one row, returning what is wrong in Chinese ("" ok).
func holidayRow(row []string, year int) (store.Holiday, string) {
	if len(row) < 2 || len(row) > 3 {
		return store.Holiday{}, fmt.Sprintf("应有 2 或 3 列（日期,类型,名称），这一行有 %d 列", len(row))
	}
	t, err := time.ParseInLocation(calendar.Layout, row[0], calendar.CST)
	if err != nil {
		return store.Holiday{}, fmt.Sprintf("日期“%s”看不懂，请写成 %d-10-01 这样的日期", row[0], year)
	}
	if t.Year() != year {
		return store.Holiday{}, fmt.Sprintf("%s 不在 %d 年，请放到那一年的文件里", row[0], year)
	}
	kind, ok := kinds[strings.ToLower(row[1])]
	if !ok {
		return store.Holiday{}, fmt.Sprintf("类型“%s”不对，请写 holiday（或“休”）表示放假，workday（或“班”）表示调休上班", row[1])
	}
	weekend := t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
	if kind == store.HolidayWorkday && !weekend {
		return store.Holiday{}, fmt.Sprintf("%s 是%s，本来就是工作日，不用写成调休上班", row[0], weekdayZh[t.Weekday()])
	}
	h := store.Holiday{Day: row[0], Kind: kind}
	if len(row) == 3 {
		h.Name = row[2]
	}
	if len([]rune(h.Name)) > 40 {
		return store.Holiday{}, "名称太长了，请控制在 40 字以内"
	}
	if h.Name == "" {
		h.Name = map[string]string{store.HolidayOff: "节假日", store.HolidayWorkday: "调休上班"}[kind]
	}
	return h, ""
}

var weekdayZh = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// CheckHolidays checks days given otherwise than as a file (the API's
// JSON) as ParseHolidays checks a file's lines, numbering them from 1.
func CheckHolidays(days []store.Holiday, year int) ([]store.Holiday, error) {
	var b strings.Builder
	w := csv.NewWriter(&b)
	for _, d := range days {
		w.Write([]string{d.Day, d.Kind, d.Name})
	}
	w.Flush()
	return ParseHolidays(strings.NewReader(b.String()), year)
}

// YearOf is the holidays of year among days.
func YearOf(days []store.Holiday, year int) []store.Holiday {
	prefix := fmt.Sprintf("%04d-", year)
	var out []store.Holiday
	for _, d := range days {
		if strings.HasPrefix(d.Day, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// DefaultYears are the years whose calendar the cloud ships.
func DefaultYears() []int {
	entries, _ := defaults.ReadDir("holidays")
	var years []int
	for _, e := range entries {
		if y, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".csv")); err == nil {
			years = append(years, y)
		}
	}
	return years
}

// DefaultHolidays is the shipped calendar of year (nil if none).
func DefaultHolidays(year int) ([]store.Holiday, error) {
	data, err := defaults.ReadFile(path.Join("holidays", strconv.Itoa(year)+".csv"))
	if err != nil {
		return nil, nil
	}
	return ParseHolidays(bytes.NewReader(data), year)
}

// EnsureHolidays stores the shipped calendar of each year that has no
// day entered yet, and returns the years it stored. A year someone
// entered, even differently, is left as it is.
func EnsureHolidays(ctx context.Context, s *store.Store) ([]int, error) {
	have, err := s.Holidays(ctx)
	if err != nil {
		return nil, err
	}
	var stored []int
	for _, y := range DefaultYears() {
		if len(YearOf(have, y)) > 0 {
			continue
		}
		days, err := DefaultHolidays(y)
		if err != nil {
			return stored, fmt.Errorf("notice: the shipped calendar of %d: %w", y, err)
		}
		if err := s.SetHolidays(ctx, y, days); err != nil {
			return stored, err
		}
		stored = append(stored, y)
	}
	return stored, nil
}
