// Package store is the cloud's database: the records the gateway commits,
// the stations' reported states, and the queries the API and reports ask.
//
// One schema and one set of queries serve two databases: SQLite
// (modernc.org/sqlite, pure Go, one file) for the single-process default,
// and PostgreSQL (pgx) in production. Open picks by DSN.
//
// Sessions are paired and checked when read, never when written: a session
// longer than its station's maximum, one overlapping a counted session of
// the same volunteer, or one dated ahead of its arrival is flagged and
// counts only once a person approves it (ApproveSession). Records the
// database refuses are kept in rejected_records (Refuse), and NTAG 424 DNA
// taps whose SUN data repeat or go back raise clone alerts (CheckClones).
//
// Guarantees: when Ingest or SaveState returns nil, the change is committed
// and durable — on SQLite the write-ahead log is synced at every commit, on
// PostgreSQL it is whatever the server's synchronous_commit says (on, by
// default). Ingest is all or nothing: a failed call leaves no record of its
// batch behind.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// ErrNotFound is returned by lookups of something never stored.
var ErrNotFound = errors.New("store: not found")

// ErrSchemaTooNew is returned by Open for a database migrated by a newer
// version of this program, which this one must not write to.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this program")

// Store is an open database. It is safe for concurrent use.
type Store struct {
	b      backend
	limits limits
}

var _ ingest.Store = (*Store)(nil)

// backend is what differs between the two databases: connecting,
// transactions and the bulk insert. Every other query is shared SQL.
type backend interface {
	// exec runs one statement that writes, in a transaction of its own.
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args []any, each func(rows) error) error
	// inTx runs fn in one write transaction, serialised against other
	// inTx calls on the same database, across processes too, so two
	// gateways starting at once do not both run a migration.
	inTx(ctx context.Context, fn func(q querier) error) error
	ingest(ctx context.Context, entries []ingest.Entry) (int, error)
	// refused reports whether an error of ingest is about the data (a
	// value or a constraint), which sending it again cannot fix.
	refused(err error) bool
	dialect() string
	close() error
}

// querier runs statements, inside or outside a transaction.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args []any, each func(rows) error) error
}

// rows is the part of *sql.Rows and pgx.Rows the queries use.
type rows interface {
	Scan(dest ...any) error
}

// Open opens the database named by dsn and brings its schema up to date.
// dsn is "postgres://..." (or "postgresql://...") for PostgreSQL, or
// "sqlite:PATH" or a plain file path for SQLite, which creates the file if
// needed. For PostgreSQL, pool_max_conns=N in the DSN bounds the number of
// connections (default: 4 or the number of CPUs, whichever is more), and
// failover_wait=DURATION how long a call keeps trying while no server
// takes writes (default: 60s when the DSN names several hosts, a pair
// that fails over, else 0; see pgBackend.withConn).
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		b   backend
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		b, err = openPostgres(ctx, dsn)
	case dsn == "":
		return nil, errors.New("store: empty DSN")
	default:
		b, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	s := &Store{b: b}
	if err := s.migrate(ctx, migrations); err != nil {
		b.close()
		return nil, err
	}
	return s, nil
}

// Close releases the database. Calls in flight may fail.
func (s *Store) Close() error { return s.b.close() }

// migrate applies the migrations of list not applied yet (tests pass an
// older list to make a database as an older program left it).
func (s *Store) migrate(ctx context.Context, list []migration) error {
	pg := s.b.dialect() == "postgres"
	for _, m := range list {
		err := s.b.inTx(ctx, func(q querier) error {
			if _, err := q.exec(ctx, migrationsTable); err != nil {
				return err
			}
			done := false
			err := q.query(ctx, `SELECT 1 FROM schema_migrations WHERE version = $1`, []any{m.version},
				func(rows) error { done = true; return nil })
			if err != nil || done {
				return err
			}
			for _, stmt := range m.stmts {
				stmt, ok := forDialect(stmt, pg)
				if !ok {
					continue
				}
				if _, err := q.exec(ctx, dialectSQL(stmt, pg)); err != nil {
					return err
				}
			}
			_, err = q.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if latest := latestMigration(); v > latest {
		return fmt.Errorf("%w: version %d, this program knows up to %d", ErrSchemaTooNew, v, latest)
	}
	if v < partitionedVersion {
		return nil
	}
	return s.MaintainPartitions(ctx)
}

// SchemaVersion is the highest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int64
	err := s.b.query(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`, nil,
		func(r rows) error { return r.Scan(&v) })
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v), nil
}

// Ingest stores entries in one transaction, skipping every entry whose ID
// is already stored (or repeated earlier in entries), and returns after the
// commit with the number of entries that were new. On error nothing of
// entries was stored; an error matching ingest.ErrRefused says the data
// was at fault (see Refuse).
func (s *Store) Ingest(ctx context.Context, entries []ingest.Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	for i := range entries {
		if err := checkStorable(&entries[i]); err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
	}
	n, err := s.b.ingest(ctx, entries)
	if err != nil {
		if s.b.refused(err) {
			err = fmt.Errorf("%w: %w", ingest.ErrRefused, err)
		}
		return 0, fmt.Errorf("store: ingest %d records: %w", len(entries), err)
	}
	return n, nil
}

// recordCols is the column order of every insert and select of records.
const recordCols = `id, station, kind, volunteer, card, service, ref, at_ns, mono, boot,
	clock_synced, seq, review, phone, note, counter, sun, time_ns, clock_flag, received_ns, order_ref, rating, activity`

// insertOne stores one record unless its ID is stored already. It is ON
// CONFLICT (id) DO NOTHING rather than SQLite's INSERT OR IGNORE because OR
// IGNORE would also skip a row that breaks a CHECK constraint, silently
// dropping a record instead of failing the batch.
const insertOne = `INSERT INTO records (` + recordCols + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
ON CONFLICT (id) DO NOTHING`

// entryArgs is an entry as arguments in recordCols order.
func entryArgs(e *ingest.Entry) []any {
	return []any{e.ID, e.Station, string(e.Kind), e.Volunteer, e.Card, e.Service, e.Ref,
		nanos(e.At), e.Mono, e.Boot, e.ClockSynced, int64(e.Seq), e.Review, e.Phone, e.Note,
		int64(e.Counter), e.SUN, nanos(e.Time), e.ClockFlag, nanos(e.Received), e.Order, e.Rating, e.Activity}
}

// scanEntry reads a row selected in recordCols order.
func scanEntry(r rows) (ingest.Entry, error) {
	var (
		e                          ingest.Entry
		kind                       string
		at, tm, recv, seq, counter int64
	)
	err := r.Scan(&e.ID, &e.Station, &kind, &e.Volunteer, &e.Card, &e.Service, &e.Ref,
		&at, &e.Mono, &e.Boot, &e.ClockSynced, &seq, &e.Review, &e.Phone, &e.Note,
		&counter, &e.SUN, &tm, &e.ClockFlag, &recv, &e.Order, &e.Rating, &e.Activity)
	if err != nil {
		return e, err
	}
	e.Kind, e.At, e.Seq, e.Counter = wire.Kind(kind), fromNanos(at), uint64(seq), uint32(counter)
	e.Time, e.Received = fromNanos(tm), fromNanos(recv)
	return e, nil
}

// nanos stores a time as Unix nanoseconds; the zero time, which has no
// Unix nanosecond value, is stored as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// SaveState records a station's reported state as of seen, and a line of
// presence history when the station went online or offline.
func (s *Store) SaveState(ctx context.Context, st *wire.State, seen time.Time) error {
	if st.ConfigVersion > math.MaxInt64 || st.FleetConfigVersion > math.MaxInt64 {
		return fmt.Errorf("store: state of %s: config version out of range", st.Station)
	}
	err := s.b.inTx(ctx, func(q querier) error {
		known, was := false, false
		err := q.query(ctx, `SELECT online FROM station_states WHERE station = $1`, []any{st.Station},
			func(r rows) error { known = true; return r.Scan(&was) })
		if err != nil {
			return err
		}
		// An older state loses to a newer one in the WHERE.
		n, err := q.exec(ctx, `INSERT INTO station_states (station, online, config_version, config_error,
				firmware, outbox, reader, clock_at_ns, clock_mono, clock_boot, clock_synced, seen_ns,
				fleet_config_version, fleet_config_error, update_offered, last_command, outbox_rising, since_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $12)
			ON CONFLICT (station) DO UPDATE SET
				online = excluded.online, config_version = excluded.config_version,
				config_error = excluded.config_error, firmware = excluded.firmware,
				outbox = excluded.outbox, reader = excluded.reader,
				clock_at_ns = excluded.clock_at_ns, clock_mono = excluded.clock_mono,
				clock_boot = excluded.clock_boot, clock_synced = excluded.clock_synced,
				seen_ns = excluded.seen_ns,
				fleet_config_version = excluded.fleet_config_version,
				fleet_config_error = excluded.fleet_config_error,
				update_offered = excluded.update_offered, last_command = excluded.last_command,
				outbox_rising = CASE WHEN excluded.outbox > station_states.outbox THEN station_states.outbox_rising + 1
					WHEN excluded.outbox < station_states.outbox THEN 0 ELSE station_states.outbox_rising END,
				since_ns = CASE WHEN excluded.online <> station_states.online THEN excluded.seen_ns
					ELSE station_states.since_ns END
			WHERE station_states.seen_ns <= excluded.seen_ns`,
			st.Station, st.Online, int64(st.ConfigVersion), st.ConfigError, st.Firmware, int64(st.Outbox),
			st.Reader, nanos(st.Clock.At), st.Clock.Mono, st.Clock.Boot, st.Clock.Synced, nanos(seen),
			int64(st.FleetConfigVersion), st.FleetConfigError, st.UpdateOffered, st.LastCommand)
		if err != nil || n == 0 {
			return err
		}
		if err := rolloutReport(ctx, q, st, seen); err != nil {
			return err
		}
		if st.LastCommandNonce != "" {
			if err := commandOutcome(ctx, q, st, seen); err != nil {
				return err
			}
		}
		if known && was == st.Online {
			return nil
		}
		_, err = q.exec(ctx, `INSERT INTO presence (station, online, at_ns) VALUES ($1, $2, $3)`,
			st.Station, st.Online, nanos(seen))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save state of %s: %w", st.Station, err)
	}
	return nil
}

// State returns the last state station reported and when it was seen, or
// ErrNotFound.
func (s *Store) State(ctx context.Context, station string) (*wire.State, time.Time, error) {
	var (
		st           *wire.State
		seen         time.Time
		cv, out      int64
		clockAt, snn int64
	)
	err := s.b.query(ctx, `SELECT station, online, config_version, config_error, firmware, outbox, reader,
			clock_at_ns, clock_mono, clock_boot, clock_synced, seen_ns
		FROM station_states WHERE station = $1`, []any{station},
		func(r rows) error {
			st = &wire.State{V: wire.Version}
			err := r.Scan(&st.Station, &st.Online, &cv, &st.ConfigError, &st.Firmware, &out, &st.Reader,
				&clockAt, &st.Clock.Mono, &st.Clock.Boot, &st.Clock.Synced, &snn)
			st.ConfigVersion, st.Outbox = uint64(cv), int(out)
			st.Clock.At, seen = fromNanos(clockAt), fromNanos(snn)
			return err
		})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: state of %s: %w", station, err)
	}
	if st == nil {
		return nil, time.Time{}, fmt.Errorf("%w: state of %s", ErrNotFound, station)
	}
	return st, seen, nil
}

// Station is what the cloud knows about one station: its registration,
// its last reported state, if any, and its records.
type Station struct {
	ID string `json:"id"`
	// Registered says whether `station add` created it (it has broker
	// credentials); Name and County come from there.
	Registered bool   `json:"registered"`
	Name       string `json:"name,omitempty"`
	County     string `json:"county,omitempty"`
	// Community is the area code of the community it belongs to ("" until
	// it is given one); scopes follow it.
	Community string `json:"community,omitempty"`
	// Reported says whether the station ever sent a state; if not, the
	// state fields are zero and the station is known from records only.
	Reported           bool   `json:"reported"`
	Online             bool   `json:"online"`
	ConfigVersion      uint64 `json:"config_version"`
	ConfigError        string `json:"config_error,omitempty"`
	FleetConfigVersion uint64 `json:"fleet_config_version"`
	FleetConfigError   string `json:"fleet_config_error,omitempty"`
	// DesiredConfig is the version of the last document pushed to the
	// station's own config topic (0: none).
	DesiredConfig uint64 `json:"desired_config"`
	Firmware      string `json:"firmware,omitempty"`
	UpdateOffered string `json:"update_offered,omitempty"`
	LastCommand   string `json:"last_command,omitempty"`
	Outbox        int    `json:"outbox"`
	// OutboxRising counts consecutive reports in which the outbox grew.
	OutboxRising int    `json:"outbox_rising"`
	Reader       string `json:"reader,omitempty"`
	ClockSynced  bool   `json:"clock_synced"`
	// LastSeen is the later of the last state and the last batch received.
	LastSeen time.Time `json:"last_seen"`
	// Since is when the station last went online or offline (for a
	// registered station that never reported: when it was registered).
	Since   time.Time `json:"since"`
	Records int64     `json:"records"`
}

// Stations lists every station registered or seen in records or states, by
// ID.
func (s *Store) Stations(ctx context.Context) ([]Station, error) {
	var out []Station
	err := s.b.query(ctx, `SELECT k.station, reg.id IS NOT NULL, COALESCE(reg.name, ''), COALESCE(reg.county, ''),
			COALESCE(reg.community, ''), st.station IS NOT NULL,
			COALESCE(st.online, FALSE), COALESCE(st.config_version, 0), COALESCE(st.config_error, ''),
			COALESCE(st.fleet_config_version, 0), COALESCE(st.fleet_config_error, ''), COALESCE(cfg.version, 0),
			COALESCE(st.firmware, ''), COALESCE(st.update_offered, ''), COALESCE(st.last_command, ''),
			COALESCE(st.outbox, 0), COALESCE(st.outbox_rising, 0), COALESCE(st.reader, ''),
			COALESCE(st.clock_synced, FALSE), COALESCE(st.seen_ns, 0), COALESCE(st.since_ns, reg.created_ns, 0),
			COALESCE(r.n, 0), COALESCE(r.last_ns, 0)
		FROM (SELECT station FROM station_states UNION SELECT DISTINCT station FROM records
			UNION SELECT id FROM stations) k
		LEFT JOIN stations reg ON reg.id = k.station
		LEFT JOIN station_states st ON st.station = k.station
		LEFT JOIN station_configs cfg ON cfg.scope = 'station:' || k.station
		LEFT JOIN (SELECT station, COUNT(*) AS n, MAX(received_ns) AS last_ns
			FROM records GROUP BY station) r ON r.station = k.station
		ORDER BY k.station`, nil,
		func(r rows) error {
			var (
				st                     Station
				cv, fcv, dcv, ob, rise int64
				seen, since, lastRecv  int64
			)
			err := r.Scan(&st.ID, &st.Registered, &st.Name, &st.County, &st.Community, &st.Reported, &st.Online, &cv, &st.ConfigError,
				&fcv, &st.FleetConfigError, &dcv, &st.Firmware, &st.UpdateOffered, &st.LastCommand,
				&ob, &rise, &st.Reader, &st.ClockSynced, &seen, &since, &st.Records, &lastRecv)
			st.ConfigVersion, st.FleetConfigVersion, st.DesiredConfig = uint64(cv), uint64(fcv), uint64(dcv)
			st.Outbox, st.OutboxRising = int(ob), int(rise)
			st.LastSeen = fromNanos(max(seen, lastRecv))
			st.Since = fromNanos(since)
			out = append(out, st)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: stations: %w", err)
	}
	return out, nil
}

// Records returns station's records with seq above afterSeq, in seq order,
// at most limit of them (all if limit <= 0). The API pages with the last
// seq it returned.
func (s *Store) Records(ctx context.Context, station string, afterSeq uint64, limit int) ([]ingest.Entry, error) {
	if afterSeq > math.MaxInt64 {
		return nil, nil
	}
	q := `SELECT ` + recordCols + ` FROM records WHERE station = $1 AND seq > $2 ORDER BY seq, id`
	args := []any{station, int64(afterSeq)}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, int64(limit))
	}
	var out []ingest.Entry
	err := s.b.query(ctx, q, args, func(r rows) error {
		e, err := scanEntry(r)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: records of %s: %w", station, err)
	}
	return out, nil
}

// RecordIDs returns the IDs of station's records in seq order.
func (s *Store) RecordIDs(ctx context.Context, station string) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `SELECT id FROM records WHERE station = $1 ORDER BY seq, id`, []any{station},
		func(r rows) error {
			var id string
			err := r.Scan(&id)
			out = append(out, id)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: record IDs of %s: %w", station, err)
	}
	return out, nil
}

// CountRecords counts station's records, or all records if station is "".
func (s *Store) CountRecords(ctx context.Context, station string) (int64, error) {
	q, args := `SELECT COUNT(*) FROM records WHERE station = $1`, []any{station}
	if station == "" {
		q, args = `SELECT COUNT(*) FROM records`, nil
	}
	var n int64
	if err := s.b.query(ctx, q, args, func(r rows) error { return r.Scan(&n) }); err != nil {
		return 0, fmt.Errorf("store: count records: %w", err)
	}
	return n, nil
}

// Hours is a volunteer's service time: every check-in, paired with the
// record that closed it.
type Hours struct {
	Volunteer string `json:"volunteer"`
	// Hours is the total of the counted sessions.
	Hours float64 `json:"hours"`
	// Sessions counts closed sessions, Open the check-ins not closed yet,
	// Flagged the closed sessions flagged and not approved, which do not
	// count.
	Sessions int       `json:"sessions"`
	Open     int       `json:"open"`
	Flagged  int       `json:"flagged"`
	List     []Session `json:"list"`
}

// Session is a check-in and the check-out or automatic check-out that
// closed it; an open session has no CheckOut and a zero End.
type Session struct {
	CheckIn  string    `json:"check_in"`
	CheckOut string    `json:"check_out,omitempty"`
	Station  string    `json:"station"`
	Service  string    `json:"service,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
	// Seconds is the session's length: from the kiosk's monotonic clock
	// when both records come from one boot (Mono), else from their
	// (corrected) times.
	Seconds float64 `json:"seconds"`
	Mono    bool    `json:"mono"`
	// Negative says the times put the check-out before the check-in (a
	// clock that could not be corrected); Seconds is 0 then, and a person
	// should look.
	Negative bool `json:"negative,omitempty"`
	// Auto says an automatic check-out closed the session; Review that
	// the closing record asks a person to review it.
	Auto   bool `json:"auto,omitempty"`
	Review bool `json:"review,omitempty"`
	// InClock and OutClock are the records' clock flags
	// (ingest.ClockCorrected, ingest.ClockUncorrected or "").
	InClock  string `json:"in_clock,omitempty"`
	OutClock string `json:"out_clock,omitempty"`
	// Flags say why the cloud does not take the session's times on trust
	// (FlagTooLong, FlagOverlap, FlagFuture); Approved that a person
	// approved it anyway, Rejected that a person decided it does not
	// count. Counted says its Seconds are in Hours: a closed session
	// without flags, or approved.
	Flags    []string `json:"flags,omitempty"`
	Approved bool     `json:"approved,omitempty"`
	Rejected bool     `json:"rejected,omitempty"`
	Counted  bool     `json:"counted"`
}

// VolunteerHours returns volunteer's sessions, oldest first, and totals:
// Hours counts only the sessions marked Counted. A volunteer with no
// records has zero hours, not an error.
func (s *Store) VolunteerHours(ctx context.Context, volunteer string) (*Hours, error) {
	hs, err := s.hoursOf(ctx, []string{volunteer})
	if err != nil {
		return nil, fmt.Errorf("store: hours of %s: %w", volunteer, err)
	}
	return hs[volunteer], nil
}
