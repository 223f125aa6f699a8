package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// The size of `make bench-scale` (STATIONS=, DURATION= on make's command
// line pass them).
var (
	scaleStations = flag.Int("scale.stations", 10000, "BenchmarkScale: simulated stations")
	scaleDuration = flag.Duration("scale.duration", 10*time.Minute, "BenchmarkScale: the played day's length, per side")
)

var loadgenOnce struct {
	sync.Once
	err error
}

// loadgenBin builds leifeng-loadgen beside the binaries TestMain built.
func loadgenBin(t testing.TB) string {
	t.Helper()
	loadgenOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin+"/", "leifeng/kiosk/cmd/leifeng-loadgen").CombinedOutput()
		if err != nil {
			loadgenOnce.err = fmt.Errorf("building leifeng-loadgen: %v\n%s", err, out)
		}
	})
	if loadgenOnce.err != nil {
		t.Fatal(loadgenOnce.err)
	}
	return filepath.Join(bin, "leifeng-loadgen")
}

// loadReport is the part of leifeng-loadgen's --report the tests read.
type loadReport struct {
	Stations         int     `json:"stations"`
	Taps             int64   `json:"taps"`
	Records          int64   `json:"records"`
	Acked            int64   `json:"acked"`
	TapFailures      int64   `json:"tap_failures"`
	Undrained        int64   `json:"undrained"`
	Lost             int64   `json:"lost"`
	Duplicates       int64   `json:"duplicates"`
	Check            string  `json:"check"`
	RecordsPerSecond float64 `json:"records_per_second"`
	StormRecords     int64   `json:"storm_records"`
	StormSeconds     float64 `json:"storm_seconds"`
	LoadgenRSSMB     float64 `json:"loadgen_rss_mb"`
	Latency          struct {
		N             int `json:"n"`
		P50, P90, P99 float64
		Max           float64 `json:"max"`
	} `json:"latency"`
}

// loadRun is leifeng-loadgen running against c, restarting c when it
// waits for the cluster to go down (the reconnect storm).
type loadRun struct {
	p      *proc
	report string
}

func startLoadgen(t testing.TB, c *cloud, bundles string, args ...string) *loadRun {
	t.Helper()
	loadgenBin(t)
	r := &loadRun{report: filepath.Join(t.TempDir(), "report.json")}
	args = append([]string{"--bundles", bundles, "--api", c.http, "--token", c.token(t), "--report", r.report}, args...)
	r.p = startProc(t, "leifeng-loadgen", args...)
	return r
}

// waitLine waits for a line of the loadgen's output containing s.
func (r *loadRun) waitLine(t testing.TB, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(r.p.log.String(), s) {
		select {
		case <-r.p.exited:
			t.Fatalf("leifeng-loadgen exited before %q:\n%s", s, tail(r.p.log.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from leifeng-loadgen in %s:\n%s", s, within, tail(r.p.log.String(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storm restarts the cluster when every loadgen waits for it to go down,
// as a cluster restart does to every kiosk at once.
func storm(t testing.TB, runs []*loadRun, within time.Duration, down, up func()) {
	t.Helper()
	for _, r := range runs {
		r.waitLine(t, "storm: waiting for the cluster to go down", within)
	}
	down()
	for _, r := range runs {
		r.waitLine(t, "storm: every kiosk offline", time.Minute)
	}
	up()
}

// add merges the report of another shard of the same fleet: counts add
// up; of latencies and the storm's time, the worst shard's is kept (the
// shards are alike: stations dealt out in turn).
func (r *loadReport) add(o *loadReport) {
	r.Stations += o.Stations
	r.Taps += o.Taps
	r.Records += o.Records
	r.Acked += o.Acked
	r.TapFailures += o.TapFailures
	r.Undrained += o.Undrained
	r.Lost += o.Lost
	r.Duplicates += o.Duplicates
	r.RecordsPerSecond += o.RecordsPerSecond
	r.StormRecords += o.StormRecords
	r.StormSeconds = max(r.StormSeconds, o.StormSeconds)
	r.LoadgenRSSMB += o.LoadgenRSSMB
	r.Latency.N += o.Latency.N
	r.Latency.P50 = max(r.Latency.P50, o.Latency.P50)
	r.Latency.P90 = max(r.Latency.P90, o.Latency.P90)
	r.Latency.P99 = max(r.Latency.P99, o.Latency.P99)
	r.Latency.Max = max(r.Latency.Max, o.Latency.Max)
	r.Check = o.Check
}

// wait waits for the loadgen to finish and returns its report.
func (r *loadRun) wait(t testing.TB, within time.Duration) *loadReport {
	t.Helper()
	select {
	case <-r.p.exited:
	case <-time.After(within):
		t.Fatalf("leifeng-loadgen still running after %s:\n%s", within, tail(r.p.log.String(), 40))
	}
	r.p.cmd = nil
	data, err := os.ReadFile(r.report)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, tail(r.p.log.String(), 40))
	}
	rep := new(loadReport)
	if err := json.Unmarshal(data, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("leifeng-loadgen:\n%s", tail(r.p.log.String(), 10))
	return rep
}

// TestLoadgenSmoke plays a short day of 50 kiosks, registered with
// `leifeng-cloud station add`, against the embedded broker and gateway,
// with offline stretches and a restart of the cloud under a reconnect
// storm: nothing lost, nothing stored twice, every outbox empty.
func TestLoadgenSmoke(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	bundles := t.TempDir()
	for i := range 50 {
		id := fmt.Sprintf("lg-%03d", i)
		cloudCmd(t, "station", "add", "--data", c.data, "--id", id, "--broker", c.mqtt, "--out", filepath.Join(bundles, id+".bundle.json"))
	}
	r := startLoadgen(t, c, bundles, "--duration", "20s", "--ramp", "2s", "--offline", "0.3",
		"--storm-taps", "4", "--max-backoff", "2s", "--ack-timeout", "2s", "--progress", "2s", "--drain-timeout", "1m")
	storm(t, []*loadRun{r}, 2*time.Minute, c.proc.stop, c.proc.start)
	rep := r.wait(t, 3*time.Minute)
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.Undrained != 0 || rep.TapFailures != 0 {
		t.Fatalf("lost %d, duplicated %d, left in outboxes %d, taps refused %d", rep.Lost, rep.Duplicates, rep.Undrained, rep.TapFailures)
	}
	if rep.Taps < 200 || rep.Acked != rep.Records || !strings.Contains(rep.Check, "looked up") {
		t.Fatalf("a day of 50 stations made %d taps, %d records, %d acked (%s)", rep.Taps, rep.Records, rep.Acked, rep.Check)
	}
	if rep.StormRecords != 200 || rep.StormSeconds <= 0 {
		t.Fatalf("storm: %d records, %.1fs", rep.StormRecords, rep.StormSeconds)
	}
}

// provision registers n stations with the running cloud of data (its
// --data, where serve made the keys) and db, writing their bundles into a new directory, as `station add`
// does (the same fleet.Service.AddStation), in one process: ten thousand
// `station add` processes would take twelve minutes.
func provision(t testing.TB, data, db, broker string, n int) string {
	t.Helper()
	ctx := context.Background()
	dsn := db
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(data, "leifeng.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := fleet.LoadKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	svc := fleet.NewService(st, keys, nil, nil)
	dir := t.TempDir()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for i := range work {
				id := fmt.Sprintf("ld-%05d", i)
				b, err := svc.AddStation(ctx, id, "", "", broker)
				if err == nil {
					err = wire.WriteBundle(filepath.Join(dir, id+".bundle.json"), b)
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return dir
}

// rssMB is a process's resident memory in MB.
func rssMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

// peakRSS samples pid's resident memory every second until stop is
// closed, and returns the highest.
func peakRSS(pid func() int, stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		peak := 0.0
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
				if p := pid(); p > 0 {
					peak = max(peak, rssMB(p))
				}
			}
		}
	}()
	return out
}

// raiseFiles lets this process and the ones it starts hold n open files
// (the broker: a connection per station).
func raiseFiles(t testing.TB, n uint64) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur >= n {
		return
	}
	l.Cur, l.Max = n, max(n, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatalf("%d open files needed (ulimit -n): %v", n, err)
	}
}

// kioskData is where the simulated kiosks' bbolt files go: on tmpfs when
// there is one. Ten thousand kiosks each fsync their own SD card; on one
// shared disk those fsyncs would measure the disk, not the cloud.
func kioskData(t testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "leifeng-loadgen-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// BenchmarkScale is `make bench-scale`: -scale.stations simulated stations
// play a day of -scale.duration against each deployment, then a reconnect
// storm after a restart. Side by side: the embedded broker with its one
// gateway (`serve`, on PostgreSQL).
func BenchmarkScale(b *testing.B) {
	n, day := *scaleStations, *scaleDuration
	raiseFiles(b, uint64(n)+2000)
	b.Run("embedded", func(b *testing.B) {
		pg := pgtest.Start(b, pgtest.WithFsync())
		db := pgtest.NewDatabase(b, pg)
		c := startCloud(b, cloudOpt{db: db, extra: []string{
			"--mqtt-max-conns", strconv.Itoa(2*n + 100), "--mqtt-max-conns-per-addr", strconv.Itoa(2*n + 100)}})
		bundles := provision(b, c.data, db, c.mqtt, n)
		base := rssMB(c.proc.cmd.Process.Pid)
		stop := make(chan struct{})
		var pidMu sync.Mutex
		pid := func() int {
			pidMu.Lock()
			defer pidMu.Unlock()
			if c.proc.cmd == nil {
				return 0
			}
			return c.proc.cmd.Process.Pid
		}
		peak := peakRSS(pid, stop)
		// One process holds 4,000 kiosks at most: a kiosk is a bbolt file
		// and a connection, and the limit of open files here is 20,000.
		shards := (n + 3999) / 4000
		kdata := kioskData(b)
		var runs []*loadRun
		for k := range shards {
			runs = append(runs, startLoadgen(b, c, bundles, "--shard", fmt.Sprintf("%d/%d", k, shards), "--duration", day.String(),
				"--data", filepath.Join(kdata, strconv.Itoa(k)), "--storm-taps", "10", "--progress", "10s", "--drain-timeout", "10m"))
		}
		var dayMetrics string
		storm(b, runs, day+15*time.Minute, func() {
			dayMetrics = gatewayMetrics(c.metrics(b))
			pidMu.Lock()
			defer pidMu.Unlock()
			c.proc.stop()
		}, func() {
			pidMu.Lock()
			defer pidMu.Unlock()
			c.proc.start()
		})
		rep := &loadReport{}
		for _, r := range runs {
			rep.add(r.wait(b, 20*time.Minute))
		}
		close(stop)
		top := <-peak
		// On stdout, not b.Log: the test framework cuts long benchmark logs.
		fmt.Printf("embedded broker + 1 gateway + PostgreSQL: %d stations, a day of %s: %d taps, %d records, lost %d, duplicated %d, left in outboxes %d\n",
			rep.Stations, day, rep.Taps, rep.Records, rep.Lost, rep.Duplicates, rep.Undrained)
		fmt.Printf("  tap to ack (online taps) p50 %.3fs p90 %.3fs p99 %.3fs; %.0f records/s; storm of %d records: every outbox empty %.1fs after the first kiosk came back\n",
			rep.Latency.P50, rep.Latency.P90, rep.Latency.P99, rep.RecordsPerSecond, rep.StormRecords, rep.StormSeconds)
		fmt.Printf("  serve (broker + gateway) RSS %.0f MB idle, %.0f MB peak: %.1f KB per connected station; loadgen %.0f MB (%.0f KB per kiosk); MQTT subscriptions: 4 per kiosk, no consumers (no JetStream)\n",
			base, top, (top-base)*1024/float64(n), rep.LoadgenRSSMB, rep.LoadgenRSSMB*1024/float64(n))
		fmt.Printf("  the gateway over the day:\n%s\n", dayMetrics)
		b.ReportMetric(rep.Latency.P50, "p50-s")
		b.ReportMetric(rep.Latency.P99, "p99-s")
		b.ReportMetric(rep.RecordsPerSecond, "records/s")
		b.ReportMetric(rep.StormSeconds, "storm-s")
		b.ReportMetric((top-base)*1024/float64(n), "KB/station")
		if rep.Lost != 0 || rep.Duplicates != 0 || rep.Undrained != 0 {
			b.Fatalf("lost %d, duplicated %d, left in outboxes %d", rep.Lost, rep.Duplicates, rep.Undrained)
		}
	})
}

// gatewayMetrics picks from /metrics what says where a batch's time went:
// batches dropped by reason, duplicates, commit and ack times.
func gatewayMetrics(all string) string {
	var out []string
	for _, l := range strings.Split(all, "\n") {
		for _, p := range []string{"leifeng_batches_rejected_total", "leifeng_records_ingested_total", "leifeng_records_duplicate_total",
			"leifeng_batch_commit_seconds_sum", "leifeng_batch_commit_seconds_count", "leifeng_commit_to_ack_seconds_sum", "process_cpu_seconds_total"} {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}
