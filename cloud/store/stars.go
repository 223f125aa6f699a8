package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Star ratings (星级认定, issue 12 point 6) of volunteers and
// organisations: applied for (or proposed), approved by the level the
// rules name, shown in public notice, then awarded. The rules themselves
// (cloud/stars) are a setting; this file keeps the awards and reads the
// facts the rules judge.

// Star award states.
const (
	StarApplied  = "applied"
	StarNotice   = "notice"
	StarAwarded  = "awarded"
	StarRejected = "rejected"
)

// Star subjects.
const (
	SubjectVolunteer = "volunteer"
	SubjectOrg       = "org"
)

var (
	// ErrStarPending refuses an application while another of the same
	// subject is applied for or in notice.
	ErrStarPending = errors.New("store: a star application of this subject is still open")
	// ErrStarState refuses a decision on an award not in the state it
	// needs (approving one already in notice, say).
	ErrStarState = errors.New("store: the star award is not in a state for this")
)

// StarAward is one row of star_awards. Areas are the subject's areas
// (a volunteer's community; an organisation's county and linked
// community), read with it for routing the queue.
type StarAward struct {
	ID          int64     `json:"id"`
	SubjectKind string    `json:"subject_kind"`
	Subject     string    `json:"subject"`
	Level       int       `json:"level"`
	State       string    `json:"state"`
	Basis       string    `json:"basis"`
	Approver    string    `json:"approver"`
	AppliedBy   string    `json:"applied_by"`
	Applied     time.Time `json:"applied"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	NoticeUntil time.Time `json:"notice_until,omitzero"`
	Decided     time.Time `json:"decided,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	// Objections is how many objections to the award raised during its
	// notice are open (star_notice.go): while any is, the award is back
	// in its approver's queue (state applied) and is not awarded.
	Objections int      `json:"objections,omitempty"`
	Areas      []string `json:"-"`
}

const starCols = `a.id, a.subject_kind, a.subject, a.level, a.state, a.basis, a.approver, a.applied_by, a.applied_ns,
	a.approved_by, a.notice_until_ns, a.decided_ns, a.reason,
	COALESCE(v.community, ''), COALESCE(g.county, ''), COALESCE(g.community, ''),
	(SELECT COUNT(*) FROM star_objections so WHERE so.award = a.id AND so.state = 'open')`

const starFrom = ` FROM star_awards a
	LEFT JOIN volunteers v ON a.subject_kind = 'volunteer' AND v.id = a.subject
	LEFT JOIN organisations g ON a.subject_kind = 'org' AND g.id = a.subject`

func scanStar(r rows) (StarAward, error) {
	var (
		a                               StarAward
		applied, until, decided         int64
		vCommunity, gCounty, gCommunity string
	)
	err := r.Scan(&a.ID, &a.SubjectKind, &a.Subject, &a.Level, &a.State, &a.Basis, &a.Approver, &a.AppliedBy, &applied,
		&a.ApprovedBy, &until, &decided, &a.Reason, &vCommunity, &gCounty, &gCommunity, &a.Objections)
	a.Applied, a.NoticeUntil, a.Decided = fromNanos(applied), fromNanos(until), fromNanos(decided)
	for _, c := range []string{vCommunity, gCounty, gCommunity} {
		if c != "" {
			a.Areas = append(a.Areas, c)
		}
	}
	return a, err
}

// StarFilter selects star awards; zero fields select all.
type StarFilter struct {
	SubjectKind string
	Subject     string
	States      []string
	Approver    string
	Limit       int
}

// StarAwards lists the awards f selects, oldest application first.
func (s *Store) StarAwards(ctx context.Context, f StarFilter) ([]StarAward, error) {
	out, err := starsWhere(ctx, s.b, f)
	if err != nil {
		return nil, fmt.Errorf("store: star awards: %w", err)
	}
	return out, nil
}

func starsWhere(ctx context.Context, q queryer, f StarFilter) ([]StarAward, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.SubjectKind != "" {
		add("a.subject_kind = $%d", f.SubjectKind)
	}
	if f.Subject != "" {
		add("a.subject = $%d", f.Subject)
	}
	if f.Approver != "" {
		add("a.approver = $%d", f.Approver)
	}
	if len(f.States) > 0 {
		args = append(args, anys(f.States)...)
		where = append(where, "a.state IN ("+marks(len(args)-len(f.States)+1, len(f.States))+")")
	}
	query := `SELECT ` + starCols + starFrom
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY a.applied_ns, a.id"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []StarAward
	err := q.query(ctx, query, args, func(r rows) error {
		a, err := scanStar(r)
		out = append(out, a)
		return err
	})
	return out, err
}

// StarAward reads award id, or ErrNotFound.
func (s *Store) StarAward(ctx context.Context, id int64) (*StarAward, error) {
	var (
		a     StarAward
		found bool
	)
	err := s.b.query(ctx, `SELECT `+starCols+starFrom+` WHERE a.id = $1`, []any{id}, func(r rows) error {
		var err error
		a, err = scanStar(r)
		found = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: star award %d: %w", id, err)
	}
	if !found {
		return nil, ErrNotFound
	}
	return &a, nil
}

// ApplyStar stores a (SubjectKind, Subject, Level, Basis, Approver,
// AppliedBy) as applied, unless the subject has an application applied
// or in notice (ErrStarPending).
func (s *Store) ApplyStar(ctx context.Context, a StarAward, now time.Time) (*StarAward, error) {
	err := s.b.inTx(ctx, func(q querier) error {
		open, err := starsWhere(ctx, q, StarFilter{SubjectKind: a.SubjectKind, Subject: a.Subject, States: []string{StarApplied, StarNotice}})
		if err != nil {
			return err
		}
		if len(open) > 0 {
			return ErrStarPending
		}
		if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM star_awards`, nil,
			func(r rows) error { return r.Scan(&a.ID) }); err != nil {
			return err
		}
		a.State, a.Applied = StarApplied, now
		_, err = q.exec(ctx, `INSERT INTO star_awards (id, subject_kind, subject, level, state, basis, approver, applied_ns,
			approved_by, notice_until_ns, decided_ns, reason, applied_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 0, 0, '', $9)`,
			a.ID, a.SubjectKind, a.Subject, a.Level, a.State, a.Basis, a.Approver, nanos(now), a.AppliedBy)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: apply for star: %w", err)
	}
	return s.StarAward(ctx, a.ID)
}

// DecideStar changes award id in one transaction: fn gets it as stored
// and changes State, ApprovedBy, NoticeUntil, Decided and Reason (the
// other fields are kept); fn's error aborts and is returned as it is.
func (s *Store) DecideStar(ctx context.Context, id int64, fn func(a *StarAward) error) (*StarAward, error) {
	err := s.b.inTx(ctx, func(q querier) error {
		var (
			a     StarAward
			found bool
		)
		if err := q.query(ctx, `SELECT `+starCols+starFrom+` WHERE a.id = $1`, []any{id}, func(r rows) error {
			var err error
			a, err = scanStar(r)
			found = true
			return err
		}); err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		if err := fn(&a); err != nil {
			return err
		}
		_, err := q.exec(ctx, `UPDATE star_awards SET state = $1, approved_by = $2, notice_until_ns = $3, decided_ns = $4, reason = $5
			WHERE id = $6`, a.State, a.ApprovedBy, nanos(a.NoticeUntil), nanos(a.Decided), a.Reason, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.StarAward(ctx, id)
}

// AwardDueStars awards every star whose notice period ended by now and
// returns how many.
func (s *Store) AwardDueStars(ctx context.Context, now time.Time) (int, error) {
	n, err := s.b.exec(ctx, `UPDATE star_awards SET state = 'awarded', decided_ns = $1
		WHERE state = 'notice' AND notice_until_ns <= $1`, nanos(now))
	if err != nil {
		return 0, fmt.Errorf("store: award due stars: %w", err)
	}
	return int(n), nil
}

// StarFacts are what the star rules judge a subject by.
type StarFacts struct {
	// Registered is when the volunteer registered (an organisation: its
	// first record's day, zero if none).
	Registered time.Time `json:"registered,omitzero"`
	// Cents are the counted hours of the subject's final records, both
	// ledgers, in hundredths (from the day asked, for annual counting).
	Cents int64 `json:"counted_cents"`
	// Level is the highest star awarded, LevelAt when it was awarded.
	Level   int       `json:"level"`
	LevelAt time.Time `json:"level_at,omitzero"`
	// Pending is the level of an application applied for or in notice
	// (0 none).
	Pending int `json:"pending"`
	// An organisation's: registered volunteers who are members, months
	// of the last twelve with a final record in its linked community,
	// its residents' mean rating of the orders it served (nil none).
	Members     int      `json:"members,omitempty"`
	VisitMonths int      `json:"visit_months,omitempty"`
	Rating      *float64 `json:"rating,omitempty"`
	Community   string   `json:"community,omitempty"`
}

// VolunteerStarFacts are the facts of each registered volunteer of ids
// (others are absent), hours counted from day from ("" all).
func (s *Store) VolunteerStarFacts(ctx context.Context, ids []string, from string) (map[string]*StarFacts, error) {
	out := map[string]*StarFacts{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		if err := s.b.query(ctx, `SELECT id, registered_on, registered_ns, community FROM volunteers
			WHERE registered_ns > 0 AND deregistered_ns = 0 AND id IN (`+marks(1, len(chunk))+`)`, anys(chunk), func(r rows) error {
			var (
				id, on, community string
				ns                int64
			)
			if err := r.Scan(&id, &on, &ns, &community); err != nil {
				return err
			}
			f := &StarFacts{Registered: fromNanos(ns), Community: community}
			if t, err := time.Parse(time.DateOnly, on); err == nil {
				f.Registered = t
			}
			out[id] = f
			return nil
		}); err != nil {
			return nil, fmt.Errorf("store: volunteers' star facts: %w", err)
		}
		args := append(anys(chunk), from)
		n := len(chunk)
		if err := s.b.query(ctx, `SELECT volunteer, SUM(counted_cents) FROM service_records
			WHERE status = 'final' AND volunteer IN (`+marks(1, n)+fmt.Sprintf(`) AND day >= $%d GROUP BY volunteer`, n+1),
			args, func(r rows) error {
				var (
					id    string
					cents int64
				)
				if err := r.Scan(&id, &cents); err != nil {
					return err
				}
				if f := out[id]; f != nil {
					f.Cents = cents
				}
				return nil
			}); err != nil {
			return nil, fmt.Errorf("store: volunteers' counted hours: %w", err)
		}
		if err := s.starLevels(ctx, SubjectVolunteer, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// starLevels fills the awarded and pending levels of subjects into out.
func (s *Store) starLevels(ctx context.Context, kind string, subjects []string, out map[string]*StarFacts) error {
	err := s.b.query(ctx, `SELECT subject, level, state, decided_ns FROM star_awards
		WHERE subject_kind = $1 AND state IN ('applied', 'notice', 'awarded') AND subject IN (`+marks(2, len(subjects))+`)`,
		append([]any{kind}, anys(subjects)...), func(r rows) error {
			var (
				id, state string
				level     int
				decided   int64
			)
			if err := r.Scan(&id, &level, &state, &decided); err != nil {
				return err
			}
			f := out[id]
			switch {
			case f == nil:
			case state != StarAwarded:
				f.Pending = level
			case level > f.Level:
				f.Level, f.LevelAt = level, fromNanos(decided)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("store: star levels: %w", err)
	}
	return nil
}

// OrgStarFacts are organisation id's facts at now (ErrNotFound for an
// unknown one), hours counted from day from ("" all).
func (s *Store) OrgStarFacts(ctx context.Context, id, from string, now time.Time) (*StarFacts, error) {
	f := &StarFacts{}
	found := false
	if err := s.b.query(ctx, `SELECT community FROM organisations WHERE id = $1`, []any{id},
		func(r rows) error { found = true; return r.Scan(&f.Community) }); err != nil {
		return nil, fmt.Errorf("store: organisation %s: %w", id, err)
	}
	if !found {
		return nil, ErrNotFound
	}
	var first string
	if err := s.b.query(ctx, `SELECT COALESCE(SUM(counted_cents), 0), COALESCE(MIN(day), '') FROM service_records
		WHERE status = 'final' AND org = $1 AND day >= $2`, []any{id, from},
		func(r rows) error { return r.Scan(&f.Cents, &first) }); err != nil {
		return nil, fmt.Errorf("store: organisation %s hours: %w", id, err)
	}
	if t, err := time.Parse(time.DateOnly, first); err == nil {
		f.Registered = t
	}
	if err := s.b.query(ctx, `SELECT COUNT(*) FROM volunteer_orgs o JOIN volunteers v ON v.id = o.volunteer
		WHERE o.org = $1 AND v.registered_ns > 0 AND v.deregistered_ns = 0`, []any{id},
		func(r rows) error { return r.Scan(&f.Members) }); err != nil {
		return nil, fmt.Errorf("store: organisation %s members: %w", id, err)
	}
	// The last twelve months, this one included (China Standard Time).
	cst := now.In(time.FixedZone("CST", 8*3600))
	since := time.Date(cst.Year(), cst.Month()-11, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	if f.Community != "" {
		if err := s.b.query(ctx, `SELECT COUNT(DISTINCT substr(day, 1, 7)) FROM service_records
			WHERE status = 'final' AND org = $1 AND community = $2 AND day >= $3`, []any{id, f.Community, since + "-01"},
			func(r rows) error { return r.Scan(&f.VisitMonths) }); err != nil {
			return nil, fmt.Errorf("store: organisation %s visits: %w", id, err)
		}
	}
	ev, err := s.OrgEvaluation(ctx, id)
	if err != nil {
		return nil, err
	}
	f.Rating = ev.MeanRating
	m := map[string]*StarFacts{id: f}
	if err := s.starLevels(ctx, SubjectOrg, []string{id}, m); err != nil {
		return nil, err
	}
	return f, nil
}

// Star rules are kept as a setting (JSON, cloud/stars.Rules).
const settingStarRules = "star_rules"

// StarRulesDoc is the star rules' JSON as stored, found false when none
// was set.
func (s *Store) StarRulesDoc(ctx context.Context) (doc string, found bool, err error) {
	return s.setting(ctx, settingStarRules)
}

// SetStarRulesDoc stores the star rules' JSON.
func (s *Store) SetStarRulesDoc(ctx context.Context, doc string, now time.Time) error {
	if _, err := s.b.exec(ctx, `INSERT INTO settings (key, value, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ns = excluded.updated_ns`,
		settingStarRules, doc, nanos(now)); err != nil {
		return fmt.Errorf("store: set star rules: %w", err)
	}
	return nil
}
