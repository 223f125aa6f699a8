package ingest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"leifeng/gateway/wire"
)

// acksFor collects acks until each station has one, failing after 5 s.
func (h *harness) acksFor(t *testing.T, stations ...string) map[string]*wire.Ack {
	t.Helper()
	got := map[string]*wire.Ack{}
	deadline := time.After(5 * time.Second)
	for len(got) < len(stations) {
		select {
		case a := <-h.acks:
			got[a.Station] = a
		case <-deadline:
			t.Fatalf("acks for %v: only %v", stations, got)
		}
	}
	return got
}

// A record the database refuses (it passed validation) is kept aside with
// its reason, acked as rejected, and the rest of its batch is stored and
// acked at once: the batch is not sent again forever.
func TestPoisonRecordRefused(t *testing.T) {
	st := newMemStore()
	st.poison = "V-poison"
	// One worker: the poisoned station and the other share it.
	h := newHarnessWith(t, st, nil, Options{Workers: 1})
	b := batch(t, "st-a", 10)
	b.Records[4].Volunteer = "V-poison"
	h.publish(t, "st-a", encode(t, b))
	h.publish(t, "st-b", encode(t, batch(t, "st-b", 3)))
	acks := h.acksFor(t, "st-a", "st-b")
	a := acks["st-a"]
	if len(a.IDs) != 9 || len(a.Rejected) != 1 || a.Rejected[0].ID != b.Records[4].ID ||
		!strings.HasPrefix(a.Rejected[0].Reason, "database_refused: ") {
		t.Fatalf("ack %+v: want 9 stored and the poisoned record rejected", a)
	}
	for _, id := range a.IDs {
		if id == b.Records[4].ID {
			t.Fatal("the refused record is acked as stored")
		}
	}
	if len(acks["st-b"].IDs) != 3 {
		t.Fatalf("st-b ack %+v", acks["st-b"])
	}
	st.mu.Lock()
	reason, kept := st.refused[b.Records[4].ID]
	stored := len(st.records)
	st.mu.Unlock()
	if !kept || !strings.Contains(reason, "invalid byte sequence") || stored != 12 {
		t.Fatalf("refused %v (%q), %d stored", kept, reason, stored)
	}
	if testutil.ToFloat64(h.metrics.RecordsRefused) != 1 || testutil.ToFloat64(h.metrics.BatchesRejected.WithLabelValues("store_error")) != 0 {
		t.Fatal("refusal not counted, or the batch counted as a store error")
	}
}

// A station whose batch keeps failing for a reason the database does not
// name, while other stations' batches commit, is resent a bounded number
// of times; then the record at fault is found and refused.
func TestStationRetriesBounded(t *testing.T) {
	st := newMemStore()
	st.flaky = "V-flaky"
	h := newHarnessWith(t, st, nil, Options{Workers: 1, StoreRetries: 1, StationFailures: 3})
	b := batch(t, "st-a", 6)
	b.Records[2].Volunteer = "V-flaky"
	data := encode(t, b)
	for try := 1; ; try++ {
		h.publish(t, "st-a", data)
		// Another station commits between the resends.
		h.publish(t, "st-b", encode(t, batch(t, "st-b", 1)))
		acks := map[string]*wire.Ack{}
		deadline := time.After(2 * time.Second)
	collect:
		for {
			select {
			case a := <-h.acks:
				acks[a.Station] = a
				if acks["st-a"] != nil {
					break collect
				}
			case <-deadline:
				break collect
			}
		}
		if acks["st-a"] == nil {
			if try >= 3 {
				t.Fatalf("try %d: still no ack: retries are not bounded", try)
			}
			continue
		}
		a := acks["st-a"]
		if try != 3 || len(a.IDs) != 5 || len(a.Rejected) != 1 || a.Rejected[0].ID != b.Records[2].ID {
			t.Fatalf("try %d: ack %+v; want the third to store 5 and refuse 1", try, a)
		}
		return
	}
}

// When the database is down for everyone nothing is refused, however
// often a station resends: the batch waits in the kiosk's outbox.
func TestOutageRefusesNothing(t *testing.T) {
	st := newMemStore()
	h := newHarnessWith(t, st, nil, Options{Workers: 1, StoreRetries: 1, StationFailures: 2})
	st.setFail(errFailing)
	b := batch(t, "st-a", 3)
	for range 5 {
		h.publish(t, "st-a", encode(t, b))
		h.publish(t, "st-b", encode(t, batch(t, "st-b", 1)))
	}
	h.noAck(t, 500*time.Millisecond)
	waitFor(t, "store errors counted", func() bool {
		return testutil.ToFloat64(h.metrics.BatchesRejected.WithLabelValues("store_error")) == 10
	})
	st.mu.Lock()
	refused := len(st.refused)
	st.mu.Unlock()
	if refused != 0 {
		t.Fatalf("%d records refused during an outage", refused)
	}
	st.setFail(nil)
	h.publish(t, "st-a", encode(t, b))
	if a := h.ack(t); len(a.IDs) != 3 || len(a.Rejected) != 0 {
		t.Fatalf("after the outage: %+v", a)
	}
}

var errFailing = &failingErr{}

type failingErr struct{}

func (*failingErr) Error() string { return "connection refused" }

// auditStore adds the Auditor a real store has, counting what it is asked.
type auditStore struct {
	*memStore
	mu      sync.Mutex
	hours   map[string]float64
	checked int
	// listed are the volunteers listed for every station.
	listed map[string]bool
}

// KnownBefore is cloud/store's rule over the memStore's records: listed,
// or a check-in at station other than batch's.
func (a *auditStore) KnownBefore(_ context.Context, station string, vols []string, batch []Entry) (map[string]bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := map[string]bool{}
	for _, e := range batch {
		mine[e.ID] = true
	}
	a.memStore.mu.Lock()
	defer a.memStore.mu.Unlock()
	out := map[string]bool{}
	for _, v := range vols {
		if a.listed[v] {
			out[v] = true
		}
	}
	for id, e := range a.memStore.records {
		if e.Station == station && e.Kind == wire.KindCheckIn && !mine[id] && slices.Contains(vols, e.Volunteer) {
			out[e.Volunteer] = true
		}
	}
	return out, nil
}

func (a *auditStore) CheckClones(_ context.Context, es []Entry) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checked += len(es)
	n := 0
	for _, e := range es {
		if e.Counter == 7 {
			n++
		}
	}
	return n, nil
}

func (a *auditStore) CountedHours(_ context.Context, vols []string) (map[string]float64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]float64{}
	for _, v := range vols {
		out[v] = a.hours[v]
	}
	return out, nil
}

// With the cloud's key the gateway seals every ack, and the ack carries
// the counted hours of each volunteer in the batch; clone alerts the store
// finds are counted.
func TestSignedAckWithHours(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	st := newMemStore()
	au := &auditStore{memStore: st, hours: map[string]float64{"V0000": 12.5, "V0001": 3},
		listed: map[string]bool{"V0000": true, "V0001": true, "V0002": true}}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	h := newHarnessWith(t, st, au, Options{AckKey: priv, AckKeyID: "cloud-test", Now: func() time.Time { return now }})
	b := batch(t, "st-a", 3)
	b.Records[1].Counter = 7
	h.publish(t, "st-a", encode(t, b))
	a := h.ack(t) // opened with the key: an unsigned ack would fail the harness
	if len(a.IDs) != 3 || len(a.Hours) != 3 {
		t.Fatalf("ack %+v", a)
	}
	want := map[string]float64{"V0000": 12.5, "V0001": 3, "V0002": 0}
	for _, hh := range a.Hours {
		if want[hh.Volunteer] != hh.Hours || !hh.AsOf.Equal(now) {
			t.Errorf("hours %+v, want %v as of %v", hh, want[hh.Volunteer], now)
		}
	}
	if testutil.ToFloat64(h.metrics.CloneAlerts) != 1 || au.checked != 3 {
		t.Fatalf("clone alerts %v, checked %d", testutil.ToFloat64(h.metrics.CloneAlerts), au.checked)
	}
}

// An ack names at most AckHours volunteers: those whose session closed in
// the batch first, then the latest taps.
func TestAckHoursBounded(t *testing.T) {
	st := newMemStore()
	au := &auditStore{memStore: st, hours: map[string]float64{}, listed: map[string]bool{}}
	for i := range 10 {
		au.listed[fmt.Sprintf("V%04d", i)] = true
	}
	h := newHarnessWith(t, st, au, Options{AckHours: 3})
	b := batch(t, "st-a", 10)
	b.Records[1].Kind, b.Records[1].Ref = wire.KindCheckOut, b.Records[0].ID
	h.publish(t, "st-a", encode(t, b))
	a := h.ack(t)
	var got []string
	for _, hh := range a.Hours {
		got = append(got, hh.Volunteer)
	}
	if strings.Join(got, ",") != "V0001,V0009,V0008" {
		t.Fatalf("ack hours for %v, want the closed session's volunteer, then the latest", got)
	}
}

// A stolen kiosk cannot read the hours of any volunteer ID it sends: an
// ack carries hours only for volunteers listed for the station or who
// checked in there in an earlier batch, never for one first seen in the
// acked batch, nor for one known only at another station.
func TestAckHoursOnlyForKnownVolunteers(t *testing.T) {
	st := newMemStore()
	au := &auditStore{memStore: st, hours: map[string]float64{"V0000": 40, "V0001": 7, "V0002": 3}, listed: map[string]bool{"V0001": true}}
	h := newHarnessWith(t, st, au, Options{})
	names := func(a *wire.Ack) string {
		var got []string
		for _, hh := range a.Hours {
			got = append(got, hh.Volunteer)
		}
		slices.Sort(got)
		return strings.Join(got, ",")
	}
	// V0000 and V0002 first seen here: only the listed V0001 is told.
	b := batch(t, "st-a", 3)
	h.publish(t, "st-a", encode(t, b))
	if a := h.ack(t); len(a.IDs) != 3 || names(a) != "V0001" {
		t.Fatalf("first batch: hours for %q, want only V0001", names(a))
	}
	// The next batch closes V0000's session: it checked in here before.
	out, _ := wire.NewRecordID()
	next := &wire.Batch{Station: "st-a", Sent: b.Sent, Records: []wire.Record{{ID: out, Station: "st-a", Kind: wire.KindCheckOut,
		Volunteer: "V0000", Ref: b.Records[0].ID, At: time.Now(), Mono: int64(2 * time.Minute), Boot: "boot-1", ClockSynced: true, Seq: 4}}}
	h.publish(t, "st-a", encode(t, next))
	if a := h.ack(t); names(a) != "V0000" || a.Hours[0].Hours != 40 {
		t.Fatalf("second batch: hours %+v, want V0000's 40", a.Hours)
	}
	// Another station naming V0000 and V0002 learns nothing.
	h.publish(t, "st-b", encode(t, batch(t, "st-b", 3)))
	if a := h.ack(t); names(a) != "V0001" {
		t.Fatalf("st-b: hours for %q, want only the listed V0001", names(a))
	}
}
