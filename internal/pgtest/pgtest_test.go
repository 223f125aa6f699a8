package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"leifeng/internal/pgtest"
)

func TestStartRestart(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, srv)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after restart: x=%d err=%v, want 42", x, err)
	}

	// A second database on the same server starts empty.
	other, err := pgx.Connect(ctx, pgtest.NewDatabase(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "SELECT 1 FROM t"); err == nil {
		t.Fatal("a new database sees another database's table")
	}
}

func TestStop(t *testing.T) {
	srv := pgtest.Start(t, pgtest.WithFsync())
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, srv.DSN()); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
}

// TestReapOrphans: a server whose test process died is stopped and removed
// by the next Start.
func TestReapOrphans(t *testing.T) {
	orphan, err := pgtest.New()
	if err != nil {
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer orphan.Close()
	// Pretend its owner died: a child process that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dir := orphan.Dir()
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	pgtest.Start(t)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("orphan's directory %s still there (%v)", dir, err)
	}
}
