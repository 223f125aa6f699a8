package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/gateway/wire"
)

// Public notice of star awards (星级认定公示, issue 12 point 6). An award
// its approver approved is in notice until notice_until: the stations of
// its subject's community show it (a volunteer's home community; an
// organisation's linked community), and anyone may object — at such a
// station's kiosk by card tap (a kiosk record of kind 'objection' whose
// Ref is "star:<id>") or in the console. An objection sends the award
// back to its approver's queue (state applied, with the open objection:
// migration 25 explains why no new state) and it is not awarded until
// the approver resolves the objections: dismissed, the notice resumes (or
// the star is awarded when the period is over); upheld, it is rejected.

// StarRefPrefix starts the notice list's ID of a star award, and so the
// Ref of a kiosk's objection to it: "star:12".
const StarRefPrefix = "star:"

// StarRef is award id's ID in the notice list.
func StarRef(id int64) string { return StarRefPrefix + strconv.FormatInt(id, 10) }

// ParseStarRef is the award a notice list ID names (false: not a star's).
func ParseStarRef(ref string) (int64, bool) {
	s, ok := strings.CutPrefix(ref, StarRefPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// ErrStarNotInNotice refuses an objection to a star award that is not in
// public notice (nor already held by an objection).
var ErrStarNotInNotice = errors.New("store: the star award is not in public notice")

// ErrNoOpenObjection refuses to resolve the objections of an award that
// has none open.
var ErrNoOpenObjection = errors.New("store: the star award has no open objection")

// StarObjection is one row of star_objections.
type StarObjection struct {
	ID         int64     `json:"id"`
	Award      int64     `json:"award"`
	Via        string    `json:"via"`
	RaisedBy   string    `json:"raised_by"`
	RecordID   string    `json:"record_id,omitempty"`
	Reason     string    `json:"reason"`
	State      string    `json:"state"`
	Raised     time.Time `json:"raised"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Resolved   time.Time `json:"resolved,omitzero"`
	Resolution string    `json:"resolution,omitempty"`
}

const starObjectionCols = `id, award, via, raised_by, record_id, reason, state, raised_ns, resolved_by, resolved_ns, resolution`

func scanStarObjection(r rows) (StarObjection, error) {
	var (
		o                StarObjection
		raised, resolved int64
	)
	err := r.Scan(&o.ID, &o.Award, &o.Via, &o.RaisedBy, &o.RecordID, &o.Reason, &o.State, &raised, &o.ResolvedBy,
		&resolved, &o.Resolution)
	o.Raised, o.Resolved = fromNanos(raised), fromNanos(resolved)
	return o, err
}

func starObjectionsWhere(ctx context.Context, q queryer, where string, args ...any) ([]StarObjection, error) {
	var out []StarObjection
	err := q.query(ctx, `SELECT `+starObjectionCols+` FROM star_objections WHERE `+where+` ORDER BY raised_ns, id`, args,
		func(r rows) error {
			o, err := scanStarObjection(r)
			out = append(out, o)
			return err
		})
	return out, err
}

// StarObjections are the objections to award id, oldest first.
func (s *Store) StarObjections(ctx context.Context, award int64) ([]StarObjection, error) {
	out, err := starObjectionsWhere(ctx, s.b, `award = $1`, award)
	if err != nil {
		return nil, fmt.Errorf("store: objections to star award %d: %w", award, err)
	}
	return out, nil
}

func starAwardIn(ctx context.Context, q queryer, id int64) (*StarAward, error) {
	var (
		a     StarAward
		found bool
	)
	err := q.query(ctx, `SELECT `+starCols+starFrom+` WHERE a.id = $1`, []any{id}, func(r rows) error {
		var err error
		a, err = scanStar(r)
		found = true
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return &a, err
}

// RaiseStarObjection records o (Award, Via, RaisedBy, Reason; RecordID
// for a kiosk's) against an award in notice whose period is not over, or
// already held by an objection: the award goes back to its approver's
// queue (applied) and is not awarded until its objections are resolved.
// Another state is ErrStarNotInNotice, an unknown award ErrNotFound, a
// second open objection of the same person ErrAlreadyObjected.
func (s *Store) RaiseStarObjection(ctx context.Context, o StarObjection, now time.Time) (*StarObjection, *StarAward, error) {
	var (
		out *StarObjection
		a   *StarAward
	)
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		out, a, err = raiseStarObjection(ctx, q, o, now)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: objection to star award %d: %w", o.Award, err)
	}
	return out, a, nil
}

func raiseStarObjection(ctx context.Context, q querier, o StarObjection, now time.Time) (*StarObjection, *StarAward, error) {
	a, err := starAwardIn(ctx, q, o.Award)
	if err != nil {
		return nil, nil, err
	}
	held := a.State == StarApplied && a.Objections > 0
	if !held && (a.State != StarNotice || !a.NoticeUntil.After(now)) {
		return nil, nil, ErrStarNotInNotice
	}
	var open bool
	if err := q.query(ctx, `SELECT TRUE FROM star_objections WHERE award = $1 AND raised_by = $2 AND via = $3 AND state = 'open'`,
		[]any{o.Award, o.RaisedBy, o.Via}, func(r rows) error { return r.Scan(&open) }); err != nil {
		return nil, nil, err
	}
	if open {
		return nil, nil, ErrAlreadyObjected
	}
	if a.State == StarNotice {
		n, err := q.exec(ctx, `UPDATE star_awards SET state = 'applied' WHERE id = $1 AND state = 'notice'`, o.Award)
		if err != nil {
			return nil, nil, err
		}
		if n != 1 {
			return nil, nil, ErrStarNotInNotice
		}
	}
	if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM star_objections`, nil,
		func(r rows) error { return r.Scan(&o.ID) }); err != nil {
		return nil, nil, err
	}
	o.State, o.Raised, o.ResolvedBy, o.Resolved, o.Resolution = ObjectionOpen, now, "", time.Time{}, ""
	if _, err := q.exec(ctx, `INSERT INTO star_objections (id, award, via, raised_by, record_id, reason, state, raised_ns,
		resolved_by, resolved_ns, resolution) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 0, '')`,
		o.ID, o.Award, o.Via, o.RaisedBy, o.RecordID, o.Reason, o.State, nanos(now)); err != nil {
		return nil, nil, err
	}
	a, err = starAwardIn(ctx, q, o.Award)
	return &o, a, err
}

// ResolveStarObjections decides every open objection to award id by who
// (its approver), with reason. Dismissed: the award is back in notice
// until its notice_until, or awarded at now when that is past. Upheld:
// the award is rejected with the reason. Who raised one of them in the
// console cannot resolve them (ErrOwnObjection); an award without an
// open objection is ErrNoOpenObjection. It returns the award after and
// the objections resolved.
func (s *Store) ResolveStarObjections(ctx context.Context, id int64, uphold bool, who, reason string, now time.Time) (*StarAward, []StarObjection, error) {
	var (
		after    *StarAward
		resolved []StarObjection
	)
	err := s.b.inTx(ctx, func(q querier) error {
		a, err := starAwardIn(ctx, q, id)
		if err != nil {
			return err
		}
		open, err := starObjectionsWhere(ctx, q, `award = $1 AND state = 'open'`, id)
		if err != nil {
			return err
		}
		if len(open) == 0 || a.State != StarApplied {
			return ErrNoOpenObjection
		}
		if slices.ContainsFunc(open, func(o StarObjection) bool { return o.Via == ViaConsole && o.RaisedBy == who }) {
			return ErrOwnObjection
		}
		state := ObjectionDismissed
		if uphold {
			state = ObjectionUpheld
		}
		if _, err := q.exec(ctx, `UPDATE star_objections SET state = $1, resolved_by = $2, resolved_ns = $3, resolution = $4
			WHERE award = $5 AND state = 'open'`, state, who, nanos(now), reason, id); err != nil {
			return err
		}
		for i := range open {
			open[i].State, open[i].ResolvedBy, open[i].Resolved, open[i].Resolution = state, who, now, reason
		}
		resolved = open
		switch {
		case uphold:
			a.State, a.Decided, a.Reason = StarRejected, now, "公示期间异议成立："+reason
		case a.NoticeUntil.After(now):
			a.State = StarNotice
		default:
			a.State, a.Decided = StarAwarded, now
		}
		if _, err := q.exec(ctx, `UPDATE star_awards SET state = $1, decided_ns = $2, reason = $3 WHERE id = $4`,
			a.State, nanos(a.Decided), a.Reason, id); err != nil {
			return err
		}
		after, err = starAwardIn(ctx, q, id)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: resolve objections to star award %d: %w", id, err)
	}
	return after, resolved, nil
}

// kioskStarObjection takes a kiosk's objection (record recordID, tapped
// by volunteer at station) to the award ref names: the objection made
// (0 none) and, when none, why not in Chinese.
func kioskStarObjection(ctx context.Context, q querier, recordID, station, volunteer, ref, note string, now time.Time) (int64, string, error) {
	const notShown = "本站公示栏中没有这项星级认定，异议未受理。"
	id, ok := ParseStarRef(ref)
	if !ok {
		return 0, notShown, nil
	}
	var community string
	if err := q.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{station},
		func(r rows) error { return r.Scan(&community) }); err != nil {
		return 0, "", err
	}
	a, err := starAwardIn(ctx, q, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (community == "" || !slices.Contains(a.Areas, community))) {
		return 0, notShown, nil
	}
	if err != nil {
		return 0, "", err
	}
	reason := strings.TrimSpace(note)
	if reason == "" {
		reason = "在站点公示栏刷卡提出异议"
	}
	o, _, err := raiseStarObjection(ctx, q, StarObjection{Award: id, Via: ViaKiosk, RaisedBy: volunteer, RecordID: recordID,
		Reason: reason}, now)
	switch {
	case errors.Is(err, ErrStarNotInNotice):
		return 0, "这项星级认定已不在公示期，异议未受理；如有疑问请联系站点管理员。", nil
	case errors.Is(err, ErrAlreadyObjected):
		return 0, "您对这项星级认定的异议已在处理中，不必重复提出。", nil
	case err != nil:
		return 0, "", err
	}
	return o.ID, "", nil
}

// StarNoticeEntry is a star award in a station's public notice as the
// kiosk shows it: a volunteer's name masked, an organisation's in full.
type StarNoticeEntry struct {
	Ref   string    `json:"ref"` // StarRef
	Award int64     `json:"award"`
	Kind  string    `json:"subject_kind"`
	Name  string    `json:"name"`
	Level int       `json:"level"`
	Day   string    `json:"day"` // the application's day (CST)
	Until time.Time `json:"until"`
	// Objected: an objection is open, the award waits for its approver.
	Objected bool `json:"objected"`
}

// StationStarNotice are the star awards station's notice shows at now:
// those in notice whose period is not over and those held by an open
// objection, of volunteers whose home community is the station's and of
// organisations linked to it, the latest notice first (at most 100).
func (s *Store) StationStarNotice(ctx context.Context, station string, now time.Time) ([]StarNoticeEntry, error) {
	var out []StarNoticeEntry
	err := s.b.query(ctx, `SELECT a.id, a.subject_kind, a.level, a.applied_ns, a.notice_until_ns, a.state,
		COALESCE(v.name, ''), COALESCE(g.name, '')
		FROM star_awards a
		JOIN stations st ON st.id = $1 AND st.community <> ''
		LEFT JOIN volunteers v ON a.subject_kind = 'volunteer' AND v.id = a.subject
		LEFT JOIN organisations g ON a.subject_kind = 'org' AND g.id = a.subject
		WHERE (v.community = st.community OR g.community = st.community)
		AND ((a.state = 'notice' AND a.notice_until_ns > $2)
			OR (a.state = 'applied' AND EXISTS (SELECT 1 FROM star_objections so WHERE so.award = a.id AND so.state = 'open')))
		ORDER BY a.notice_until_ns DESC, a.id LIMIT 100`, []any{station, nanos(now)}, func(r rows) error {
		var (
			e                     StarNoticeEntry
			applied, until        int64
			state, vName, orgName string
		)
		if err := r.Scan(&e.Award, &e.Kind, &e.Level, &applied, &until, &state, &vName, &orgName); err != nil {
			return err
		}
		e.Ref, e.Until, e.Objected = StarRef(e.Award), fromNanos(until), state == StarApplied
		e.Day = fromNanos(applied).In(cstZone).Format(time.DateOnly)
		e.Name = orgName
		if e.Kind == SubjectVolunteer {
			e.Name = wire.MaskName(vName)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: star notice of %s: %w", station, err)
	}
	return out, nil
}

var cstZone = time.FixedZone("CST", 8*3600)

// StarStations are the stations whose notice shows award a: those of its
// subject's community.
func (s *Store) StarStations(ctx context.Context, a *StarAward) ([]string, error) {
	if len(a.Areas) == 0 {
		return nil, nil
	}
	var out []string
	err := s.b.query(ctx, `SELECT id FROM stations WHERE community <> '' AND community IN (`+marks(1, len(a.Areas))+`) ORDER BY id`,
		anys(a.Areas), func(r rows) error {
			var id string
			err := r.Scan(&id)
			out = append(out, id)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: stations of star award %d: %w", a.ID, err)
	}
	return out, nil
}

// starNoticeStationsDue is NoticeStations' part for stars: the stations
// showing an award whose notice is over by now (the pass awards it).
const starNoticeStationsDue = ` UNION SELECT st.id FROM star_awards a
	LEFT JOIN volunteers v ON a.subject_kind = 'volunteer' AND v.id = a.subject
	LEFT JOIN organisations g ON a.subject_kind = 'org' AND g.id = a.subject
	JOIN stations st ON st.community <> '' AND (st.community = v.community OR st.community = g.community)
	WHERE a.state = 'notice' AND a.notice_until_ns <= $1`
