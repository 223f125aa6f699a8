package store

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"leifeng/cloud/store/storetest"
)

// BenchmarkOrdersIdlePass is what every orders pass (every 30 s by
// default) costs when nothing is new: IntakeOrders and ApplyKioskOrders
// over a records table of LEIFENG_BENCH_RECORDS records (200000 by
// default), check-ins and check-outs, none of them about orders.
func BenchmarkOrdersIdlePass(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("LEIFENG_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			ctx := context.Background()
			tr := storetest.NewTraffic("pe-bench", t0)
			for done := 0; done < n; done += benchBatch {
				if _, err := s.Ingest(ctx, tr.Entries(benchBatch)); err != nil {
					b.Fatal(err)
				}
			}
			if be.name == "postgres" {
				if _, err := s.b.exec(ctx, `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			b.ResetTimer()
			for range b.N {
				if _, err := s.IntakeOrders(ctx, now); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ApplyKioskOrders(ctx, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
