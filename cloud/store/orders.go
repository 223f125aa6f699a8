package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"leifeng/cloud/orders"
	"leifeng/gateway/wire"
)

// ErrNoOrder is returned for an order that does not exist.
var ErrNoOrder = errors.New("store: no such order")

// OrderFilter selects orders. Empty fields select everything; the
// caller fills Communities, Stations or Orgs from the user's scope.
type OrderFilter struct {
	// AnyOf limits to orders in one of these communities, at one of
	// these stations, or dispatched to one of these organisations
	// (nil = no limit by that field; a non-nil empty list matches none).
	Communities, Stations, Orgs []string
	Community                   string
	State                       orders.State
	Volunteer                   string
	Limit, Offset               int
}

const orderCols = `id, ref, station, community, category, phone, note, preferred, source, record_id, state, org,
	volunteers, reason, duplicate_of, rating, comment, level, created_ns, since_ns`

func scanOrder(r rows) (orders.Order, error) {
	var (
		o              orders.Order
		vols           string
		created, since int64
	)
	err := r.Scan(&o.ID, &o.Ref, &o.Station, &o.Community, &o.Category, &o.Phone, &o.Note, &o.Preferred, &o.Source,
		&o.RecordID, &o.State, &o.Org, &vols, &o.Reason, &o.DuplicateOf, &o.Rating, &o.Comment, &o.Level, &created, &since)
	if err != nil {
		return o, err
	}
	o.CreatedAt, o.Since = fromNanos(created), fromNanos(since)
	return o, json.Unmarshal([]byte(vols), &o.Volunteers)
}

// CreateOrder stores o as a new submitted order, with its first event,
// and returns its ID. o.Community, when empty, is the station's.
func (s *Store) CreateOrder(ctx context.Context, o *orders.Order, who string, now time.Time) (int64, error) {
	err := s.b.inTx(ctx, func(q querier) error {
		return createOrder(ctx, q, o, who, now)
	})
	if err != nil {
		return 0, fmt.Errorf("store: create order: %w", err)
	}
	return o.ID, nil
}

func createOrder(ctx context.Context, q querier, o *orders.Order, who string, now time.Time) error {
	if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM orders`, nil,
		func(r rows) error { return r.Scan(&o.ID) }); err != nil {
		return err
	}
	if o.Community == "" && o.Station != "" {
		if err := q.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{o.Station},
			func(r rows) error { return r.Scan(&o.Community) }); err != nil {
			return err
		}
	}
	if o.Ref == "" {
		o.Ref = fmt.Sprintf("XQ-C%05d", o.ID)
	}
	o.State, o.Level = orders.Submitted, 0
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	o.Since = now
	vols, _ := json.Marshal(orEmpty(o.Volunteers))
	if _, err := q.exec(ctx, `INSERT INTO orders (`+orderCols+`, updated_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		o.ID, o.Ref, o.Station, o.Community, o.Category, o.Phone, o.Note, o.Preferred, string(o.Source), o.RecordID,
		string(o.State), o.Org, string(vols), o.Reason, o.DuplicateOf, o.Rating, o.Comment, o.Level,
		nanos(o.CreatedAt), nanos(o.Since), nanos(now)); err != nil {
		return err
	}
	return addOrderEvent(ctx, q, orders.Event{Order: o.ID, At: now, Who: who, Action: orders.Submit, To: orders.Submitted,
		Detail: "source=" + string(o.Source)})
}

func addOrderEvent(ctx context.Context, q querier, ev orders.Event) error {
	_, err := q.exec(ctx, `INSERT INTO order_events (order_id, seq, at_ns, who, action, from_state, to_state, reason, detail)
		SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM order_events WHERE order_id = $1`,
		ev.Order, nanos(ev.At), ev.Who, string(ev.Action), string(ev.From), string(ev.To), ev.Reason, ev.Detail)
	return err
}

// IntakeOrders turns the kiosks' service_request records that are not yet
// orders into submitted orders; running it again changes nothing. It
// returns how many orders it made.
func (s *Store) IntakeOrders(ctx context.Context, now time.Time) (int, error) {
	type req struct {
		id, station, service, phone, note string
		seq, at                           int64
	}
	var reqs []req
	err := s.b.query(ctx, `SELECT r.id, r.station, r.service, r.phone, r.note, r.seq, r.time_ns FROM records r
		WHERE r.kind = 'service_request' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.record_id = r.id AND o.record_id <> '')
		ORDER BY r.received_ns, r.id LIMIT 1000`, nil, func(r rows) error {
		var x req
		err := r.Scan(&x.id, &x.station, &x.service, &x.phone, &x.note, &x.seq, &x.at)
		reqs = append(reqs, x)
		return err
	})
	if err != nil || len(reqs) == 0 {
		return 0, err
	}
	n := 0
	err = s.b.inTx(ctx, func(q querier) error {
		n = 0
		for _, x := range reqs {
			var dup bool
			if err := q.query(ctx, `SELECT TRUE FROM orders WHERE record_id = $1 AND record_id <> ''`, []any{x.id},
				func(r rows) error { return r.Scan(&dup) }); err != nil {
				return err
			}
			if dup {
				continue
			}
			o := orders.Order{Ref: fmt.Sprintf("XQ-%04d", x.seq), Station: x.station, Category: x.service,
				Phone: x.phone, Note: x.note, Source: orders.FromKiosk, RecordID: x.id, CreatedAt: fromNanos(x.at)}
			if err := createOrder(ctx, q, &o, "站点 "+x.station, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: order intake: %w", err)
	}
	return n, nil
}

// kioskOrderRecord is a kiosk record that acts on an order.
type kioskOrderRecord struct {
	id, station, kind, volunteer, ref, order, phone, note string
	rating                                                int
	at                                                    int64
}

// ApplyKioskOrders applies the kiosks' records about orders that have not
// been applied yet, each once: an order_start starts the order's service
// (the volunteer must be assigned to it) and links the check-in to it; the
// check-out that closes a linked check-in completes the order; an
// order_rating rates it when the four phone digits match. Each record's
// outcome is kept in order_intake (” when applied, else why not). It
// returns how many records it applied.
func (s *Store) ApplyKioskOrders(ctx context.Context, now time.Time) (int, error) {
	var recs []kioskOrderRecord
	scan := func(r rows) error {
		var x kioskOrderRecord
		err := r.Scan(&x.id, &x.station, &x.kind, &x.volunteer, &x.ref, &x.order, &x.phone, &x.note, &x.rating, &x.at)
		recs = append(recs, x)
		return err
	}
	const cols = `r.id, r.station, r.kind, r.volunteer, r.ref, r.order_ref, r.phone, r.note, r.rating, r.time_ns`
	if err := s.b.query(ctx, `SELECT `+cols+` FROM records r
		WHERE r.kind IN ('order_start', 'order_rating') AND NOT EXISTS (SELECT 1 FROM order_intake i WHERE i.record_id = r.id)
		ORDER BY r.time_ns, r.id LIMIT 1000`, nil, scan); err != nil {
		return 0, fmt.Errorf("store: kiosk order records: %w", err)
	}
	if err := s.b.query(ctx, `SELECT `+cols+` FROM orders o CROSS JOIN order_sessions os CROSS JOIN records r
		WHERE o.state = 'in_service' AND os.order_id = o.id AND r.ref = os.check_in AND r.ref <> ''
		AND r.kind IN ('check_out', 'auto_check_out') AND NOT EXISTS (SELECT 1 FROM order_intake i WHERE i.record_id = r.id)
		ORDER BY r.time_ns, r.id LIMIT 1000`, nil, scan); err != nil {
		return 0, fmt.Errorf("store: kiosk order check-outs: %w", err)
	}
	n := 0
	for _, x := range recs {
		applied, err := s.applyKioskOrder(ctx, x, now)
		if err != nil {
			return n, err
		}
		if applied {
			n++
		}
	}
	return n, nil
}

func (s *Store) applyKioskOrder(ctx context.Context, x kioskOrderRecord, now time.Time) (bool, error) {
	applied := false
	err := s.b.inTx(ctx, func(q querier) error {
		var done bool
		if err := q.query(ctx, `SELECT TRUE FROM order_intake WHERE record_id = $1`, []any{x.id},
			func(r rows) error { return r.Scan(&done) }); err != nil || done {
			return err
		}
		o, outcome, err := kioskOrderTarget(ctx, q, x)
		if err != nil {
			return err
		}
		var id int64
		if o != nil {
			id = o.ID
			at := fromNanos(x.at)
			var (
				act   orders.Action
				req   orders.Request
				actor = orders.Actor{Kiosk: x.station, Volunteer: x.volunteer}
			)
			switch x.kind {
			case string(wire.KindOrderStart):
				act = orders.Start
				if _, err := q.exec(ctx, `INSERT INTO order_sessions (check_in, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, x.ref, o.ID); err != nil {
					return err
				}
			case string(wire.KindOrderRating):
				act, req, actor = orders.Rate, orders.Request{Rating: x.rating, Comment: x.note}, orders.Actor{Resident: true}
			default:
				act = orders.Complete
			}
			if act == orders.Start && o.State == orders.InService {
				// A second assigned volunteer joins the service under way.
				outcome = ""
			} else if ev, err := orders.Apply(o, act, req, actor, at); err != nil {
				var oe *orders.Error
				if !errors.As(err, &oe) {
					return err
				}
				outcome = oe.Zh
			} else {
				ev.Detail = strings.TrimPrefix(ev.Detail+" record="+x.id, " ")
				if err := saveOrder(ctx, q, o, now); err != nil {
					return err
				}
				if err := addOrderEvent(ctx, q, ev); err != nil {
					return err
				}
				outcome = ""
			}
		}
		applied = outcome == ""
		_, err = q.exec(ctx, `INSERT INTO order_intake (record_id, order_id, outcome, at_ns) VALUES ($1, $2, $3, $4)`,
			x.id, id, outcome, nanos(now))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: apply kiosk record %s to its order: %w", x.id, err)
	}
	return applied, nil
}

// kioskOrderTarget finds the order a kiosk record acts on, or says why
// there is none.
func kioskOrderTarget(ctx context.Context, q querier, x kioskOrderRecord) (*orders.Order, string, error) {
	var found []orders.Order
	each := func(r rows) error {
		o, err := scanOrder(r)
		found = append(found, o)
		return err
	}
	var err error
	switch x.kind {
	case string(wire.KindOrderStart):
		err = q.query(ctx, `SELECT `+orderCols+` FROM orders WHERE ref = $1
			AND id IN (SELECT order_id FROM order_volunteers WHERE volunteer = $2) ORDER BY (station = $3) DESC, id DESC LIMIT 1`,
			[]any{x.order, x.volunteer, x.station}, each)
	case string(wire.KindOrderRating):
		err = q.query(ctx, `SELECT `+orderCols+` FROM orders WHERE ref = $1 ORDER BY (station = $2) DESC, id DESC LIMIT 50`,
			[]any{strings.ToUpper(x.order), x.station}, func(r rows) error {
				o, err := scanOrder(r)
				if err == nil && orders.ResidentProof(&o, x.phone) {
					found = append(found, o)
				}
				return err
			})
		if err == nil && len(found) > 1 && found[0].Station != x.station {
			return nil, "参考号对应多个需求，请到登记需求的站点评价或由站点管理员代为录入。", nil
		}
	default:
		err = q.query(ctx, `SELECT `+orderCols+` FROM orders WHERE id = (SELECT order_id FROM order_sessions WHERE check_in = $1)`,
			[]any{x.ref}, each)
	}
	if err != nil {
		return nil, "", err
	}
	if len(found) == 0 {
		return nil, "没有找到这个需求：请核对参考号和手机号后四位。", nil
	}
	return &found[0], "", nil
}

// Order returns the order with its history, oldest event first.
func (s *Store) Order(ctx context.Context, id int64) (*orders.Order, []orders.Event, error) {
	var found []orders.Order
	err := s.b.query(ctx, `SELECT `+orderCols+` FROM orders WHERE id = $1`, []any{id}, func(r rows) error {
		o, err := scanOrder(r)
		found = append(found, o)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: order %d: %w", id, err)
	}
	if len(found) == 0 {
		return nil, nil, ErrNoOrder
	}
	evs, err := s.orderEvents(ctx, id)
	return &found[0], evs, err
}

func (s *Store) orderEvents(ctx context.Context, id int64) ([]orders.Event, error) {
	var evs []orders.Event
	err := s.b.query(ctx, `SELECT at_ns, who, action, from_state, to_state, reason, detail FROM order_events
		WHERE order_id = $1 ORDER BY seq`, []any{id}, func(r rows) error {
		ev := orders.Event{Order: id}
		var at int64
		err := r.Scan(&at, &ev.Who, &ev.Action, &ev.From, &ev.To, &ev.Reason, &ev.Detail)
		ev.At = fromNanos(at)
		evs = append(evs, ev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: order %d history: %w", id, err)
	}
	return evs, nil
}

// OrderByRef finds the order a resident names at a kiosk: by reference
// number, at the given station first, then anywhere when exactly one
// order has that reference and those last phone digits.
func (s *Store) OrderByRef(ctx context.Context, station, ref, lastDigits string) (*orders.Order, error) {
	ref = strings.ToUpper(strings.TrimSpace(ref))
	var found []orders.Order
	err := s.b.query(ctx, `SELECT `+orderCols+` FROM orders WHERE ref = $1 ORDER BY (station = $2) DESC, id DESC LIMIT 50`,
		[]any{ref, station}, func(r rows) error {
			o, err := scanOrder(r)
			if err == nil && orders.ResidentProof(&o, lastDigits) {
				found = append(found, o)
			}
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: order %s: %w", ref, err)
	}
	if len(found) == 0 || (found[0].Station != station && len(found) > 1) {
		return nil, ErrNoOrder
	}
	return &found[0], nil
}

// Orders lists the orders f selects, newest first.
func (s *Store) Orders(ctx context.Context, f OrderFilter) ([]orders.Order, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	in := func(col string, vals []string) {
		if vals == nil {
			return
		}
		if len(vals) == 0 {
			where = append(where, "FALSE")
			return
		}
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = arg(v)
		}
		where = append(where, col+" IN ("+strings.Join(ps, ", ")+")")
	}
	// Scope: any of the lists matches.
	var any []string
	for _, l := range []struct {
		col  string
		vals []string
	}{{"community", f.Communities}, {"station", f.Stations}, {"org", f.Orgs}} {
		if l.vals == nil {
			continue
		}
		before := len(where)
		in(l.col, l.vals)
		any = append(any, where[before:]...)
		where = where[:before]
	}
	if len(any) > 0 {
		where = append(where, "("+strings.Join(any, " OR ")+")")
	}
	if f.Community != "" {
		where = append(where, "community = "+arg(f.Community))
	}
	if f.State != "" {
		where = append(where, "state = "+arg(string(f.State)))
	}
	if f.Volunteer != "" {
		where = append(where, "id IN (SELECT order_id FROM order_volunteers WHERE volunteer = "+arg(f.Volunteer)+")")
	}
	q := `SELECT ` + orderCols + ` FROM orders`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q += " ORDER BY id DESC LIMIT " + arg(limit) + " OFFSET " + arg(max(f.Offset, 0))
	var out []orders.Order
	err := s.b.query(ctx, q, args, func(r rows) error {
		o, err := scanOrder(r)
		out = append(out, o)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: orders: %w", err)
	}
	return out, nil
}

// ActOnOrder loads order id, lets fn change it (orders.Apply) and stores
// the order and the event fn returns, in one transaction: two people
// acting at once cannot both move the order from the same state.
func (s *Store) ActOnOrder(ctx context.Context, id int64, now time.Time, fn func(o *orders.Order) (orders.Event, error)) (*orders.Order, error) {
	var out *orders.Order
	err := s.b.inTx(ctx, func(q querier) error {
		var found []orders.Order
		if err := q.query(ctx, `SELECT `+orderCols+` FROM orders WHERE id = $1`, []any{id}, func(r rows) error {
			o, err := scanOrder(r)
			found = append(found, o)
			return err
		}); err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrNoOrder
		}
		o := found[0]
		ev, err := fn(&o)
		if err != nil {
			return err
		}
		if err := saveOrder(ctx, q, &o, now); err != nil {
			return err
		}
		if err := addOrderEvent(ctx, q, ev); err != nil {
			return err
		}
		out = &o
		return nil
	})
	return out, err
}

func saveOrder(ctx context.Context, q querier, o *orders.Order, now time.Time) error {
	vols, _ := json.Marshal(orEmpty(o.Volunteers))
	if _, err := q.exec(ctx, `UPDATE orders SET state = $2, org = $3, volunteers = $4, reason = $5, duplicate_of = $6,
			rating = $7, comment = $8, level = $9, since_ns = $10, updated_ns = $11 WHERE id = $1`,
		o.ID, string(o.State), o.Org, string(vols), o.Reason, o.DuplicateOf, o.Rating, o.Comment, o.Level,
		nanos(o.Since), nanos(now)); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM order_volunteers WHERE order_id = $1`, o.ID); err != nil {
		return err
	}
	for _, v := range o.Volunteers {
		if _, err := q.exec(ctx, `INSERT INTO order_volunteers (order_id, volunteer) VALUES ($1, $2) ON CONFLICT DO NOTHING`, o.ID, v); err != nil {
			return err
		}
	}
	return nil
}

// TickOrders applies the clock rules of p to every open order at now
// (escalation, return of unaccepted orders) and returns the events.
func (s *Store) TickOrders(ctx context.Context, p orders.Policy, now time.Time) ([]orders.Event, error) {
	var open []int64
	err := s.b.query(ctx, `SELECT id FROM orders WHERE state IN ('submitted', 'dispatched') ORDER BY id`, nil,
		func(r rows) error {
			var id int64
			err := r.Scan(&id)
			open = append(open, id)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: open orders: %w", err)
	}
	var evs []orders.Event
	for _, id := range open {
		_, err := s.ActOnOrder(ctx, id, now, func(o *orders.Order) (orders.Event, error) {
			ev, ok := p.Tick(o, now)
			if !ok {
				return ev, errNotDue
			}
			evs = append(evs, ev)
			return ev, nil
		})
		if err != nil && !errors.Is(err, errNotDue) {
			return evs, err
		}
	}
	return evs, nil
}

var errNotDue = errors.New("not due")

// ServedByCategory counts, per category, the orders of station's
// community completed (or rated) since from: the contact board's "this
// month" figures, with no names.
func (s *Store) ServedByCategory(ctx context.Context, community string, from time.Time) (map[string]int, error) {
	out := map[string]int{}
	err := s.b.query(ctx, `SELECT category, COUNT(*) FROM orders
		WHERE community = $1 AND state IN ('completed', 'rated') AND since_ns >= $2 GROUP BY category`,
		[]any{community, nanos(from)}, func(r rows) error {
			var c string
			var n int
			err := r.Scan(&c, &n)
			out[c] = n
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: served orders: %w", err)
	}
	return out, nil
}

// VolunteerTasks lists the open orders volunteer is assigned to.
func (s *Store) VolunteerTasks(ctx context.Context, volunteer string) ([]orders.Order, error) {
	var out []orders.Order
	err := s.b.query(ctx, `SELECT `+orderCols+` FROM orders WHERE state IN ('accepted', 'in_service')
		AND id IN (SELECT order_id FROM order_volunteers WHERE volunteer = $1) ORDER BY id`, []any{volunteer},
		func(r rows) error {
			o, err := scanOrder(r)
			out = append(out, o)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: tasks of %s: %w", volunteer, err)
	}
	return out, nil
}

// StationOrders lists the orders registered at station that are open or
// changed since since, newest first, at most 500: what its kiosk holds for
// the residents' lookup.
func (s *Store) StationOrders(ctx context.Context, station string, since time.Time) ([]orders.Order, error) {
	var out []orders.Order
	err := s.b.query(ctx, `SELECT `+orderCols+` FROM orders WHERE station = $1
		AND (state NOT IN ('rated', 'rejected', 'cancelled') OR since_ns >= $2) ORDER BY id DESC LIMIT 500`,
		[]any{station, nanos(since)}, func(r rows) error {
			o, err := scanOrder(r)
			out = append(out, o)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: orders of station %s: %w", station, err)
	}
	return out, nil
}

// StationTasks returns, per volunteer, the open orders of station they
// are assigned to.
func (s *Store) StationTasks(ctx context.Context, station string) (map[string][]orders.Order, error) {
	out := map[string][]orders.Order{}
	err := s.b.query(ctx, `SELECT ov.volunteer, `+prefixed("o.", orderCols)+` FROM order_volunteers ov JOIN orders o ON o.id = ov.order_id
		WHERE o.station = $1 AND o.state IN ('accepted', 'in_service') ORDER BY o.id`, []any{station},
		func(r rows) error {
			var v string
			o, err := scanOrder(prependScan(r, &v))
			out[v] = append(out[v], o)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: tasks at %s: %w", station, err)
	}
	return out, nil
}

// ServedAtStation counts station's community's orders served since from,
// per category (ServedByCategory for the station's community).
func (s *Store) ServedAtStation(ctx context.Context, station string, from time.Time) (map[string]int, error) {
	var community string
	if err := s.b.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{station},
		func(r rows) error { return r.Scan(&community) }); err != nil {
		return nil, fmt.Errorf("store: community of %s: %w", station, err)
	}
	if community == "" {
		// A station not yet placed in a community counts its own orders.
		out := map[string]int{}
		err := s.b.query(ctx, `SELECT category, COUNT(*) FROM orders WHERE station = $1
			AND state IN ('completed', 'rated') AND since_ns >= $2 GROUP BY category`, []any{station, nanos(from)},
			func(r rows) error {
				var c string
				var n int
				err := r.Scan(&c, &n)
				out[c] = n
				return err
			})
		return out, err
	}
	return s.ServedByCategory(ctx, community, from)
}

// prefixed qualifies each column of a column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// prependScan is r with dest scanned before the columns the caller
// scans.
func prependScan(r rows, dest ...any) rows { return prepended{r, dest} }

type prepended struct {
	rows
	first []any
}

func (p prepended) Scan(dest ...any) error { return p.rows.Scan(append(p.first, dest...)...) }

// StationsWithOrdersSince lists the stations with orders changed at or
// after since.
func (s *Store) StationsWithOrdersSince(ctx context.Context, since time.Time) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `SELECT DISTINCT station FROM orders WHERE updated_ns >= $1 AND station <> '' ORDER BY station`,
		[]any{nanos(since)}, func(r rows) error {
			var st string
			err := r.Scan(&st)
			out = append(out, st)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: stations with changed orders: %w", err)
	}
	return out, nil
}
