package history_test

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

	"leifeng/cloud/history"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

// The import's memory is measured in a child process (this test binary
// run again with childEnv set), as `leifeng-cloud import records` runs it,
// as the people import's benchmark does: the peak resident set of the
// process is what the machine must have.
const (
	childEnv   = "LEIFENG_RECORDS_CHILD"
	childDBEnv = "LEIFENG_RECORDS_CHILD_DB"
	// benchVolunteers is how many volunteers the generated records name.
	benchVolunteers = 10_000
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(importChild())
	}
	os.Exit(m.Run())
}

type childResult struct {
	Rows    int     `json:"rows"`
	Added   int     `json:"added"`
	Seconds float64 `json:"seconds"`
	// VmHWM is the peak resident set in KiB (/proc/self/status).
	VmHWM int64 `json:"vm_hwm_kib"`
}

// importChild stores the places and volunteers the generated file names,
// imports the file named by childEnv into the database of childDBEnv and
// prints a childResult.
func importChild() int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "import child:", err); return 1 }
	s, err := store.Open(ctx, os.Getenv(childDBEnv))
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	if err := benchPlaces(ctx, s); err != nil {
		return fail(err)
	}
	path := os.Getenv(childEnv)
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	start := time.Now()
	rep, err := history.Import(ctx, s, people.FormatOf(path), f, history.Options{Who: "bench", Batch: 500})
	if err != nil {
		return fail(err)
	}
	if len(rep.Problems) > 0 {
		return fail(fmt.Errorf("%s: %v", rep.Summary(), rep.Problems[0]))
	}
	res := childResult{Rows: rep.Rows, Added: rep.Added, Seconds: time.Since(start).Seconds(), VmHWM: vmHWM()}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

func benchPlaces(ctx context.Context, s *store.Store) error {
	for _, f := range []struct {
		kind people.Kind
		data string
	}{{people.KindAreas, areasCSV}, {people.KindOrgs, orgsCSV}} {
		if _, err := people.Import(ctx, s, f.kind, people.CSV, strings.NewReader(f.data), people.Options{}); err != nil {
			return err
		}
	}
	vs := make([]store.RosterEntry, benchVolunteers)
	for i := range vs {
		vs[i].ID = fmt.Sprintf("V%06d", i)
	}
	if err := s.SaveVolunteers(ctx, "", vs, time.Now()); err != nil {
		return err
	}
	return s.AddStation(ctx, store.Registration{ID: "S1", Name: "茶源社区学雷锋志愿服务站", Community: "530802001001", Created: time.Now()})
}

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

// benchRows is the size of the generated file: LEIFENG_BENCH_RECORDS_ROWS,
// or 20,000 (the figure is measured at 1,000,000).
func benchRows(b *testing.B) int {
	if s := os.Getenv("LEIFENG_BENCH_RECORDS_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("LEIFENG_BENCH_RECORDS_ROWS=%q", s)
		}
		return n
	}
	return 20_000
}

// benchFile is a CSV of n good records, kept in the system's temporary
// directory between runs: each volunteer serves a morning or an
// afternoon, a day after another, at station S1 or in the community.
func benchFile(b *testing.B, n int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("leifeng-bench-records-%d.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,volunteer,org,community,station,activity,content,date,start,end,hours,lead,recorder")
	day0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		v := i % benchVolunteers
		k := i / benchVolunteers
		day := day0.AddDate(0, 0, k/2).Format(time.DateOnly)
		start, end, station := "08:30", "11:00", "S1"
		if k%2 == 1 {
			start, end, station = "14:00", "16:15", ""
		}
		fmt.Fprintf(w, "H%08d,V%06d,O1,530802001001,%s,社区助老,陪老人聊天、量血压,%s,%s,%s,2.5,张三,李四\n", i, v, station, day, start, end)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImportRecords imports a generated CSV of history records into
// a fresh database of each kind in a child process and reports records
// per second and the child's peak resident set (VmHWM: Go's heap, its
// runtime and SQLite's page cache). The target is 200 MB at
// 1,000,000 records.
func BenchmarkImportRecords(b *testing.B) {
	n := benchRows(b)
	path := benchFile(b, n)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "import.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b, pgtest.Start(b)) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			var rowsPerSec, peakMB float64
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+path, childDBEnv+"="+be.dsn(b))
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
				rowsPerSec = float64(res.Rows) / res.Seconds
				peakMB = float64(res.VmHWM) / 1024
			}
			b.ReportMetric(rowsPerSec, "records/s")
			b.ReportMetric(peakMB, "peak-RSS-MB")
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
		})
	}
}
