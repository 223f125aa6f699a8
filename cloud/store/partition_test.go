package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store/storetest"
	"leifeng/gateway/ingest"
	"leifeng/internal/pgtest"
)

// idAt is a record ID made at t: a UUIDv7 whose time prefix is t, as a
// kiosk whose clock said t makes it.
func idAt(t time.Time) string {
	id := storetestID()
	h := fmt.Sprintf("%012x", uint64(t.UnixMilli()))
	return h[:8] + "-" + h[8:12] + id[13:]
}

// openVersion opens dsn with the migrations up to version only, as the
// program before them left the database.
func openVersion(t testing.TB, dsn string, version int) *Store {
	t.Helper()
	ctx := context.Background()
	b, err := openPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{b: b}
	var old []migration
	for _, m := range migrations {
		if m.version <= version {
			old = append(old, m)
		}
	}
	if err := s.migrate(ctx, old); err != nil {
		b.close()
		t.Fatal(err)
	}
	return s
}

// partitionCounts is how many records each partition holds.
func partitionCounts(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := s.b.query(context.Background(), `SELECT tableoid::regclass::text, COUNT(*) FROM records GROUP BY 1`, nil,
		func(r rows) error {
			var name string
			var n int64
			if err := r.Scan(&name, &n); err != nil {
				return err
			}
			got[name] = n
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func partitions(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	err := s.b.query(context.Background(), `SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'records'::regclass`, nil,
		func(r rows) error {
			var name string
			if err := r.Scan(&name); err != nil {
				return err
			}
			got[name] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// entriesAt are n entries of station whose IDs were made at at.
func entriesAt(station string, n int, at time.Time) []ingest.Entry {
	es := storetest.NewTraffic(station, at).Entries(n)
	for i := range es {
		es[i].ID = idAt(at.Add(time.Duration(i) * time.Second))
	}
	return es
}

// TestPartitionConversion: migration 11 turns a records table with rows
// into monthly partitions and keeps every row, each in its month; a
// record from a clock that says 1970, or 2099, goes to the default
// partition; creating 2099's month later moves its rows there.
func TestPartitionConversion(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := pgtest.NewDatabase(t, srv)

	old := openVersion(t, dsn, partitionedVersion-1)
	march := time.Date(2025, 3, 5, 8, 0, 0, 0, time.UTC)
	april := time.Date(2025, 4, 30, 23, 59, 0, 0, time.UTC)
	epoch := time.Date(1970, 1, 1, 0, 3, 0, 0, time.UTC) // a Pi without a real-time clock
	future := time.Date(2099, 5, 1, 0, 0, 0, 0, time.UTC)
	batches := [][]ingest.Entry{
		entriesAt("pe-a", 40, march), entriesAt("pe-a", 30, april),
		entriesAt("pe-b", 7, epoch), entriesAt("pe-b", 5, future),
		storetest.NewTraffic("pe-c", time.Now()).Entries(20), // made now: this month
	}
	for _, b := range batches {
		if err := ingestAsOf(ctx, old, b); err != nil {
			t.Fatalf("Ingest before partitioning: %v", err)
		}
	}
	old.Close()

	s := open(t, dsn)
	thisMonth := "records_" + time.Now().UTC().Format("2006_01")
	got := partitionCounts(t, s)
	// The last of april's 30 is at 23:59:29 on the 30th, still April.
	want := map[string]int64{"records_2025_03": 40, "records_2025_04": 30, "records_default": 12, thisMonth: 20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records per partition = %v, want %v", got, want)
	}
	parts := partitions(t, s)
	for i := range partitionsAhead + 1 {
		m := "records_" + time.Now().UTC().AddDate(0, i, 1-time.Now().UTC().Day()).Format("2006_01")
		if !parts[m] {
			t.Errorf("partition %s missing (want the current month and %d ahead); have %v", m, partitionsAhead, parts)
		}
	}
	// Every row kept, as it was.
	stored := map[string]ingest.Entry{}
	for _, st := range []string{"pe-a", "pe-b", "pe-c"} {
		rs, err := s.Records(ctx, st, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			stored[r.ID] = r
		}
	}
	for _, b := range batches {
		for _, e := range b {
			r, ok := stored[e.ID]
			if !ok {
				t.Fatalf("record %s lost by partitioning", e.ID)
			}
			if r.Seq != e.Seq || r.Station != e.Station || !r.At.Equal(e.At) || !r.Time.Equal(e.Time) {
				t.Fatalf("record %s changed: %+v, was %+v", e.ID, r, e)
			}
		}
	}
	// The idempotent insert still skips every one of them.
	for _, b := range batches {
		if n := mustIngest(t, s, b); n != 0 {
			t.Fatalf("re-ingest after partitioning stored %d, want 0", n)
		}
	}
	// 2099's month, created when it comes near, takes its rows out of the
	// default partition.
	if _, err := s.b.exec(ctx, `SELECT leifeng_records_partition(DATE '2099-05-01')`); err != nil {
		t.Fatal(err)
	}
	got = partitionCounts(t, s)
	if got["records_2099_05"] != 5 || got["records_default"] != 7 {
		t.Fatalf("after creating 2099-05: %v, want 5 in records_2099_05 and 7 left in records_default", got)
	}
	// IDs still compare as bytes (COLLATE "C", as migration 1 made them),
	// which the month bounds rely on.
	for _, col := range []string{"id", "ref"} {
		var coll string
		if err := s.b.query(ctx, `SELECT COALESCE(collation_name, '') FROM information_schema.columns
			WHERE table_name = 'records' AND column_name = $1`, []any{col}, func(r rows) error { return r.Scan(&coll) }); err != nil {
			t.Fatal(err)
		}
		if coll != "C" {
			t.Errorf("records.%s collation = %q, want C", col, coll)
		}
	}
	// Maintenance is idempotent.
	if err := s.MaintainPartitions(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPartitionedDedup: on the partitioned table a record is stored once
// however often it comes, even when the resend is corrected to another
// time (an unsynced kiosk's record gets its time from the batch's arrival)
// and when it lands in the default partition; concurrent batches with
// overlapping records store each once.
func TestPartitionedDedup(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.NewDatabase(t, pgtest.Start(t)))
	now := time.Now().UTC()
	fresh := entriesAt("pe-a", 50, now)
	lost := entriesAt("pe-a", 10, time.Unix(60, 0))
	all := append(append([]ingest.Entry(nil), fresh...), lost...)
	if n := mustIngest(t, s, all); n != 60 {
		t.Fatalf("first ingest stored %d, want 60", n)
	}
	resend := append([]ingest.Entry(nil), all...)
	for i := range resend {
		resend[i].ClockSynced = false
		resend[i].ClockFlag = ingest.ClockCorrected
		resend[i].Time = resend[i].Time.Add(90 * 24 * time.Hour) // another month
		resend[i].Received = now.Add(time.Hour)
	}
	if n := mustIngest(t, s, resend); n != 0 {
		t.Fatalf("resend stored %d, want 0", n)
	}
	wantCount(t, s, "pe-a", 60)
	// Concurrent overlapping batches: each ID once.
	more := entriesAt("pe-b", 200, now.Add(time.Minute))
	errs := make(chan error, 4)
	total := make(chan int, 4)
	for w := range 4 {
		go func() {
			n, err := s.Ingest(ctx, more[w*30:w*30+80])
			total <- n
			errs <- err
		}()
	}
	sum := 0
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		sum += <-total
	}
	if sum != 170 {
		t.Fatalf("overlapping batches stored %d in all, want 170", sum)
	}
	wantCount(t, s, "pe-b", 170)
}

// ingestAsOf stores entries as a gateway of the schema before migration 13
// did: without the columns of orders (order_ref, rating), which that
// schema lacks.
func ingestAsOf(ctx context.Context, s *Store, entries []ingest.Entry) error {
	cols := strings.TrimSuffix(recordCols, ", order_ref, rating, activity")
	return s.b.inTx(ctx, func(q querier) error {
		for i := range entries {
			args := entryArgs(&entries[i])
			if _, err := q.exec(ctx, `INSERT INTO records (`+cols+`) VALUES (`+marks(1, len(args)-3)+`)`, args[:len(args)-3]...); err != nil {
				return err
			}
		}
		return nil
	})
}
