// Package store is the kiosk's bbolt file: the outbox of records waiting
// for the gateway's ack, the open sessions (who is checked in), the records
// the gateway refused, and the station's record sequence.
//
// Every write is one bbolt Update transaction, fsynced before it returns:
// when a writing method returns nil, its effect survives a power cut; when
// it returns an error, nothing it was asked to do is stored and nothing
// already stored has changed. That is what lets the kiosk show "confirmed"
// only after Commit returns nil.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"leifeng/gateway/wire"
)

var (
	bucketOutbox   = []byte("outbox")   // big-endian seq → JSON wire.Record
	bucketIDs      = []byte("ids")      // record ID → big-endian seq, to ack by ID
	bucketSessions = []byte("sessions") // volunteer → JSON Session
	bucketRejected = []byte("rejected") // big-endian seq → JSON Rejected
	bucketMeta     = []byte("meta")
	keyNextSeq     = []byte("next_seq")
	bucketConfig   = []byte("config") // slot ("fleet", "station", "offer") → signed envelope or JSON
	bucketNonces   = []byte("nonces") // command nonce → big-endian expiry (Unix ns)
	bucketHours    = []byte("hours")  // volunteer → JSON cloudHours

	buckets = [][]byte{bucketOutbox, bucketIDs, bucketSessions, bucketRejected, bucketMeta, bucketConfig, bucketNonces, bucketHours}
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("store: database file is in use by another process")

// Session is an open check-in: the volunteer is at the station.
type Session struct {
	Volunteer string `json:"volunteer"`
	// CheckIn is the ID of the check_in record that opened the session; the
	// record that closes it refers to it.
	CheckIn string    `json:"check_in"`
	Card    string    `json:"card,omitempty"`
	Service string    `json:"service,omitempty"`
	At      time.Time `json:"at"`
	Mono    int64     `json:"mono"`
	Boot    string    `json:"boot"`
}

// Rejected is a record the gateway refused. It is kept for the station
// manager rather than dropped: a confirmed tap never silently disappears.
type Rejected struct {
	Record   wire.Record `json:"record"`
	Reason   string      `json:"reason"`
	Rejected time.Time   `json:"rejected"`
}

// Change is what one tap does to the store: records to append to the
// outbox, in order, and the session it opens or closes.
type Change struct {
	// Records are appended in order. Commit sets each one's Seq.
	Records []*wire.Record
	// Close names volunteers whose open sessions end.
	Close []string
	// Open is a session to open; it replaces any session of the same
	// volunteer.
	Open *Session
}

// Store is the kiosk's bbolt file. Its methods are safe for concurrent use.
type Store struct {
	db       *bolt.DB
	depth    atomic.Int64
	appended chan struct{}
}

// Open opens or creates the store at path. It fails with ErrLocked if
// another process has the file open, rather than waiting for it.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, appended: make(chan struct{}, 1)}
	var n int64
	var missing bool
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			missing = missing || tx.Bucket(name) == nil
		}
		if !missing {
			n = int64(tx.Bucket(bucketOutbox).Stats().KeyN)
		}
		return nil
	})
	// Only a new file is written to on open: a kiosk restarting on a full
	// disk must still come up, serve its outbox and say why taps fail.
	if err == nil && missing {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, name := range buckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			n = int64(tx.Bucket(bucketOutbox).Stats().KeyN)
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: prepare %s: %w", path, err)
	}
	s.depth.Store(n)
	return s, nil
}

// Close closes the file. Everything a method confirmed is already on disk.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Appended signals (without blocking the writer, coalescing signals) after
// a Commit added records to the outbox, so a sender can wake at once
// instead of polling. It is meant for a single receiver.
func (s *Store) Appended() <-chan struct{} { return s.appended }

// Depth is the number of records in the outbox.
func (s *Store) Depth() int { return int(s.depth.Load()) }

// Commit applies changes in ONE transaction, in order: their records are
// appended to the outbox with the next sequence numbers and their sessions
// opened or closed. When Commit returns nil, all of it is on disk; when it
// returns an error, none of it is, and each record's Seq is meaningless.
func (s *Store) Commit(changes ...Change) error {
	for _, c := range changes {
		for _, r := range c.Records {
			// A bad record fails here, not at the gateway weeks later.
			if err := r.Validate(); err != nil {
				return fmt.Errorf("store: commit: %w", err)
			}
		}
	}
	var added int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		added = 0
		for _, c := range changes {
			n, err := commitTx(tx, c)
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	s.afterCommit(added)
	return nil
}

func (s *Store) afterCommit(added int64) {
	if added == 0 {
		return
	}
	s.depth.Add(added)
	select {
	case s.appended <- struct{}{}:
	default:
	}
}

// commitTx writes one change inside tx and returns how many records it
// appended. It reads the next sequence number from tx itself, so a
// transaction that is rolled back (or re-run by bolt.DB.Batch) leaves no
// gap and no reuse.
func commitTx(tx *bolt.Tx, c Change) (int64, error) {
	meta := tx.Bucket(bucketMeta)
	out := tx.Bucket(bucketOutbox)
	ids := tx.Bucket(bucketIDs)
	sessions := tx.Bucket(bucketSessions)
	seq := uint64(1)
	if v := meta.Get(keyNextSeq); len(v) == 8 {
		seq = binary.BigEndian.Uint64(v)
	}
	for _, r := range c.Records {
		r.Seq = seq
		seq++
		val, err := json.Marshal(r)
		if err != nil {
			return 0, fmt.Errorf("encode record %s: %w", r.ID, err)
		}
		key := seqKey(r.Seq)
		if ids.Get([]byte(r.ID)) != nil {
			return 0, fmt.Errorf("record ID %s already in the outbox", r.ID)
		}
		if err := out.Put(key, val); err != nil {
			return 0, err
		}
		if err := ids.Put([]byte(r.ID), key); err != nil {
			return 0, err
		}
	}
	if err := meta.Put(keyNextSeq, seqKey(seq)); err != nil {
		return 0, err
	}
	for _, v := range c.Close {
		if err := sessions.Delete([]byte(v)); err != nil {
			return 0, err
		}
	}
	if c.Open != nil {
		val, err := json.Marshal(c.Open)
		if err != nil {
			return 0, fmt.Errorf("encode session: %w", err)
		}
		if err := sessions.Put([]byte(c.Open.Volunteer), val); err != nil {
			return 0, err
		}
	}
	return int64(len(c.Records)), nil
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// Session returns volunteer's open session, if there is one.
func (s *Store) Session(volunteer string) (Session, bool, error) {
	var ses Session
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(volunteer))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &ses)
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("store: session of %s: %w", volunteer, err)
	}
	return ses, ok, nil
}

// Sessions returns every open session, ordered by volunteer.
func (s *Store) Sessions() ([]Session, error) {
	var all []Session
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(_, v []byte) error {
			var ses Session
			if err := json.Unmarshal(v, &ses); err != nil {
				return err
			}
			all = append(all, ses)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	return all, nil
}

// Oldest returns up to n records from the head of the outbox, oldest
// (lowest Seq) first.
func (s *Store) Oldest(n int) ([]wire.Record, error) {
	recs := make([]wire.Record, 0, min(n, s.Depth()))
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(recs) < n; k, v = c.Next() {
			var r wire.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("record at seq %d: %w", binary.BigEndian.Uint64(k), err)
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	return recs, nil
}

// Ack deletes the records with these IDs from the outbox and keeps the
// cloud's counted hours the ack carried (see Hours), in one transaction,
// durable when it returns nil. IDs not in the outbox (acked before, or
// never ours) are ignored. It returns how many it deleted.
func (s *Store) Ack(ids []string, hours ...wire.CountedHours) (int, error) {
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		if err := putHours(tx, hours); err != nil {
			return err
		}
		out, idx := tx.Bucket(bucketOutbox), tx.Bucket(bucketIDs)
		for _, id := range ids {
			key := idx.Get([]byte(id))
			if key == nil {
				continue
			}
			key = append([]byte(nil), key...)
			if err := out.Delete(key); err != nil {
				return err
			}
			if err := idx.Delete([]byte(id)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: ack: %w", err)
	}
	s.depth.Add(-int64(n))
	return n, nil
}

// Reject moves the named records from the outbox to the rejected bucket
// with the gateway's reason, in one transaction, durable when it returns
// nil. IDs not in the outbox are ignored. It returns how many it moved.
func (s *Store) Reject(rejections []wire.Rejection, now time.Time) (int, error) {
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		out, idx, rej := tx.Bucket(bucketOutbox), tx.Bucket(bucketIDs), tx.Bucket(bucketRejected)
		for _, rj := range rejections {
			key := idx.Get([]byte(rj.ID))
			if key == nil {
				continue
			}
			key = append([]byte(nil), key...)
			var r Rejected
			if err := json.Unmarshal(out.Get(key), &r.Record); err != nil {
				return fmt.Errorf("record %s: %w", rj.ID, err)
			}
			r.Reason, r.Rejected = rj.Reason, now
			val, err := json.Marshal(&r)
			if err != nil {
				return err
			}
			if err := rej.Put(key, val); err != nil {
				return err
			}
			if err := out.Delete(key); err != nil {
				return err
			}
			if err := idx.Delete([]byte(rj.ID)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: reject: %w", err)
	}
	s.depth.Add(-int64(n))
	return n, nil
}

// Rejections returns the records the gateway refused, oldest first.
func (s *Store) Rejections() ([]Rejected, error) {
	var all []Rejected
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRejected).ForEach(func(_, v []byte) error {
			var r Rejected
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			all = append(all, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: rejections: %w", err)
	}
	return all, nil
}
