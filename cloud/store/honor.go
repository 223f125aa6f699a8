package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// StationHours returns, per volunteer who checked in at station between
// from and to, the hours counted for their sessions that started at
// station in that span: the same counting as VolunteerHours (flagged
// sessions count only once approved; of two overlapping sessions the
// earlier counts, whichever station), restricted to the station and the
// span. The honor roll of a station's month is made of it.
func (s *Store) StationHours(ctx context.Context, station string, from, to time.Time) (map[string]float64, error) {
	var vols []string
	err := s.b.query(ctx, `SELECT DISTINCT volunteer FROM records WHERE station = $1 AND kind = 'check_in'
		AND volunteer <> '' AND time_ns >= $2 AND time_ns < $3`, []any{station, nanos(from), nanos(to)},
		func(r rows) error {
			var v string
			err := r.Scan(&v)
			vols = append(vols, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: volunteers of %s: %w", station, err)
	}
	out := make(map[string]float64, len(vols))
	if len(vols) == 0 {
		return out, nil
	}
	maxOf, err := s.maxSession(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: hours at %s: %w", station, err)
	}
	for chunk := range slices.Chunk(vols, 1000) {
		rows, err := s.readSessions(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: hours at %s: %w", station, err)
		}
		for v, list := range rows {
			// Counted over all the volunteer's sessions, so an overlap
			// with a session elsewhere is judged as VolunteerHours does.
			count(list, maxOf)
			var ns int64
			for _, ss := range list {
				if ss.Counted && ss.Station == station && !ss.Start.Before(from) && ss.Start.Before(to) {
					ns += ss.durationNs
				}
			}
			if ns > 0 {
				out[v] = float64(ns) / float64(time.Hour)
			}
		}
	}
	return out, nil
}
