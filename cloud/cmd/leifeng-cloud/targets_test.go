package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/cloud/store"
	"leifeng/cloud/targets/targetstest"
)

// TestTargetsRebuild: --check finds a rollup that differs from a recount
// and exits non-zero, rebuild puts it right, and --check is then clean.
func TestTargetsRebuild(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leifeng.db")
	st, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := targetstest.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"targets", "rebuild", "--db", "sqlite:" + path}, args...), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := cmd("--check"); err != nil || !strings.Contains(out, "rollups equal the recount") {
		t.Fatalf("check of a fresh fixture: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE target_cells SET records = records + 2 WHERE community = ?`, targetstest.Community); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := cmd("--check"); err == nil || !strings.Contains(out, "target_cells") || !strings.Contains(out, "differ") {
		t.Fatalf("check of a tampered rollup: %v\n%s", err, out)
	}
	if out, err := cmd(); err != nil || !strings.Contains(out, "1 tables differed") {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if out, err := cmd("--check"); err != nil || !strings.Contains(out, "rollups equal the recount") {
		t.Fatalf("check after the rebuild: %v\n%s", err, out)
	}
}
