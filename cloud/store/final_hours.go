package store

import (
	"context"
	"fmt"
	"slices"
)

// What a station's kiosk shows of a volunteer's hours (issue 12): the
// counted hours of final service records (every ledger: card, manual,
// imported), never raw session time, and the star actually awarded.

// FinalCents sums the counted hours (hundredths) of the final service
// records of volunteers, by volunteer (absent: none).
func (s *Store) FinalCents(ctx context.Context, volunteers []string) (map[string]int64, error) {
	out, err := s.sumFinalCents(ctx, "", nil, volunteers)
	if err != nil {
		return nil, fmt.Errorf("store: final hours: %w", err)
	}
	return out, nil
}

// StationFinalCents sums the counted hours (hundredths) of the final
// service records of volunteers made at station on days from (inclusive)
// to to (exclusive, "YYYY-MM-DD"), by volunteer: a station's honor roll
// (its roster names everyone who checked in there; the volunteers' index
// finds their records).
func (s *Store) StationFinalCents(ctx context.Context, station string, volunteers []string, from, to string) (map[string]int64, error) {
	out, err := s.sumFinalCents(ctx, "station = $1 AND day >= $2 AND day < $3 AND ", []any{station, from, to}, volunteers)
	if err != nil {
		return nil, fmt.Errorf("store: station's final hours: %w", err)
	}
	return out, nil
}

// sumFinalCents sums counted_cents of final records by volunteer, for
// volunteers, with the condition cond (its parameters args, numbered
// from $1; "" or ending in AND) in front of the volunteers' list.
func (s *Store) sumFinalCents(ctx context.Context, cond string, args []any, volunteers []string) (map[string]int64, error) {
	out := map[string]int64{}
	for chunk := range slices.Chunk(volunteers, 500) {
		err := s.b.query(ctx, `SELECT volunteer, SUM(counted_cents) FROM service_records
			WHERE status = 'final' AND `+cond+`volunteer IN (`+marks(len(args)+1, len(chunk))+`) GROUP BY volunteer`,
			append(slices.Clip(args), anys(chunk)...),
			func(r rows) error {
				var (
					v string
					c int64
				)
				err := r.Scan(&v, &c)
				out[v] = c
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AwardedStars is the highest star awarded (star_awards state
// 'awarded') to each of volunteers (absent: none).
func (s *Store) AwardedStars(ctx context.Context, volunteers []string) (map[string]int, error) {
	out := map[string]int{}
	for chunk := range slices.Chunk(volunteers, 500) {
		err := s.b.query(ctx, `SELECT subject, MAX(level) FROM star_awards
			WHERE subject_kind = 'volunteer' AND state = 'awarded' AND subject IN (`+marks(1, len(chunk))+`) GROUP BY subject`, anys(chunk),
			func(r rows) error {
				var (
					v string
					l int
				)
				err := r.Scan(&v, &l)
				out[v] = l
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("store: awarded stars: %w", err)
		}
	}
	return out, nil
}
