package update_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"leifeng/firmware/releasetest"
	"leifeng/gateway/wire"
	"leifeng/kiosk/update"
)

// BenchmarkUpdate20MB updates a kiosk with a 20 MB bundle over a throttled
// link that drops the connection three times (after each quarter of the
// bundle), from the offer to committed, through real TLS, TUF metadata,
// resumed download, verification, install into a program slot, switch,
// start and health check.
//
// The link runs at LEIFENG_BENCH_MBIT megabits per second (default 16,
// so a run takes about 11 s instead of 3 minutes); est_1Mbit_s is the
// measured time with the transfer time at the bench rate replaced by the
// transfer time of the same bytes at 1 Mbit/s (retry waits, TLS, TUF,
// verification and install stay as measured). sent/bundle counts what
// the server wrote, including bytes lost in the drops.
// LEIFENG_BENCH_MBIT=1 measures the real thing.
//
//	go test -run '^$' -bench BenchmarkUpdate20MB -benchtime 1x ./kiosk/update/
func BenchmarkUpdate20MB(b *testing.B) {
	mbit := 16.0
	if s := os.Getenv("LEIFENG_BENCH_MBIT"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			b.Fatalf("LEIFENG_BENCH_MBIT=%q", s)
		}
		mbit = v
	}
	const size = 20 << 20
	kit := releasetest.New(b)
	bundle := kit.Publish(b, "kiosk-1.1.0.tar", programManifest("1.1.0"), programFiles("1.1.0", size))
	fi, _ := os.Stat(bundle)
	ctx := context.Background()
	checks := []update.Check{pass("reader"), pass("store"), pass("broker"), pass("config"), pass("ui")}
	var total time.Duration
	var bytes, sent int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newStation(b, kit)
		kit.Throttle(int64(mbit * 1e6 / 8))
		kit.Drop(fi.Size()/4, fi.Size()/4, fi.Size()/4)
		u := s.updater(b, update.Program{Slots: s.slots})
		u.Report = func(wire.UpdateStatus) {}
		sentBefore := kit.Sent.Load()
		b.StartTimer()
		start := time.Now()
		if err := u.Apply(ctx, offer(kit, "1.1.0", "kiosk-1.1.0.tar")); err != nil {
			b.Fatal(err)
		}
		s.slots.Start()
		if err := s.updater(b, update.Program{Slots: s.slots}).Confirm(ctx, checks, time.Minute, time.Millisecond); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		b.StopTimer()
		if s.running(b) != "1.1.0" {
			b.Fatal("not committed")
		}
		total += end.Sub(start)
		bytes += u.Fetch.Downloaded
		sent += kit.Sent.Load() - sentBefore
	}
	n := float64(b.N)
	b.ReportMetric(float64(bytes)/n/float64(fi.Size()), "downloaded/bundle")
	b.ReportMetric(float64(bytes)/n, "bytes_downloaded")
	b.ReportMetric(total.Seconds()/n, "offer_to_committed_s")
	b.ReportMetric(float64(sent)/n/float64(fi.Size()), "sent/bundle")
	bits := float64(sent) / n * 8
	b.ReportMetric(total.Seconds()/n-bits/(mbit*1e6)+bits/1e6, "est_1Mbit_s")
	b.ReportMetric(mbit, "link_Mbit/s")
}
