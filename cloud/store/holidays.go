package store

import (
	"context"
	"fmt"
)

// Kinds of calendar exception (table holidays, migration 15).
const (
	// HolidayOff is a public holiday: a weekday not worked.
	HolidayOff = "holiday"
	// HolidayWorkday is a weekend day worked instead (调休).
	HolidayWorkday = "workday"
)

// Holiday is one exception to the Monday-to-Friday week: Day is
// YYYY-MM-DD, Name what it is (国庆节, 国庆节调休上班).
type Holiday struct {
	Day  string `json:"day"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Holidays lists every exception entered, by day.
func (s *Store) Holidays(ctx context.Context) ([]Holiday, error) {
	var out []Holiday
	err := s.b.query(ctx, `SELECT day, kind, name FROM holidays ORDER BY day`, nil, func(r rows) error {
		var h Holiday
		err := r.Scan(&h.Day, &h.Kind, &h.Name)
		out = append(out, h)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: holidays: %w", err)
	}
	return out, nil
}

// SetHolidays replaces the exceptions of year (the days starting
// "YEAR-") with days, in one transaction.
func (s *Store) SetHolidays(ctx context.Context, year int, days []Holiday) error {
	prefix := fmt.Sprintf("%04d-", year)
	err := s.b.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `DELETE FROM holidays WHERE day LIKE $1`, prefix+"%"); err != nil {
			return err
		}
		for _, h := range days {
			if len(h.Day) != 10 || h.Day[:5] != prefix {
				return fmt.Errorf("day %q is not in %d", h.Day, year)
			}
			if _, err := q.exec(ctx, `INSERT INTO holidays (day, kind, name) VALUES ($1, $2, $3)`, h.Day, h.Kind, h.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set holidays of %d: %w", year, err)
	}
	return nil
}
