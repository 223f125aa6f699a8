package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// The cloud does not trust a station's arithmetic. A session whose records
// a stolen kiosk could have made up is stored like any other, but flagged,
// and it counts for nothing until a person approves it.
const (
	// FlagTooLong: the session is longer than the station's maximum
	// (rules.max_session_minutes of the config pushed to it, else the
	// fleet's, else the built-in 12 h), beyond SweepGrace.
	FlagTooLong = "too_long"
	// FlagOverlap: the volunteer was already in a counted session,
	// here or at another station, when this one started or before it ended.
	FlagOverlap = "overlap"
	// FlagFuture: a record of the session is dated later than the gateway
	// received it, beyond FutureSkew.
	FlagFuture = "future"
)

// Tolerances of the flags.
const (
	// SweepGrace is how far past the maximum a session may run: a kiosk
	// closes overlong sessions on a sweep every minute, so its own
	// automatic check-out lands a little after the maximum.
	SweepGrace = 5 * time.Minute
	// FutureSkew is how far ahead of the gateway's clock a synced kiosk
	// clock may run.
	FutureSkew = 5 * time.Minute
)

// DefaultMaxSession is the maximum session when no pushed config sets one:
// the kiosk's built-in rule (wire.DefaultConfig).
var DefaultMaxSession = time.Duration(wire.DefaultConfig().Rules.MaxSessionMinutes) * time.Minute

// ErrNotFlagged is returned by ApproveSession for a session that needs no
// approval.
var ErrNotFlagged = errors.New("store: session is not flagged")

// storable reports whether t can be kept as int64 nanoseconds.
func storable(t time.Time) bool {
	return t.IsZero() || (t.Year() >= 1678 && t.Year() <= 2261)
}

// checkStorable refuses, before the database sees them, values its columns
// cannot hold, so a record that would fail the batch is found at once.
func checkStorable(e *ingest.Entry) error {
	switch {
	case e.Seq > math.MaxInt64:
		return fmt.Errorf("%w: record %s: seq %d out of range", ingest.ErrRefused, e.ID, e.Seq)
	case !storable(e.At) || !storable(e.Time) || !storable(e.Received):
		return fmt.Errorf("%w: record %s: time %s out of range", ingest.ErrRefused, e.ID, e.At.Format(time.RFC3339))
	}
	return nil
}

// Refuse keeps an entry the database refused in rejected_records, with the
// reason. Refusing an ID again changes nothing.
func (s *Store) Refuse(ctx context.Context, e ingest.Entry, reason string) error {
	doc, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("store: refuse %s: %w", e.ID, err)
	}
	clean := func(v string) string { return strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", ""), "?") }
	_, err = s.b.exec(ctx, `INSERT INTO rejected_records (id, station, reason, record, received_ns, rejected_ns)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		clean(e.ID), clean(e.Station), clean(reason), string(doc), nanos(e.Received), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: refuse %s: %w", e.ID, err)
	}
	return nil
}

// RejectedRecord is a record the database refused.
type RejectedRecord struct {
	ID       string          `json:"id"`
	Station  string          `json:"station"`
	Reason   string          `json:"reason"`
	Record   json.RawMessage `json:"record"`
	Received time.Time       `json:"received"`
	Rejected time.Time       `json:"rejected"`
}

// RejectedRecords lists the refused records of station (all if ""),
// oldest first.
func (s *Store) RejectedRecords(ctx context.Context, station string) ([]RejectedRecord, error) {
	var out []RejectedRecord
	err := s.b.query(ctx, `SELECT id, station, reason, record, received_ns, rejected_ns FROM rejected_records
		WHERE $1 = '' OR station = $1 ORDER BY rejected_ns, id`, []any{station},
		func(r rows) error {
			var (
				rr        RejectedRecord
				doc       string
				recv, rej int64
			)
			err := r.Scan(&rr.ID, &rr.Station, &rr.Reason, &doc, &recv, &rej)
			rr.Record, rr.Received, rr.Rejected = json.RawMessage(doc), fromNanos(recv), fromNanos(rej)
			out = append(out, rr)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: rejected records: %w", err)
	}
	return out, nil
}

// Reasons of a clone alert.
const (
	// CloneSUNReplay: the same SUN message was read twice. A genuine NTAG
	// 424 DNA makes a new one at every tap; a copy of one read replays it.
	CloneSUNReplay = "sun_replay"
	// CloneCounterRepeat: two taps carry the same counter.
	CloneCounterRepeat = "counter_repeat"
	// CloneCounterBack: a later tap carries a lower counter.
	CloneCounterBack = "counter_back"
)

// CloneAlert is a pair of taps of one card whose SUN data cannot both come
// from the genuine card: a clone, or a replayed read.
type CloneAlert struct {
	Card      string    `json:"card"`
	Volunteer string    `json:"volunteer"`
	Reason    string    `json:"reason"`
	RecordA   string    `json:"record_a"`
	RecordB   string    `json:"record_b"`
	StationA  string    `json:"station_a"`
	StationB  string    `json:"station_b"`
	CounterA  uint32    `json:"counter_a"`
	CounterB  uint32    `json:"counter_b"`
	Detected  time.Time `json:"detected"`
}

// sunTap is what the clone check needs of a tap.
type sunTap struct {
	id, station string
	counter     uint32
	sun         string
	time        int64
}

// cloneReason says why taps a and b of one card cannot both be genuine, or
// "" if they can. Counters are compared with the taps' times (corrected
// where the kiosk clock was not synced), not with their order of arrival:
// a kiosk that was offline for a week delivers old taps late.
func cloneReason(a, b sunTap) string {
	switch {
	case a.sun != "" && a.sun == b.sun:
		return CloneSUNReplay
	case a.counter == 0 || b.counter == 0:
		return ""
	case a.counter == b.counter:
		return CloneCounterRepeat
	case a.time != b.time && (a.counter < b.counter) != (a.time < b.time):
		return CloneCounterBack
	}
	return ""
}

// CheckClones compares every entry that carries NTAG 424 DNA SUN data with
// the stored taps of the same card and records an alert for each pair that
// cannot both be genuine. Run after the entries were committed; running it
// again adds nothing. It returns the number of new alerts.
func (s *Store) CheckClones(ctx context.Context, entries []ingest.Entry) (int, error) {
	var total int64
	for i := range entries {
		e := &entries[i]
		if e.Card == "" || (e.Counter == 0 && e.SUN == "") {
			continue
		}
		me := sunTap{id: e.ID, station: e.Station, counter: e.Counter, sun: e.SUN, time: nanos(e.Time)}
		var others []sunTap
		err := s.b.query(ctx, `SELECT id, station, counter, sun, time_ns FROM records
			WHERE card = $1 AND (counter > 0 OR sun <> '') AND id <> $2`, []any{e.Card, e.ID},
			func(r rows) error {
				var o sunTap
				var ctr int64
				err := r.Scan(&o.id, &o.station, &ctr, &o.sun, &o.time)
				o.counter = uint32(ctr)
				others = append(others, o)
				return err
			})
		if err != nil {
			return 0, fmt.Errorf("store: clone check of %s: %w", e.ID, err)
		}
		for _, o := range others {
			reason := cloneReason(me, o)
			if reason == "" {
				continue
			}
			a, b := me, o
			if b.id < a.id {
				a, b = b, a
			}
			n, err := s.b.exec(ctx, `INSERT INTO clone_alerts (record_a, record_b, card, volunteer, reason,
					station_a, station_b, counter_a, counter_b, detected_ns)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (record_a, record_b) DO NOTHING`,
				a.id, b.id, e.Card, e.Volunteer, reason, a.station, b.station, int64(a.counter), int64(b.counter),
				time.Now().UnixNano())
			if err != nil {
				return 0, fmt.Errorf("store: clone alert for %s: %w", e.ID, err)
			}
			total += n
		}
	}
	return int(total), nil
}

// CloneAlerts lists the clone alerts of card (all if ""), newest first.
func (s *Store) CloneAlerts(ctx context.Context, card string) ([]CloneAlert, error) {
	var out []CloneAlert
	err := s.b.query(ctx, `SELECT card, volunteer, reason, record_a, record_b, station_a, station_b,
			counter_a, counter_b, detected_ns
		FROM clone_alerts WHERE $1 = '' OR card = $1 ORDER BY detected_ns DESC, record_a, record_b`, []any{card},
		func(r rows) error {
			var (
				a          CloneAlert
				ca, cb, dt int64
			)
			err := r.Scan(&a.Card, &a.Volunteer, &a.Reason, &a.RecordA, &a.RecordB, &a.StationA, &a.StationB, &ca, &cb, &dt)
			a.CounterA, a.CounterB, a.Detected = uint32(ca), uint32(cb), fromNanos(dt)
			out = append(out, a)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: clone alerts: %w", err)
	}
	return out, nil
}

// limits caches each station's maximum session from the pushed configs,
// re-reading a config document only when its version changed.
type limits struct {
	mu       sync.Mutex
	versions map[string]uint64
	max      map[string]time.Duration // by scope; 0: the config sets none
}

// maxSession returns a function giving a station's maximum session as the
// cloud last pushed it.
func (s *Store) maxSession(ctx context.Context) (func(station string) time.Duration, error) {
	type ver struct {
		scope   string
		version uint64
	}
	var vs []ver
	err := s.b.query(ctx, `SELECT scope, version FROM station_configs`, nil, func(r rows) error {
		var v ver
		var n int64
		err := r.Scan(&v.scope, &n)
		v.version = uint64(n)
		vs = append(vs, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: session limits: %w", err)
	}
	l := &s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.versions == nil {
		l.versions, l.max = map[string]uint64{}, map[string]time.Duration{}
	}
	current := map[string]bool{}
	for _, v := range vs {
		current[v.scope] = true
		if got, ok := l.versions[v.scope]; ok && got == v.version {
			continue
		}
		var doc string
		err := s.b.query(ctx, `SELECT doc FROM station_configs WHERE scope = $1`, []any{v.scope},
			func(r rows) error { return r.Scan(&doc) })
		if err != nil {
			return nil, fmt.Errorf("store: session limits: %w", err)
		}
		var c struct {
			Rules *wire.Rules `json:"rules"`
		}
		var m time.Duration
		// A document that does not parse was never pushed (pushes are
		// validated); it sets no maximum.
		if json.Unmarshal([]byte(doc), &c) == nil && c.Rules != nil && c.Rules.MaxSessionMinutes > 0 {
			m = time.Duration(c.Rules.MaxSessionMinutes) * time.Minute
		}
		l.versions[v.scope], l.max[v.scope] = v.version, m
	}
	for scope := range l.versions {
		if !current[scope] {
			delete(l.versions, scope)
			delete(l.max, scope)
		}
	}
	byScope := make(map[string]time.Duration, len(l.max))
	for k, v := range l.max {
		byScope[k] = v
	}
	return func(station string) time.Duration {
		if m := byScope["station:"+station]; m > 0 {
			return m
		}
		if m := byScope["fleet"]; m > 0 {
			return m
		}
		return DefaultMaxSession
	}, nil
}

// sessionRow is a session as read, with what the flags need.
type sessionRow struct {
	Session
	volunteer        string
	inRecv, outRecv  int64
	durationNs       int64
	closed, approved bool
	reviewed         bool
	activity         int64 // the check-in's chosen activity (0: none)
}

// readSessions reads the sessions of volunteers, each volunteer's oldest
// first. It pairs as the first migration's sessions view did (the first
// closing record by seq; duration by the monotonic clock within one boot,
// else by the corrected times), but in two index-driven steps: joined
// through a view, PostgreSQL hashed the whole records table for a batch's
// worth of volunteers.
func (s *Store) readSessions(ctx context.Context, volunteers []string) (map[string][]sessionRow, error) {
	out := map[string][]sessionRow{}
	if len(volunteers) == 0 {
		return out, nil
	}
	type checkIn struct {
		row       sessionRow
		boot      string
		mono      int64
		closedBy  *string
		startNs   int64
		reviewed  *bool
		volunteer string
	}
	var ins []checkIn
	err := s.b.query(ctx, `SELECT c.volunteer, c.id, c.station, c.service, c.time_ns, c.clock_flag, c.received_ns,
			c.boot, c.mono, c.activity,
			(SELECT x.id FROM records x WHERE x.ref = c.id AND x.ref <> '' AND x.kind IN ('check_out', 'auto_check_out')
				ORDER BY x.seq, x.id LIMIT 1),
			(SELECT rv.approved FROM session_reviews rv WHERE rv.check_in = c.id)
		FROM records c
		WHERE c.kind = 'check_in' AND c.volunteer IN (`+marks(1, len(volunteers))+`)`, anys(volunteers),
		func(r rows) error {
			var ci checkIn
			err := r.Scan(&ci.volunteer, &ci.row.CheckIn, &ci.row.Station, &ci.row.Service, &ci.startNs,
				&ci.row.InClock, &ci.row.inRecv, &ci.boot, &ci.mono, &ci.row.activity, &ci.closedBy, &ci.reviewed)
			ins = append(ins, ci)
			return err
		})
	if err != nil {
		return nil, err
	}
	type closing struct {
		timeNs, mono, recv int64
		clock, kind, boot  string
		review             bool
	}
	var ids []string
	for _, ci := range ins {
		if ci.closedBy != nil {
			ids = append(ids, *ci.closedBy)
		}
	}
	closers := make(map[string]closing, len(ids))
	for chunk := range slices.Chunk(ids, 1000) {
		err := s.b.query(ctx, `SELECT id, time_ns, clock_flag, kind, review, boot, mono, received_ns
			FROM records WHERE id IN (`+marks(1, len(chunk))+`)`, anys(chunk),
			func(r rows) error {
				var (
					id string
					c  closing
				)
				err := r.Scan(&id, &c.timeNs, &c.clock, &c.kind, &c.review, &c.boot, &c.mono, &c.recv)
				closers[id] = c
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	for _, ci := range ins {
		ss := ci.row
		ss.volunteer = ci.volunteer
		ss.Start = fromNanos(ci.startNs)
		if ci.reviewed != nil {
			ss.reviewed, ss.approved = true, *ci.reviewed
		}
		if ci.closedBy != nil {
			if c, ok := closers[*ci.closedBy]; ok {
				ss.closed = true
				ss.CheckOut, ss.End, ss.OutClock, ss.outRecv = *ci.closedBy, fromNanos(c.timeNs), c.clock, c.recv
				ss.Auto, ss.Review, ss.Mono = c.kind == string(wire.KindAutoCheckOut), c.review, c.boot == ci.boot
				raw := c.timeNs - ci.startNs
				if ss.Mono {
					raw = c.mono - ci.mono
				}
				ss.Negative = raw < 0
				ss.durationNs = max(raw, 0)
				ss.Seconds = float64(ss.durationNs) / 1e9
			}
		}
		out[ss.volunteer] = append(out[ss.volunteer], ss)
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b sessionRow) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(a.CheckIn, b.CheckIn)
		})
	}
	return out, nil
}

// marks returns n numbered parameters from $from: "$1, $2, ...".
func marks(from, n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(m, ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// count sets each session's flags and whether it counts, and returns the
// counted total. Sessions are taken in order of start: one that overlaps a
// session already counted is flagged, so of two overlapping sessions the
// earlier counts (whichever station or arrival order). A session flagged
// for another reason, and not approved, does not count and so blocks
// nothing: a forged 41-day session cannot hide the real ones inside it.
func count(list []sessionRow, maxOf func(string) time.Duration) (totalNs int64) {
	// Sessions come in order of start, so one overlaps a counted session
	// exactly when it starts before the latest end of those.
	var countedEnd int64 = math.MinInt64
	for i := range list {
		ss := &list[i]
		ss.Flags = nil
		if !ss.closed {
			continue
		}
		if time.Duration(ss.durationNs) > maxOf(ss.Station)+SweepGrace {
			ss.Flags = append(ss.Flags, FlagTooLong)
		}
		if nanos(ss.Start) > ss.inRecv+int64(FutureSkew) || nanos(ss.End) > ss.outRecv+int64(FutureSkew) {
			ss.Flags = append(ss.Flags, FlagFuture)
		}
		// The span the volunteer was there: its start and the duration
		// that counts (by the monotonic clock within one boot), not the
		// wall-clock end, which an NTP step may have moved.
		start := nanos(ss.Start)
		end := start + ss.durationNs
		if end > start && start < countedEnd {
			ss.Flags = append(ss.Flags, FlagOverlap)
		}
		ss.Approved = ss.approved
		ss.Rejected = ss.reviewed && !ss.approved && len(ss.Flags) > 0
		ss.Counted = len(ss.Flags) == 0 || ss.approved
		if !ss.Counted {
			continue
		}
		totalNs += ss.durationNs
		if end > start {
			countedEnd = max(countedEnd, end)
		}
	}
	return totalNs
}

// hoursOf reads and counts the sessions of volunteers.
func (s *Store) hoursOf(ctx context.Context, volunteers []string) (map[string]*Hours, error) {
	maxOf, err := s.maxSession(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.readSessions(ctx, volunteers)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Hours, len(volunteers))
	for _, v := range volunteers {
		list := rows[v]
		h := &Hours{Volunteer: v, List: make([]Session, 0, len(list))}
		totalNs := count(list, maxOf)
		for _, ss := range list {
			switch {
			case !ss.closed:
				h.Open++
			case !ss.Counted:
				h.Sessions++
				h.Flagged++
			default:
				h.Sessions++
			}
			h.List = append(h.List, ss.Session)
		}
		h.Hours = float64(totalNs) / float64(time.Hour)
		out[v] = h
	}
	return out, nil
}

// CountedHours returns each volunteer's counted hours: the sessions that
// VolunteerHours marks Counted.
func (s *Store) CountedHours(ctx context.Context, volunteers []string) (map[string]float64, error) {
	out := make(map[string]float64, len(volunteers))
	// One query per chunk keeps within either database's parameter limit.
	for chunk := range slices.Chunk(volunteers, 1000) {
		hs, err := s.hoursOf(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: counted hours: %w", err)
		}
		for v, h := range hs {
			out[v] = h.Hours
		}
	}
	return out, nil
}

// ApproveSession records a person's approval of a flagged session, named
// by its check-in record: from then on it counts. It fails with
// ErrNotFound for an unknown check-in and ErrNotFlagged for a session that
// needs no approval.
func (s *Store) ApproveSession(ctx context.Context, checkIn, reviewer, note string, at time.Time) error {
	return s.ReviewSession(ctx, checkIn, true, reviewer, note, at)
}

// ReviewSession records a person's decision on a flagged session, named by
// its check-in record: approved, it counts from then on; not approved, it
// stays out of the hours and leaves the review queue (FlaggedSessions). A
// later decision replaces an earlier one. It fails with ErrNotFound for an
// unknown check-in and ErrNotFlagged for a session that needs no decision.
func (s *Store) ReviewSession(ctx context.Context, checkIn string, approved bool, reviewer, note string, at time.Time) error {
	verb := "approve"
	if !approved {
		verb = "reject"
	}
	var volunteer string
	err := s.b.query(ctx, `SELECT volunteer FROM records WHERE id = $1 AND kind = 'check_in'`, []any{checkIn},
		func(r rows) error { return r.Scan(&volunteer) })
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", verb, checkIn, err)
	}
	if volunteer == "" {
		return fmt.Errorf("%w: session %s", ErrNotFound, checkIn)
	}
	h, err := s.VolunteerHours(ctx, volunteer)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(h.List, func(ss Session) bool { return ss.CheckIn == checkIn })
	if i < 0 || len(h.List[i].Flags) == 0 {
		return fmt.Errorf("%w: session %s", ErrNotFlagged, checkIn)
	}
	// The decision and its volunteer-day for the hours pass, in one
	// transaction: the pass counts the day again, so the session's
	// service record leaves review (approved) as the decision says.
	err = s.b.inTx(ctx, func(q querier) error {
		if err := SessionReviewIn(ctx, exported{q, s.b.dialect()}, checkIn, approved, reviewer, note, at); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO hours_dirty (volunteer, day) VALUES ($1, $2)
			ON CONFLICT (volunteer, day) DO NOTHING`, volunteer, h.List[i].Start.In(cst).Format(time.DateOnly))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", verb, checkIn, err)
	}
	return nil
}

// FlaggedSession is a session awaiting a person's review, with its
// volunteer.
type FlaggedSession struct {
	Volunteer string `json:"volunteer"`
	Session
}

// FlaggedSessions lists the sessions started since since that are flagged
// and on which no person has decided yet, oldest first: the reviewer's
// queue.
func (s *Store) FlaggedSessions(ctx context.Context, since time.Time) ([]FlaggedSession, error) {
	var vols []string
	err := s.b.query(ctx, `SELECT DISTINCT volunteer FROM records
		WHERE kind = 'check_in' AND time_ns >= $1 ORDER BY volunteer`, []any{nanos(since)},
		func(r rows) error {
			var v string
			err := r.Scan(&v)
			vols = append(vols, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: flagged sessions: %w", err)
	}
	var out []FlaggedSession
	for chunk := range slices.Chunk(vols, 1000) {
		hs, err := s.hoursOf(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: flagged sessions: %w", err)
		}
		for _, v := range chunk {
			for _, ss := range hs[v].List {
				if len(ss.Flags) > 0 && !ss.Counted && !ss.Rejected && !ss.Start.Before(since) {
					out = append(out, FlaggedSession{Volunteer: v, Session: ss})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b FlaggedSession) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.CheckIn, b.CheckIn)
	})
	return out, nil
}

// The gateway audits through the store: clone checks, counted hours and
// which of them a station may be told.
var _ ingest.Auditor = (*Store)(nil)

// KnownBefore reports which of volunteers station knew before batch (a
// batch from station, already committed): those listed for station, and
// those with a check-in at station that is not one of batch's. The gateway
// tells a station only these volunteers' hours (ingest.Auditor). Counting
// check-ins keeps the lookup on the records_volunteer index, whatever the
// size of the station's history.
func (s *Store) KnownBefore(ctx context.Context, station string, volunteers []string, batch []ingest.Entry) (map[string]bool, error) {
	out := make(map[string]bool, len(volunteers))
	inBatch := map[string]int64{}
	for _, e := range batch {
		if e.Station == station && e.Kind == wire.KindCheckIn {
			inBatch[e.Volunteer]++
		}
	}
	for chunk := range slices.Chunk(volunteers, 1000) {
		err := s.b.query(ctx, `SELECT volunteer, 0 FROM volunteer_stations WHERE station = $1 AND volunteer IN (`+marks(2, len(chunk))+`)
			UNION ALL
			SELECT volunteer, COUNT(*) FROM records
			WHERE kind = 'check_in' AND volunteer IN (`+marks(2, len(chunk))+`) AND station = $1 GROUP BY volunteer`,
			append([]any{station}, anys(chunk)...),
			func(r rows) error {
				var (
					v string
					n int64
				)
				if err := r.Scan(&v, &n); err != nil {
					return err
				}
				// Listed (n = 0 from volunteer_stations), or more
				// check-ins stored at station than this batch brought.
				if n == 0 || n > inBatch[v] {
					out[v] = true
				}
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("store: volunteers known at %s: %w", station, err)
		}
	}
	return out, nil
}
