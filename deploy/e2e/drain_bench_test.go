package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/broker"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
	kstore "leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
)

// fillOutbox buffers n check-ins in a kiosk's outbox, as a week offline at
// a busy station would.
func fillOutbox(b *testing.B, st *kstore.Store, station string, n int) {
	b.Helper()
	at := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 1000 {
		var cs []kstore.Change
		for j := i; j < min(i+1000, n); j++ {
			id, err := wire.NewRecordID()
			if err != nil {
				b.Fatal(err)
			}
			cs = append(cs, kstore.Change{Records: []*wire.Record{{ID: id, Station: station, Kind: wire.KindCheckIn,
				Volunteer: fmt.Sprintf("V%06d", j), Card: "C", At: at.Add(time.Duration(j) * time.Second),
				Mono: int64(j) * int64(time.Second), Boot: "boot-bench", ClockSynced: true}}})
		}
		if err := st.Commit(cs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDrain measures the time to drain 100,000 buffered records from
// one kiosk's outbox into the database, through the embedded broker and a
// gateway, with the real bbolt outbox and uplink. Target: ≤ 10 s.
func BenchmarkDrain(b *testing.B) {
	const n = 100_000
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				dsn := "sqlite:" + filepath.Join(b.TempDir(), "drain.db")
				if db == "postgres" {
					dsn = pgtest.NewDatabase(b, pgtest.Start(b, pgtest.WithFsync()))
				}
				cs, err := store.Open(context.Background(), dsn)
				if err != nil {
					b.Fatal(err)
				}
				ks, err := kstore.Open(filepath.Join(b.TempDir(), "kiosk.db"))
				if err != nil {
					b.Fatal(err)
				}
				fillOutbox(b, ks, "drain-001", n)
				log := slog.New(slog.NewTextHandler(io.Discard, nil))
				br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Log: log})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				gw := ingest.New(cs, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry())})
				wg.Go(func() { gw.Run(ctx) })
				cl, err := ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-drain"})
				if err != nil {
					b.Fatal(err)
				}
				up, err := uplink.New(ks, uplink.Config{Broker: br.URL(), Station: "drain-001", Logger: log})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				wg.Go(func() { up.Run(ctx) })
				for ks.Depth() > 0 {
					if time.Since(start) > 2*time.Minute {
						b.Fatalf("outbox still holds %d records after 2 minutes", ks.Depth())
					}
					time.Sleep(5 * time.Millisecond)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				total += elapsed
				if got, _ := cs.CountRecords(context.Background(), "drain-001"); got != n {
					b.Fatalf("database holds %d records, want %d", got, n)
				}
				cancel()
				cl.Close()
				wg.Wait()
				br.Close()
				ks.Close()
				cs.Close()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/100k")
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
		})
	}
}
