package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"leifeng/cloud/people"
	"leifeng/gateway/wire"
)

// ErrExists is returned by AddStation for a station already registered.
var ErrExists = errors.New("store: already exists")

// ErrStale is returned by SaveConfig when the version is not above the one
// stored: versions of one config topic rise strictly.
var ErrStale = errors.New("store: config version not newer")

// Registration is a station created by `leifeng-cloud station add`.
type Registration struct {
	ID     string
	Name   string
	County string
	// Community is the community's area code ("" : none yet).
	Community string
	// SecretHash is the broker password hash (mosquitto_passwd's $7$).
	SecretHash string
	Created    time.Time
}

// AddStation registers a station, or fails with ErrExists, or with
// ErrNotCommunity when its Community is not a stored community.
func (s *Store) AddStation(ctx context.Context, r Registration) error {
	exists, badCommunity := false, false
	err := s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT 1 FROM stations WHERE id = $1`, []any{r.ID},
			func(rows) error { exists = true; return nil }); err != nil || exists {
			return err
		}
		if r.Community != "" {
			l, err := areaLevel(ctx, q, r.Community)
			if err != nil {
				return err
			}
			if badCommunity = l != people.LevelCommunity; badCommunity {
				return nil
			}
		}
		_, err := q.exec(ctx, `INSERT INTO stations (id, name, county, community, secret_hash, created_ns) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Name, r.County, r.Community, r.SecretHash, nanos(r.Created))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add station %s: %w", r.ID, err)
	}
	if exists {
		return fmt.Errorf("%w: station %s", ErrExists, r.ID)
	}
	if badCommunity {
		return fmt.Errorf("%w: %s", ErrNotCommunity, r.Community)
	}
	return nil
}

// Registrations lists the registered stations by ID; county, if not empty,
// keeps only that county's: those registered with it as their county, and
// those whose community lies under the area of that code.
func (s *Store) Registrations(ctx context.Context, county string) ([]Registration, error) {
	var out []Registration
	err := s.b.query(ctx, `SELECT id, name, county, community, secret_hash, created_ns FROM stations
		WHERE $1 = '' OR county = $1 OR community IN (
			WITH RECURSIVE sub(code) AS (
				SELECT code FROM areas WHERE code = $1
				UNION SELECT a.code FROM areas a JOIN sub ON a.parent = sub.code)
			SELECT code FROM sub)
		ORDER BY id`, []any{county},
		func(r rows) error {
			var reg Registration
			var created int64
			err := r.Scan(&reg.ID, &reg.Name, &reg.County, &reg.Community, &reg.SecretHash, &created)
			reg.Created = fromNanos(created)
			out = append(out, reg)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	return out, nil
}

// Registration returns one registered station, or ErrNotFound.
func (s *Store) Registration(ctx context.Context, id string) (*Registration, error) {
	var out *Registration
	err := s.b.query(ctx, `SELECT id, name, county, community, secret_hash, created_ns FROM stations WHERE id = $1`, []any{id},
		func(r rows) error {
			out = new(Registration)
			var created int64
			err := r.Scan(&out.ID, &out.Name, &out.County, &out.Community, &out.SecretHash, &created)
			out.Created = fromNanos(created)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: station %s: %w", id, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: station %s", ErrNotFound, id)
	}
	return out, nil
}

// ConfigDoc is a config as pushed: the document and its signed envelope.
type ConfigDoc struct {
	// Scope is "fleet" or "station:ID".
	Scope   string
	Version uint64
	Doc     []byte
	Sealed  []byte
	Pushed  time.Time
}

// SaveConfig stores the config pushed on a scope. It fails with ErrStale
// unless d.Version is above the stored one, so two pushes racing cannot
// both publish the same version.
func (s *Store) SaveConfig(ctx context.Context, d ConfigDoc) error {
	if d.Version > math.MaxInt64 {
		return fmt.Errorf("store: config version %d out of range", d.Version)
	}
	stale := false
	err := s.b.inTx(ctx, func(q querier) error {
		var cur int64
		found := false
		if err := q.query(ctx, `SELECT version FROM station_configs WHERE scope = $1`, []any{d.Scope},
			func(r rows) error { found = true; return r.Scan(&cur) }); err != nil {
			return err
		}
		if found && uint64(cur) >= d.Version {
			stale = true
			return nil
		}
		_, err := q.exec(ctx, `INSERT INTO station_configs (scope, version, doc, sealed, pushed_ns) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (scope) DO UPDATE SET version = excluded.version, doc = excluded.doc,
				sealed = excluded.sealed, pushed_ns = excluded.pushed_ns`,
			d.Scope, int64(d.Version), string(d.Doc), string(d.Sealed), nanos(d.Pushed))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save config %s: %w", d.Scope, err)
	}
	if stale {
		return fmt.Errorf("%w: %s version %d", ErrStale, d.Scope, d.Version)
	}
	return nil
}

// Config returns the config last pushed on scope, or ErrNotFound.
func (s *Store) Config(ctx context.Context, scope string) (*ConfigDoc, error) {
	all, err := s.configs(ctx, scope)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: config %s", ErrNotFound, scope)
	}
	return &all[0], nil
}

// Configs returns every pushed config, for republishing them retained.
func (s *Store) Configs(ctx context.Context) ([]ConfigDoc, error) { return s.configs(ctx, "") }

func (s *Store) configs(ctx context.Context, scope string) ([]ConfigDoc, error) {
	var out []ConfigDoc
	err := s.b.query(ctx, `SELECT scope, version, doc, sealed, pushed_ns FROM station_configs
		WHERE $1 = '' OR scope = $1 ORDER BY scope`, []any{scope},
		func(r rows) error {
			var d ConfigDoc
			var v, pushed int64
			var doc, sealed string
			err := r.Scan(&d.Scope, &v, &doc, &sealed, &pushed)
			d.Version, d.Doc, d.Sealed, d.Pushed = uint64(v), []byte(doc), []byte(sealed), fromNanos(pushed)
			out = append(out, d)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: configs: %w", err)
	}
	return out, nil
}

// PresenceChange is a station going online or offline.
type PresenceChange struct {
	Online bool      `json:"online"`
	At     time.Time `json:"at"`
}

// Presence returns station's last changes of presence, newest first.
func (s *Store) Presence(ctx context.Context, station string, limit int) ([]PresenceChange, error) {
	var out []PresenceChange
	err := s.b.query(ctx, `SELECT online, at_ns FROM presence WHERE station = $1 ORDER BY at_ns DESC LIMIT $2`,
		[]any{station, limit},
		func(r rows) error {
			var p PresenceChange
			var at int64
			err := r.Scan(&p.Online, &at)
			p.At = fromNanos(at)
			out = append(out, p)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: presence of %s: %w", station, err)
	}
	return out, nil
}

// RosterEntry is a volunteer on the cloud's roster. Name is the full name
// as the administrator gave it; it leaves the cloud only masked.
type RosterEntry struct {
	ID   string
	Name string
}

// SaveVolunteers records names for the volunteers given (an entry with an
// empty name keeps the name stored) and, when station is not "", makes
// them exactly the volunteers listed for station.
func (s *Store) SaveVolunteers(ctx context.Context, station string, vs []RosterEntry, now time.Time) error {
	err := s.b.inTx(ctx, func(q querier) error {
		for _, v := range vs {
			if v.Name == "" {
				if _, err := q.exec(ctx, `INSERT INTO volunteers (id, name, updated_ns) VALUES ($1, '', $2)
					ON CONFLICT (id) DO NOTHING`, v.ID, nanos(now)); err != nil {
					return err
				}
				continue
			}
			// A registered volunteer's name is the registered one, which
			// only an edit changes (and a deregistration masks): a roster
			// does not overwrite it.
			if _, err := q.exec(ctx, `INSERT INTO volunteers (id, name, updated_ns) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_ns = excluded.updated_ns
				WHERE volunteers.registered_ns = 0`,
				v.ID, v.Name, nanos(now)); err != nil {
				return err
			}
		}
		if station == "" {
			return nil
		}
		if _, err := q.exec(ctx, `DELETE FROM volunteer_stations WHERE station = $1`, station); err != nil {
			return err
		}
		for _, v := range vs {
			if _, err := q.exec(ctx, `INSERT INTO volunteer_stations (station, volunteer) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, station, v.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save volunteers of %q: %w", station, err)
	}
	return nil
}

// StationRoster returns station's own volunteers, by ID: those listed for
// it, those who ever checked in there and those assigned to its open
// orders, with their names (full; "" when
// the cloud has none).
func (s *Store) StationRoster(ctx context.Context, station string) ([]RosterEntry, error) {
	var out []RosterEntry
	err := s.b.query(ctx, `SELECT k.id, COALESCE(v.name, '') FROM (
			SELECT volunteer AS id FROM volunteer_stations WHERE station = $1
			UNION SELECT DISTINCT volunteer FROM records WHERE station = $1 AND kind = 'check_in' AND volunteer <> ''
			UNION SELECT ov.volunteer FROM order_volunteers ov JOIN orders o ON o.id = ov.order_id
				WHERE o.station = $1 AND o.state IN ('accepted', 'in_service')
		) k LEFT JOIN volunteers v ON v.id = k.id ORDER BY k.id`, []any{station},
		func(r rows) error {
			var e RosterEntry
			err := r.Scan(&e.ID, &e.Name)
			out = append(out, e)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: roster of %s: %w", station, err)
	}
	return out, nil
}

// Command is a command the cloud sent and what became of it.
type Command struct {
	Nonce   string
	Station string
	Name    string
	Sent    time.Time
	Expires time.Time
	// Outcome is the kiosk's report (its state's last_command for this
	// nonce), "" until one arrives; OutcomeAt when it arrived.
	Outcome   string
	OutcomeAt time.Time
}

// SaveCommand records a command as sent.
func (s *Store) SaveCommand(ctx context.Context, c Command) error {
	_, err := s.b.exec(ctx, `INSERT INTO commands (nonce, station, name, sent_ns, expires_ns, outcome, outcome_ns)
		VALUES ($1, $2, $3, $4, $5, '', 0)`, c.Nonce, c.Station, c.Name, nanos(c.Sent), nanos(c.Expires))
	if err != nil {
		return fmt.Errorf("store: save command %s for %s: %w", c.Nonce, c.Station, err)
	}
	return nil
}

// commandOutcome records the outcome a state reports for the command it
// names, the first report only: a replay of the same command, refused
// later, does not overwrite what became of it.
func commandOutcome(ctx context.Context, q querier, st *wire.State, seen time.Time) error {
	_, err := q.exec(ctx, `UPDATE commands SET outcome = $1, outcome_ns = $2
		WHERE nonce = $3 AND station = $4 AND outcome = ''`,
		st.LastCommand, nanos(seen), st.LastCommandNonce, st.Station)
	return err
}

const commandCols = `nonce, station, name, sent_ns, expires_ns, outcome, outcome_ns`

func scanCommand(r rows) (Command, error) {
	var c Command
	var sent, exp, at int64
	err := r.Scan(&c.Nonce, &c.Station, &c.Name, &sent, &exp, &c.Outcome, &at)
	c.Sent, c.Expires, c.OutcomeAt = fromNanos(sent), fromNanos(exp), fromNanos(at)
	return c, err
}

// CommandByNonce returns the command sent to station with nonce, or
// ErrNotFound.
func (s *Store) CommandByNonce(ctx context.Context, station, nonce string) (*Command, error) {
	var out *Command
	err := s.b.query(ctx, `SELECT `+commandCols+` FROM commands WHERE nonce = $1 AND station = $2`,
		[]any{nonce, station}, func(r rows) error {
			c, err := scanCommand(r)
			out = &c
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: command %s: %w", nonce, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: command %s for %s", ErrNotFound, nonce, station)
	}
	return out, nil
}

// Commands returns the last limit commands sent to station, newest first.
func (s *Store) Commands(ctx context.Context, station string, limit int) ([]Command, error) {
	var out []Command
	err := s.b.query(ctx, `SELECT `+commandCols+` FROM commands WHERE station = $1
		ORDER BY sent_ns DESC, nonce LIMIT $2`, []any{station, limit}, func(r rows) error {
		c, err := scanCommand(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: commands of %s: %w", station, err)
	}
	return out, nil
}
