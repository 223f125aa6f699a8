package store

import (
	"context"
	"time"
)

// The two review queues agree (issue 12): a decision on a flagged
// session in the old queue (ReviewSession) marks its volunteer-day for
// the hours pass, and a decision on a card record held as 'flagged' in
// the hours queue writes the session's session_reviews row in the same
// transaction (ChangeServiceRecordAnd with SessionReviewIn).

// SessionReviewIn stores a person's decision on the session of checkIn
// inside the transaction q (ChangeServiceRecordAnd's also).
func SessionReviewIn(ctx context.Context, q Querier, checkIn string, approved bool, reviewer, note string, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO session_reviews (check_in, approved, reviewer, note, at_ns)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (check_in) DO UPDATE SET approved = excluded.approved, reviewer = excluded.reviewer,
			note = excluded.note, at_ns = excluded.at_ns`, checkIn, approved, reviewer, note, nanos(at))
	return err
}

// ChangeServiceRecordAnd is ChangeServiceRecord with also run on the
// changed record inside the same transaction (its error undoes the
// change).
func (s *Store) ChangeServiceRecordAnd(ctx context.Context, id string, now time.Time, fn func(r *ServiceRecord) (ServiceRecordEvent, error),
	also func(ctx context.Context, q Querier, after *ServiceRecord) error) (*ServiceRecord, error) {
	var after *ServiceRecord
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		if after, err = s.changeServiceRecord(ctx, q, id, now, fn); err != nil {
			return err
		}
		if also != nil {
			return also(ctx, exported{q, s.b.dialect()}, after)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}
