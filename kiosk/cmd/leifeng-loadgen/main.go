// Command leifeng-loadgen plays a day of many stations against a cloud:
// thousands of simulated kiosks in one process, each with the real
// kiosk's parts (its own bbolt outbox, package kiosk/store; the
// check-in/check-out rules, kiosk/attendance; the MQTT uplink with its own
// paho client and signed-ack checking, kiosk/uplink), each joining as a
// registered station with the bundle `leifeng-cloud station add` wrote.
//
// The day is a Saturday, 志愿服务日, compressed into --duration: quiet
// nights, a morning peak from eight to eleven, a smaller afternoon; some
// kiosks lose the network for one to three of its hours and drain their
// outbox when it returns. Each kiosk has its own bbolt file under --data
// (one file per kiosk, as on a real kiosk: the store is the real package,
// which owns its file; a kiosk is then a file and a connection, two
// descriptors: the command raises its limit of open files, and --shard K/N
// deals a fleet too big for one process between N of them).
//
//	leifeng-loadgen --bundles DIR --duration 10m --api http://127.0.0.1:8080 --token T
//
// With --storm-taps K, after the day it waits for the cluster to go down
// (every kiosk offline), taps K more records at every station, and times
// the reconnect storm: from the first kiosk back to every outbox empty.
//
// At the end it checks every confirmed record against the database
// through the cloud's API (--api, --token or LEIFENG_TOKEN), or, for a
// deployment without an API (gateways on a NATS cluster), in PostgreSQL
// itself (--db postgres://...): lost records (confirmed, not stored) and
// duplicates (an ID or a station's seq stored twice). It prints a report
// and, with --report, writes it as JSON.
//
// A bundle from `station add --nats --tls-dir` joins a NATS cluster as the
// kiosk does: over TLS with the station's certificate (the bundle's CA and
// client certificate), to any node of its broker list, subscribing at
// QoS 0.
//
// Exit status: 0 when the day was played and nothing was lost or
// duplicated; 1 when something was, or the run failed; 2 for bad flags.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"leifeng/gateway/wire"
	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
	"leifeng/reader"
)

func main() { cli.Main("leifeng-loadgen", run) }

type options struct {
	bundles, broker, data, api, token, report string
	db                                        string
	shard                                     string
	stations, visits, stormTaps               int
	duration, ramp, drainTimeout, ackTimeout  time.Duration
	progress, maxBackoff                      time.Duration
	offline                                   float64
	verbose                                   bool
	seed                                      uint64
	stdout, stderr                            io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := options{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("leifeng-loadgen", flag.ContinueOnError)
	fs.StringVar(&o.bundles, "bundles", "", "directory of station bundles (*.bundle.json, from leifeng-cloud station add); one simulated kiosk each (required)")
	fs.IntVar(&o.stations, "stations", 0, "simulate only the first N bundles (default: all)")
	fs.StringVar(&o.shard, "shard", "", "K/N: simulate only every Nth of the bundles, from the Kth (0-based), so that N processes share a fleet too big for one process's open files")
	fs.StringVar(&o.broker, "broker", "", "broker URL for every kiosk (default: each bundle's)")
	fs.StringVar(&o.data, "data", "", "directory for the kiosks' bbolt files, one per kiosk (default: a new temporary directory, removed at the end)")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "the played day lasts this long")
	fs.IntVar(&o.visits, "visits", 12, "volunteer visits (a check-in and a check-out) per station and day, on average")
	fs.Float64Var(&o.offline, "offline", 0.1, "share of stations that lose the network for one to three hours of the day")
	fs.DurationVar(&o.ramp, "ramp", 30*time.Second, "kiosks start over this long, as a fleet does, instead of in one instant")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", uplink.DefaultAckTimeout, "each kiosk's ack timeout (the uplink's)")
	fs.DurationVar(&o.maxBackoff, "max-backoff", uplink.DefaultMaxBackoff, "each kiosk's longest wait between connection attempts (the uplink's)")
	fs.IntVar(&o.stormTaps, "storm-taps", 0, "after the day: wait for every kiosk to lose the broker, tap this many records at each, and time the reconnect storm")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "after the day (and after a storm), wait this long at most for every outbox to empty")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "print a progress line this often")
	fs.StringVar(&o.api, "api", "", "the cloud's API, to check every confirmed record against the database (e.g. http://127.0.0.1:8080)")
	fs.StringVar(&o.token, "token", "", "API token (default: $LEIFENG_TOKEN)")
	fs.StringVar(&o.db, "db", "", "instead of --api, check every confirmed record in the cloud's PostgreSQL itself (postgres://...): for gateways without an API, such as gateway --nats")
	fs.StringVar(&o.report, "report", "", "also write the report to this file as JSON")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed, for a repeatable day")
	fs.BoolVar(&o.verbose, "v", false, "log the kiosks' warnings too (connection losses, resends)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-loadgen"))
		return nil
	}
	if o.bundles == "" || o.duration <= 0 || o.visits < 0 {
		return cli.Usagef("give --bundles DIR and a positive --duration")
	}
	if o.token == "" {
		o.token = os.Getenv("LEIFENG_TOKEN")
	}
	if o.api != "" && o.token == "" {
		return cli.Usagef("--api needs --token (or LEIFENG_TOKEN)")
	}
	if o.api != "" && o.db != "" {
		return cli.Usagef("check through --api or in --db, not both")
	}
	if o.db != "" && !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://") {
		return cli.Usagef("--db %q: give the PostgreSQL DSN (postgres://...)", o.db)
	}
	rep, err := play(ctx, &o)
	if rep != nil {
		rep.print(stdout)
		if o.report != "" {
			data, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(o.report, append(data, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return err
	}
	if rep.Lost > 0 || rep.Duplicates > 0 || rep.Undrained > 0 {
		return fmt.Errorf("%d records lost, %d duplicated, %d still in outboxes", rep.Lost, rep.Duplicates, rep.Undrained)
	}
	return nil
}

// sim is one simulated kiosk.
type sim struct {
	id     string
	bundle *wire.Bundle
	tls    *tls.Config // the bundle's CA and client certificate; nil for plain TCP
	st     *store.Store
	book   *attendance.Book
	events []event

	mu      sync.Mutex
	up      *uplink.Uplink
	stop    context.CancelFunc
	done    chan struct{}
	pending map[string]pendingTap
	// early are records whose ack came before the tap that wrote them
	// returned (the uplink sends as soon as the outbox has them), with
	// when.
	early  map[string]time.Time
	lat    []float32 // seconds, taps made while online
	latOff []float32 // seconds, taps made while offline
	ids    []string  // every confirmed record
}

type pendingTap struct {
	at     time.Time
	online bool
}

// fleet is every simulated kiosk and the counters they share.
type fleet struct {
	o     *options
	log   *slog.Logger
	sims  []*sim
	taps  atomic.Int64 // confirmed taps
	recs  atomic.Int64 // records they wrote
	acked atomic.Int64 // records acks took out of outboxes
	fails atomic.Int64 // taps the store refused
	wg    sync.WaitGroup
}

func play(ctx context.Context, o *options) (*report, error) {
	paths, err := filepath.Glob(filepath.Join(o.bundles, "*.bundle.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("--bundles %s: no *.bundle.json files (make them with leifeng-cloud station add)", o.bundles)
	}
	sort.Strings(paths)
	if o.stations > 0 {
		if o.stations > len(paths) {
			return nil, fmt.Errorf("--stations %d: only %d bundles in %s", o.stations, len(paths), o.bundles)
		}
		paths = paths[:o.stations]
	}
	// Each station keeps its index in the whole fleet, so its day is the
	// same whichever shard plays it.
	index := make([]int, len(paths))
	for i := range index {
		index[i] = i
	}
	if o.shard != "" {
		var k, n int
		if _, err := fmt.Sscanf(o.shard, "%d/%d", &k, &n); err != nil || n < 1 || k < 0 || k >= n {
			return nil, cli.Usagef("--shard %q: want K/N with 0 <= K < N", o.shard)
		}
		var keep []string
		var keepIdx []int
		for i, p := range paths {
			if i%n == k {
				keep, keepIdx = append(keep, p), append(keepIdx, i)
			}
		}
		paths, index = keep, keepIdx
	}
	if err := raiseFileLimit(uint64(2*len(paths) + 1024)); err != nil {
		return nil, err
	}
	if o.data == "" {
		dir, err := os.MkdirTemp("", "leifeng-loadgen-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o.data = dir
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	// The kiosks' own logs (a line per tap and connection) would be
	// millions of lines, and a storm is ten thousand "uplink down"
	// warnings: errors only, unless -v.
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	f := &fleet{o: o, log: slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: level}))}
	defer f.close()
	for i, p := range paths {
		b, err := wire.ReadBundle(p)
		if err != nil {
			return nil, err
		}
		if o.broker != "" {
			b.Broker = o.broker
		}
		st, err := store.Open(filepath.Join(o.data, b.Station+".db"))
		if err != nil {
			return nil, err
		}
		s := &sim{id: b.Station, bundle: b, st: st, pending: map[string]pendingTap{}, early: map[string]time.Time{}}
		if b.CACert != "" {
			if s.tls, err = uplink.TLSConfig(b.CACert, b.ClientCert, b.ClientKey); err != nil {
				st.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
		f.sims = append(f.sims, s)
		if s.book, err = attendance.New(st, attendance.Config{Station: b.Station, Logger: f.log}); err != nil {
			return nil, err
		}
		s.events = plan(rand.New(rand.NewPCG(o.seed, uint64(index[i]))), index[i], o.visits, o.offline, o.duration, 4*time.Second)
	}
	fmt.Fprintf(o.stderr, "leifeng-loadgen: %d kiosks, a day in %s, bbolt files under %s\n", len(f.sims), o.duration, o.data)

	rep := &report{Stations: len(f.sims), Duration: o.duration.String()}
	start := time.Now()
	progCtx, cancelProgress := context.WithCancel(ctx)
	progDone := make(chan struct{})
	go func() {
		defer close(progDone)
		f.printProgress(progCtx, start)
	}()
	// Stopped before the stores close (defers run last first).
	stopProgress := func() { cancelProgress(); <-progDone }
	defer stopProgress()

	// The day: each kiosk connects at its moment of the ramp and plays its
	// events.
	var day sync.WaitGroup
	for i, s := range f.sims {
		day.Go(func() {
			delay := time.Duration(float64(o.ramp) * float64(i) / float64(len(f.sims)))
			if !sleepUntil(ctx, start.Add(delay)) {
				return
			}
			f.connect(ctx, s)
			for _, e := range s.events {
				if !sleepUntil(ctx, start.Add(e.at)) {
					return
				}
				switch e.kind {
				case evTap:
					f.tap(ctx, s, e.volunteer, e.service)
				case evOffline:
					f.disconnect(s)
				case evOnline:
					f.connect(ctx, s)
				}
			}
		})
	}
	day.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.DaySeconds = time.Since(start).Seconds()
	fmt.Fprintf(o.stderr, "leifeng-loadgen: day played in %s; draining\n", time.Since(start).Round(time.Millisecond))
	drainStart := time.Now()
	if !f.waitDrained(ctx, o.drainTimeout) {
		fmt.Fprintf(o.stderr, "leifeng-loadgen: outboxes not empty after %s\n", o.drainTimeout)
	}
	rep.DrainSeconds = time.Since(drainStart).Seconds()
	rep.RecordsPerSecond = float64(f.acked.Load()) / time.Since(start).Seconds()

	if o.stormTaps > 0 && ctx.Err() == nil {
		if err := f.storm(ctx, rep); err != nil {
			return nil, err
		}
	}
	rep.Taps, rep.Records, rep.Acked, rep.TapFailures = f.taps.Load(), f.recs.Load(), f.acked.Load(), f.fails.Load()
	rep.Undrained = f.depth()
	f.latencies(rep)
	rep.LoadgenRSSMB = rssMB()
	rep.LoadgenRSSPerKioskKB = rep.LoadgenRSSMB * 1024 / float64(len(f.sims))
	stopProgress()
	f.close()
	switch {
	case o.api != "":
		if err := f.check(ctx, rep); err != nil {
			return rep, err
		}
	case o.db != "":
		if err := f.checkDB(ctx, rep); err != nil {
			return rep, err
		}
	default:
		rep.Check = "not checked against the database (no --api or --db)"
	}
	return rep, nil
}

// connect starts s's uplink.
func (f *fleet) connect(ctx context.Context, s *sim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil {
		return
	}
	up, err := uplink.New(s.st, uplink.Config{
		Broker: s.bundle.Broker, Station: s.id, Username: s.bundle.Username, Password: s.bundle.Password,
		TLS: s.tls, DownlinkQoS0: s.bundle.DownlinkQoS0,
		AckKeys: s.bundle.Trusted(), AckTimeout: f.o.ackTimeout, MaxBackoff: f.o.maxBackoff,
		Firmware: "loadgen", Logger: f.log,
		// A real kiosk takes its configs and commands too: the same
		// subscriptions, so the broker carries what a real fleet costs it.
		Inbox: discard{},
		Acked: func(a *wire.Ack) { f.acked.Add(int64(s.acked(a))) },
	})
	if err != nil {
		f.log.Error("uplink", "station", s.id, "err", err)
		return
	}
	uctx, cancel := context.WithCancel(ctx)
	s.up, s.stop, s.done = up, cancel, make(chan struct{})
	done := s.done
	f.wg.Go(func() {
		defer close(done)
		up.Run(uctx)
	})
}

// disconnect stops s's uplink: the kiosk is off the network.
func (f *fleet) disconnect(s *sim) {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.up, s.stop, s.done = nil, nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (f *fleet) close() {
	for _, s := range f.sims {
		f.disconnect(s)
	}
	f.wg.Wait()
	for _, s := range f.sims {
		if s.st != nil {
			s.st.Close()
			s.st = nil
		}
	}
}

func (s *sim) online() bool {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	return up != nil && up.Online()
}

// tap presents a volunteer's card at s and remembers the records it wrote
// until their ack.
func (f *fleet) tap(ctx context.Context, s *sim, volunteer, service string) {
	online := s.online()
	start := time.Now()
	res, err := s.book.TapService(ctx, reader.Tap{Volunteer: volunteer, Card: "C" + volunteer, Media: "sim"}, service)
	now := time.Now()
	if err != nil {
		f.fails.Add(1)
		f.log.Error("tap refused", "station", s.id, "err", err)
		return
	}
	if res.Repeat {
		return
	}
	ids := []string{res.ID}
	if res.AutoCheckOut != "" {
		ids = append(ids, res.AutoCheckOut)
	}
	s.mu.Lock()
	early := 0
	for _, id := range ids {
		s.ids = append(s.ids, id)
		if at, ok := s.early[id]; ok {
			// Acked before TapService returned: counted now.
			delete(s.early, id)
			early++
			s.noteLatency(online, at.Sub(start))
			continue
		}
		s.pending[id] = pendingTap{at: now, online: online}
	}
	s.mu.Unlock()
	f.taps.Add(1)
	f.recs.Add(int64(len(ids)))
	f.acked.Add(int64(early))
}

// noteLatency records one tap-to-ack time; s.mu is held.
func (s *sim) noteLatency(online bool, d time.Duration) {
	if online {
		s.lat = append(s.lat, float32(d.Seconds()))
	} else {
		s.latOff = append(s.latOff, float32(d.Seconds()))
	}
}

// acked notes the records an ack took out of s's outbox and returns how
// many were waiting.
func (s *sim) acked(a *wire.Ack) int {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	note := func(id string) {
		p, ok := s.pending[id]
		if !ok {
			// Its tap has not returned yet (or it was acked before):
			// the tap counts it.
			if len(s.early) < 100000 {
				s.early[id] = now
			}
			return
		}
		delete(s.pending, id)
		n++
		s.noteLatency(p.online, now.Sub(p.at))
	}
	for _, id := range a.IDs {
		note(id)
	}
	for _, r := range a.Rejected {
		note(r.ID)
	}
	return n
}

func (f *fleet) depth() int64 {
	var n int64
	for _, s := range f.sims {
		n += int64(s.st.Depth())
	}
	return n
}

func (f *fleet) connected() int {
	n := 0
	for _, s := range f.sims {
		if s.online() {
			n++
		}
	}
	return n
}

// waitDrained waits until every outbox is empty and every kiosk online.
func (f *fleet) waitDrained(ctx context.Context, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if f.depth() == 0 && f.connected() == len(f.sims) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storm waits for every kiosk to lose the broker (the cluster is being
// restarted), taps stormTaps records at each, and times the drain from the
// first kiosk back to every outbox empty.
func (f *fleet) storm(ctx context.Context, rep *report) error {
	fmt.Fprintf(f.o.stderr, "leifeng-loadgen: storm: waiting for the cluster to go down\n")
	for f.connected() > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, s := range f.sims {
		for k := range f.o.stormTaps {
			vol := fmt.Sprintf("S%05d%03d", i, k/2)
			f.tap(ctx, s, vol, services[k%len(services)])
		}
	}
	fmt.Fprintf(f.o.stderr, "leifeng-loadgen: storm: every kiosk offline, %d records waiting (%d per outbox)\n", f.depth(), f.o.stormTaps)
	for f.connected() == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := time.Now()
	fmt.Fprintf(f.o.stderr, "leifeng-loadgen: storm: first kiosk back\n")
	ok := f.waitDrained(ctx, f.o.drainTimeout)
	rep.StormRecords = int64(f.o.stormTaps) * int64(len(f.sims))
	rep.StormSeconds = time.Since(first).Seconds()
	if !ok {
		fmt.Fprintf(f.o.stderr, "leifeng-loadgen: storm: outboxes not empty after %s\n", f.o.drainTimeout)
	}
	fmt.Fprintf(f.o.stderr, "leifeng-loadgen: storm: every outbox empty %.1fs after the first kiosk came back\n", rep.StormSeconds)
	return nil
}

func (f *fleet) printProgress(ctx context.Context, start time.Time) {
	t := time.NewTicker(f.o.progress)
	defer t.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			acked := f.acked.Load()
			rate := float64(acked-last) / now.Sub(lastAt).Seconds()
			last, lastAt = acked, now
			fmt.Fprintf(f.o.stderr, "leifeng-loadgen: t=%s connected=%d/%d taps=%d acked=%d outbox=%d rec/s=%.0f rss=%.0fMB\n",
				now.Sub(start).Round(time.Second), f.connected(), len(f.sims), f.taps.Load(), acked, f.depth(), rate, rssMB())
		}
	}
}

// latencies fills rep's tap-to-ack percentiles.
func (f *fleet) latencies(rep *report) {
	var on, off []float32
	for _, s := range f.sims {
		s.mu.Lock()
		on = append(on, s.lat...)
		off = append(off, s.latOff...)
		s.mu.Unlock()
	}
	rep.Latency = percentiles(on)
	rep.LatencyOffline = percentiles(off)
}

func percentiles(xs []float32) latency {
	if len(xs) == 0 {
		return latency{}
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	at := func(p float64) float64 { return float64(xs[min(len(xs)-1, int(p*float64(len(xs))))]) }
	return latency{N: len(xs), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(xs[len(xs)-1])}
}

// discard takes the configs and commands a kiosk is sent and drops them:
// a simulated kiosk has no screen to configure.
type discard struct{}

func (discard) Message(string, []byte) {}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// raiseFileLimit lets the process hold need descriptors: a kiosk is a
// bbolt file and a connection.
func raiseFileLimit(need uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= need {
		return nil
	}
	l.Cur = min(need, l.Max)
	if l.Max < need {
		// Only root may raise the hard limit.
		l.Cur, l.Max = need, need
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("%d kiosks need %d open files; the limit is lower (ulimit -n): %w", (need-1024)/2, need, err)
	}
	return nil
}

// rssMB is the process's resident memory in MB.
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmt.Sscan(string(data), &size, &res); err != nil {
		return 0
	}
	return float64(res*int64(os.Getpagesize())) / (1 << 20)
}
