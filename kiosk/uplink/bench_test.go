package uplink

import (
	"testing"
	"time"

	"leifeng/gateway/ingest/ingesttest"
)

// BenchmarkDrain measures how fast a kiosk empties a buffered outbox of
// 100,000 records (a week offline at a busy station) when the gateway acks
// at once: in-process broker, acking peer, real bbolt with an fsync per
// ack. One op is one full drain.
func BenchmarkDrain(b *testing.B) {
	const n = 100_000
	addr := ingesttest.FreeAddr(b)
	ingesttest.Start(b, addr, &ingesttest.Peer{Station: station})
	var total time.Duration
	for range b.N {
		b.StopTimer()
		st := openStore(b)
		fill(b, st, n)
		b.StartTimer()
		t0 := time.Now()
		r := start(b, st, addr, Config{})
		drained(b, st, time.Minute)
		total += time.Since(t0)
		b.StopTimer()
		r.stop()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/100k")
}
