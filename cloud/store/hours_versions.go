package store

import (
	"context"
	"fmt"
	"slices"
)

// CardRuleVersions maps the card-ledger records of volunteers to the rule
// version that counted them (record id → version): the hours pass counts
// a stored record again under its own version, so a later tap of the
// same day does not move it to a newer one (only `leifeng-cloud hours
// recount` does).
func (s *Store) CardRuleVersions(ctx context.Context, volunteers []string) (map[string]int64, error) {
	out := map[string]int64{}
	for chunk := range slices.Chunk(volunteers, 1000) {
		err := s.b.query(ctx, `SELECT id, rule_version FROM service_records
			WHERE ledger = 'card' AND volunteer IN (`+marks(1, len(chunk))+`)`, anys(chunk),
			func(r rows) error {
				var (
					id string
					v  int64
				)
				err := r.Scan(&id, &v)
				out[id] = v
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("store: card rule versions: %w", err)
		}
	}
	return out, nil
}
