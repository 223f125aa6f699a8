package ingest

import (
	"context"
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

// Store is where the gateway commits records.
type Store interface {
	// Ingest stores entries in one transaction, skipping every entry whose
	// ID is already stored, and returns only after the transaction
	// committed. It reports how many entries were new.
	Ingest(ctx context.Context, entries []Entry) (inserted int, err error)
	// SaveState records a station's reported state as of seen.
	SaveState(ctx context.Context, st *wire.State, seen time.Time) error
}
