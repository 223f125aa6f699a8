package hours

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/internal/pgtest"
)

// BenchmarkHoursPass turns LEIFENG_BENCH_TAPS tap records (default
// 20,000; the figure is 1,000,000) of 50 stations and 5,000
// volunteers, as storetest makes kiosk traffic, into service records
// with the default rules: taps/s and records/s of the pass (the ingest
// before it is not timed). Then the rules change and one volunteer is
// counted again: recount_ms. SQLite and PostgreSQL side by side;
// LEIFENG_BENCH_HOURS_DB=sqlite or postgres runs one.
func BenchmarkHoursPass(b *testing.B) {
	taps := 20_000
	if v := os.Getenv("LEIFENG_BENCH_TAPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("LEIFENG_BENCH_TAPS=%q: a number of records, at least 100", v)
		}
		taps = n
	}
	only := os.Getenv("LEIFENG_BENCH_HOURS_DB")
	for _, be := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/cloud.db" }},
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b, pgtest.Start(b)) }},
	} {
		if only != "" && only != be.name {
			continue
		}
		b.Run(fmt.Sprintf("%s/taps=%d", be.name, taps), func(b *testing.B) {
			for range b.N {
				b.StopTimer() // the database's start is not timed
				benchPass(b, be.dsn(b), taps)
			}
		})
	}
}

func benchPass(b *testing.B, dsn string, taps int) {
	b.StopTimer()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const stations = 50
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	per := taps / stations
	for i := range stations {
		tr := storetest.NewTraffic(fmt.Sprintf("st-%02d", i), start)
		for done := 0; done < per; {
			n := min(5000, per-done)
			if _, err := st.Ingest(ctx, tr.Entries(n)); err != nil {
				b.Fatal(err)
			}
			done += n
		}
	}
	now := time.Now()
	days, _ := st.DirtyCount(ctx)
	b.StartTimer()
	t0 := time.Now()
	res, err := Pass(ctx, st, now)
	pass := time.Since(t0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if left, _ := st.DirtyCount(ctx); left != 0 {
		b.Fatalf("%d volunteer-days left dirty", left)
	}
	// The rules change; one volunteer is counted again.
	r := Default()
	r.Step = 0.25
	if _, err := SetRules(ctx, st, r, "bench", now); err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	rc, err := Recount(ctx, st, []string{"V00001"}, now)
	recount := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(stations*per)/pass.Seconds(), "taps/s")
	b.ReportMetric(float64(res.Created)/pass.Seconds(), "records/s")
	b.ReportMetric(float64(res.Created), "records")
	b.ReportMetric(float64(days), "dirty_days")
	b.ReportMetric(float64(recount.Microseconds())/1000, "recount_ms")
	b.ReportMetric(float64(rc.Recounted), "recounted")
}
