package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// report is what a run measured.
type report struct {
	Stations int    `json:"stations"`
	Duration string `json:"duration"`
	// Taps were confirmed on the kiosks' screens; Records are what they
	// wrote to the outboxes; Acked is how many acks took out.
	Taps        int64 `json:"taps"`
	Records     int64 `json:"records"`
	Acked       int64 `json:"acked"`
	TapFailures int64 `json:"tap_failures"`
	// Undrained is what was still in the outboxes at the end.
	Undrained int64 `json:"undrained"`
	// Lost are confirmed records the database does not have; Duplicates
	// are record IDs, or a station's seqs, it has more than once.
	Lost       int64  `json:"lost"`
	Duplicates int64  `json:"duplicates"`
	Check      string `json:"check"`
	// Latency is tap to ack, in seconds, of taps made while the kiosk was
	// online; LatencyOffline of those made offline (they wait for the
	// network).
	Latency          latency `json:"latency"`
	LatencyOffline   latency `json:"latency_offline"`
	RecordsPerSecond float64 `json:"records_per_second"`
	DaySeconds       float64 `json:"day_seconds"`
	DrainSeconds     float64 `json:"drain_seconds"`
	// StormSeconds is the reconnect storm: from the first kiosk back to
	// every outbox empty, StormRecords waiting at its start.
	StormRecords         int64   `json:"storm_records,omitempty"`
	StormSeconds         float64 `json:"storm_seconds,omitempty"`
	LoadgenRSSMB         float64 `json:"loadgen_rss_mb"`
	LoadgenRSSPerKioskKB float64 `json:"loadgen_rss_per_kiosk_kb"`
}

type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "stations          %d, a day in %s (played in %.0fs, drained %.1fs after)\n", r.Stations, r.Duration, r.DaySeconds, r.DrainSeconds)
	fmt.Fprintf(w, "taps confirmed    %d (%d records; %d taps refused by the store)\n", r.Taps, r.Records, r.TapFailures)
	fmt.Fprintf(w, "records acked     %d, %.0f records/s over the run; %d left in outboxes\n", r.Acked, r.RecordsPerSecond, r.Undrained)
	fmt.Fprintf(w, "tap to ack        online taps p50 %.3fs p90 %.3fs p99 %.3fs max %.3fs (n=%d)\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.N)
	fmt.Fprintf(w, "                  offline taps p50 %.1fs p99 %.1fs (n=%d; they wait for the network)\n", r.LatencyOffline.P50, r.LatencyOffline.P99, r.LatencyOffline.N)
	if r.StormRecords > 0 {
		fmt.Fprintf(w, "reconnect storm   %d records waiting: every outbox empty %.1fs after the first kiosk came back\n", r.StormRecords, r.StormSeconds)
	}
	fmt.Fprintf(w, "database          %d lost, %d duplicated (%s)\n", r.Lost, r.Duplicates, r.Check)
	fmt.Fprintf(w, "loadgen memory    %.0f MB resident, %.0f KB per kiosk\n", r.LoadgenRSSMB, r.LoadgenRSSPerKioskKB)
}

// check reads every station's records through the cloud's API and counts
// the confirmed records missing and those stored twice.
func (f *fleet) check(ctx context.Context, rep *report) error {
	client := &http.Client{Timeout: time.Minute}
	var (
		mu       sync.Mutex
		lost     int64
		dups     int64
		firstErr error
	)
	work := make(chan *sim)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for s := range work {
				l, d, err := f.checkStation(ctx, client, s)
				mu.Lock()
				lost += l
				dups += d
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range f.sims {
		work <- s
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("checking the database through %s: %w", f.o.api, firstErr)
	}
	rep.Lost, rep.Duplicates = lost, dups
	rep.Check = fmt.Sprintf("every confirmed record looked up through %s", f.o.api)
	return nil
}

func (f *fleet) checkStation(ctx context.Context, client *http.Client, s *sim) (lost, dups int64, err error) {
	var stored []storedRecord
	var after uint64
	for {
		var page struct {
			Records []struct {
				ID  string `json:"id"`
				Seq uint64 `json:"seq"`
			} `json:"records"`
		}
		url := fmt.Sprintf("%s/api/v1/records?station=%s&after=%d&limit=1000", strings.TrimSuffix(f.o.api, "/"), s.id, after)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+f.o.token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, 0, err
		}
		for _, r := range page.Records {
			stored = append(stored, storedRecord{r.ID, r.Seq})
		}
		if len(page.Records) < 1000 {
			break
		}
		after = page.Records[len(page.Records)-1].Seq
	}
	lost, dups = s.compare(stored)
	return lost, dups, nil
}

// storedRecord is what the check needs of a stored record.
type storedRecord struct {
	ID  string
	Seq uint64
}

// compare counts s's confirmed records missing from stored (a station's
// records in the database) and those stored more than once, by ID or by
// the station's seq.
func (s *sim) compare(stored []storedRecord) (lost, dups int64) {
	s.mu.Lock()
	ours := make(map[string]bool, len(s.ids))
	for _, id := range s.ids {
		ours[id] = true
	}
	ids := s.ids
	s.mu.Unlock()
	count := map[string]int{}
	// Seqs of this run's records only: a station played again from new
	// kiosk files starts its seqs again.
	seqs := map[uint64]int{}
	for _, r := range stored {
		count[r.ID]++
		if ours[r.ID] {
			seqs[r.Seq]++
		}
	}
	for _, id := range ids {
		switch n := count[id]; {
		case n == 0:
			lost++
		case n > 1:
			dups += int64(n - 1)
		}
	}
	// A station's seq twice is one record stored under two IDs. (Paging
	// by seq could hide a repeat across a page boundary; the ID count
	// above holds regardless.)
	for _, n := range seqs {
		if n > 1 {
			dups += int64(n - 1)
		}
	}
	return lost, dups
}

// checkDB is check for a cloud without an API (gateways on a NATS
// cluster): every station's records read from PostgreSQL itself.
func (f *fleet) checkDB(ctx context.Context, rep *report) error {
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	work := make(chan *sim)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			conn, err := pgx.Connect(ctx, f.o.db)
			if err != nil {
				fail(err)
				for range work {
				}
				return
			}
			defer conn.Close(context.Background())
			for s := range work {
				stored, err := storedRecords(ctx, conn, s.id)
				if err != nil {
					fail(err)
					continue
				}
				l, d := s.compare(stored)
				mu.Lock()
				rep.Lost += l
				rep.Duplicates += d
				mu.Unlock()
			}
		})
	}
	for _, s := range f.sims {
		work <- s
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("checking the database (--db): %w", firstErr)
	}
	rep.Check = "every confirmed record looked up in PostgreSQL (--db)"
	return nil
}

// storedRecords is every record of station in the database.
func storedRecords(ctx context.Context, conn *pgx.Conn, station string) ([]storedRecord, error) {
	rows, err := conn.Query(ctx, `SELECT id, seq FROM records WHERE station = $1`, station)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedRecord
	for rows.Next() {
		var r storedRecord
		var seq int64
		if err := rows.Scan(&r.ID, &seq); err != nil {
			return nil, err
		}
		r.Seq = uint64(seq)
		out = append(out, r)
	}
	return out, rows.Err()
}
