package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"

	"modernc.org/sqlite" // registers the "sqlite" driver

	"leifeng/gateway/ingest"
)

// sqliteBackend is a database/sql pool over one SQLite file.
type sqliteBackend struct {
	db *sql.DB
	// SQLite has one writer at a time. Writers of this process queue on
	// writeMu instead of sleeping in SQLite's busy handler, which polls
	// with growing sleeps and would add milliseconds to every contended
	// commit; busy_timeout still covers writers in other processes.
	writeMu sync.Mutex
}

func openSQLite(path string) (*sqliteBackend, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: SQLite path %q: the store sets its own connection parameters", path)
	}
	// journal_mode=WAL: readers (the API) do not block the writer (the
	// gateway) and a commit appends to one file instead of rewriting pages.
	// synchronous=FULL: in WAL mode, NORMAL syncs only at checkpoints, so
	// a power cut can roll back transactions that already committed — and
	// the gateway acks a batch, letting the kiosk delete it, right after
	// the commit. FULL syncs the WAL at every commit; the gateway commits
	// a whole batch at a time, so that is one fsync per batch.
	// _txlock=immediate: every transaction here writes, so take the write
	// lock at BEGIN; a deferred transaction that upgrades later can fail
	// with SQLITE_BUSY instead of waiting.
	if err := private(path); err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	// secure_delete: deleted and overwritten content is zeroed, not left
	// in free space, so a value the cloud removes (a deregistered
	// volunteer's personal data) leaves the file too, not only the table.
	q.Add("_pragma", "secure_delete(on)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	// Readers run alongside the writer in WAL mode; a handful of
	// connections is plenty for the API of one process.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	return &sqliteBackend{db: db}, nil
}

// private makes the database file readable by its owner only before SQLite
// opens it: it holds residents' phone numbers and volunteers' records.
// SQLite creates the write-ahead log and its index (-wal, -shm) with the
// database file's mode, so they follow. A file an older version left
// readable to others is tightened, with its log and index.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *sqliteBackend) dialect() string { return "sqlite" }

func (b *sqliteBackend) close() error { return b.db.Close() }

// sqlQuerier is the part of *sql.DB and *sql.Tx the queries use.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqliteQ runs statements on the database or, with tx set, in a
// transaction, where each distinct statement is prepared once: SQLite
// parses a statement's text on every unprepared call, which was a third
// of a volunteer import's CPU (one row is several statements).
// database/sql closes a transaction's statements when it ends.
type sqliteQ struct {
	q     sqlQuerier
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (s sqliteQ) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.tx.PrepareContext(ctx, query)
	if err == nil {
		s.stmts[query] = st
	}
	return st, err
}

func (s sqliteQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if s.tx != nil {
		var st *sql.Stmt
		if st, err = s.stmt(ctx, query); err == nil {
			res, err = st.ExecContext(ctx, args...)
		}
	} else {
		res, err = s.q.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqliteQ) query(ctx context.Context, query string, args []any, each func(rows) error) error {
	var (
		rs  *sql.Rows
		err error
	)
	if s.tx != nil {
		var st *sql.Stmt
		if st, err = s.stmt(ctx, query); err == nil {
			rs, err = st.QueryContext(ctx, args...)
		}
	} else {
		rs, err = s.q.QueryContext(ctx, query, args...)
	}
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

func (b *sqliteBackend) exec(ctx context.Context, query string, args ...any) (int64, error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return sqliteQ{q: b.db}.exec(ctx, query, args...)
}

func (b *sqliteBackend) query(ctx context.Context, query string, args []any, each func(rows) error) error {
	return sqliteQ{q: b.db}.query(ctx, query, args, each)
}

func (b *sqliteBackend) inTx(ctx context.Context, fn func(q querier) error) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqliteQ{q: tx, tx: tx, stmts: map[string]*sql.Stmt{}}); err != nil {
		return errors.Join(err, rollback(tx))
	}
	return tx.Commit()
}

// rollback rolls tx back, ignoring that a failed statement or a cancelled
// context may have ended it already.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

func (b *sqliteBackend) ingest(ctx context.Context, entries []ingest.Entry) (int, error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	inserted, err := insertEach(ctx, tx, entries)
	if err == nil {
		err = markDirty(ctx, tx, entries)
	}
	if err != nil {
		return 0, errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int(inserted), nil
}

// SQLite result codes (the low byte of an extended code) that say the
// data was at fault.
const (
	sqliteTooBig     = 18
	sqliteConstraint = 19
	sqliteMismatch   = 20
)

func (b *sqliteBackend) refused(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqliteTooBig, sqliteConstraint, sqliteMismatch:
		return true
	}
	return false
}

// insertEach runs insertOne for every entry, prepared once. With this
// driver one prepared single-row statement per record measured several
// times faster than multi-row INSERTs, whose binding cost grows with the
// number of parameters.
func insertEach(ctx context.Context, tx *sql.Tx, entries []ingest.Entry) (int64, error) {
	stmt, err := tx.PrepareContext(ctx, insertOne)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	var inserted int64
	for i := range entries {
		res, err := stmt.ExecContext(ctx, entryArgs(&entries[i])...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		inserted += n
	}
	return inserted, nil
}
