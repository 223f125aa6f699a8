package store

import "context"

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	return s.b.query(ctx, `SELECT 1`, nil, func(r rows) error {
		var one int
		return r.Scan(&one)
	})
}
