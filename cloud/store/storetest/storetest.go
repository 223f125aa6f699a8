// Package storetest makes realistic record traffic for tests, benchmarks
// and demos of the record path: a station's stream of check-ins and the
// check-outs that close them, as a kiosk would write it.
package storetest

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// services is a station's menu, as volunteers pick from it.
var services = []string{"理发", "量血压", "助餐", "陪伴聊天", "法律咨询", "家电维修", "代购代办", "心理疏导"}

// openSessions is how many volunteers are on duty at once: check-ins run
// this far ahead of check-outs, so pairs interleave as they do at a real
// station.
const openSessions = 8

// Traffic is one station's record stream. Successive calls continue it:
// sequence numbers rise by one, the monotonic clock moves forward within
// one boot, and sessions opened by one call may be closed by the next.
// It is not safe for concurrent use.
type Traffic struct {
	station string
	boot    string
	start   time.Time
	seq     uint64
	mono    int64
	rng     *rand.Rand
	open    []wire.Record
}

// NewTraffic starts a stream for station whose kiosk booted at start (with
// a synced clock). The stream is the same for the same arguments, apart
// from record IDs, which are fresh UUIDv7s.
func NewTraffic(station string, start time.Time) *Traffic {
	h := fnv.New64a()
	h.Write([]byte(station))
	seed := h.Sum64() ^ uint64(start.UnixNano())
	return &Traffic{
		station: station,
		boot:    uuid.NewString(),
		start:   start,
		rng:     rand.New(rand.NewPCG(seed, seed>>1|1)),
	}
}

// Records returns the next n records. Once the stream runs, check-ins and
// check-outs alternate, so any n records are half of each (to within the
// few sessions open at a time).
func (t *Traffic) Records(n int) []wire.Record {
	out := make([]wire.Record, 0, n)
	for range n {
		// Minutes pass between taps at a busy station.
		t.mono += int64(time.Minute) + t.rng.Int64N(int64(9*time.Minute))
		t.seq++
		r := wire.Record{
			ID:          newID(),
			Station:     t.station,
			At:          t.start.Add(time.Duration(t.mono)).UTC(),
			Mono:        t.mono,
			Boot:        t.boot,
			ClockSynced: true,
			Seq:         t.seq,
		}
		if len(t.open) < openSessions {
			r.Kind = wire.KindCheckIn
			r.Volunteer = fmt.Sprintf("V%05d", 1+t.rng.IntN(5000))
			r.Card = fmt.Sprintf("PE%08d", t.rng.IntN(1e8))
			r.Service = services[t.rng.IntN(len(services))]
			t.open = append(t.open, r)
		} else {
			in := t.open[0]
			t.open = t.open[1:]
			r.Kind = wire.KindCheckOut
			r.Volunteer, r.Card, r.Service, r.Ref = in.Volunteer, in.Card, in.Service, in.ID
		}
		out = append(out, r)
	}
	return out
}

// Entries returns the next n records as the gateway hands them to a
// store: synced, so Time is At, received a few seconds after they were
// made.
func (t *Traffic) Entries(n int) []ingest.Entry {
	recs := t.Records(n)
	out := make([]ingest.Entry, len(recs))
	for i, r := range recs {
		out[i] = ingest.Entry{Record: r, Time: r.At, Received: r.At.Add(3 * time.Second)}
	}
	return out
}

func newID() string {
	id, err := wire.NewRecordID()
	if err != nil {
		// uuid.NewV7 fails only if the system's random source does.
		panic(err)
	}
	return id
}
