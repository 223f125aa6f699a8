package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service records (issue 12): what a session, a manual entry (补录) or an
// imported record becomes — the national form's fields, the hours
// counted and the rule that counted them, and where the record is in its
// life (review → notice → final, or rejected). The tables are migration
// 15 (schema_hours.go). Every status change goes through
// ChangeServiceRecord or PutServiceRecords, which keep the events and
// call the rollup hooks in the same transaction.

// Service record statuses.
const (
	StatusReview   = "review"
	StatusNotice   = "notice"
	StatusObjected = "objected"
	StatusFinal    = "final"
	StatusRejected = "rejected"
)

// Ledgers: hours proven by card taps, entered by hand (补录), imported
// from the systems the city used before.
const (
	LedgerCard     = "card"
	LedgerManual   = "manual"
	LedgerImported = "imported"
)

// ServiceRecord is one row of service_records. Hours are in hundredths
// (CountedCents 50 = 0.5 h).
type ServiceRecord struct {
	ID           string    `json:"id"`
	Ledger       string    `json:"ledger"`
	Volunteer    string    `json:"volunteer"`
	Org          string    `json:"org"`
	OrgName      string    `json:"org_name"`
	Community    string    `json:"community"`
	Station      string    `json:"station"`
	Activity     int64     `json:"activity"`
	ActivityName string    `json:"activity_name"`
	Place        string    `json:"place"`
	Content      string    `json:"content"`
	Category     string    `json:"category"`
	Lead         string    `json:"lead"`
	Recorder     string    `json:"recorder"`
	Day          string    `json:"day"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	RawSeconds   int64     `json:"raw_seconds"`
	CountedCents int64     `json:"counted_cents"`
	RuleVersion  int64     `json:"rule_version"`
	RuleNote     string    `json:"rule_note"`
	Status       string    `json:"status"`
	Reasons      []string  `json:"reasons"`
	Reviewer     string    `json:"reviewer"`
	Deadline     time.Time `json:"deadline"`
	NoticeUntil  time.Time `json:"notice_until"`
	Final        time.Time `json:"final"`
	// Evidence is JSON as the manual ledger writes it ("" for taps).
	Evidence   string    `json:"evidence,omitempty"`
	EnteredBy  string    `json:"entered_by"`
	ApprovedBy string    `json:"approved_by"`
	Outcome    string    `json:"outcome"`
	Seen       time.Time `json:"seen"`
	CheckIn    string    `json:"check_in"`
	CheckOut   string    `json:"check_out"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// Hours is the counted hours as a number of hours.
func (r *ServiceRecord) Hours() float64 { return float64(r.CountedCents) / 100 }

// Counts reports whether the record's hours count: final ones only.
func (r *ServiceRecord) Counts() bool { return r.Status == StatusFinal }

// ServiceRecordEvent is one change of a record.
type ServiceRecordEvent struct {
	Record string    `json:"record"`
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	Detail string    `json:"detail,omitempty"`
}

// RollupHook is told of every change of a service record inside the
// transaction that makes it: before is nil for a new record, after nil
// for a deleted one. An error aborts the change. Hooks are registered at
// init (the targets' rollups register theirs) and run in order.
type RollupHook func(ctx context.Context, q Querier, before, after *ServiceRecord) error

var rollupHooks []RollupHook

// RegisterRollupHook adds h to the hooks every service-record change
// runs. Call it from an init function only.
func RegisterRollupHook(h RollupHook) { rollupHooks = append(rollupHooks, h) }

// Querier runs statements inside a transaction, for rollup hooks.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args []any, each func(Rows) error) error
	Dialect() string
}

// Rows is one row of a Querier's Query.
type Rows interface{ Scan(dest ...any) error }

type exported struct {
	q       querier
	dialect string
}

func (e exported) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return e.q.exec(ctx, query, args...)
}

func (e exported) Query(ctx context.Context, query string, args []any, each func(Rows) error) error {
	return e.q.query(ctx, query, args, func(r rows) error { return each(r) })
}

func (e exported) Dialect() string { return e.dialect }

func (s *Store) runHooks(ctx context.Context, q querier, before, after *ServiceRecord) error {
	for _, h := range rollupHooks {
		if err := h(ctx, exported{q, s.b.dialect()}, before, after); err != nil {
			return fmt.Errorf("store: rollup: %w", err)
		}
	}
	return nil
}

const serviceRecordCols = `id, ledger, volunteer, org, org_name, community, station, activity, activity_name, place,
	content, category, lead, recorder, day, start_ns, end_ns, raw_seconds, counted_cents, rule_version,
	rule_note, status, reasons, reviewer, deadline_ns, notice_until_ns, final_ns, evidence, entered_by, approved_by,
	outcome, seen_ns, check_in, check_out, created_ns, updated_ns`

func serviceRecordArgs(r *ServiceRecord) []any {
	reasons, _ := json.Marshal(nonNil(r.Reasons))
	return []any{r.ID, r.Ledger, r.Volunteer, r.Org, r.OrgName, r.Community, r.Station, r.Activity, r.ActivityName, r.Place,
		r.Content, r.Category, r.Lead, r.Recorder, r.Day, nanos(r.Start), nanos(r.End), r.RawSeconds, r.CountedCents, r.RuleVersion,
		r.RuleNote, r.Status, string(reasons), r.Reviewer, nanos(r.Deadline), nanos(r.NoticeUntil), nanos(r.Final), r.Evidence, r.EnteredBy, r.ApprovedBy,
		r.Outcome, nanos(r.Seen), r.CheckIn, r.CheckOut, nanos(r.Created), nanos(r.Updated)}
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// ScanServiceRecord reads a row selected with ServiceRecordCols.
func scanServiceRecord(r rows) (ServiceRecord, error) {
	var (
		x                                                       ServiceRecord
		reasons                                                 string
		start, end, deadline, notice, final, seen, created, upd int64
	)
	err := r.Scan(&x.ID, &x.Ledger, &x.Volunteer, &x.Org, &x.OrgName, &x.Community, &x.Station, &x.Activity, &x.ActivityName, &x.Place,
		&x.Content, &x.Category, &x.Lead, &x.Recorder, &x.Day, &start, &end, &x.RawSeconds, &x.CountedCents, &x.RuleVersion,
		&x.RuleNote, &x.Status, &reasons, &x.Reviewer, &deadline, &notice, &final, &x.Evidence, &x.EnteredBy, &x.ApprovedBy,
		&x.Outcome, &seen, &x.CheckIn, &x.CheckOut, &created, &upd)
	if err != nil {
		return x, err
	}
	if err := json.Unmarshal([]byte(reasons), &x.Reasons); err != nil {
		return x, fmt.Errorf("store: service record %s reasons: %w", x.ID, err)
	}
	x.Start, x.End, x.Deadline, x.NoticeUntil = fromNanos(start), fromNanos(end), fromNanos(deadline), fromNanos(notice)
	x.Final, x.Seen, x.Created, x.Updated = fromNanos(final), fromNanos(seen), fromNanos(created), fromNanos(upd)
	return x, nil
}

// ServiceRecordCols is the column list ScanServiceRecordRow reads, for
// the parts' own queries (prefix each with an alias when joining).
const ServiceRecordCols = serviceRecordCols

// ScanServiceRecordRow reads a row selected with ServiceRecordCols.
func ScanServiceRecordRow(r Rows) (ServiceRecord, error) { return scanServiceRecord(r) }

// PutServiceRecords inserts records whose IDs are not stored yet and
// returns how many it inserted; a record whose ID is stored is left as it
// is (so importing a file twice changes nothing). Each inserted record
// gets a 'create' event by who, and runs the rollup hooks.
func (s *Store) PutServiceRecords(ctx context.Context, recs []ServiceRecord, who string, now time.Time) (int, error) {
	n := 0
	err := s.b.inTx(ctx, func(q querier) error {
		n = 0
		for i := range recs {
			r := &recs[i]
			if r.Created.IsZero() {
				r.Created = now
			}
			if r.Updated.IsZero() {
				r.Updated = now
			}
			added, err := q.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)
				ON CONFLICT (id) DO NOTHING`, serviceRecordArgs(r)...)
			if err != nil {
				return err
			}
			if added == 0 {
				continue
			}
			n++
			if err := addServiceEvent(ctx, q, ServiceRecordEvent{Record: r.ID, At: now, Who: who, Action: "create", To: r.Status}); err != nil {
				return err
			}
			if err := s.runHooks(ctx, q, nil, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: put service records: %w", err)
	}
	return n, nil
}

func addServiceEvent(ctx context.Context, q querier, e ServiceRecordEvent) error {
	_, err := q.exec(ctx, `INSERT INTO service_record_events (record, seq, at_ns, who, action, from_status, to_status, reason, detail)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM service_record_events WHERE record = $1), $2, $3, $4, $5, $6, $7, $8)`,
		e.Record, nanos(e.At), e.Who, e.Action, e.From, e.To, e.Reason, e.Detail)
	return err
}

// ServiceRecord reads record id, or ErrNotFound.
func (s *Store) ServiceRecord(ctx context.Context, id string) (*ServiceRecord, error) {
	x, err := readServiceRecord(ctx, s.b, id)
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("store: service record: %w", err)
	}
	return &x, nil
}

// readServiceRecord reads record id through q (inside a transaction or
// not), or ErrNotFound.
func readServiceRecord(ctx context.Context, q querier, id string) (ServiceRecord, error) {
	var (
		x     ServiceRecord
		found bool
	)
	err := q.query(ctx, `SELECT `+serviceRecordCols+` FROM service_records WHERE id = $1`, []any{id}, func(r rows) error {
		var err error
		x, err = scanServiceRecord(r)
		found = true
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return x, err
}

// ServiceRecordEvents is record id's history, oldest first.
func (s *Store) ServiceRecordEvents(ctx context.Context, id string) ([]ServiceRecordEvent, error) {
	var out []ServiceRecordEvent
	err := s.b.query(ctx, `SELECT record, seq, at_ns, who, action, from_status, to_status, reason, detail
		FROM service_record_events WHERE record = $1 ORDER BY seq`, []any{id}, func(r rows) error {
		var (
			e  ServiceRecordEvent
			at int64
		)
		err := r.Scan(&e.Record, &e.Seq, &at, &e.Who, &e.Action, &e.From, &e.To, &e.Reason, &e.Detail)
		e.At = fromNanos(at)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: service record events: %w", err)
	}
	return out, nil
}

// ServiceRecordFilter selects service records; zero fields select all.
type ServiceRecordFilter struct {
	Volunteer string
	Org       string
	Station   string
	// Communities: the record's community is one of these.
	Communities []string
	Statuses    []string
	Ledger      string
	// From and To are days, YYYY-MM-DD, both included.
	From, To string
	Limit    int
}

// ServiceRecords lists the records f selects, by day then ID.
func (s *Store) ServiceRecords(ctx context.Context, f ServiceRecordFilter) ([]ServiceRecord, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, vals ...any) {
		n := len(args)
		for i := range vals {
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", n+i+1), 1)
		}
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.Volunteer != "" {
		add("volunteer = ?", f.Volunteer)
	}
	if f.Org != "" {
		add("org = ?", f.Org)
	}
	if f.Station != "" {
		add("station = ?", f.Station)
	}
	if f.Ledger != "" {
		add("ledger = ?", f.Ledger)
	}
	if f.From != "" {
		add("day >= ?", f.From)
	}
	if f.To != "" {
		add("day <= ?", f.To)
	}
	if len(f.Communities) > 0 {
		add("community IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Communities)), ", ")+")", anys(f.Communities)...)
	}
	if len(f.Statuses) > 0 {
		add("status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")", anys(f.Statuses)...)
	}
	q := `SELECT ` + serviceRecordCols + ` FROM service_records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY day, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []ServiceRecord
	err := s.b.query(ctx, q, args, func(r rows) error {
		x, err := scanServiceRecord(r)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: service records: %w", err)
	}
	return out, nil
}

// ChangeServiceRecord changes record id in one transaction: fn gets the
// record as stored and changes it, returning the event to write (its
// From, To, Record and At are filled in). The rollup hooks see the
// record before and after. fn's error aborts the change and is returned
// as it is; an unknown id is ErrNotFound.
func (s *Store) ChangeServiceRecord(ctx context.Context, id string, now time.Time, fn func(r *ServiceRecord) (ServiceRecordEvent, error)) (*ServiceRecord, error) {
	var after *ServiceRecord
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		after, err = s.changeServiceRecord(ctx, q, id, now, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// changeServiceRecord is ChangeServiceRecord inside the transaction q,
// for a change that writes other tables with it (an objection).
func (s *Store) changeServiceRecord(ctx context.Context, q querier, id string, now time.Time, fn func(r *ServiceRecord) (ServiceRecordEvent, error)) (*ServiceRecord, error) {
	var after ServiceRecord
	err := func() error {
		before, err := readServiceRecord(ctx, q, id)
		if err != nil {
			return err
		}
		after = before
		after.Reasons = append([]string(nil), before.Reasons...)
		e, err := fn(&after)
		if err != nil {
			return err
		}
		after.ID, after.Updated = before.ID, now
		args := serviceRecordArgs(&after)
		cols := strings.Split(strings.Join(strings.Fields(serviceRecordCols), ""), ",")
		set := make([]string, 0, len(cols)-1)
		for i, c := range cols[1:] {
			set = append(set, fmt.Sprintf("%s = $%d", c, i+2))
		}
		if _, err := q.exec(ctx, `UPDATE service_records SET `+strings.Join(set, ", ")+` WHERE id = $1`, args...); err != nil {
			return err
		}
		e.Record, e.At, e.From, e.To = id, now, before.Status, after.Status
		if err := addServiceEvent(ctx, q, e); err != nil {
			return err
		}
		return s.runHooks(ctx, q, &before, &after)
	}()
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// DeleteServiceRecord removes a record that is not final (a tap session
// recounted into a different record, say), with its events; the rollup
// hooks see it go. A final record is never deleted: it is rejected or
// corrected with an event instead.
func (s *Store) DeleteServiceRecord(ctx context.Context, id string) error {
	return s.b.inTx(ctx, func(q querier) error {
		before, err := readServiceRecord(ctx, q, id)
		if err != nil {
			return err
		}
		if before.Status == StatusFinal {
			return fmt.Errorf("store: service record %s is final and is never deleted", id)
		}
		if _, err := q.exec(ctx, `DELETE FROM service_records WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM service_record_events WHERE record = $1`, id); err != nil {
			return err
		}
		return s.runHooks(ctx, q, &before, nil)
	})
}
