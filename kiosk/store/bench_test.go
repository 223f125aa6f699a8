package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"leifeng/gateway/wire"
)

// BenchmarkOutbox measures durable appends (each fsynced before it counts)
// in taps per second, three ways side by side:
//
//   - per-tap: one Update per tap, what attendance does today, so each
//     confirmed tap waits for its own fsync;
//   - grouped-N: N taps in one Update, the ceiling if taps were queued;
//   - bolt-batch: bolt.DB.Batch with 64 concurrent tappers, which
//     coalesces whatever arrives within its window into one fsync.
//
// Each op is one tap: a check-in record plus its session.
func BenchmarkOutbox(b *testing.B) {
	change := func(b *testing.B, i int) Change {
		v := fmt.Sprintf("V%06d", i)
		r := record(b, wire.KindCheckIn, v, "")
		return Change{Records: []*wire.Record{r}, Open: &Session{Volunteer: v, CheckIn: r.ID, At: r.At, Mono: r.Mono, Boot: r.Boot}}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "taps/s")
	}

	b.Run("per-tap", func(b *testing.B) {
		s := open(b, filepath.Join(b.TempDir(), "kiosk.db"))
		b.ResetTimer()
		for i := range b.N {
			if err := s.Commit(change(b, i)); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})

	for _, group := range []int{16, 256} {
		b.Run(fmt.Sprintf("grouped-%d", group), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "kiosk.db"))
			b.ResetTimer()
			for i := 0; i < b.N; i += group {
				cs := make([]Change, 0, group)
				for j := i; j < min(i+group, b.N); j++ {
					cs = append(cs, change(b, j))
				}
				if err := s.Commit(cs...); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}

	b.Run("bolt-batch", func(b *testing.B) {
		s := open(b, filepath.Join(b.TempDir(), "kiosk.db"))
		const tappers = 64
		// Fire a batch as soon as every tapper has joined it instead of
		// waiting out MaxBatchDelay (10 ms) each time.
		s.db.MaxBatchSize = tappers
		var next sync.WaitGroup
		work := make(chan Change)
		b.ResetTimer()
		for range tappers {
			next.Go(func() {
				for c := range work {
					var added int64
					err := s.db.Batch(func(tx *bolt.Tx) error {
						n, err := commitTx(tx, c)
						added = n
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
					s.afterCommit(added)
				}
			})
		}
		for i := range b.N {
			work <- change(b, i)
		}
		close(work)
		next.Wait()
		report(b)
	})
}
