package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"leifeng/cloud/people"
	"leifeng/internal/pgtest"
)

// searchBenchSize is how many volunteers BenchmarkSearchVolunteers loads:
// LEIFENG_BENCH_VOLUNTEERS, or the 500,000.
func searchBenchSize(b *testing.B) int {
	if s := os.Getenv("LEIFENG_BENCH_VOLUNTEERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("LEIFENG_BENCH_VOLUNTEERS=%q: want a number of at least 1000", s)
		}
		return n
	}
	return 500_000
}

// Surnames by how common they are (the first ones cover about a third of
// China), and characters of given names.
var (
	benchSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
		"郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
		"董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "刀", "岩", "罕"}
	benchGiven = []rune("小明红华芳娜丽强伟军平静敏杰磊洋勇艳娟涛超秀英玉兰桂珍国庆建新春梅海燕志刚文斌")
)

// benchVolunteer is the i-th generated volunteer's searchable fields.
func benchVolunteer(rng *rand.Rand, i int) (name, phone, card, hash, community string) {
	// Zipf-like: the first surnames much more common than the last.
	s := benchSurnames[min(len(benchSurnames)-1, int(rng.ExpFloat64()*8))]
	name = s + string(benchGiven[rng.IntN(len(benchGiven))])
	if rng.IntN(3) > 0 {
		name += string(benchGiven[rng.IntN(len(benchGiven))])
	}
	phone = fmt.Sprintf("139%08d", i)
	card = fmt.Sprintf("C2026-%07d", i)
	hash = fmt.Sprintf("%064x", uint64(i)*0x9E3779B97F4A7C15)
	// 10 counties of 100 communities each.
	community = fmt.Sprintf("5308%02d001%03d", i%10, (i/10)%100)
	return
}

// loadVolunteers fills a PostgreSQL store with n registered volunteers
// (half of them in an organisation, each with a card) by COPY, the way a
// city's existing register would be migrated in, and analyses the tables.
func loadVolunteers(b *testing.B, s *Store, n int) {
	ctx := context.Background()
	pg := s.b.(*pgBackend)
	c, err := pg.pool.acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer pg.pool.release(c)
	rng := rand.New(rand.NewPCG(1, 2))
	vols := make([][]any, 0, n)
	orgs := make([][]any, 0, n/2)
	cards := make([][]any, 0, n)
	now := time.Now().UnixNano()
	for i := range n {
		name, phone, card, hash, community := benchVolunteer(rng, i)
		id := fmt.Sprintf("V%07d", i)
		vols = append(vols, []any{id, name, now, "male", "1990-01-01", "v1:sealed", hash, "5308**********1234",
			community, phone, `["理发"]`, `["助老"]`, "other", "", false, "2025-01-02", now})
		if i%2 == 0 {
			orgs = append(orgs, []any{id, fmt.Sprintf("O%03d", i%300)})
		}
		cards = append(cards, []any{card, id, fmt.Sprintf("04%012X", i), "ntag215", now, "bench", "2029-12-31", "active"})
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"volunteers", []string{"id", "name", "updated_ns", "gender", "birth_date", "id_cipher", "id_hash", "id_masked",
			"community", "phone", "skills", "service_types", "grp", "national_id", "guardian_consent", "registered_on", "registered_ns"}, vols},
		{"volunteer_orgs", []string{"volunteer", "org"}, orgs},
		{"cards", []string{"serial", "volunteer", "uid", "media", "issued_ns", "issued_by", "expires", "state"}, cards},
	} {
		if _, err := c.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			b.Fatalf("COPY %s: %v", t.table, err)
		}
	}
	if _, err := c.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSearchVolunteers is one search of the console at 500,000
// volunteers on PostgreSQL (LEIFENG_BENCH_VOLUNTEERS to change): by a
// full name, by a common surname (a page of 20 of tens of thousands), by
// phone, by card serial, by ID number (its keyed hash), and a county
// administrator's surname search in their 100 communities. The issue's
// target is 50 ms per query.
func BenchmarkSearchVolunteers(b *testing.B) {
	n := searchBenchSize(b)
	srv := pgtest.Start(b)
	s := openBench(b, pgtest.NewDatabase(b, srv))
	start := time.Now()
	loadVolunteers(b, s, n)
	b.Logf("loaded %d volunteers in %s", n, time.Since(start).Round(time.Millisecond))
	rng := rand.New(rand.NewPCG(1, 2))
	name, _, _, _, _ := benchVolunteer(rng, 0)
	mid := n / 2
	_, phone, card, hash, _ := benchVolunteer(rand.New(rand.NewPCG(9, 9)), mid)
	var county []string
	for c := range 100 {
		county = append(county, fmt.Sprintf("530803001%03d", c))
	}
	all := VolunteerScope{All: true}
	for _, c := range []struct {
		name  string
		q     VolunteerQuery
		least int
	}{
		{"name", VolunteerQuery{Scope: all, Terms: people.Search{NamePrefix: name}}, 1},
		{"surname", VolunteerQuery{Scope: all, Terms: people.Search{NamePrefix: "王"}}, 20},
		{"surname-page-50", VolunteerQuery{Scope: all, Terms: people.Search{NamePrefix: "王"}, Page: 50}, 20},
		{"phone", VolunteerQuery{Scope: all, Terms: people.Search{Phone: phone, Card: phone, ID: phone}}, 1},
		{"card", VolunteerQuery{Scope: all, Terms: people.Search{Card: card, ID: card, NamePrefix: card}}, 1},
		{"id-number", VolunteerQuery{Scope: all, Terms: people.Search{IDHash: hash}}, 1},
		{"county-surname", VolunteerQuery{Scope: VolunteerScope{Communities: county}, Terms: people.Search{NamePrefix: "李"}}, 20},
		{"org-list", VolunteerQuery{Scope: VolunteerScope{Orgs: []string{"O042"}}}, 20},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if os.Getenv("LEIFENG_BENCH_EXPLAIN") != "" {
				explainSearch = func(query string, args []any) {
					explainSearch = nil
					var plan []string
					s.b.query(ctx, "EXPLAIN ANALYZE "+query, args, func(r rows) error {
						var line string
						err := r.Scan(&line)
						plan = append(plan, line)
						return err
					})
					fmt.Fprintf(os.Stderr, "%s\n%s\n", query, strings.Join(plan, "\n"))
				}
			}
			for b.Loop() {
				p, err := s.SearchVolunteers(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Volunteers) < c.least {
					b.Fatalf("%d results, want at least %d", len(p.Volunteers), c.least)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
	// What a deregistration costs at this size: the update, and the
	// VACUUM FULL of the volunteer tables that takes the removed values
	// out of the files (an exclusive lock on them meanwhile).
	b.Run("deregister-and-purge", func(b *testing.B) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if err := s.DeregisterVolunteer(ctx, fmt.Sprintf("V%07d", i), "bench", "bench", time.Now()); err != nil {
				b.Fatal(err)
			}
			if err := s.Purge(ctx); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/deregistration")
	})
}
