package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Ratings feed the organisation's evaluation and the volunteer's record
// (志愿服务条例 Art. 10): what residents said of the orders each served.

// Evaluation is what the orders an organisation served say of it.
// OrdersServed counts its orders completed or rated; Rated those rated,
// and MeanRating their mean (1–5, to 0.01; null when none is rated).
type Evaluation struct {
	OrdersServed int      `json:"orders_served"`
	Rated        int      `json:"rated"`
	MeanRating   *float64 `json:"mean_rating"`
}

// Mean is the mean rating, 0 when none is rated.
func (e Evaluation) Mean() float64 {
	if e.MeanRating == nil {
		return 0
	}
	return *e.MeanRating
}

// servedStates are the states of an order that was served.
const servedStates = `state IN ('completed', 'rated')`

// OrgEvaluations is every organisation's evaluation that has served an
// order, by ID.
func (s *Store) OrgEvaluations(ctx context.Context) (map[string]Evaluation, error) {
	return s.evaluations(ctx, ``, nil)
}

// OrgEvaluation is organisation id's evaluation (zero counts when it has
// served none).
func (s *Store) OrgEvaluation(ctx context.Context, id string) (Evaluation, error) {
	m, err := s.evaluations(ctx, ` AND org = $1`, []any{id})
	return m[id], err
}

func (s *Store) evaluations(ctx context.Context, where string, args []any) (map[string]Evaluation, error) {
	out := map[string]Evaluation{}
	err := s.b.query(ctx, `SELECT org, COUNT(*), SUM(CASE WHEN rating > 0 THEN 1 ELSE 0 END),
		COALESCE(SUM(CASE WHEN rating > 0 THEN rating ELSE 0 END), 0)
		FROM orders WHERE org <> '' AND `+servedStates+where+` GROUP BY org`, args, func(r rows) error {
		var (
			org           string
			n, rated, sum int64
		)
		if err := r.Scan(&org, &n, &rated, &sum); err != nil {
			return err
		}
		e := Evaluation{OrdersServed: int(n), Rated: int(rated)}
		if rated > 0 {
			m := math.Round(float64(sum)/float64(rated)*100) / 100
			e.MeanRating = &m
		}
		out[org] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: evaluations: %w", err)
	}
	return out, nil
}

// ServedOrder is an order a volunteer was assigned to and that was
// served, with the resident's rating (0: not rated) and preset comment;
// no resident's contact.
type ServedOrder struct {
	ID        int64     `json:"id"`
	Ref       string    `json:"ref"`
	Category  string    `json:"category"`
	Community string    `json:"community"`
	Station   string    `json:"station"`
	Org       string    `json:"org"`
	State     string    `json:"state"`
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment"`
	Since     time.Time `json:"since"`
}

// VolunteerOrders is the orders volunteer id was assigned to that were
// served (completed or rated), oldest first.
func (s *Store) VolunteerOrders(ctx context.Context, id string) ([]ServedOrder, error) {
	out := []ServedOrder{}
	err := s.b.query(ctx, `SELECT o.id, o.ref, o.category, o.community, o.station, o.org, o.state, o.rating, o.comment, o.since_ns
		FROM orders o JOIN order_volunteers ov ON ov.order_id = o.id
		WHERE ov.volunteer = $1 AND o.`+servedStates+` ORDER BY o.since_ns, o.id`, []any{id}, func(r rows) error {
		var (
			o     ServedOrder
			since int64
		)
		err := r.Scan(&o.ID, &o.Ref, &o.Category, &o.Community, &o.Station, &o.Org, &o.State, &o.Rating, &o.Comment, &since)
		o.Since = fromNanos(since)
		out = append(out, o)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: orders of volunteer %s: %w", id, err)
	}
	return out, nil
}
