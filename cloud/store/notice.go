package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"leifeng/gateway/wire"
)

// Public notice (公示) and objections (issue 12, point 5). A record in
// notice is shown at its station's kiosk until notice_until; anyone may
// object to it there (by card tap) or in the console. An open objection
// holds the record (status objected: it does not count); the station
// level decides: dismissed → back to notice (final if the period is
// over), upheld → review with the reason 'objection'. The notice pass
// makes the records whose period is over final.

// Objection states.
const (
	ObjectionOpen      = "open"
	ObjectionUpheld    = "upheld"
	ObjectionDismissed = "dismissed"
)

// Where an objection was raised.
const (
	ViaKiosk   = "kiosk"
	ViaConsole = "console"
)

// ReasonObjection is the review reason of a record whose objection was
// upheld (hours.ReasonObjection is this constant: the store cannot import
// hours, which imports it).
const ReasonObjection = "objection"

var (
	// ErrNotInNotice refuses an objection to a record that is not in
	// public notice (nor already under objection).
	ErrNotInNotice = errors.New("store: the service record is not in public notice")
	// ErrAlreadyObjected refuses a second open objection by the same
	// person to the same record.
	ErrAlreadyObjected = errors.New("store: this person's objection to the record is still open")
	// ErrObjectionClosed refuses to resolve an objection already resolved.
	ErrObjectionClosed = errors.New("store: the objection is already resolved")
	// ErrOwnObjection refuses to let whoever raised an objection resolve it.
	ErrOwnObjection = errors.New("store: an objection is resolved by someone other than who raised it")
)

// Objection is one row of objections, with what the reviewer needs of
// its record (Station, Community, Volunteer, Day, Activity, Cents).
type Objection struct {
	ID         int64     `json:"id"`
	Record     string    `json:"record"`
	Via        string    `json:"via"`
	RaisedBy   string    `json:"raised_by"`
	RecordID   string    `json:"record_id,omitempty"`
	Reason     string    `json:"reason"`
	State      string    `json:"state"`
	Raised     time.Time `json:"raised"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Resolved   time.Time `json:"resolved,omitzero"`
	Resolution string    `json:"resolution,omitempty"`

	Station   string `json:"station"`
	Community string `json:"community"`
	Org       string `json:"org"`
	Volunteer string `json:"volunteer"`
	Day       string `json:"day"`
	Activity  string `json:"activity"`
	Cents     int64  `json:"counted_cents"`
}

const objectionCols = `o.id, o.record, o.via, o.raised_by, o.record_id, o.reason, o.state, o.raised_ns, o.resolved_by,
	o.resolved_ns, o.resolution, s.station, s.community, s.org, s.volunteer, s.day, s.activity_name, s.counted_cents`

const objectionFrom = ` FROM objections o JOIN service_records s ON s.id = o.record`

func scanObjection(r rows) (Objection, error) {
	var (
		o                  Objection
		raised, resolvedNs int64
	)
	err := r.Scan(&o.ID, &o.Record, &o.Via, &o.RaisedBy, &o.RecordID, &o.Reason, &o.State, &raised, &o.ResolvedBy,
		&resolvedNs, &o.Resolution, &o.Station, &o.Community, &o.Org, &o.Volunteer, &o.Day, &o.Activity, &o.Cents)
	o.Raised, o.Resolved = fromNanos(raised), fromNanos(resolvedNs)
	return o, err
}

// ObjectionFilter selects objections; zero fields select all.
type ObjectionFilter struct {
	State  string
	Record string
	Limit  int
}

// Objections lists the objections f selects, oldest first.
func (s *Store) Objections(ctx context.Context, f ObjectionFilter) ([]Objection, error) {
	var (
		where []string
		args  []any
	)
	if f.State != "" {
		args = append(args, f.State)
		where = append(where, fmt.Sprintf("o.state = $%d", len(args)))
	}
	if f.Record != "" {
		args = append(args, f.Record)
		where = append(where, fmt.Sprintf("o.record = $%d", len(args)))
	}
	q := `SELECT ` + objectionCols + objectionFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY o.raised_ns, o.id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []Objection
	err := s.b.query(ctx, q, args, func(r rows) error {
		o, err := scanObjection(r)
		out = append(out, o)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: objections: %w", err)
	}
	return out, nil
}

// Objection reads objection id, or ErrNotFound.
func (s *Store) Objection(ctx context.Context, id int64) (*Objection, error) {
	list, err := objectionsWhere(ctx, s.b, `o.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("store: objection %d: %w", id, err)
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

type queryer interface {
	query(ctx context.Context, q string, args []any, each func(rows) error) error
}

func objectionsWhere(ctx context.Context, q queryer, where string, args ...any) ([]Objection, error) {
	var out []Objection
	err := q.query(ctx, `SELECT `+objectionCols+objectionFrom+` WHERE `+where+` ORDER BY o.id`, args, func(r rows) error {
		o, err := scanObjection(r)
		out = append(out, o)
		return err
	})
	return out, err
}

// RaiseObjection records o (Record, Via, RaisedBy, Reason; RecordID for
// a kiosk's) against a record in notice or already under objection: the
// record becomes objected and stops counting until the objection is
// resolved. A record in any other status, or whose notice period is
// over, is ErrNotInNotice; an unknown one ErrNotFound; a second open
// objection by the same person ErrAlreadyObjected.
func (s *Store) RaiseObjection(ctx context.Context, o Objection, now time.Time) (*Objection, *ServiceRecord, error) {
	var (
		out *Objection
		rec *ServiceRecord
	)
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		out, rec, err = s.raiseObjection(ctx, q, o, now)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: objection to %s: %w", o.Record, err)
	}
	return out, rec, nil
}

func (s *Store) raiseObjection(ctx context.Context, q querier, o Objection, now time.Time) (*Objection, *ServiceRecord, error) {
	var open bool
	if err := q.query(ctx, `SELECT TRUE FROM objections WHERE record = $1 AND raised_by = $2 AND via = $3 AND state = 'open'`,
		[]any{o.Record, o.RaisedBy, o.Via}, func(r rows) error { return r.Scan(&open) }); err != nil {
		return nil, nil, err
	}
	if open {
		return nil, nil, ErrAlreadyObjected
	}
	if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM objections`, nil,
		func(r rows) error { return r.Scan(&o.ID) }); err != nil {
		return nil, nil, err
	}
	rec, err := s.changeServiceRecord(ctx, q, o.Record, now, func(r *ServiceRecord) (ServiceRecordEvent, error) {
		// A record whose period is over is final at the next pass, even
		// if the pass has not run yet.
		if r.Status != StatusObjected && (r.Status != StatusNotice || !r.NoticeUntil.After(now)) {
			return ServiceRecordEvent{}, ErrNotInNotice
		}
		r.Status = StatusObjected
		return ServiceRecordEvent{Who: o.RaisedBy, Action: "objection", Reason: o.Reason,
			Detail: fmt.Sprintf("objection=%d via=%s", o.ID, o.Via)}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	o.State, o.Raised, o.ResolvedBy, o.Resolved, o.Resolution = ObjectionOpen, now, "", time.Time{}, ""
	if _, err := q.exec(ctx, `INSERT INTO objections (id, record, via, raised_by, record_id, reason, state, raised_ns,
		resolved_by, resolved_ns, resolution) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 0, '')`,
		o.ID, o.Record, o.Via, o.RaisedBy, o.RecordID, o.Reason, o.State, nanos(now)); err != nil {
		return nil, nil, err
	}
	o.Station, o.Community, o.Org, o.Volunteer, o.Day, o.Activity, o.Cents = rec.Station, rec.Community, rec.Org, rec.Volunteer, rec.Day, rec.ActivityName, rec.CountedCents
	return &o, rec, nil
}

// ResolveObjection decides objection id by who, with reason. Dismissed:
// once no other objection to the record is open, the record goes back
// to notice, or is final when its notice period is over. Upheld: the
// record goes to review (reason 'objection', the station's reviewers, or
// the county's for a record of no station) where it is adjusted or
// rejected; the record's other open objections are upheld with it.
func (s *Store) ResolveObjection(ctx context.Context, id int64, uphold bool, who, reason string, now time.Time) (*Objection, *ServiceRecord, error) {
	var (
		out *Objection
		rec *ServiceRecord
	)
	err := s.b.inTx(ctx, func(q querier) error {
		list, err := objectionsWhere(ctx, q, `o.id = $1`, id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return ErrNotFound
		}
		o := list[0]
		switch {
		case o.State != ObjectionOpen:
			return ErrObjectionClosed
		case o.Via == ViaConsole && o.RaisedBy == who:
			return ErrOwnObjection
		}
		state, others := ObjectionDismissed, 0
		if uphold {
			state = ObjectionUpheld
		}
		if _, err := q.exec(ctx, `UPDATE objections SET state = $1, resolved_by = $2, resolved_ns = $3, resolution = $4 WHERE id = $5`,
			state, who, nanos(now), reason, id); err != nil {
			return err
		}
		if uphold {
			if _, err := q.exec(ctx, `UPDATE objections SET state = $1, resolved_by = $2, resolved_ns = $3, resolution = $4
				WHERE record = $5 AND state = 'open'`,
				ObjectionUpheld, who, nanos(now), fmt.Sprintf("随第%d号异议一并成立：%s", id, reason), o.Record); err != nil {
				return err
			}
		} else if err := q.query(ctx, `SELECT COUNT(*) FROM objections WHERE record = $1 AND state = 'open'`, []any{o.Record},
			func(r rows) error { return r.Scan(&others) }); err != nil {
			return err
		}
		o.State, o.ResolvedBy, o.Resolved, o.Resolution = state, who, now, reason
		out = &o
		if others > 0 {
			// Still held by another objection.
			rec, err = s.serviceRecordIn(ctx, q, o.Record)
			return err
		}
		rec, err = s.changeServiceRecord(ctx, q, o.Record, now, func(r *ServiceRecord) (ServiceRecordEvent, error) {
			e := ServiceRecordEvent{Who: who, Reason: reason, Detail: fmt.Sprintf("objection=%d", id)}
			if r.Status != StatusObjected {
				// Changed meanwhile by someone else: leave it as it is.
				e.Action = "objection_" + state
				return e, nil
			}
			if uphold {
				e.Action = "objection_upheld"
				r.Status = StatusReview
				if !slices.Contains(r.Reasons, ReasonObjection) {
					r.Reasons = append(r.Reasons, ReasonObjection)
				}
				r.Reviewer = "station"
				if r.Station == "" {
					r.Reviewer = "county"
				}
				r.Outcome = fmt.Sprintf("%s %s：%s小时，异议成立，待重新审核", shortDay(r.Day), r.ActivityName, hoursText(r.CountedCents))
				r.Seen = time.Time{}
				return e, nil
			}
			e.Action = "objection_dismissed"
			if r.NoticeUntil.After(now) {
				r.Status = StatusNotice
			} else {
				r.Status, r.Final = StatusFinal, now
			}
			return e, nil
		})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: resolve objection %d: %w", id, err)
	}
	return out, rec, nil
}

func (s *Store) serviceRecordIn(ctx context.Context, q querier, id string) (*ServiceRecord, error) {
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
	return &x, err
}

// shortDay is "11月2日" for 2026-11-02.
func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}

// hoursText is hundredths as hours without trailing zeros: 150 → "1.5".
func hoursText(cents int64) string {
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// FinalizeNotices makes final every record in notice whose notice period
// ended by now (a record under objection is objected, not notice, so it
// waits), each through ChangeServiceRecord so the rollup hooks count it.
// It returns how many it made final.
func (s *Store) FinalizeNotices(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for {
		var ids []string
		if err := s.b.query(ctx, `SELECT id FROM service_records WHERE status = 'notice' AND notice_until_ns <= $1
			ORDER BY notice_until_ns, id LIMIT 500`, []any{nanos(now)}, func(r rows) error {
			var id string
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		}); err != nil {
			return n, fmt.Errorf("store: records due: %w", err)
		}
		done := 0
		for _, id := range ids {
			_, err := s.ChangeServiceRecord(ctx, id, now, func(r *ServiceRecord) (ServiceRecordEvent, error) {
				if r.Status != StatusNotice || r.NoticeUntil.After(now) {
					return ServiceRecordEvent{}, errNoticeNotDue
				}
				r.Status, r.Final = StatusFinal, now
				return ServiceRecordEvent{Who: "公示", Action: "final", Detail: "notice_until=" + r.NoticeUntil.Format(time.RFC3339)}, nil
			})
			switch {
			case errors.Is(err, errNoticeNotDue), errors.Is(err, ErrNotFound):
			case err != nil:
				return n, fmt.Errorf("store: make %s final: %w", id, err)
			default:
				n++
				done++
			}
		}
		if len(ids) < 500 || done == 0 {
			return n, nil
		}
	}
}

var errNoticeNotDue = errors.New("store: not due")

// ApplyKioskObjections applies the kiosks' objection records (kind
// 'objection': Ref the service record, Volunteer who tapped, Note the
// reason) not applied yet, each once even when ingested twice: each
// becomes an objection when the record is in notice at that station and
// the volunteer is registered, and objection_intake keeps every record's
// outcome ("" applied, else why not). Any registered volunteer may
// object, not only the record's own: public notice invites objections
// from anyone who sees the board. It returns how many it applied.
func (s *Store) ApplyKioskObjections(ctx context.Context, now time.Time) (int, error) {
	type kioskObjection struct {
		id, station, volunteer, ref, note string
	}
	var recs []kioskObjection
	if err := s.b.query(ctx, `SELECT r.id, r.station, r.volunteer, r.ref, r.note FROM records r
		WHERE r.kind = 'objection' AND NOT EXISTS (SELECT 1 FROM objection_intake i WHERE i.record_id = r.id)
		ORDER BY r.time_ns, r.id LIMIT 1000`, nil, func(r rows) error {
		var x kioskObjection
		err := r.Scan(&x.id, &x.station, &x.volunteer, &x.ref, &x.note)
		recs = append(recs, x)
		return err
	}); err != nil {
		return 0, fmt.Errorf("store: kiosk objections: %w", err)
	}
	n := 0
	for _, x := range recs {
		applied := false
		err := s.b.inTx(ctx, func(q querier) error {
			applied = false
			var done bool
			if err := q.query(ctx, `SELECT TRUE FROM objection_intake WHERE record_id = $1`, []any{x.id},
				func(r rows) error { return r.Scan(&done) }); err != nil || done {
				return err
			}
			var (
				registered bool
				station    string
				objection  int64
				outcome    string
			)
			if err := q.query(ctx, `SELECT TRUE FROM volunteers WHERE id = $1 AND registered_ns > 0 AND deregistered_ns = 0`,
				[]any{x.volunteer}, func(r rows) error { return r.Scan(&registered) }); err != nil {
				return err
			}
			if err := q.query(ctx, `SELECT station FROM service_records WHERE id = $1`, []any{x.ref},
				func(r rows) error { return r.Scan(&station) }); err != nil {
				return err
			}
			switch {
			case !registered:
				outcome = "刷卡的志愿者未注册或已注销，不能提出异议。"
			case strings.HasPrefix(x.ref, StarRefPrefix):
				// An objection to a star award in notice (star_notice.go).
				var err error
				if objection, outcome, err = kioskStarObjection(ctx, q, x.id, x.station, x.volunteer, x.ref, x.note, now); err != nil {
					return err
				}
				applied = objection != 0
			case station == "" || station != x.station:
				outcome = "本站公示栏中没有这条记录，异议未受理。"
			default:
				reason := strings.TrimSpace(x.note)
				if reason == "" {
					reason = "在站点公示栏刷卡提出异议"
				}
				o, _, err := s.raiseObjection(ctx, q, Objection{Record: x.ref, Via: ViaKiosk, RaisedBy: x.volunteer,
					RecordID: x.id, Reason: reason}, now)
				switch {
				case errors.Is(err, ErrNotInNotice):
					outcome = "这条记录已不在公示期，异议未受理；如有疑问请联系站点管理员。"
				case errors.Is(err, ErrAlreadyObjected):
					outcome = "您对这条记录的异议已在处理中，不必重复提出。"
				case err != nil:
					return err
				default:
					objection, applied = o.ID, true
				}
			}
			_, err := q.exec(ctx, `INSERT INTO objection_intake (record_id, objection, outcome, at_ns) VALUES ($1, $2, $3, $4)`,
				x.id, objection, outcome, nanos(now))
			return err
		})
		if err != nil {
			return n, fmt.Errorf("store: apply kiosk objection %s: %w", x.id, err)
		}
		if applied {
			n++
		}
	}
	return n, nil
}

// NoticeStations are the stations whose public notice a notice pass at
// now changes: those of records and star awards whose period is over,
// and those whose kiosks sent objections not yet taken in.
func (s *Store) NoticeStations(ctx context.Context, now time.Time) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `SELECT station FROM service_records WHERE status = 'notice' AND notice_until_ns <= $1 AND station <> ''
		UNION SELECT r.station FROM records r WHERE r.kind = 'objection'
		AND NOT EXISTS (SELECT 1 FROM objection_intake i WHERE i.record_id = r.id)`+starNoticeStationsDue, []any{nanos(now)}, func(r rows) error {
		var st string
		err := r.Scan(&st)
		out = append(out, st)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: notice stations: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// KioskObjectionOutcome is what became of kiosk record id of kind
// 'objection': the objection it made (0 none) and why not ("" applied);
// ErrNotFound until the notice pass has taken it.
func (s *Store) KioskObjectionOutcome(ctx context.Context, id string) (int64, string, error) {
	var (
		objection int64
		outcome   string
		found     bool
	)
	err := s.b.query(ctx, `SELECT objection, outcome FROM objection_intake WHERE record_id = $1`, []any{id},
		func(r rows) error { found = true; return r.Scan(&objection, &outcome) })
	if err != nil {
		return 0, "", fmt.Errorf("store: kiosk objection %s: %w", id, err)
	}
	if !found {
		return 0, "", ErrNotFound
	}
	return objection, outcome, nil
}

// NoticeEntry is one line of a station's public notice (公示) as the
// kiosk shows it: no personal data beyond the masked name.
type NoticeEntry struct {
	Record   string    `json:"record"`
	Name     string    `json:"name"`
	Day      string    `json:"day"`
	Activity string    `json:"activity"`
	Cents    int64     `json:"counted_cents"`
	Until    time.Time `json:"until"`
	Objected bool      `json:"objected"`
}

// StationNotice is station's public notice at now: its records in notice
// whose period is not over and those under objection, newest day first
// (at most 500), each with the volunteer's name masked (wire.MaskName).
func (s *Store) StationNotice(ctx context.Context, station string, now time.Time) ([]NoticeEntry, error) {
	var out []NoticeEntry
	err := s.b.query(ctx, `SELECT s.id, COALESCE(v.name, ''), s.day, s.activity_name, s.counted_cents, s.notice_until_ns, s.status
		FROM service_records s LEFT JOIN volunteers v ON v.id = s.volunteer
		WHERE s.station = $1 AND (s.status = 'objected' OR (s.status = 'notice' AND s.notice_until_ns > $2))
		ORDER BY s.day DESC, s.id LIMIT 500`, []any{station, nanos(now)}, func(r rows) error {
		var (
			e      NoticeEntry
			until  int64
			status string
		)
		err := r.Scan(&e.Record, &e.Name, &e.Day, &e.Activity, &e.Cents, &until, &status)
		e.Name, e.Until, e.Objected = wire.MaskName(e.Name), fromNanos(until), status == StatusObjected
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: notice of %s: %w", station, err)
	}
	return out, nil
}
