package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkImportServiceRecords compares the bulk path of the history
// import with PutServiceRecords, side by side on each database: b.N
// batches of 500 new imported records (the import's batch), each batch
// one transaction with its events and rollup hooks.
func BenchmarkImportServiceRecords(b *testing.B) {
	const batch = 500
	for _, be := range benchBackends(b) {
		for _, path := range []struct {
			name string
			put  func(s *Store, recs []ServiceRecord, now time.Time) error
		}{
			{"put", func(s *Store, recs []ServiceRecord, now time.Time) error {
				_, err := s.PutServiceRecords(context.Background(), recs, "bench", now)
				return err
			}},
			{"import", func(s *Store, recs []ServiceRecord, now time.Time) error {
				_, err := s.ImportServiceRecords(context.Background(), recs, "bench", now)
				return err
			}},
		} {
			b.Run(be.name+"/"+path.name, func(b *testing.B) {
				s := openBench(b, be.dsn(b))
				now := time.Now()
				recs := make([]ServiceRecord, batch)
				n := 0
				for b.Loop() {
					b.StopTimer()
					for i := range recs {
						start := now.Add(-time.Duration(n) * time.Hour)
						recs[i] = ServiceRecord{ID: fmt.Sprintf("imp:H%09d", n), Ledger: LedgerImported, Volunteer: fmt.Sprintf("V%05d", n%10000),
							Org: "O1", OrgName: "思茅区青年志愿者协会", Community: "530802001001", Station: "S1", ActivityName: "社区助老",
							Place: "茶源社区学雷锋志愿服务站", Content: "陪老人聊天", Lead: "张三", Recorder: "李四",
							Day: start.Format(dateLayout), Start: start, End: start.Add(2 * time.Hour), RawSeconds: 7200, CountedCents: 200,
							RuleNote: "导入的历史记录", Status: StatusFinal, Final: now, EnteredBy: "bench"}
						n++
					}
					b.StartTimer()
					if err := path.put(s, recs, now); err != nil {
						b.Fatal(err)
					}
				}
				reportRecords(b, n)
			})
		}
	}
}
