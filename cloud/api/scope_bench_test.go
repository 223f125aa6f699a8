package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/cloud/store/storetest"
	"leifeng/internal/pgtest"
)

// What scoping and the audit log cost a personal read: a page of 100
// records (GET /api/v1/records) as it was (the guard and the handler
// only), as a city administrator (+ an audit row, one durable commit),
// and as a county administrator (+ the scope resolved from the area tree
// and the station's community looked up), on SQLite and on PostgreSQL
// with fsync on, side by side.
func BenchmarkScopedRead(b *testing.B) {
	srv := pgtest.Start(b, pgtest.WithFsync())
	for _, be := range []struct {
		name string
		dsn  func() string
	}{
		{"sqlite", func() string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", func() string { return pgtest.NewDatabase(b, srv) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, be.dsn())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			now := time.Now()
			if _, err := db.SaveAreas(ctx, []people.Area{
				{Code: "5308", Name: "普洱市", Level: people.LevelCity},
				{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
				{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
				{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
			}, now); err != nil {
				b.Fatal(err)
			}
			if err := db.AddStation(ctx, store.Registration{ID: "pe-simao-001", Community: "530802001001", Created: now}); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Ingest(ctx, storetest.NewTraffic("pe-simao-001", now.Add(-time.Hour)).Entries(200)); err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			a := &api{s: db, log: log, f: &Fleet{Service: fleet.NewService(db, nil, nil, log), Store: db}, g: newGuard(db, log, nil)}
			tokens := map[string]string{
				"c": SeedUser(b, db, "c", access.City, "", "长城长城长城长城长城", false),
				"s": SeedUser(b, db, "s", access.County, "530802", "长城长城长城长城长城", false),
			}
			city, err := access.Resolve(ctx, &access.User{Name: "c", Role: access.City}, db)
			if err != nil {
				b.Fatal(err)
			}
			asIt := func(w http.ResponseWriter, r *http.Request) {
				a.records(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, city)))
			}
			for _, c := range []struct {
				name, user string
				h          http.HandlerFunc
			}{
				{"unscoped", "c", a.g.personal(stationParam, asIt)},
				{"city", "c", a.read("records.read", stationParam, a.records)},
				{"county", "s", a.read("records.read", stationParam, a.records)},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						req := httptest.NewRequest("GET", "/api/v1/records?station=pe-simao-001&limit=100", nil)
						req.Header.Set("Authorization", "Bearer "+tokens[c.user])
						rec := httptest.NewRecorder()
						c.h(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%d %s", rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}
