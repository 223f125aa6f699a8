package store

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"leifeng/gateway/wire"
)

// cloudHours is a volunteer's hours as the cloud last counted them.
type cloudHours struct {
	Hours float64   `json:"hours"`
	AsOf  time.Time `json:"as_of"`
}

// putHours keeps each volunteer's newest count: acks of resent batches may
// arrive out of order, and an older count must not replace a newer one.
func putHours(tx *bolt.Tx, hours []wire.CountedHours) error {
	b := tx.Bucket(bucketHours)
	for _, h := range hours {
		if h.Volunteer == "" {
			continue
		}
		var cur cloudHours
		if v := b.Get([]byte(h.Volunteer)); v != nil && json.Unmarshal(v, &cur) == nil && !h.AsOf.After(cur.AsOf) {
			continue
		}
		val, err := json.Marshal(cloudHours{Hours: h.Hours, AsOf: h.AsOf})
		if err != nil {
			return err
		}
		if err := b.Put([]byte(h.Volunteer), val); err != nil {
			return err
		}
	}
	return nil
}

// Hours returns volunteer's service hours as the cloud counted them (its
// flagged sessions not approved left out) and when it counted them, as
// the last verified ack told; ok is false if no ack named the volunteer
// yet. The kiosk shows them offline; sessions it closed since are not in
// them.
func (s *Store) Hours(volunteer string) (hours float64, asOf time.Time, ok bool) {
	var h cloudHours
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketHours).Get([]byte(volunteer))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &h); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil || !ok {
		return 0, time.Time{}, false
	}
	return h.Hours, h.AsOf, true
}
