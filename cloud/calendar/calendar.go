// Package calendar is the Chinese working-day calendar the hours' rules
// count in: the notice period (公示, 3 working days by default) and the
// deadline for entering a record (10 working days, 民政部令第67号 Art. 11).
//
// Monday to Friday are working days, except the public holidays the State
// Council announces each year; some weekend days are worked instead
// (调休). Both are data, entered per year (store.Holiday), never code: a
// year nobody entered counts weekdays only.
//
// Days are China Standard Time (UTC+8, no daylight saving), the time of
// every station.
package calendar

import (
	"context"
	"time"

	"leifeng/cloud/store"
)

// CST is China Standard Time.
var CST = time.FixedZone("CST", 8*3600)

// Layout is how days are written: 2026-10-01.
const Layout = time.DateOnly

// Calendar says which days are working days.
type Calendar struct {
	kind map[string]string // day → store.HolidayOff or store.HolidayWorkday
}

// New is the calendar of the given exceptions.
func New(days []store.Holiday) *Calendar {
	c := &Calendar{kind: make(map[string]string, len(days))}
	for _, d := range days {
		c.kind[d.Day] = d.Kind
	}
	return c
}

// Load reads the calendar from the database.
func Load(ctx context.Context, s *store.Store) (*Calendar, error) {
	days, err := s.Holidays(ctx)
	if err != nil {
		return nil, err
	}
	return New(days), nil
}

// Day is t's day in China Standard Time, as text.
func Day(t time.Time) string { return t.In(CST).Format(Layout) }

// Midnight is the start of t's day in China Standard Time.
func Midnight(t time.Time) time.Time {
	y, m, d := t.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, CST)
}

// Working reports whether t's day (China Standard Time) is a working day.
func (c *Calendar) Working(t time.Time) bool {
	switch c.kind[Day(t)] {
	case store.HolidayOff:
		return false
	case store.HolidayWorkday:
		return true
	}
	wd := t.In(CST).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// After is the end of the n-th working day after t's day (t's own day
// not counted): the midnight, China Standard Time, that starts the next
// day. A record put in notice on a Friday with n = 3 is final at the
// start of Thursday (Monday, Tuesday, Wednesday); a holiday on the Monday
// moves that to Friday. n ≤ 0 is the end of t's day.
func (c *Calendar) After(t time.Time, n int) time.Time {
	day := Midnight(t)
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if c.Working(day) {
			counted++
		}
	}
	return day.AddDate(0, 0, 1)
}

// WorkingDaysBetween is the number of working days after from's day up to
// and including to's day (0 when to is not after from's day).
func (c *Calendar) WorkingDaysBetween(from, to time.Time) int {
	n := 0
	end := Midnight(to)
	for day := Midnight(from).AddDate(0, 0, 1); !day.After(end); day = day.AddDate(0, 0, 1) {
		if c.Working(day) {
			n++
		}
	}
	return n
}
