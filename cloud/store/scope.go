package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
)

// What a user's scope asks of the database (access.Tree), and the
// scope's conditions on queries.

var _ access.Tree = (*Store)(nil)

// ErrNotCommunity is returned by SetStationCommunity for a code that is
// not a stored community.
var ErrNotCommunity = errors.New("store: not a community")

// AreasUnder implements access.Tree: code and every area below it.
func (s *Store) AreasUnder(ctx context.Context, code string) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `WITH RECURSIVE sub(code) AS (
			SELECT code FROM areas WHERE code = $1
			UNION SELECT a.code FROM areas a JOIN sub ON a.parent = sub.code)
		SELECT code FROM sub ORDER BY code`, []any{code},
		func(r rows) error {
			var c string
			err := r.Scan(&c)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: areas under %s: %w", code, err)
	}
	return out, nil
}

// StationCommunities implements access.Tree.
func (s *Store) StationCommunities(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := inList(ids, 1)
	var out []string
	err := s.b.query(ctx, `SELECT DISTINCT community FROM stations WHERE community <> '' AND id IN (`+in+`) ORDER BY community`, args,
		func(r rows) error {
			var c string
			err := r.Scan(&c)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: station communities: %w", err)
	}
	return out, nil
}

// OrgsUnder implements access.Tree: the organisation, those under it, and
// their linked communities.
func (s *Store) OrgsUnder(ctx context.Context, id string) (orgs, communities []string, err error) {
	err = s.b.query(ctx, `WITH RECURSIVE sub(id, community) AS (
			SELECT id, community FROM organisations WHERE id = $1
			UNION SELECT o.id, o.community FROM organisations o JOIN sub ON o.parent = sub.id)
		SELECT id, community FROM sub ORDER BY id`, []any{id},
		func(r rows) error {
			var o, c string
			err := r.Scan(&o, &c)
			orgs = append(orgs, o)
			if c != "" {
				communities = append(communities, c)
			}
			return err
		})
	if err != nil {
		return nil, nil, fmt.Errorf("store: organisations under %s: %w", id, err)
	}
	return orgs, communities, nil
}

// inList is "$n, $n+1, …" for xs, and xs as arguments.
func inList(xs []string, first int) (string, []any) {
	var b strings.Builder
	args := make([]any, len(xs))
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args[i] = x
	}
	return b.String(), args
}

// VolunteerScopeOf is sc's part of the volunteers, for the searches and
// checks of the volunteer register (VolunteerInScope): everyone when sc
// sees the whole city; else those living in its VolunteerAreas, the
// members of its VolunteerOrgs, and those listed for or served at its
// VolunteerStations. A nil scope sees no one.
func VolunteerScopeOf(sc *access.Scope) VolunteerScope {
	if sc.All() {
		return VolunteerScope{All: true}
	}
	return VolunteerScope{Communities: sc.VolunteerAreas(), Orgs: sc.VolunteerOrgs(), Stations: sc.VolunteerStations()}
}

// SetStationCommunity moves a registered station into community (a stored
// area of level community) and returns the community it had.
func (s *Store) SetStationCommunity(ctx context.Context, id, community string) (before string, err error) {
	found, isCommunity := false, false
	err = s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{id},
			func(r rows) error { found = true; return r.Scan(&before) }); err != nil || !found {
			return err
		}
		l, err := areaLevel(ctx, q, community)
		if err != nil {
			return err
		}
		if isCommunity = l == people.LevelCommunity; !isCommunity {
			return nil
		}
		_, err = q.exec(ctx, `UPDATE stations SET community = $2 WHERE id = $1`, id, community)
		return err
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("store: station %s community: %w", id, err)
	case !found:
		return "", fmt.Errorf("%w: station %s", ErrNotFound, id)
	case !isCommunity:
		return "", fmt.Errorf("%w: %s", ErrNotCommunity, community)
	}
	return before, nil
}

// SetStationName renames a registered station and returns its old name.
func (s *Store) SetStationName(ctx context.Context, id, name string) (before string, err error) {
	found := false
	err = s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT name FROM stations WHERE id = $1`, []any{id},
			func(r rows) error { found = true; return r.Scan(&before) }); err != nil || !found {
			return err
		}
		_, err := q.exec(ctx, `UPDATE stations SET name = $2 WHERE id = $1`, id, name)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: station %s name: %w", id, err)
	}
	if !found {
		return "", fmt.Errorf("%w: station %s", ErrNotFound, id)
	}
	return before, nil
}

// StationCommunity is the community of a station ("" when it has none or
// is not registered), for scope checks of routes that name a station.
func (s *Store) StationCommunity(ctx context.Context, id string) (string, error) {
	var c string
	err := s.b.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{id},
		func(r rows) error { return r.Scan(&c) })
	if err != nil {
		return "", fmt.Errorf("store: station %s community: %w", id, err)
	}
	return c, nil
}

// StationsCommunities maps every registered station to its community.
func (s *Store) StationsCommunities(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.b.query(ctx, `SELECT id, community FROM stations`, nil,
		func(r rows) error {
			var id, c string
			err := r.Scan(&id, &c)
			out[id] = c
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: station communities: %w", err)
	}
	return out, nil
}

// SessionStation is the station of the check-in record checkIn, or
// ErrNotFound.
func (s *Store) SessionStation(ctx context.Context, checkIn string) (string, error) {
	var st string
	found := false
	err := s.b.query(ctx, `SELECT station FROM records WHERE id = $1 AND kind = 'check_in'`, []any{checkIn},
		func(r rows) error { found = true; return r.Scan(&st) })
	if err != nil {
		return "", fmt.Errorf("store: session %s: %w", checkIn, err)
	}
	if !found {
		return "", fmt.Errorf("%w: session %s", ErrNotFound, checkIn)
	}
	return st, nil
}

// AllAreas lists every area, by code.
func (s *Store) AllAreas(ctx context.Context) ([]people.Area, error) {
	return s.areas(ctx, `WHERE $1 = ''`, "")
}

// Organisations lists every organisation, by ID.
func (s *Store) Organisations(ctx context.Context) ([]people.Organisation, error) {
	var out []people.Organisation
	err := s.b.query(ctx, `SELECT id, name, type, county, community, parent FROM organisations ORDER BY id`, nil,
		func(r rows) error {
			var o people.Organisation
			err := r.Scan(&o.ID, &o.Name, &o.Type, &o.County, &o.Community, &o.Parent)
			out = append(out, o)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: organisations: %w", err)
	}
	return out, nil
}

// AuditEntry is one line of the audit log: who did what, when, to what,
// how it ended (the HTTP status), and the state before and after (JSON,
// empty when not kept).
type AuditEntry struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	UserID int64           `json:"user_id"`
	User   string          `json:"user"`
	Role   string          `json:"role"`
	Via    string          `json:"via"`
	Action string          `json:"action"`
	Route  string          `json:"route"`
	Target string          `json:"target"`
	Status int             `json:"status"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	Remote string          `json:"remote,omitempty"`
}

// Audit appends e to the audit log (its ID is assigned); entries are never
// changed or removed.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	_, err := s.b.exec(ctx, `INSERT INTO audit_log (at_ns, user_id, user_name, role, via, action, route, target, status,
			before_doc, after_doc, remote) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		nanos(e.At), e.UserID, e.User, e.Role, e.Via, e.Action, e.Route, e.Target, e.Status, string(e.Before), string(e.After), e.Remote)
	if err != nil {
		return fmt.Errorf("store: audit %s %s: %w", e.Action, e.Target, err)
	}
	return nil
}

// AuditFilter selects entries of the audit log; zero fields select all.
type AuditFilter struct {
	User   string
	Action string
	From   time.Time // inclusive
	To     time.Time // exclusive
	// Before pages back: entries with an ID below it (0: from the newest).
	Before int64
	Limit  int
}

// AuditLog lists entries matching f, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var to int64 = 1<<63 - 1
	if !f.To.IsZero() {
		to = nanos(f.To)
	}
	before := f.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var from int64
	if !f.From.IsZero() {
		from = nanos(f.From)
	}
	var out []AuditEntry
	err := s.b.query(ctx, `SELECT id, at_ns, user_id, user_name, role, via, action, route, target, status, before_doc, after_doc, remote
		FROM audit_log WHERE ($1 = '' OR user_name = $1) AND ($2 = '' OR action = $2)
			AND at_ns >= $3 AND at_ns < $4 AND id < $5
		ORDER BY id DESC LIMIT `+strconv.Itoa(limit), []any{f.User, f.Action, from, to, before},
		func(r rows) error {
			var e AuditEntry
			var at int64
			var before, after string
			err := r.Scan(&e.ID, &at, &e.UserID, &e.User, &e.Role, &e.Via, &e.Action, &e.Route, &e.Target, &e.Status,
				&before, &after, &e.Remote)
			e.At = fromNanos(at)
			if before != "" {
				e.Before = json.RawMessage(before)
			}
			if after != "" {
				e.After = json.RawMessage(after)
			}
			out = append(out, e)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	return out, nil
}
