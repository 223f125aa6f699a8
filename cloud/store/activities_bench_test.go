package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"leifeng/cloud/people"
)

// BenchmarkStationActivities is what a station's refresh adds for its
// announcements: the activities not ended (1000 of 2000, for scattered
// stations and communities, a tenth city-wide), read and filtered for one
// station.
func BenchmarkStationActivities(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			ctx := context.Background()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			if _, err := s.SaveAreas(ctx, []people.Area{
				{Code: "5308", Name: "普洱市", Level: people.LevelCity},
				{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
				{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
				{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
			}, now); err != nil {
				b.Fatal(err)
			}
			if _, err := s.b.exec(ctx, `INSERT INTO stations (id, name, county, secret_hash, created_ns, community) VALUES ('st-1', '茶源站', '530802', '', 0, '530802001001')`); err != nil {
				b.Fatal(err)
			}
			for i := range 2000 {
				a := &Activity{Title: fmt.Sprintf("活动%d", i), Start: now.Add(time.Duration(i-1000) * time.Hour), End: now.Add(time.Duration(i-999) * time.Hour)}
				switch i % 10 {
				case 0:
				case 1, 2, 3:
					a.Stations = []string{fmt.Sprintf("st-%d", i%50)}
				default:
					a.Areas = []string{fmt.Sprintf("53080200%d", i%50)}
				}
				if err := s.CreateActivity(ctx, a, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := s.StationActivities(ctx, "st-1", now, 20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOrgEvaluations is what ranking organisations for an order adds:
// every organisation's evaluation over 50000 served orders of 200
// organisations.
func BenchmarkOrgEvaluations(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			ctx := context.Background()
			err := s.b.inTx(ctx, func(q querier) error {
				for i := range 50000 {
					if _, err := q.exec(ctx, `INSERT INTO orders (id, ref, station, community, category, phone, note, preferred, source,
						record_id, state, org, volunteers, reason, duplicate_of, rating, comment, level, created_ns, since_ns, updated_ns)
						VALUES ($1, '', 'st-1', 'c', '家政', '', '', '', 'console', '', $2, $3, '[]', '', 0, $4, '', 0, 0, 0, 0)`,
						i+1, []string{"rated", "completed", "submitted"}[i%3], fmt.Sprintf("O%d", i%200), []int{5, 0, 0}[i%3]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if be.name == "postgres" {
				if _, err := s.b.exec(ctx, `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if m, err := s.OrgEvaluations(ctx); err != nil || len(m) != 200 {
					b.Fatal(len(m), err)
				}
			}
		})
	}
}
