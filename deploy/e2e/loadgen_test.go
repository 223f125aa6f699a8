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
	return runLoadgen(t, bundles, append([]string{"--api", c.http, "--token", c.token(t)}, args...)...)
}

// runLoadgen starts leifeng-loadgen on the bundles in bundles; args say
// how it checks the database (--api and --token, or --db).
func runLoadgen(t testing.TB, bundles string, args ...string) *loadRun {
	t.Helper()
	loadgenBin(t)
	r := &loadRun{report: filepath.Join(t.TempDir(), "report.json")}
	args = append([]string{"--bundles", bundles, "--report", r.report}, args...)
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
// --data, where serve made the keys) and db, writing their bundles into a
// new directory, as `station add` does, in one process: ten thousand
// `station add` processes would take twelve minutes.
func provision(t testing.TB, data, db, broker string, n int) string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ld-%05d", i)
	}
	dir := t.TempDir()
	for _, b := range register(t, data, db, broker, ids) {
		if err := wire.WriteBundle(filepath.Join(dir, b.Station+".bundle.json"), b); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// register adds the stations ids to the cloud's store (db; SQLite under
// data when empty) with the keys in data, as `station add` does (the same
// fleet.Service.AddStation), eight at a time, and returns their bundles in
// the order of ids.
func register(t testing.TB, data, db, broker string, ids []string) []*wire.Bundle {
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
	bundles := make([]*wire.Bundle, len(ids))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for i := range work {
				b, err := svc.AddStation(ctx, ids[i], "", "", broker)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
				bundles[i] = b
			}
		})
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return bundles
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

// sumRSS is the resident memory of the processes pids (0: not running)
// together, in MB.
func sumRSS(pids []int) float64 {
	mb := 0.0
	for _, p := range pids {
		if p > 0 {
			mb += rssMB(p)
		}
	}
	return mb
}

// peakRSS samples the resident memory of the processes pids returns
// (together: a cluster's nodes, the gateways) every second until stop is
// closed, and returns the highest.
func peakRSS(pids func() []int, stop <-chan struct{}) <-chan float64 {
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
				peak = max(peak, sumRSS(pids()))
			}
		}
	}()
	return out
}

// cpuSeconds is the CPU time the processes pids used so far, together.
func cpuSeconds(pids []int) float64 {
	const ticks = 100 // USER_HZ on Linux
	s := 0.0
	for _, p := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// The fields after the command's name, which is in parentheses
		// and may hold spaces: utime and stime are the 12th and 13th.
		rest := string(data)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		k, _ := strconv.ParseFloat(f[12], 64)
		s += (u + k) / ticks
	}
	return s
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
// storm after a restart. Side by side in one run: "embedded", the embedded
// broker with its one gateway (`serve`, on PostgreSQL), and "nats", a
// three-node NATS cluster with two `gateway --nats` on PostgreSQL
// (scale_nats_test.go). -bench 'BenchmarkScale/nats' runs one side.
func BenchmarkScale(b *testing.B) {
	n, day := *scaleStations, *scaleDuration
	raiseFiles(b, uint64(n)+2000)
	var results []*scaleResult
	b.Run("embedded", func(b *testing.B) { results = append(results, benchEmbedded(b, n, day)) })
	b.Run("nats", func(b *testing.B) { results = append(results, benchNATS(b, n, day)) })
	printScaleTable(results)
}

// loadgenShards is how many leifeng-loadgen processes play n kiosks: one
// holds 4,000 at most (a kiosk is a bbolt file and a connection, and the
// limit of open files here is 20,000).
func loadgenShards(n int) int { return (n + 3999) / 4000 }

// loadgenArgs are the arguments of shard k of shards playing a day: the
// same on both sides.
func loadgenArgs(k, shards int, day time.Duration, kdata string) []string {
	return []string{"--shard", fmt.Sprintf("%d/%d", k, shards), "--duration", day.String(),
		"--data", filepath.Join(kdata, strconv.Itoa(k)), "--storm-taps", "10", "--progress", "10s", "--drain-timeout", "10m"}
}

// scaleResult is what one side of BenchmarkScale measured.
type scaleResult struct {
	side, deployment string
	day              time.Duration
	rep              *loadReport
	// brokerKB and gatewayKB are the growth of resident memory per
	// connected station, from idle to the run's peak; gatewayKB < 0 when
	// the gateway is in the broker's process.
	brokerKB, gatewayKB float64
	consumers           string
}

// printScaleTable prints the sides' figures as a Markdown table (the
// README's), on stdout.
func printScaleTable(results []*scaleResult) {
	if len(results) == 0 {
		return
	}
	fmt.Printf("\n| deployment | stations, day | taps | lost / duplicated / left | tap to ack p50 / p99 | records/s | storm | broker memory per connected station | gateway memory per connected station | JetStream consumers |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		if r == nil || r.rep == nil {
			continue
		}
		gw := "in the broker's process"
		if r.gatewayKB >= 0 {
			gw = fmt.Sprintf("%.1f KB", r.gatewayKB)
		}
		fmt.Printf("| %s | %d, %s | %d | %d / %d / %d | %.3f s / %.2f s | %.0f | %d records: %.1f s | %.1f KB | %s | %s |\n",
			r.deployment, r.rep.Stations, r.day, r.rep.Taps, r.rep.Lost, r.rep.Duplicates, r.rep.Undrained,
			r.rep.Latency.P50, r.rep.Latency.P99, r.rep.RecordsPerSecond, r.rep.StormRecords, r.rep.StormSeconds, r.brokerKB, gw, r.consumers)
	}
	fmt.Println()
}

// benchEmbedded is the embedded side: `serve` (its broker and its one
// gateway) on a private PostgreSQL with fsync.
func benchEmbedded(b *testing.B, n int, day time.Duration) *scaleResult {
	pg := pgtest.Start(b, pgtest.WithFsync())
	db := pgtest.NewDatabase(b, pg)
	c := startCloud(b, cloudOpt{db: db, extra: []string{
		"--mqtt-max-conns", strconv.Itoa(2*n + 100), "--mqtt-max-conns-per-addr", strconv.Itoa(2*n + 100)}})
	bundles := provision(b, c.data, db, c.mqtt, n)
	base := rssMB(c.proc.cmd.Process.Pid)
	stop := make(chan struct{})
	var pidMu sync.Mutex
	pid := func() []int {
		pidMu.Lock()
		defer pidMu.Unlock()
		if c.proc.cmd == nil {
			return nil
		}
		return []int{c.proc.cmd.Process.Pid}
	}
	peak := peakRSS(pid, stop)
	shards := loadgenShards(n)
	kdata := kioskData(b)
	var runs []*loadRun
	for k := range shards {
		runs = append(runs, startLoadgen(b, c, bundles, loadgenArgs(k, shards, day, kdata)...))
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
	res := &scaleResult{side: "embedded", deployment: "`serve` (embedded broker, 1 gateway)", day: day, rep: rep,
		brokerKB: (top - base) * 1024 / float64(n), gatewayKB: -1, consumers: "none (no JetStream)"}
	reportScale(b, res)
	return res
}

// reportScale reports a side's figures to the benchmark and fails it if
// anything was lost, stored twice or left in an outbox.
func reportScale(b *testing.B, r *scaleResult) {
	rep := r.rep
	b.ReportMetric(rep.Latency.P50, "p50-s")
	b.ReportMetric(rep.Latency.P99, "p99-s")
	b.ReportMetric(rep.RecordsPerSecond, "records/s")
	b.ReportMetric(rep.StormSeconds, "storm-s")
	b.ReportMetric(r.brokerKB, "KB/station")
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.Undrained != 0 {
		b.Errorf("%s: lost %d, duplicated %d, left in outboxes %d", r.side, rep.Lost, rep.Duplicates, rep.Undrained)
	}
	if !strings.Contains(rep.Check, "looked up") {
		b.Errorf("%s: records not checked against the database: %s", r.side, rep.Check)
	}
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
