package export_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"leifeng/cloud/export"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// BenchmarkExportRecords exports LEIFENG_BENCH_EXPORT_ROWS final records
// (default 20,000) from SQLite as XLSX (the stream writer) and as CSV,
// side by side: rows per second and the heap in use at the end, which
// the stream writer keeps flat (the rows go to a temporary file, not
// memory); the HTTP answer is the finished file.
func BenchmarkExportRecords(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("LEIFENG_BENCH_EXPORT_ROWS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "leifeng.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var vs []people.Volunteer
	for v := range 1000 {
		id := fmt.Sprintf("V%05d", v)
		vs = append(vs, people.Volunteer{ID: id, Name: "志愿者" + id, Gender: people.Female, BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
			Sealed: people.Sealed{Cipher: "bench", Hash: "bench-" + id, Masked: "5308**********0000"}, Community: "530802001001",
			Group: people.GroupOther, RegisteredOn: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	if _, err := db.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity, Population: 2404954},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty, Population: 300000},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship, Population: 90000},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity, Population: 8000},
	}, time.Now()); err != nil {
		b.Fatal(err)
	}
	res, err := db.RegisterVolunteers(ctx, vs, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	const batch = 5000
	for i := 0; i < n; i += batch {
		var recs []store.ServiceRecord
		for j := i; j < min(n, i+batch); j++ {
			s := start.Add(time.Duration(j) * 3 * time.Hour)
			recs = append(recs, store.ServiceRecord{ID: fmt.Sprintf("imp:B%08d", j), Ledger: store.LedgerImported,
				Volunteer: fmt.Sprintf("V%05d", j%1000), Org: "O1", OrgName: "思茅区志愿服务联合会", Community: "530802001001",
				ActivityName: "社区助老", Place: "茶源社区服务站", Content: "陪伴老人", Lead: "刘队长", Recorder: "陈记录",
				Day: s.Format(time.DateOnly), Start: s, End: s.Add(2 * time.Hour), RawSeconds: 7200, CountedCents: 200,
				Status: store.StatusFinal, Reasons: []string{}})
		}
		if _, err := db.PutServiceRecords(ctx, recs, "bench", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	for _, format := range []string{"xlsx", "csv"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				var (
					sink interface {
						export.Sink
						Close() error
					}
					err error
				)
				if format == "xlsx" {
					sink, err = export.NewXLSX(io.Discard)
				} else {
					sink, err = export.NewCSV(io.Discard, export.UTF8)
				}
				if err != nil {
					b.Fatal(err)
				}
				sum, err := export.ServiceRecords(ctx, db, store.ExportFilter{}, sink)
				if err != nil || sum.Exported != n {
					b.Fatalf("%+v, %v", sum, err)
				}
				if err := sink.Close(); err != nil {
					b.Fatal(err)
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMB")
		})
	}
}
