package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"leifeng/gateway/ingest"
)

// pgBackend talks to PostgreSQL through a small pool of pgx connections.
type pgBackend struct {
	pool *pgPool
	// failoverWait is how long a call keeps trying while no server
	// takes writes (see withConn); zero tries a few times at once only.
	failoverWait time.Duration
}

// defaultFailoverWait is failoverWait for a DSN naming several hosts: a
// pg_auto_failover pair promotes its standby in 10 to 30 seconds.
const defaultFailoverWait = 60 * time.Second

// pgInsert stores a whole batch in one statement: each column travels as
// one array parameter and unnest turns the arrays back into rows. One
// statement is one round trip and, outside an explicit transaction, one
// atomic transaction of its own; pgx prepares it once per connection and
// it needs no session state. COPY into a temporary table followed by
// INSERT ... SELECT measured the same within noise on this project's
// 2-core machine (BenchmarkDBAlone), with four round trips and a
// per-connection table, so the simpler one won.
const pgInsert = `INSERT INTO records (` + recordCols + `)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::bigint[], $9::bigint[], $10::text[], $11::boolean[], $12::bigint[], $13::boolean[],
	$14::text[], $15::text[], $16::bigint[], $17::text[], $18::bigint[], $19::text[], $20::bigint[],
	$21::text[], $22::integer[], $23::bigint[])
ON CONFLICT (id) DO NOTHING`

// pgIngest is pgInsert with the volunteer-days the hours pass must count
// again ($24, $25: hours_dirty), in the same statement and so the same
// transaction; it returns the number of records inserted.
const pgIngest = `WITH ins AS (` + pgInsert + ` RETURNING 1),
	dirty AS (INSERT INTO hours_dirty (volunteer, day) SELECT * FROM unnest($24::text[], $25::text[])
		ON CONFLICT (volunteer, day) DO NOTHING)
	SELECT COUNT(*) FROM ins`

// pgLockMigrations is the advisory lock key that serialises inTx across
// gateways sharing one database, so two starting at once do not both run a
// migration. The value is arbitrary but fixed ("leifeng" in ASCII).
const pgLockMigrations = 0x6c656966656e67

func openPostgres(ctx context.Context, dsn string) (*pgBackend, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL DSN: %w", err)
	}
	maxConns := max(4, runtime.NumCPU())
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, fmt.Errorf("store: PostgreSQL DSN: bad pool_max_conns %q", v)
		}
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	wait, waitSet := time.Duration(0), false
	if v := q.Get("failover_wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			return nil, fmt.Errorf("store: PostgreSQL DSN: bad failover_wait %q (a duration such as 60s)", v)
		}
		waitSet = true
		q.Del("failover_wait")
		u.RawQuery = q.Encode()
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL DSN: %w", err)
	}
	if !waitSet && len(cfg.Fallbacks) > 0 {
		wait = defaultFailoverWait
	}
	p := &pgPool{cfg: cfg, sem: make(chan struct{}, maxConns)}
	// Connect once now so a wrong DSN fails Open, not the first batch.
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	p.release(c)
	return &pgBackend{pool: p, failoverWait: wait}, nil
}

func (b *pgBackend) dialect() string { return "postgres" }

func (b *pgBackend) close() error { b.pool.close(); return nil }

// pgQ runs queries on one connection or transaction.
type pgQ struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (p pgQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (p pgQ) query(ctx context.Context, query string, args []any, each func(rows) error) error {
	rs, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

func (b *pgBackend) exec(ctx context.Context, query string, args ...any) (n int64, err error) {
	err = b.withConn(ctx, func(c *pgConn) error {
		n, err = pgQ{c}.exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (b *pgBackend) query(ctx context.Context, query string, args []any, each func(rows) error) error {
	return b.withConn(ctx, func(c *pgConn) error { return pgQ{c}.query(ctx, query, args, each) })
}

func (b *pgBackend) inTx(ctx context.Context, fn func(q querier) error) error {
	return b.withConn(ctx, func(c *pgConn) error {
		return pgx.BeginFunc(ctx, c.Conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockMigrations)); err != nil {
				return err
			}
			return fn(pgQ{tx})
		})
	})
}

// withConn runs fn on a pooled connection. A connection can die under us
// (PostgreSQL restarted, a network blip): when the error shows that
// nothing reached the server, fn is tried once more on a fresh connection,
// so the first call after a restart does not fail for a stale connection.
//
// When the server ended the connection (a restart terminates every
// session with SQLSTATE 57P01), every idle connection is from before the
// restart too: they are dropped, and fn is tried again on a fresh one.
// Every statement the store runs is safe to repeat: reads, and writes that
// skip what is already there. That holds for a batch whose connection died
// during its commit, too: whether the old primary committed it or not, the
// batch is inserted again where writes now go, and a record already there
// is skipped.
//
// With failoverWait (a DSN naming the hosts of a pair, or failover_wait
// set), a call whose server is gone keeps trying, with a growing pause,
// until a server takes writes again or the wait is over: while
// pg_auto_failover promotes the standby, no host accepts a read-write
// session (target_session_attrs=read-write), and the gateway's batch
// waits for the new primary instead of failing. The caller learns of
// success only after the commit, on whichever server made it.
func (b *pgBackend) withConn(ctx context.Context, fn func(c *pgConn) error) error {
	var (
		deadline time.Time
		pause    = 50 * time.Millisecond
	)
	// again reports whether to try once more after a failure that says
	// the server is unavailable, pausing first.
	again := func() bool {
		if b.failoverWait <= 0 {
			return false
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(b.failoverWait)
		}
		if time.Now().Add(pause).After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
		return true
	}
	for try := 0; ; try++ {
		c, err := b.pool.acquire(ctx)
		if err != nil {
			if errors.Is(err, errClosed) || ctx.Err() != nil || !again() {
				return err
			}
			continue
		}
		err = fn(c)
		dead := err != nil && (c.IsClosed() || serverEnded(err))
		b.pool.release(c)
		if dead || readOnly(err) {
			b.pool.dropIdle()
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		if (dead || pgconn.SafeToRetry(err)) && try < 2 {
			continue
		}
		if !(dead || pgconn.SafeToRetry(err) || readOnly(err)) || !again() {
			return err
		}
	}
}

// readOnly reports whether err says the server takes no writes
// (read_only_sql_transaction): a pooled connection to a primary that was
// demoted to a standby.
func readOnly(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "25006"
}

// serverEnded reports whether err says the server ended the session:
// admin_shutdown, crash_shutdown or cannot_connect_now.
func serverEnded(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}

func (b *pgBackend) ingest(ctx context.Context, entries []ingest.Entry) (int, error) {
	vols, days := dirtyDays(entries)
	var n int64
	err := b.query(ctx, pgIngest, append(pgArrays(entries), vols, days), func(r rows) error { return r.Scan(&n) })
	return int(n), err
}

// refused: SQLSTATE class 22 (data exception: NUL in text, an invalid
// byte sequence, a value out of range) or 23 (a constraint).
func (b *pgBackend) refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"))
}

// pgArrays turns entries into pgInsert's column arrays, in record ID order:
// concurrent transactions inserting overlapping IDs then wait for each
// other's keys in one order and cannot deadlock.
func pgArrays(entries []ingest.Entry) []any {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return entries[order[i]].ID < entries[order[j]].ID })
	n := len(entries)
	var (
		id, station, kind, volunteer, card = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		service, ref, boot, phone, note    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		sun, flag, oref                    = make([]string, n), make([]string, n), make([]string, n)
		rating                             = make([]int32, n)
		activity                           = make([]int64, n)
		at, mono, seq, counter, tm, recv   = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		synced, review                     = make([]bool, n), make([]bool, n)
	)
	for i, k := range order {
		e := &entries[k]
		id[i], station[i], kind[i], volunteer[i], card[i] = e.ID, e.Station, string(e.Kind), e.Volunteer, e.Card
		service[i], ref[i], boot[i], phone[i], note[i] = e.Service, e.Ref, e.Boot, e.Phone, e.Note
		sun[i], flag[i] = e.SUN, e.ClockFlag
		at[i], mono[i], seq[i], counter[i] = nanos(e.At), e.Mono, int64(e.Seq), int64(e.Counter)
		tm[i], recv[i] = nanos(e.Time), nanos(e.Received)
		synced[i], review[i] = e.ClockSynced, e.Review
		oref[i], rating[i], activity[i] = e.Order, int32(e.Rating), e.Activity
	}
	return []any{id, station, kind, volunteer, card, service, ref, at, mono, boot,
		synced, seq, review, phone, note, counter, sun, tm, flag, recv, oref, rating, activity}
}

// errClosed is returned by calls on a closed Store.
var errClosed = errors.New("store: closed")

// pgPool is a bounded pool of pgx connections. (pgxpool would do, but it
// brings a dependency this module does not carry; this is the part of it
// the store needs.)
type pgPool struct {
	cfg *pgx.ConnConfig
	// sem holds a token per connection in use, bounding them.
	sem    chan struct{}
	mu     sync.Mutex
	idle   []*pgConn
	closed bool
}

type pgConn struct {
	*pgx.Conn
	used time.Time
}

// idleCheck is how long a connection may sit idle before it is pinged
// when taken from the pool, to catch one the server dropped meanwhile.
const idleCheck = time.Second

func (p *pgPool) acquire(ctx context.Context) (*pgConn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, errClosed
		}
		var c *pgConn
		if n := len(p.idle); n > 0 {
			c, p.idle = p.idle[n-1], p.idle[:n-1]
		}
		p.mu.Unlock()
		if c == nil {
			break
		}
		if time.Since(c.used) < idleCheck || c.Ping(ctx) == nil {
			return c, nil
		}
		closeConn(c)
	}
	conn, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.sem
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	return &pgConn{Conn: conn}, nil
}

// release returns c to the pool, or closes it if it is broken or was left
// in a transaction or mid-query (a cancelled context can do either).
func (p *pgPool) release(c *pgConn) {
	defer func() { <-p.sem }()
	if c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		closeConn(c)
		return
	}
	c.used = time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		closeConn(c)
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// dropIdle closes every idle connection.
func (p *pgPool) dropIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

func (p *pgPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

func closeConn(c *pgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}
