package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"leifeng/cloud/store/storetest"
	"leifeng/gateway/ingest"
	"leifeng/internal/pgtest"
)

// benchBatch is the gateway's batch size: a kiosk sends at most
// wire.MaxBatchRecords records per batch.
const benchBatch = 1000

type benchBackend struct {
	name string
	dsn  func(b *testing.B) string
}

// benchBackends are SQLite in a temporary directory and a private
// PostgreSQL with fsync on, so both measure durable commits.
func benchBackends(b *testing.B) []benchBackend {
	srv := pgtest.Start(b, pgtest.WithFsync())
	return []benchBackend{
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b, srv) }},
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
	}
}

func openBench(b *testing.B, dsn string) *Store {
	b.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportRecords(b *testing.B, records int) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkIngest is Store.Ingest as the gateway calls it: batches of
// 1000 fresh records, half check-ins and half check-outs.
func BenchmarkIngest(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			tr := storetest.NewTraffic("pe-bench", t0)
			batches := make([][]ingest.Entry, b.N)
			for i := range batches {
				batches[i] = tr.Entries(benchBatch)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if n, err := s.Ingest(ctx, batches[i]); err != nil || n != benchBatch {
					b.Fatalf("Ingest: %d, %v", n, err)
				}
			}
			b.StopTimer()
			reportRecords(b, b.N*benchBatch)
		})
	}
}

// BenchmarkIngestParallel is Store.Ingest as a gateway serving many
// stations calls it: four stations' batches of 1000 committed at once, as
// concurrent transactions on separate connections.
func BenchmarkIngestParallel(b *testing.B) {
	const workers = 4
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			batches := make([][]ingest.Entry, b.N)
			var trs [workers]*storetest.Traffic
			for w := range trs {
				trs[w] = storetest.NewTraffic(fmt.Sprintf("pe-par-%d", w), t0)
			}
			for i := range batches {
				batches[i] = trs[i%workers].Entries(benchBatch)
			}
			var next atomic.Int64
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if n, err := s.Ingest(ctx, batches[i]); err != nil || n != benchBatch {
							b.Errorf("Ingest: %d, %v", n, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			reportRecords(b, b.N*benchBatch)
		})
	}
}

// BenchmarkNaive is the consumer the store replaces: one INSERT ... ON
// CONFLICT DO NOTHING per record, each its own transaction.
func BenchmarkNaive(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			entries := storetest.NewTraffic("pe-naive", t0).Entries(b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range entries {
				if _, err := s.b.exec(ctx, insertOne, entryArgs(&entries[i])...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportRecords(b, b.N)
		})
	}
}

// BenchmarkDBAlone is PostgreSQL by itself: the same rows, already in the
// shape the database takes, inserted with de-duplication over one pgx
// connection — the ceiling for Store.Ingest. It compares the two batched
// ways: one INSERT ... SELECT FROM unnest(one array per column) (what
// Ingest does), and COPY into a temporary table followed by INSERT ...
// SELECT.
func BenchmarkDBAlone(b *testing.B) {
	srv := pgtest.Start(b, pgtest.WithFsync())
	ctx := context.Background()
	conn := func(b *testing.B) *pgx.Conn {
		dsn := pgtest.NewDatabase(b, srv)
		openBench(b, dsn).Close() // the store's schema
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close(ctx) })
		return c
	}
	b.Run("unnest", func(b *testing.B) {
		c := conn(b)
		tr := storetest.NewTraffic("pe-alone", t0)
		args := make([][]any, b.N)
		for i := range args {
			args[i] = pgArrays(tr.Entries(benchBatch))
		}
		b.ResetTimer()
		for i := range b.N {
			if tag, err := c.Exec(ctx, pgInsert, args[i]...); err != nil || tag.RowsAffected() != benchBatch {
				b.Fatalf("insert: %v, %v", tag, err)
			}
		}
		b.StopTimer()
		reportRecords(b, b.N*benchBatch)
	})
	b.Run("copy", func(b *testing.B) {
		c := conn(b)
		if _, err := c.Exec(ctx, pgStaging); err != nil {
			b.Fatal(err)
		}
		tr := storetest.NewTraffic("pe-alone", t0)
		batches := make([][][]any, b.N)
		for i := range batches {
			entries := tr.Entries(benchBatch)
			batches[i] = make([][]any, len(entries))
			for j := range entries {
				batches[i][j] = entryArgs(&entries[j])
			}
		}
		b.ResetTimer()
		for i := range b.N {
			err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"records_in"}, copyCols, pgx.CopyFromRows(batches[i])); err != nil {
					return err
				}
				tag, err := tx.Exec(ctx, pgMove)
				if err == nil && tag.RowsAffected() != benchBatch {
					b.Fatalf("inserted %d", tag.RowsAffected())
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRecords(b, b.N*benchBatch)
	})
}

// The COPY way: a temporary staging table, then one INSERT ... SELECT.
// ORDER BY id keeps concurrent batches from deadlocking, as the sorted
// arrays of pgInsert do.
const (
	pgStaging = `CREATE TEMP TABLE IF NOT EXISTS records_in (LIKE records) ON COMMIT DELETE ROWS`
	pgMove    = `INSERT INTO records (` + recordCols + `)
		SELECT ` + recordCols + ` FROM records_in ORDER BY id
		ON CONFLICT (id) DO NOTHING`
)

var copyCols = strings.Fields(strings.ReplaceAll(recordCols, ",", " "))

// BenchmarkIngestPartitioned is Store.Ingest on the records table before
// migration 11 (one table) and after it (monthly partitions), side by side
// on one server: the two databases take alternate batches, so both see
// the same machine at the same moment. Each starts with prefill records
// of earlier months, as a database in use does.
func BenchmarkIngestPartitioned(b *testing.B) {
	const prefill = 50_000
	srv := pgtest.Start(b, pgtest.WithFsync())
	ctx := context.Background()
	plain := openVersion(b, pgtest.NewDatabase(b, srv), partitionedVersion-1)
	b.Cleanup(func() { plain.Close() })
	parted := openBench(b, pgtest.NewDatabase(b, srv))
	stores := []*Store{plain, parted}
	for _, s := range stores {
		for i := range prefill / benchBatch {
			at := time.Now().AddDate(0, -1-i%6, 0)
			if _, err := s.Ingest(ctx, entriesAt(fmt.Sprintf("pe-old-%d", i%20), benchBatch, at)); err != nil {
				b.Fatal(err)
			}
		}
	}
	tr := storetest.NewTraffic("pe-bench", t0)
	batches := make([][]ingest.Entry, b.N)
	for i := range batches {
		batches[i] = tr.Entries(benchBatch)
	}
	var took [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		// Each goes first every other batch, so neither always meets the
		// log flush the other just started.
		for k := range stores {
			j := (i + k) % len(stores)
			s := stores[j]
			start := time.Now()
			if n, err := s.Ingest(ctx, batches[i]); err != nil || n != benchBatch {
				b.Fatalf("Ingest: %d, %v", n, err)
			}
			took[j] += time.Since(start)
		}
	}
	b.StopTimer()
	plainRate := float64(b.N*benchBatch) / took[0].Seconds()
	partRate := float64(b.N*benchBatch) / took[1].Seconds()
	b.ReportMetric(plainRate, "plain-records/s")
	b.ReportMetric(partRate, "partitioned-records/s")
	b.ReportMetric(partRate/plainRate, "partitioned/plain")
}
