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

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/broker"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// benchBatches makes the batches of stations kiosks, each of perStation
// records in batches of batchSize: check-ins and their check-outs, as a
// morning produces them.
func benchBatches(stations, perStation, batchSize int) map[string][]*wire.Batch {
	out := map[string][]*wire.Batch{}
	at := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	for s := range stations {
		st := fmt.Sprintf("bench-%03d", s)
		var cur *wire.Batch
		var open []string
		for i := range perStation {
			if cur == nil || len(cur.Records) == batchSize {
				cur = &wire.Batch{V: wire.Version, Station: st, Sent: wire.Clock{At: at, Mono: int64(time.Hour), Boot: "boot", Synced: true}}
				out[st] = append(out[st], cur)
			}
			id, _ := wire.NewRecordID()
			r := wire.Record{ID: id, Station: st, Kind: wire.KindCheckIn, Volunteer: fmt.Sprintf("V%05d", i/2),
				Card: fmt.Sprintf("C%05d", i/2), Service: "关爱空巢老人", At: at.Add(time.Duration(i) * time.Second),
				Mono: int64(i) * int64(time.Second), Boot: "boot", ClockSynced: true, Seq: uint64(i + 1)}
			if i%2 == 1 {
				r.Kind, r.Ref = wire.KindCheckOut, open[len(open)-1]
			} else {
				open = append(open, id)
			}
			cur.Records = append(cur.Records, r)
		}
	}
	return out
}

// naiveStore is the consumer the issue compares against: one INSERT per
// record, each its own transaction.
type naiveStore struct{ *store.Store }

func (n naiveStore) Ingest(ctx context.Context, es []ingest.Entry) (int, error) {
	total := 0
	for i := range es {
		k, err := n.Store.Ingest(ctx, es[i:i+1])
		if err != nil {
			return total, err
		}
		total += k
	}
	return total, nil
}

// pipeline pushes every batch through broker and gateway into st, each
// station with one batch in flight like a kiosk, and returns records/s.
func pipeline(b *testing.B, st ingest.Store, batches map[string][]*wire.Batch) float64 {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Log: log})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx, cancel := context.WithCancel(context.Background())
	gw := ingest.New(st, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry()),
		StationRate: 1e6})
	var wg sync.WaitGroup
	defer wg.Wait() // runs last: after cancel below
	defer cancel()
	wg.Go(func() { gw.Run(ctx) })
	cl, err := ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()

	payloads := map[string][][]byte{}
	total := 0
	for stn, bs := range batches {
		for _, bt := range bs {
			data, err := wire.EncodeBatch(bt)
			if err != nil {
				b.Fatal(err)
			}
			payloads[stn] = append(payloads[stn], data)
			total += len(bt.Records)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var kw sync.WaitGroup
	for stn, ps := range payloads {
		kw.Go(func() {
			acks := make(chan struct{}, 1)
			c := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("k-" + stn))
			if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
				b.Error(tok.Error())
				return
			}
			defer c.Disconnect(0)
			c.Subscribe(wire.StationTopic(stn, wire.LeafAck), 1, func(paho.Client, paho.Message) { acks <- struct{}{} }).Wait()
			for _, p := range ps {
				c.Publish(wire.StationTopic(stn, wire.LeafRecords), 1, false, p).Wait()
				select {
				case <-acks:
				case <-time.After(60 * time.Second):
					b.Error("no ack in 60 s")
					return
				}
			}
		})
	}
	kw.Wait()
	b.StopTimer()
	return float64(total) / time.Since(start).Seconds()
}

// BenchmarkIngest measures, in one run, records per second into each
// database: the database alone (the store's batched insert with
// de-duplication, all stations at once, no broker, no gateway), the whole pipeline (kiosk batches → broker → gateway → store
// → ack), and the naive consumer (the same pipeline, one insert per record).
func BenchmarkIngest(b *testing.B) {
	const stations, perStation, naivePerStation = 8, 12500, 250
	dbs := []struct {
		name string
		open func(b *testing.B) *store.Store
	}{
		{"postgres", func(b *testing.B) *store.Store {
			srv := pgtest.Start(b, pgtest.WithFsync())
			s, err := store.Open(context.Background(), pgtest.NewDatabase(b, srv))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"sqlite", func(b *testing.B) *store.Store {
			s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, db := range dbs {
		// The database alone: the same batches committed straight to the
		// store, every station's stream at once as the gateway's workers
		// do, with no broker and no gateway.
		b.Run(db.name+"/db-alone", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := db.open(b)
				batches := benchBatches(stations, perStation, wire.MaxBatchRecords)
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				n := 0
				for _, bs := range batches {
					wg.Go(func() {
						for _, bt := range bs {
							k, err := s.Ingest(context.Background(), ingest.Correct(bt, time.Now()))
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							n += k
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
			}
		})
		b.Run(db.name+"/gateway", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := db.open(b)
				b.StartTimer()
				b.ReportMetric(pipeline(b, s, benchBatches(stations, perStation, wire.MaxBatchRecords)), "records/s")
			}
		})
		b.Run(db.name+"/naive", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := db.open(b)
				b.StartTimer()
				b.ReportMetric(pipeline(b, naiveStore{s}, benchBatches(stations, naivePerStation, 100)), "records/s")
			}
		})
	}
}
