package ingest

import (
	"context"
	"errors"
	"time"

	"leifeng/gateway/wire"
)

// Clock flags on an Entry: what the gateway could do about a record made
// while the kiosk's wall clock was not synchronised.
const (
	// ClockCorrected: the time was recomputed from the record's monotonic
	// clock and the gateway's own clock when the batch arrived.
	ClockCorrected = "corrected"
	// ClockUncorrected: the record comes from an earlier boot than the
	// batch that carried it, so its time could not be corrected; it is
	// stored as the kiosk wrote it, for a person to review.
	ClockUncorrected = "uncorrected"
)

// Entry is a record as the gateway hands it to the store.
type Entry struct {
	wire.Record
	// Time is when the record happened by the best clock available: At
	// when the kiosk's clock was synced, else corrected (see ClockFlag).
	Time time.Time `json:"time"`
	// ClockFlag is empty for a synced record, else ClockCorrected or
	// ClockUncorrected.
	ClockFlag string `json:"clock_flag,omitempty"`
	// Received is when the gateway received the batch.
	Received time.Time `json:"received"`
}

// ErrRefused marks an error of Store.Ingest caused by the data, not by the
// database: a value it cannot hold, a constraint it breaks. Sending the
// same batch again fails the same way, so the gateway finds the records at
// fault, keeps them aside with Refuse and stores the rest.
var ErrRefused = errors.New("ingest: the database refused a record")

// Store is where the gateway commits records.
type Store interface {
	// Ingest stores entries in one transaction, skipping every entry whose
	// ID is already stored, and returns only after the transaction
	// committed. It reports how many entries were new. An error matching
	// ErrRefused says the data itself was refused.
	Ingest(ctx context.Context, entries []Entry) (inserted int, err error)
	// Refuse keeps an entry the database refused, with the reason, apart
	// from the records (it counts for nothing, but a person can see it).
	// It is durable when it returns nil; refusing an ID again changes
	// nothing.
	Refuse(ctx context.Context, e Entry, reason string) error
	// SaveState records a station's reported state as of seen.
	SaveState(ctx context.Context, st *wire.State, seen time.Time) error
}

// Auditor is what a store may do besides storing, which the gateway uses
// when its store has it: check what was committed against what came
// before, and count the hours it acknowledges to the kiosk.
type Auditor interface {
	// CheckClones compares the NTAG 424 DNA SUN counters and messages of
	// committed entries with every earlier tap of the same card and
	// records an alert for a counter that repeats or goes back, or a SUN
	// message seen before. It is idempotent and returns how many alerts
	// are new.
	CheckClones(ctx context.Context, entries []Entry) (alerts int, err error)
	// CountedHours returns each volunteer's counted service hours: closed
	// sessions, leaving out those flagged for review and not approved.
	CountedHours(ctx context.Context, volunteers []string) (map[string]float64, error)
	// KnownBefore reports which of volunteers station knew before batch
	// (a batch from station, already committed): those listed for
	// station, and those with a check-in at station that is not one of
	// batch's. Only their hours go into the ack.
	KnownBefore(ctx context.Context, station string, volunteers []string, batch []Entry) (map[string]bool, error)
}
