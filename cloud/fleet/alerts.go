package fleet

import (
	"fmt"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Alert kinds.
const (
	AlertOffline       = "offline"
	AlertOutboxGrowing = "outbox_growing"
	AlertReaderFailing = "reader_failing"
	AlertClockUnsynced = "clock_unsynced"
)

// Alert is a condition at a station someone should look at.
type Alert struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Thresholds say when a condition becomes an alert.
type Thresholds struct {
	// OfflineAfter: a station offline longer than this.
	OfflineAfter time.Duration
	// OutboxRising: the outbox grew in this many reports in a row.
	OutboxRising int
	// OutboxMax: the outbox holds at least this many records.
	OutboxMax int
}

// DefaultThresholds are used for zero fields.
var DefaultThresholds = Thresholds{OfflineAfter: 10 * time.Minute, OutboxRising: 5, OutboxMax: 1000}

func (t Thresholds) fill() Thresholds {
	if t.OfflineAfter <= 0 {
		t.OfflineAfter = DefaultThresholds.OfflineAfter
	}
	if t.OutboxRising <= 0 {
		t.OutboxRising = DefaultThresholds.OutboxRising
	}
	if t.OutboxMax <= 0 {
		t.OutboxMax = DefaultThresholds.OutboxMax
	}
	return t
}

// Alerts computes st's alerts at now. A station known only from records
// (neither registered nor reporting) raises none.
func Alerts(st store.Station, now time.Time, th Thresholds) []Alert {
	th = th.fill()
	var out []Alert
	if (st.Registered || st.Reported) && !st.Online && !st.Since.IsZero() {
		if d := now.Sub(st.Since); d > th.OfflineAfter {
			out = append(out, Alert{AlertOffline, fmt.Sprintf("offline for %s (since %s)", d.Round(time.Second), LocalTime(st.Since))})
		}
	}
	if st.Reported && (st.OutboxRising >= th.OutboxRising || st.Outbox >= th.OutboxMax) {
		out = append(out, Alert{AlertOutboxGrowing, fmt.Sprintf("%d records waiting, grew in %d reports in a row", st.Outbox, st.OutboxRising)})
	}
	if st.Reported && st.Reader == wire.ReaderFailing {
		out = append(out, Alert{AlertReaderFailing, "the card reader reports faults"})
	}
	if st.Reported && st.Online && !st.ClockSynced {
		out = append(out, Alert{AlertClockUnsynced, "the kiosk's clock is not NTP-synchronised"})
	}
	return out
}
