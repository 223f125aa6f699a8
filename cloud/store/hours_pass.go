package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// The hours pass (issue 12) turns tap sessions into card-ledger service
// records. Ingest marks the volunteer-days whose taps changed
// (hours_dirty, in the records' transaction); the pass claims them,
// reads the volunteers' sessions (readSessions and count, the same
// pairing and flags as the hours everywhere else), and ApplyHours writes
// the records of each day in one transaction. The counting itself is
// cloud/hours; this file is its storage.

// cst is China Standard Time, the day of a service record.
var cst = time.FixedZone("CST", 8*3600)

// dirtyKind reports whether a record of kind k changes a session.
func dirtyKind(k wire.Kind) bool {
	return k == wire.KindCheckIn || k == wire.KindCheckOut || k == wire.KindAutoCheckOut
}

// dirtyDays lists the volunteer-days entries change, once each, in order
// (so concurrent batches take the keys in one order and cannot
// deadlock): the day (China Standard Time) of each check-in, check-out
// and automatic check-out. A check-out marks its own day; the pass also
// counts again the day its session started (ClaimDirty's caller expands
// it).
func dirtyDays(entries []ingest.Entry) (vols, days []string) {
	var keys [][2]string
	seen := map[[2]string]bool{}
	for i := range entries {
		e := &entries[i]
		if e.Volunteer == "" || !dirtyKind(e.Kind) {
			continue
		}
		k := [2]string{e.Volunteer, e.Time.In(cst).Format(time.DateOnly)}
		if seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range keys {
		vols, days = append(vols, k[0]), append(days, k[1])
	}
	return vols, days
}

// markDirty adds entries' volunteer-days to hours_dirty in tx (SQLite).
func markDirty(ctx context.Context, tx *sql.Tx, entries []ingest.Entry) error {
	vols, days := dirtyDays(entries)
	for i := range vols {
		if _, err := tx.ExecContext(ctx, `INSERT INTO hours_dirty (volunteer, day) VALUES (?, ?)
			ON CONFLICT (volunteer, day) DO NOTHING`, vols[i], days[i]); err != nil {
			return err
		}
	}
	return nil
}

// DirtyDay is a volunteer-day to count again.
type DirtyDay struct {
	Volunteer string `json:"volunteer"`
	Day       string `json:"day"`
}

// MarkDirty adds volunteer-days for the hours pass to count (again).
func (s *Store) MarkDirty(ctx context.Context, days []DirtyDay) error {
	return s.b.inTx(ctx, func(q querier) error {
		for _, d := range days {
			if _, err := q.exec(ctx, `INSERT INTO hours_dirty (volunteer, day) VALUES ($1, $2)
				ON CONFLICT (volunteer, day) DO NOTHING`, d.Volunteer, d.Day); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimDirty takes the dirty days of up to limit volunteers out of
// hours_dirty and returns them: a tap arriving after the claim marks its
// day again, so nothing is lost between the claim and the counting. A
// pass that fails gives its claim back with MarkDirty.
func (s *Store) ClaimDirty(ctx context.Context, limit int) ([]DirtyDay, error) {
	var out []DirtyDay
	err := s.b.inTx(ctx, func(q querier) error {
		out = out[:0]
		var vols []string
		err := q.query(ctx, `SELECT DISTINCT volunteer FROM hours_dirty ORDER BY volunteer LIMIT $1`, []any{limit},
			func(r rows) error {
				var v string
				err := r.Scan(&v)
				vols = append(vols, v)
				return err
			})
		if err != nil || len(vols) == 0 {
			return err
		}
		err = q.query(ctx, `SELECT volunteer, day FROM hours_dirty WHERE volunteer IN (`+marks(1, len(vols))+`)`, anys(vols),
			func(r rows) error {
				var d DirtyDay
				err := r.Scan(&d.Volunteer, &d.Day)
				out = append(out, d)
				return err
			})
		if err != nil {
			return err
		}
		_, err = q.exec(ctx, `DELETE FROM hours_dirty WHERE volunteer IN (`+marks(1, len(vols))+`)`, anys(vols)...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim hours_dirty: %w", err)
	}
	return out, nil
}

// DirtyCount is the number of volunteer-days waiting for the pass.
func (s *Store) DirtyCount(ctx context.Context) (int, error) {
	var n int64
	err := s.b.query(ctx, `SELECT COUNT(*) FROM hours_dirty`, nil, func(r rows) error { return r.Scan(&n) })
	return int(n), err
}

// PassSession is a session as the hours pass reads it.
type PassSession struct {
	Session
	// Activity is the check-in's chosen activity (0: none).
	Activity int64
	// Closed says a check-out or automatic check-out closed it.
	Closed bool
	// RawSeconds is the duration that counts (the monotonic clock within
	// one boot, else the corrected times).
	RawSeconds int64
}

// PassSessions reads the sessions of volunteers, each volunteer's in
// order of start, with the flags count sets (too long, overlap, future;
// Counted false for one flagged and not approved).
func (s *Store) PassSessions(ctx context.Context, volunteers []string) (map[string][]PassSession, error) {
	maxOf, err := s.maxSession(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]PassSession, len(volunteers))
	for chunk := range slices.Chunk(volunteers, 1000) {
		rows, err := s.readSessions(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: pass sessions: %w", err)
		}
		for v, list := range rows {
			count(list, maxOf)
			ps := make([]PassSession, len(list))
			for i, ss := range list {
				ps[i] = PassSession{Session: ss.Session, Activity: ss.activity, Closed: ss.closed, RawSeconds: ss.durationNs / 1e9}
			}
			out[v] = ps
		}
	}
	return out, nil
}

// VolunteersWithSessions lists the volunteers with a check-in, for a
// recount of all.
func (s *Store) VolunteersWithSessions(ctx context.Context) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `SELECT DISTINCT volunteer FROM records WHERE kind = 'check_in' AND volunteer <> '' ORDER BY volunteer`, nil,
		func(r rows) error {
			var v string
			err := r.Scan(&v)
			out = append(out, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: volunteers with sessions: %w", err)
	}
	return out, nil
}

// HoursStations reads the registered stations' names, counties and
// communities: what a service record takes from its station (Stations
// also counts every station's records, too much for each pass).
func (s *Store) HoursStations(ctx context.Context) (map[string]Station, error) {
	out := map[string]Station{}
	err := s.b.query(ctx, `SELECT id, name, county, community FROM stations`, nil, func(r rows) error {
		st := Station{Registered: true}
		err := r.Scan(&st.ID, &st.Name, &st.County, &st.Community)
		out[st.ID] = st
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: hours stations: %w", err)
	}
	return out, nil
}

// HoursActivity is what a service record takes from its activity: the
// national fields, the kind the rules may exclude, the planned length.
type HoursActivity struct {
	ID        int64
	Title     string
	Place     string
	Start     time.Time
	End       time.Time
	Org       string
	Stations  []string
	Areas     []string
	Category  string
	Content   string
	Lead      string
	Recorder  string
	Kind      string
	IsDefault bool
}

// HoursActivities reads the activities ids and every station's default
// activity (is_default), by ID.
func (s *Store) HoursActivities(ctx context.Context, ids []int64) (map[int64]HoursActivity, error) {
	out := map[int64]HoursActivity{}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	cond := "is_default"
	if len(ids) > 0 {
		cond += " OR id IN (" + marks(1, len(ids)) + ")"
	}
	err := s.b.query(ctx, `SELECT id, title, place, start_ns, end_ns, org, stations, areas, category, content, lead, recorder, kind, is_default
		FROM activities WHERE `+cond, args, func(r rows) error {
		var (
			a          HoursActivity
			start, end int64
			stations   string
			areas      string
		)
		if err := r.Scan(&a.ID, &a.Title, &a.Place, &start, &end, &a.Org, &stations, &areas, &a.Category, &a.Content,
			&a.Lead, &a.Recorder, &a.Kind, &a.IsDefault); err != nil {
			return err
		}
		a.Start, a.End = fromNanos(start), fromNanos(end)
		if err := json.Unmarshal([]byte(stations), &a.Stations); err != nil {
			return fmt.Errorf("activity %d stations: %w", a.ID, err)
		}
		if err := json.Unmarshal([]byte(areas), &a.Areas); err != nil {
			return fmt.Errorf("activity %d areas: %w", a.ID, err)
		}
		out[a.ID] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: hours activities: %w", err)
	}
	return out, nil
}

// HoursDay is the card-ledger records the pass derived for one
// volunteer-day: the whole day, one record per closed session.
type HoursDay struct {
	Volunteer string
	Day       string
	Records   []ServiceRecord
}

// HoursChange is what ApplyHours did to one record: "create", "recount"
// (changed), "delete" (its session no longer makes a record); Before is
// nil for a new record, After nil for a deleted one.
type HoursChange struct {
	ID     string
	Action string
	Before *ServiceRecord
	After  *ServiceRecord
}

// replaceable reports whether a recount may re-derive r: a card record in
// review or notice on which no person has decided. Final, objected and
// rejected records, and decided ones, stay as they are.
func replaceable(r *ServiceRecord) bool {
	return r.Ledger == LedgerCard && (r.Status == StatusReview || r.Status == StatusNotice) &&
		r.ApprovedBy == "" && r.Outcome == ""
}

// sameDerived reports whether a and b say the same of a session, leaving
// out when they were written and the notice's end (which runs from the
// counting).
func sameDerived(a, b *ServiceRecord) bool {
	x, y := *a, *b
	for _, r := range []*ServiceRecord{&x, &y} {
		r.Created, r.Updated, r.NoticeUntil = time.Time{}, time.Time{}, time.Time{}
		r.Reasons = nonNil(r.Reasons)
	}
	xa, ya := serviceRecordArgs(&x), serviceRecordArgs(&y)
	for i := range xa {
		if xa[i] != ya[i] {
			return false
		}
	}
	return true
}

// ApplyHours writes the derived days in one transaction: a session's new
// record is inserted, a replaceable record that differs from the new
// derivation is changed (event 'recount', the old and new hours in its
// detail), one whose session makes no record any more is deleted; a
// record that is not replaceable is never touched. It returns what
// changed (identical records are not rewritten and not reported).
func (s *Store) ApplyHours(ctx context.Context, days []HoursDay, who string, now time.Time) ([]HoursChange, error) {
	var out []HoursChange
	err := s.b.inTx(ctx, func(q querier) error {
		out = out[:0]
		// The stored records of the days: one query per chunk of
		// volunteers (their days' span), kept if their day is one of
		// theirs.
		want := map[[2]string]bool{}
		var vols []string
		from, to := "9999", ""
		for _, d := range days {
			from, to = min(from, d.Day), max(to, d.Day)
			if !slices.ContainsFunc(vols[max(0, len(vols)-1):], func(v string) bool { return v == d.Volunteer }) {
				vols = append(vols, d.Volunteer)
			}
			want[[2]string{d.Volunteer, d.Day}] = true
		}
		slices.Sort(vols)
		vols = slices.Compact(vols)
		existing := map[string]*ServiceRecord{}
		for chunk := range slices.Chunk(vols, 1000) {
			err := q.query(ctx, `SELECT `+serviceRecordCols+` FROM service_records
				WHERE ledger = 'card' AND day >= $1 AND day <= $2 AND volunteer IN (`+marks(3, len(chunk))+`)`,
				append([]any{from, to}, anys(chunk)...),
				func(r rows) error {
					x, err := scanServiceRecord(r)
					if want[[2]string{x.Volunteer, x.Day}] {
						existing[x.ID] = &x
					}
					return err
				})
			if err != nil {
				return err
			}
		}
		derived := map[string]bool{}
		var creates []*ServiceRecord
		for _, d := range days {
			for i := range d.Records {
				n := d.Records[i]
				derived[n.ID] = true
				n.Created, n.Updated = now, now
				old, ok := existing[n.ID]
				switch {
				case !ok:
					creates = append(creates, &n)
				case !replaceable(old) || sameDerived(old, &n):
				default:
					n.Created = old.Created
					if n.Status == StatusNotice && old.Status == StatusNotice && n.CountedCents == old.CountedCents {
						n.NoticeUntil = old.NoticeUntil
					}
					if _, err := q.exec(ctx, `DELETE FROM service_records WHERE id = $1`, n.ID); err != nil {
						return err
					}
					if _, err := q.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)`,
						serviceRecordArgs(&n)...); err != nil {
						return err
					}
					detail := fmt.Sprintf("%s小时→%s小时；%s", centsText(old.CountedCents), centsText(n.CountedCents), n.RuleNote)
					if err := addServiceEvent(ctx, q, ServiceRecordEvent{Record: n.ID, At: now, Who: who, Action: "recount",
						From: old.Status, To: n.Status, Detail: detail}); err != nil {
						return err
					}
					if err := s.runHooks(ctx, q, old, &n); err != nil {
						return err
					}
					out = append(out, HoursChange{ID: n.ID, Action: "recount", Before: old, After: &n})
				}
			}
		}
		for chunk := range slices.Chunk(creates, createChunk) {
			added, err := s.createRecords(ctx, q, chunk, who, now)
			if err != nil {
				return err
			}
			for _, n := range added {
				out = append(out, HoursChange{ID: n.ID, Action: "create", After: n})
			}
		}
		for id, old := range existing {
			if derived[id] || !replaceable(old) {
				continue
			}
			if _, err := q.exec(ctx, `DELETE FROM service_records WHERE id = $1`, id); err != nil {
				return err
			}
			if _, err := q.exec(ctx, `DELETE FROM service_record_events WHERE record = $1`, id); err != nil {
				return err
			}
			if err := s.runHooks(ctx, q, old, nil); err != nil {
				return err
			}
			out = append(out, HoursChange{ID: id, Action: "delete", Before: old})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: apply hours: %w", err)
	}
	slices.SortFunc(out, func(a, b HoursChange) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// createChunk is how many new records one INSERT writes: 36 parameters
// each, within either database's limit.
const createChunk = 100

// createRecords inserts recs, skipping IDs stored already, with their
// 'create' events, and runs the rollup hooks of each record added. It
// returns the records added. On PostgreSQL the records go in one
// statement and the events in one more (round trips are its time); on
// SQLite one prepared statement a row is faster (see insertEach).
func (s *Store) createRecords(ctx context.Context, q querier, recs []*ServiceRecord, who string, now time.Time) ([]*ServiceRecord, error) {
	if s.b.dialect() != "postgres" {
		var out []*ServiceRecord
		for _, r := range recs {
			added, err := q.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)
				ON CONFLICT (id) DO NOTHING`, serviceRecordArgs(r)...)
			if err != nil {
				return nil, err
			}
			if added == 0 {
				continue // stored under another day: left as it is
			}
			if err := addServiceEvent(ctx, q, ServiceRecordEvent{Record: r.ID, At: now, Who: who, Action: "create",
				To: r.Status, Detail: r.RuleNote}); err != nil {
				return nil, err
			}
			if err := s.runHooks(ctx, q, nil, r); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	// Each column travels as one array: one statement, one plan,
	// whatever the number of rows (as pgInsert does for records).
	cols := strings.Split(strings.Join(strings.Fields(serviceRecordCols), ""), ",")
	arrays := make([]any, len(cols))
	casts := make([]string, len(cols))
	for i, v := range serviceRecordArgs(recs[0]) {
		switch v.(type) {
		case int64:
			arrays[i], casts[i] = make([]int64, 0, len(recs)), fmt.Sprintf("$%d::bigint[]", i+1)
		default:
			arrays[i], casts[i] = make([]string, 0, len(recs)), fmt.Sprintf("$%d::text[]", i+1)
		}
	}
	for _, r := range recs {
		for i, v := range serviceRecordArgs(r) {
			switch a := arrays[i].(type) {
			case []int64:
				arrays[i] = append(a, v.(int64))
			case []string:
				arrays[i] = append(a, v.(string))
			}
		}
	}
	added := map[string]bool{}
	err := q.query(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) SELECT * FROM unnest(`+strings.Join(casts, ", ")+`)
		ON CONFLICT (id) DO NOTHING RETURNING id`, arrays, func(r rows) error {
		var id string
		err := r.Scan(&id)
		added[id] = true
		return err
	})
	if err != nil || len(added) == 0 {
		return nil, err
	}
	var (
		out                 []*ServiceRecord
		ids, status, detail []string
	)
	for _, r := range recs {
		if !added[r.ID] {
			continue // stored under another day: left as it is
		}
		out = append(out, r)
		ids, status, detail = append(ids, r.ID), append(status, r.Status), append(detail, r.RuleNote)
	}
	if _, err := q.exec(ctx, `INSERT INTO service_record_events (record, seq, at_ns, who, action, from_status, to_status, reason, detail)
		SELECT u.id, COALESCE((SELECT MAX(e.seq) FROM service_record_events e WHERE e.record = u.id), 0) + 1,
			$4, $5, 'create', '', u.status, '', u.detail
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, status, detail)`, ids, status, detail, nanos(now), who); err != nil {
		return nil, err
	}
	for _, r := range out {
		if err := s.runHooks(ctx, q, nil, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func centsText(c int64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", float64(c)/100), "0"), ".")
}

// ReviewNearDeadline lists the records in review whose deadline is
// before until and whose reasons do not say 'deadline' yet, for the pass
// to mark.
func (s *Store) ReviewNearDeadline(ctx context.Context, until time.Time) ([]ServiceRecord, error) {
	var out []ServiceRecord
	err := s.b.query(ctx, `SELECT `+serviceRecordCols+` FROM service_records
		WHERE status = 'review' AND deadline_ns > 0 AND deadline_ns < $1 AND reasons NOT LIKE '%"deadline"%' ORDER BY id`, []any{nanos(until)},
		func(r rows) error {
			x, err := scanServiceRecord(r)
			out = append(out, x)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: records near their deadline: %w", err)
	}
	return out, nil
}

// HourRulesDoc is one stored version of the hour rules (hours.Rules as
// JSON).
type HourRulesDoc struct {
	Version int64     `json:"version"`
	Doc     string    `json:"doc"`
	By      string    `json:"created_by"`
	Created time.Time `json:"created"`
}

// HourRules lists every version of the hour rules, oldest first.
func (s *Store) HourRules(ctx context.Context) ([]HourRulesDoc, error) {
	var out []HourRulesDoc
	err := s.b.query(ctx, `SELECT version, doc, created_by, created_ns FROM hour_rules ORDER BY version`, nil,
		func(r rows) error {
			var (
				d  HourRulesDoc
				at int64
			)
			err := r.Scan(&d.Version, &d.Doc, &d.By, &at)
			d.Created = fromNanos(at)
			out = append(out, d)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: hour rules: %w", err)
	}
	return out, nil
}

// CurrentHourRules is the version in force (the highest), or
// ErrNotFound when none is stored.
func (s *Store) CurrentHourRules(ctx context.Context) (*HourRulesDoc, error) {
	var (
		d     HourRulesDoc
		at    int64
		found bool
	)
	err := s.b.query(ctx, `SELECT version, doc, created_by, created_ns FROM hour_rules ORDER BY version DESC LIMIT 1`, nil,
		func(r rows) error { found = true; return r.Scan(&d.Version, &d.Doc, &d.By, &at) })
	if err != nil {
		return nil, fmt.Errorf("store: hour rules: %w", err)
	}
	if !found {
		return nil, ErrNotFound
	}
	d.Created = fromNanos(at)
	return &d, nil
}

// AddHourRules stores doc as the next version and returns it. With
// onlyFirst it stores doc only when no version is stored yet (the first
// start's defaults) and returns the version in force either way.
func (s *Store) AddHourRules(ctx context.Context, doc, by string, now time.Time, onlyFirst bool) (int64, error) {
	var v int64
	err := s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT COALESCE(MAX(version), 0) FROM hour_rules`, nil,
			func(r rows) error { return r.Scan(&v) }); err != nil {
			return err
		}
		if onlyFirst && v > 0 {
			return nil
		}
		v++
		_, err := q.exec(ctx, `INSERT INTO hour_rules (version, doc, created_by, created_ns) VALUES ($1, $2, $3, $4)`,
			v, doc, by, nanos(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add hour rules: %w", err)
	}
	return v, nil
}
