package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

// BenchmarkTargetsAPI measures GET /api/v1/targets for the city and for
// one county on PostgreSQL over a generated city: 1,000 communities in
// 100 townships in 10 counties, 5,000 organisations, N service records
// (LEIFENG_BENCH_TARGET_RECORDS, a comma-separated list of sizes; default
// 20000) and N/20 volunteers (10,000,000 records: 500,000 volunteers),
// written by INSERT … SELECT generate_series, the rollups made by
// RebuildTargets (its time is reported as rebuild_s).
//
// Cold: PostgreSQL restarted (its shared buffers empty), a new store
// (fresh connections) and a new API handler, then one request; with
// LEIFENG_BENCH_DROP_CACHES=1 (root) the kernel's page cache is dropped
// too (echo 3 > /proc/sys/vm/drop_caches, which slows every process on
// the machine for a moment), else the table files may still be in it.
// The median of three. Warm: the same request again, b.N times.
func BenchmarkTargetsAPI(b *testing.B) {
	sizes := []int{20000}
	if s := os.Getenv("LEIFENG_BENCH_TARGET_RECORDS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 20000 {
				b.Fatalf("LEIFENG_BENCH_TARGET_RECORDS: %q: want sizes of at least 20000", f)
			}
			sizes = append(sizes, n)
		}
	}
	srv := pgtest.Start(b)
	for _, n := range sizes {
		dsn := pgtest.NewDatabase(b, srv)
		prepared := false
		var gen, rebuild time.Duration
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ctx := context.Background()
			if !prepared {
				gen, rebuild = generateTargetsCity(b, dsn, n)
				prepared = true
			}
			metrics := map[string]float64{"generate_s": gen.Seconds(), "rebuild_s": rebuild.Seconds()}
			now := func() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }
			serve := func() (*store.Store, *httptest.Server, string) {
				db, err := store.Open(ctx, dsn)
				if err != nil {
					b.Fatal(err)
				}
				tok, _, err := db.CreateToken(ctx, "bench", "bench", time.Now())
				if err != nil {
					b.Fatal(err)
				}
				h := api.New(db, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), &api.Fleet{Store: db, Now: now})
				return db, httptest.NewServer(h), tok
			}
			get := func(s *httptest.Server, tok, area string) time.Duration {
				req, _ := http.NewRequest("GET", s.URL+"/api/v1/targets?area="+area+"&year=2026", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(start)
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"registered_share"`) {
					b.Fatalf("%s: %d %s", area, resp.StatusCode, body)
				}
				return took
			}
			for _, area := range []string{"530800", "K3"} {
				var colds []time.Duration
				for range 3 {
					if err := srv.Restart(); err != nil {
						b.Fatal(err)
					}
					if os.Getenv("LEIFENG_BENCH_DROP_CACHES") == "1" {
						if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
							b.Logf("page cache not dropped: %v", err)
						}
					}
					db, s, tok := serve()
					colds = append(colds, get(s, tok, area))
					s.Close()
					db.Close()
				}
				slices.Sort(colds)
				name := map[string]string{"530800": "city", "K3": "county"}[area]
				metrics[name+"_cold_ms"] = float64(colds[1].Microseconds()) / 1000
				db, s, tok := serve()
				var err error
				get(s, tok, area)
				var warm []time.Duration
				b.ResetTimer()
				for range b.N {
					warm = append(warm, get(s, tok, area))
				}
				b.StopTimer()
				slices.Sort(warm)
				// Where a warm request's time goes, for the log.
				var codes []string
				if area != "530800" {
					if codes, err = db.AreasUnder(ctx, area); err != nil {
						b.Fatal(err)
					}
				}
				parts := []struct {
					name string
					fn   func() error
				}{
					{"sync", func() error { return db.SyncTargets(ctx) }},
					{"areas", func() error { _, err := db.AllAreas(ctx); return err }},
					{"figures", func() error { _, _, err := db.TargetFigures(ctx, codes, 2026, 11); return err }},
					{"settings", func() error { _, err := db.TargetSettings(ctx); return err }},
				}
				for _, p := range parts {
					start := time.Now()
					for range 5 {
						if err := p.fn(); err != nil {
							b.Fatal(err)
						}
					}
					b.Logf("%s %s: %.2f ms", name, p.name, float64(time.Since(start).Microseconds())/5000)
				}
				metrics[name+"_warm_ms"] = float64(warm[len(warm)/2].Microseconds()) / 1000
				s.Close()
				db.Close()
			}
			for k, v := range metrics {
				b.ReportMetric(v, k)
			}
		})
	}
}

// generateTargetsCity fills the database dsn with the city, records
// records and records/20 volunteers, and builds the rollups.
func generateTargetsCity(b *testing.B, dsn string, records int) (gen, rebuild time.Duration) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	hash, err := access.HashPassword("bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.AddUser(ctx, store.User{User: access.User{Name: "bench", Role: access.City}, PasswordHash: hash, Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	vols := records / 20
	community := func(j string) string {
		return `'K' || (` + j + `) / 100 || 'T' || ((` + j + `) / 10) % 10 || 'C' || (` + j + `) % 10`
	}
	start := time.Now()
	for _, stmt := range []string{
		`INSERT INTO areas (code, name, parent, level, population, updated_ns) VALUES ('530800', '普洱市', '', 'city', 2400000, 1)`,
		`INSERT INTO areas (code, name, parent, level, population, updated_ns)
			SELECT 'K' || k, '县' || k, '530800', 'county', 240000, 1 FROM generate_series(0, 9) k`,
		`INSERT INTO areas (code, name, parent, level, population, updated_ns)
			SELECT 'K' || t / 10 || 'T' || t % 10, '镇' || t, 'K' || t / 10, 'township', 24000, 1 FROM generate_series(0, 99) t`,
		`INSERT INTO areas (code, name, parent, level, population, updated_ns)
			SELECT ` + community("j") + `, '社区' || j, 'K' || j / 100 || 'T' || (j / 10) % 10, 'community', 2400, 1
			FROM generate_series(0, 999) j`,
		`INSERT INTO organisations (id, name, type, county, community, parent, updated_ns)
			SELECT 'O' || i, '志愿服务队' || i, '', 'K' || (i % 1000) / 100, ` + community("i % 1000") + `, '', 1
			FROM generate_series(0, 4999) i`,
		// Registered on a day from 2019 to October 2026; one in ten a
		// college student, one in fifty deregistered in September 2026.
		fmt.Sprintf(`INSERT INTO volunteers (id, name, updated_ns, community, grp, registered_on, registered_ns, deregistered_ns)
			SELECT 'V' || i, '某某', (1546300800 + (i * 31 %% 2850) * 86400 + i %% 86400)::bigint * 1000000000,
				%s, CASE WHEN i %% 10 = 0 THEN 'college_student' ELSE 'other' END,
				to_char(DATE '2019-01-01' + (i * 31 %% 2850)::int, 'YYYY-MM-DD'), (1546300800 + (i * 31 %% 2850) * 86400)::bigint * 1000000000,
				CASE WHEN i %% 50 = 0 THEN 1790000000000000000 ELSE 0 END
			FROM generate_series(0::bigint, %d) i`, community("i % 1000"), vols-1),
		// Days from 1 January 2025 to 18 November 2026; nine in ten final.
		fmt.Sprintf(`INSERT INTO service_records (%s)
			SELECT 'imp:' || i, 'imported', 'V' || i %% %d, 'O' || i %% 5000, '队', %s, '', 0, '活动', '', '', '', '', '',
				to_char(DATE '2025-01-01' + (i * 7919 %% 687)::int, 'YYYY-MM-DD'), 0, 0, 3600, 50 * (1 + i %% 8), 0, '',
				CASE WHEN i %% 10 = 0 THEN 'review' ELSE 'final' END, '[]', '', 0, 0, 0, '', '', '', '', 0, '', '', 1, 1
			FROM generate_series(0::bigint, %d) i`, strings.Join(strings.Fields(store.ServiceRecordCols), " "), vols, community("i % 1000"), records-1),
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			b.Fatalf("%v: %.80s", err, stmt)
		}
	}
	gen = time.Since(start)
	start = time.Now()
	if _, err := db.RebuildTargets(ctx, false); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return gen, time.Since(start)
}
