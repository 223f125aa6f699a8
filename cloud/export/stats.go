package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// StatColumns are the statistics export's columns.
var StatColumns = []string{"区域代码", "区域", "注册志愿者", "活跃志愿者", "服务人次", "服务时长（小时）", "志愿服务组织", "服务站点"}

// StatRow is one area's line of the statistics.
type StatRow struct {
	Code, Name string
	store.CommunityYear
}

// Strings is the line as text.
func (s *StatRow) Strings() []string {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{s.Code, s.Name, i(s.Registered), i(s.Active), i(s.PersonTimes), Hours(s.CountedCents), i(s.Orgs), i(s.Stations)}
}

// StatsSource is what the statistics read (a *store.Store).
type StatsSource interface {
	AllAreas(ctx context.Context) ([]people.Area, error)
	YearCounts(ctx context.Context, from, to string, end time.Time) (map[string]*store.CommunityYear, error)
}

// ErrYear is returned for a year that has not begun.
var ErrYear = errors.New("export: the year has not begun")

// ErrArea is returned for an unknown area.
var ErrArea = errors.New("export: unknown area")

// TotalCode is the code column of the total row.
const TotalCode = "合计"

// Statistics is the year's lines for area: one per area directly below
// it, by code, then the total of the whole area (Code TotalCode). The
// current year is counted up to now.
func Statistics(ctx context.Context, src StatsSource, area string, year int, now time.Time) ([]StatRow, error) {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, calendar.CST)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, calendar.CST)
	if !now.After(start) {
		return nil, fmt.Errorf("%w: %d", ErrYear, year)
	}
	if now.Before(end) {
		end = now
	}
	areas, err := src.AllAreas(ctx)
	if err != nil {
		return nil, err
	}
	parent := map[string]string{}
	var (
		rows  []StatRow
		index = map[string]int{}
		found bool
		self  people.Area
	)
	for _, a := range areas {
		parent[a.Code] = a.Parent
		if a.Code == area {
			found, self = true, a
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrArea, area)
	}
	for _, a := range areas {
		if a.Parent == area {
			index[a.Code] = len(rows)
			rows = append(rows, StatRow{Code: a.Code, Name: a.Name})
		}
	}
	counts, err := src.YearCounts(ctx, start.Format(time.DateOnly), calendar.Day(end.Add(-time.Nanosecond)), end)
	if err != nil {
		return nil, err
	}
	total := StatRow{Code: TotalCode, Name: self.Name}
	for code, c := range counts {
		// Walk up to the chosen area; the child passed on the way gets it.
		child, in := "", false
		for x, steps := code, 0; x != "" && steps < 16; x, steps = parent[x], steps+1 {
			if x == area {
				in = true
				break
			}
			child = x
		}
		if !in {
			continue
		}
		add(&total.CommunityYear, c)
		if i, ok := index[child]; ok {
			add(&rows[i].CommunityYear, c)
		}
	}
	sortRows(rows)
	return append(rows, total), nil
}

func add(to *store.CommunityYear, c *store.CommunityYear) {
	to.Registered += c.Registered
	to.Active += c.Active
	to.PersonTimes += c.PersonTimes
	to.CountedCents += c.CountedCents
	to.Orgs += c.Orgs
	to.Stations += c.Stations
}

func sortRows(rows []StatRow) {
	slices.SortFunc(rows, func(a, b StatRow) int { return strings.Compare(a.Code, b.Code) })
}

// WriteStatsXLSX writes the statistics as a workbook with one sheet,
// numbers as numbers.
func WriteStatsXLSX(w io.Writer, rows []StatRow) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", StatsSheet); err != nil {
		return err
	}
	if err := f.SetSheetRow(StatsSheet, "A1", &StatColumns); err != nil {
		return err
	}
	for i, r := range rows {
		vals := []any{r.Code, r.Name, r.Registered, r.Active, r.PersonTimes, float64(r.CountedCents) / 100, r.Orgs, r.Stations}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(StatsSheet, cell, &vals); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// WriteStatsCSV writes the statistics as CSV in encoding.
func WriteStatsCSV(w io.Writer, encoding string, rows []StatRow) error {
	cw, err := csvWriter(w, encoding)
	if err != nil {
		return err
	}
	cw.Write(StatColumns)
	for i := range rows {
		cw.Write(defuse(rows[i].Strings()))
	}
	cw.Flush()
	return cw.Error()
}
