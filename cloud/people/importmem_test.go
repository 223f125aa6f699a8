package people_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// The import's memory is measured in a child process (this test binary
// run again with childEnv set), as `leifeng-cloud import` runs it: the
// peak resident set of a process is what the machine must have, and
// nothing the parent allocated (the generated file, the benchmark's own
// state) counts in it.
const (
	childEnv   = "LEIFENG_IMPORT_CHILD"
	childDBEnv = "LEIFENG_IMPORT_CHILD_DB"
	// childTmpEnv is the import's TmpDir, which the parent checks is
	// left empty.
	childTmpEnv = "LEIFENG_IMPORT_CHILD_TMP"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(importChild())
	}
	os.Exit(m.Run())
}

// childResult is what the child reports on its last line of output.
type childResult struct {
	Rows    int     `json:"rows"`
	Added   int     `json:"added"`
	Seconds float64 `json:"seconds"`
	// VmHWM is the peak resident set in KiB (/proc/self/status).
	VmHWM int64 `json:"vm_hwm_kib"`
}

// importChild imports the areas and organisations of the tests, then the
// volunteer file named by childEnv into the database of childDBEnv, from
// the file on disk as the command does, and prints a childResult.
func importChild() int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "import child:", err); return 1 }
	s, err := store.Open(ctx, os.Getenv(childDBEnv))
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		return fail(err)
	}
	for _, f := range []struct {
		kind people.Kind
		data string
	}{{people.KindAreas, areasCSV}, {people.KindOrgs, orgsCSV}} {
		if _, err := people.Import(ctx, s, f.kind, people.CSV, strings.NewReader(f.data), people.Options{}); err != nil {
			return fail(err)
		}
	}
	path := os.Getenv(childEnv)
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	start := time.Now()
	rep, err := people.Import(ctx, s, people.KindVolunteers, people.FormatOf(path), f, people.Options{Vault: vault, TmpDir: os.Getenv(childTmpEnv)})
	if err != nil {
		return fail(err)
	}
	res := childResult{Rows: rep.Rows, Added: rep.Added, Seconds: time.Since(start).Seconds(), VmHWM: vmHWM()}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// vmHWM is this process's peak resident set in KiB, 0 if unknown.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// xlsxBenchRows is the size of BenchmarkImportXLSXMemory's file:
// LEIFENG_BENCH_XLSX_ROWS, or the 100,000.
func xlsxBenchRows(b *testing.B) int {
	if s := os.Getenv("LEIFENG_BENCH_XLSX_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("LEIFENG_BENCH_XLSX_ROWS=%q", s)
		}
		return n
	}
	return 100_000
}

// benchBookFile is the generated volunteer XLSX of n rows, kept in the
// system's temporary directory between runs (it takes a while to make).
func benchBookFile(b *testing.B, n int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("leifeng-bench-volunteers-%d.xlsx", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	book := volunteerBook(b, n)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, book, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImportXLSXMemory imports a 100,000-row volunteer XLSX into a
// fresh SQLite database in a child process and reports rows per second
// and the child's peak resident set (VmHWM): the whole process, Go's heap,
// its runtime and SQLite's page cache. (getrusage's maxrss is no good
// here: Linux carries the parent's high-water mark into it at exec.) The
// issue's target is 100 MB.
func BenchmarkImportXLSXMemory(b *testing.B) {
	n := xlsxBenchRows(b)
	path := benchBookFile(b, n)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	var rowsPerSec, peakMB float64
	for b.Loop() {
		dir, tmp := b.TempDir(), b.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+path, childDBEnv+"=sqlite:"+filepath.Join(dir, "import.db"), childTmpEnv+"="+tmp)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			b.Fatalf("child: %v\n%s", err, errb.String())
		}
		var res childResult
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Added != n || res.VmHWM == 0 {
			b.Fatalf("child: %v %+v\n%s", err, res, out.String())
		}
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			b.Errorf("the import left %d files in its TmpDir", len(left))
		}
		rowsPerSec = float64(res.Rows) / res.Seconds
		peakMB = float64(res.VmHWM) / 1024
	}
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(peakMB, "peak-RSS-MB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
}
