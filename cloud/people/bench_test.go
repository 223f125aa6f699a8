package people_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"leifeng/cloud/people"
)

// benchRows is the size of the generated volunteer file:
// LEIFENG_BENCH_IMPORT_ROWS, or 10,000 (the target is measured at
// 100,000).
func benchRows(b *testing.B) int {
	if s := os.Getenv("LEIFENG_BENCH_IMPORT_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 10_000
}

// volunteerBook is an XLSX of n valid volunteers, all adults, of the one
// community 530802001001 and organisation O2.
func volunteerBook(b *testing.B, n int) []byte {
	rows := make([][]any, 0, n+1)
	rows = append(rows, []any{"id", "name", "gender", "birth_date", "id_number", "community", "phone", "skills",
		"service_types", "group", "orgs", "national_id", "guardian_consent", "registered_on"})
	base := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		birth := base.AddDate(0, 0, i%18000)
		id := idFor(birth.Format("20060102"), fmt.Sprintf("%03d", i/18000))
		rows = append(rows, []any{fmt.Sprintf("V%07d", i), "王小明", "", birth.Format(time.DateOnly), id,
			"530802001001", fmt.Sprintf("139%08d", i), "理发;量血压", "助老", "other", "O2", "", "", "2025-01-02"})
	}
	return writeXLSX(b, rows)
}

// BenchmarkImportVolunteers imports a generated XLSX into a fresh SQLite
// store per run and reports rows per second and the highest heap in use
// while importing (sampled every 10 ms).
func BenchmarkImportVolunteers(b *testing.B) {
	n := benchRows(b)
	book := volunteerBook(b, n)
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	i := 0
	for b.Loop() {
		b.StopTimer()
		s := openStore(b, "sqlite:"+filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)))
		i++
		ctx := context.Background()
		mustImport(b, s, vault, people.KindAreas, people.CSV, []byte(areasCSV))
		mustImport(b, s, vault, people.KindOrgs, people.CSV, []byte(orgsCSV))
		runtime.GC()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var ms runtime.MemStats
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
		b.StartTimer()
		rep, err := people.Import(ctx, s, people.KindVolunteers, people.XLSX, bytes.NewReader(book), people.Options{Vault: vault})
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil || rep.Added != n {
			b.Fatalf("%v: %s %v", err, rep.Summary(), firstProblems(rep))
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(len(book))/(1<<20), "file-MB")
}

func firstProblems(rep *people.Report) string {
	if rep == nil {
		return ""
	}
	var s []string
	for i, p := range rep.Problems {
		if i == 3 {
			break
		}
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}
