package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrReplayed is returned by UseNonce for a nonce already used.
var ErrReplayed = errors.New("store: nonce already used")

// PutBlob stores value under key in the config bucket (signed configs as
// received, the last update offer), durable when it returns nil.
func (s *Store) PutBlob(key string, value []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConfig).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return nil
}

// Blob returns what PutBlob stored under key, or nil.
func (s *Store) Blob(key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketConfig).Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, err)
	}
	return out, nil
}

// UseNonce records a command's nonce until expires, in one durable
// transaction that also forgets nonces expired at now. It returns
// ErrReplayed if the nonce is already recorded: a command is obeyed once,
// across restarts, for as long as it could be replayed (after its expiry
// the command itself is refused).
func (s *Store) UseNonce(nonce string, expires, now time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNonces)
		if b.Get([]byte(nonce)) != nil {
			return ErrReplayed
		}
		c := b.Cursor()
		var stale [][]byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < now.UnixNano() {
				stale = append(stale, append([]byte(nil), k...))
			}
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(expires.UnixNano()))
		return b.Put([]byte(nonce), v)
	})
	if errors.Is(err, ErrReplayed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: nonce: %w", err)
	}
	return nil
}
