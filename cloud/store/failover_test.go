package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store/storetest"
	"leifeng/internal/pgtest"
)

// TestFailoverWaitDSN: failover_wait is read from the DSN, and defaults
// to waiting only when the DSN names several hosts.
func TestFailoverWaitDSN(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, pgtest.Start(t))
	host := strings.SplitN(strings.TrimPrefix(dsn, "postgres://postgres@"), "/", 2)[0]
	two := strings.Replace(dsn, host, host+","+host, 1)
	for _, c := range []struct {
		dsn  string
		want time.Duration
	}{
		{dsn, 0},
		{two, defaultFailoverWait},
		{two + "&failover_wait=5s", 5 * time.Second},
		{dsn + "&failover_wait=0", 0},
	} {
		b, err := openPostgres(ctx, c.dsn)
		if err != nil {
			t.Fatalf("%s: %v", c.dsn, err)
		}
		b.close()
		if b.failoverWait != c.want {
			t.Errorf("%s: failover wait %v, want %v", c.dsn, b.failoverWait, c.want)
		}
	}
	if _, err := openPostgres(ctx, dsn+"&failover_wait=soon"); err == nil || !strings.Contains(err.Error(), "failover_wait") {
		t.Fatalf("bad failover_wait: %v", err)
	}
}

// TestIngestWaitsForServer: with failover_wait, a batch sent while the
// server is down is committed once it is back, not failed: the store
// retries on new connections. Without it the batch fails at once.
func TestIngestWaitsForServer(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := pgtest.NewDatabase(t, srv)
	s := open(t, dsn+"&failover_wait=30s")
	quick := open(t, dsn)
	tr := storetest.NewTraffic("pe-wait", t0)
	mustIngest(t, s, tr.Entries(10))
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := quick.Ingest(ctx, tr.Entries(10)); err == nil {
		t.Fatal("Ingest without failover_wait succeeded with the server down")
	}
	batch := tr.Entries(100)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := s.Ingest(ctx, batch)
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Ingest returned %v with the server down", err)
	default:
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Ingest across the outage: %v", err)
	}
	t.Logf("batch committed %.1fs after it was sent, the server down for 1.5s of it", time.Since(start).Seconds())
	wantCount(t, s, "pe-wait", 110)
}
