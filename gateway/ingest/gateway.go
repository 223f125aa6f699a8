package ingest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"leifeng/gateway/wire"
)

// Publisher sends an ack. The gateway's MQTT client implements it; Publish
// returns once the broker has accepted the message (QoS 1).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte) error
}

// Options tune a Gateway. The zero value gives sane defaults.
type Options struct {
	// Workers is how many batches are committed at once. Batches of one
	// station always go to the same worker, so they commit in order.
	Workers int
	// QueueDepth is how many batches wait per worker before new ones are
	// dropped (the kiosk sends them again).
	QueueDepth int
	// StationRate and StationBurst limit each station's batches per second,
	// so one misbehaving kiosk cannot starve the others.
	StationRate  float64
	StationBurst float64
	// StoreRetries is how often a failed commit is retried before the batch
	// is dropped unacknowledged (the kiosk sends it again).
	StoreRetries int
	// StationFailures bounds how often in a row one station's batch may
	// fail to commit while other stations' batches commit: past it, the
	// failure is taken to be about that batch's data, and its records are
	// committed one part at a time, the ones that still fail refused. It
	// keeps one bad record from being sent again forever.
	StationFailures int
	// AckKey, with its ID AckKeyID, signs every ack (the cloud's config
	// key, which kiosks trust from their bundle). Without it acks go
	// unsigned, which only a kiosk without a bundle accepts.
	AckKey   ed25519.PrivateKey
	AckKeyID string
	// AckHours is how many volunteers' counted hours one ack carries at
	// most (see Gateway.hours). Zero means 32.
	AckHours int
	Logger   *slog.Logger
	Metrics  *Metrics
	// Now is the gateway's clock; tests replace it.
	Now func() time.Time
}

func (o *Options) fill() {
	if o.Workers <= 0 {
		// Concurrent commits let PostgreSQL group them into fewer log
		// flushes; 8 measured best on 2 cores (make bench).
		o.Workers = 8
	}
	if o.QueueDepth <= 0 {
		o.QueueDepth = 64
	}
	if o.StationRate <= 0 {
		o.StationRate = 50
	}
	if o.StationBurst <= 0 {
		o.StationBurst = 2 * o.StationRate
	}
	if o.StoreRetries <= 0 {
		o.StoreRetries = 3
	}
	if o.StationFailures <= 0 {
		o.StationFailures = 3
	}
	if o.AckHours <= 0 {
		o.AckHours = 32
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Gateway validates, commits and acknowledges record batches. Feed it with
// HandleRecords and HandleState (its MQTT client does); Run commits.
type Gateway struct {
	store  Store
	pub    Publisher
	opt    Options
	queues []chan message
	limit  *limiter

	mu     sync.Mutex
	online map[string]bool

	// failMu guards failing and lastOK, which bound one station's
	// retries (Options.StationFailures).
	failMu  sync.Mutex
	failing map[string]*failure
	lastOK  time.Time
}

// failure is a station whose batches keep failing to commit.
type failure struct {
	count int
	since time.Time
}

type message struct {
	station  string
	payload  []byte
	received time.Time
	// done, if set, is told what became of the batch (Submit).
	done func(Outcome)
}

func (m *message) settle(o Outcome) {
	if m.done != nil {
		m.done(o)
	}
}

// Outcome is what became of a batch handed to Submit: what its durable
// queue should do with it.
type Outcome int

const (
	// Committed: its records are stored (now or before) and the kiosk's
	// ack was sent. Take it off the queue.
	Committed Outcome = iota
	// Dropped: refused for good (malformed, too large, over its station's
	// rate). Take it off the queue; the kiosk sends what it still holds
	// again, as it does after any lost batch.
	Dropped
	// Retry: not stored (the database failed, the gateway is stopping).
	// Deliver it again later.
	Retry
)

func (o Outcome) String() string {
	switch o {
	case Committed:
		return "committed"
	case Dropped:
		return "dropped"
	case Retry:
		return "retry"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// New returns a gateway that commits to store and acks through pub; pub
// may be nil when Connect is to provide it.
func New(store Store, pub Publisher, opt Options) *Gateway {
	opt.fill()
	g := &Gateway{
		store:   store,
		pub:     pub,
		opt:     opt,
		limit:   newLimiter(opt.StationRate, opt.StationBurst),
		online:  make(map[string]bool),
		failing: make(map[string]*failure),
	}
	for range opt.Workers {
		g.queues = append(g.queues, make(chan message, opt.QueueDepth))
	}
	return g
}

// Run commits queued batches until ctx is done. It returns after every
// worker stopped.
func (g *Gateway) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, q := range g.queues {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-q:
					g.process(ctx, m)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// HandleRecords takes a message received on a stations/{id}/records topic.
// It never blocks on the database: the batch is queued for its station's
// worker, or dropped with a counted reason when it cannot be.
func (g *Gateway) HandleRecords(topic string, payload []byte) {
	now := g.opt.Now()
	station, ok := g.admit(topic, payload, now)
	if !ok {
		return
	}
	select {
	case g.queues[worker(station, len(g.queues))] <- message{station: station, payload: payload, received: now}:
	default:
		g.rejectBatch(station, "overloaded", errors.New("worker queue full"))
	}
}

// Submit takes a batch from a durable queue (a JetStream consumer), which
// keeps it until done says what became of it. Unlike HandleRecords it
// waits for room in its station's worker queue, so the queue's consumer
// slows down with the database instead of dropping batches. received is
// when the queue took the batch from the kiosk: a batch that waited there
// is still time-corrected from the moment it was sent. Submit returns
// ctx's error, without calling done, when ctx ends first; otherwise done
// is called exactly once, on a worker (or at once for a batch refused
// before it was queued), unless the gateway stops first.
func (g *Gateway) Submit(ctx context.Context, topic string, payload []byte, received time.Time, done func(Outcome)) error {
	station, ok := g.admit(topic, payload, g.opt.Now())
	if !ok {
		done(Dropped)
		return nil
	}
	select {
	case g.queues[worker(station, len(g.queues))] <- message{station: station, payload: payload, received: received, done: done}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admit checks a records message's topic, size and its station's rate,
// and returns the station; a message it refuses is counted and logged.
func (g *Gateway) admit(topic string, payload []byte, now time.Time) (string, bool) {
	station, leaf, err := wire.ParseStationTopic(topic)
	if err == nil && leaf != wire.LeafRecords {
		err = fmt.Errorf("%w: records handler got leaf %q", wire.ErrInvalid, leaf)
	}
	if err != nil {
		g.rejectBatch("", "topic", err)
		return "", false
	}
	if len(payload) > wire.MaxMessageBytes {
		g.rejectBatch(station, wire.Reason(wire.ErrTooLarge), fmt.Errorf("%w: %d bytes", wire.ErrTooLarge, len(payload)))
		return "", false
	}
	if !g.limit.allow(station, now) {
		g.rejectBatch(station, "rate_limited", errors.New("station sends faster than its limit"))
		return "", false
	}
	return station, true
}

func worker(station string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(station))
	return int(h.Sum32() % uint32(n))
}

func (g *Gateway) rejectBatch(station, reason string, err error) {
	g.opt.Metrics.BatchesRejected.WithLabelValues(reason).Inc()
	g.opt.Logger.Warn("batch rejected", "station", station, "reason", reason, "err", err)
}

// process decodes one batch, commits it and acks it.
func (g *Gateway) process(ctx context.Context, m message) {
	log := g.opt.Logger.With("station", m.station)
	b, bad, err := wire.DecodeBatch(m.payload, m.station)
	if err != nil {
		g.rejectBatch(m.station, wire.Reason(err), err)
		m.settle(Dropped)
		return
	}
	for _, r := range bad {
		g.opt.Metrics.RecordsRejected.Inc()
		log.Warn("record rejected", "record", r.ID, "reason", r.Reason)
	}
	entries := Correct(b, m.received)
	start := time.Now()
	inserted, refused, err := g.commit(ctx, log, m.station, entries)
	if err != nil {
		// Unacknowledged, the batch stays in the kiosk's outbox and comes
		// again; nothing is lost by dropping it here.
		g.rejectBatch(m.station, "store_error", err)
		m.settle(Retry)
		return
	}
	if len(refused) > 0 {
		gone := make(map[string]bool, len(refused))
		for _, r := range refused {
			gone[r.ID] = true
		}
		kept := entries[:0]
		for _, e := range entries {
			if !gone[e.ID] {
				kept = append(kept, e)
			}
		}
		entries = kept
		bad = append(bad, refused...)
	}
	audit, _ := g.store.(Auditor)
	if audit != nil {
		// Before the ack: a check that failed is done again when the
		// kiosk resends, so no clone goes unnoticed.
		alerts, err := audit.CheckClones(ctx, entries)
		if err != nil {
			g.rejectBatch(m.station, "store_error", fmt.Errorf("clone check: %w", err))
			m.settle(Retry)
			return
		}
		if alerts > 0 {
			g.opt.Metrics.CloneAlerts.Add(float64(alerts))
			log.Warn("clone alert: an NTAG 424 DNA counter repeated or went back", "alerts", alerts)
		}
	}
	committed := time.Now()
	g.opt.Metrics.CommitSeconds.Observe(committed.Sub(start).Seconds())
	g.opt.Metrics.RecordsIngested.Add(float64(inserted))
	g.opt.Metrics.RecordsDuplicate.Add(float64(len(entries) - inserted))

	now := g.opt.Now().UTC()
	ack := &wire.Ack{Station: m.station, IDs: make([]string, len(entries)), Rejected: bad, Server: now}
	for i := range entries {
		ack.IDs[i] = entries[i].ID
	}
	if audit != nil {
		ack.Hours = g.hours(ctx, log, audit, m.station, entries, now)
	}
	var data []byte
	if g.opt.AckKey != nil {
		data, err = wire.SealAck(g.opt.AckKey, g.opt.AckKeyID, ack)
	} else {
		data, err = wire.EncodeAck(ack)
	}
	if err == nil {
		err = g.pub.Publish(ctx, wire.StationTopic(m.station, wire.LeafAck), data)
	}
	// Settled before the ack is known to have gone out: the records are
	// stored, and a kiosk that misses the ack sends them again, to be
	// acked as duplicates.
	m.settle(Committed)
	if err != nil {
		log.Warn("ack not published", "err", err)
		return
	}
	g.opt.Metrics.AckSeconds.Observe(time.Since(committed).Seconds())
	log.Debug("batch committed", "records", len(entries), "new", inserted, "rejected", len(bad))
}

// hours is the counted hours of the volunteers in entries, for the ack.
// They are a courtesy to the kiosk's screen: when they cannot be had
// quickly the ack goes without them rather than late. Counting reads
// every session of a volunteer, so a batch names at most AckHours of
// them: those whose sessions closed in it first (their count changed),
// the latest first. A live station's batch holds a tap or two and is
// covered whole; a week's backlog brings the rest at their next tap.
//
// Only volunteers the station knew before this batch are told: listed for
// it, or with a check-in there in an earlier batch (Auditor.KnownBefore).
// Otherwise a stolen kiosk could send a batch naming any volunteer IDs and
// read their hours from the ack. With the rule, learning a stranger's
// hours first takes a forged check-in at this station, which is stored,
// attributed to the station and shown to a person, before the next batch
// can ask. A real volunteer loses nothing at a live station: the check-in
// is acked on its own (it carries no new hours), and by the check-out the
// station knows them. Only a first visit that reaches the cloud in one
// backlog batch goes without hours in its ack; they come with the next tap
// or the roster.
func (g *Gateway) hours(ctx context.Context, log *slog.Logger, audit Auditor, station string, entries []Entry, now time.Time) []wire.CountedHours {
	var order []string
	seen := map[string]bool{}
	for _, closing := range []bool{true, false} {
		for i := len(entries) - 1; i >= 0; i-- {
			e := &entries[i]
			if e.Volunteer != "" && !seen[e.Volunteer] && e.Kind.Closes() == closing {
				seen[e.Volunteer] = true
				order = append(order, e.Volunteer)
			}
		}
	}
	if len(order) == 0 {
		return nil
	}
	// Bounded work per batch whatever its size: a backlog batch names
	// hundreds of volunteers, and asking the store about each would hold
	// the worker (and every station hashed to it) for the ack's courtesy.
	// Twice AckHours leaves room for candidates the station did not know.
	if n := 2 * g.opt.AckHours; len(order) > n {
		order = order[:n]
	}
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	known, err := audit.KnownBefore(hctx, station, order, entries)
	if err != nil {
		log.Warn("hours not counted for the ack", "err", err)
		return nil
	}
	var vols []string
	for _, v := range order {
		if known[v] && len(vols) < g.opt.AckHours {
			vols = append(vols, v)
		}
	}
	if len(vols) == 0 {
		return nil
	}
	counted, err := audit.CountedHours(hctx, vols)
	if err != nil {
		log.Warn("hours not counted for the ack", "err", err)
		return nil
	}
	out := make([]wire.CountedHours, 0, len(vols))
	for _, v := range vols {
		out = append(out, wire.CountedHours{Volunteer: v, Hours: counted[v], AsOf: now})
	}
	return out
}

// commit stores entries and returns how many were new and which the
// database refused (kept aside with Store.Refuse, their IDs to be acked as
// rejected). A failure that is not about the data is retried a few times,
// then returned, and the kiosk sends the batch again; but a station whose
// batches keep failing while other stations' commit is taken to be sending
// data the database refuses, so its retries are bounded.
func (g *Gateway) commit(ctx context.Context, log *slog.Logger, station string, entries []Entry) (int, []wire.Rejection, error) {
	var (
		inserted int
		err      error
	)
	for try := 0; ; try++ {
		inserted, err = g.store.Ingest(ctx, entries)
		if err == nil || errors.Is(err, ErrRefused) || try+1 >= g.opt.StoreRetries || ctx.Err() != nil {
			break
		}
		log.Warn("commit failed, retrying", "err", err, "try", try+1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100<<(2*try)) * time.Millisecond):
		}
	}
	if err == nil {
		g.succeeded(station)
		return inserted, nil, nil
	}
	force := false
	if !errors.Is(err, ErrRefused) {
		if force = g.failed(station); !force {
			return 0, nil, err
		}
		log.Warn("station's batch keeps failing while others commit: storing it in parts", "err", err)
	}
	inserted, refused, err := g.isolate(ctx, log, entries, err, force)
	if err != nil {
		return 0, nil, err
	}
	g.succeeded(station)
	return inserted, refused, nil
}

// isolate commits entries, which failed together with cause, in halves,
// down to the single entries that fail alone; those it refuses. With
// force, any error of a part is taken to be about its data; without, only
// ErrRefused is, and another error ends the attempt (the database itself
// is failing: nothing is refused then).
func (g *Gateway) isolate(ctx context.Context, log *slog.Logger, entries []Entry, cause error, force bool) (int, []wire.Rejection, error) {
	if len(entries) == 1 {
		e := entries[0]
		reason := refusal(cause)
		if err := g.store.Refuse(ctx, e, reason); err != nil {
			return 0, nil, fmt.Errorf("keeping refused record %s: %w", e.ID, err)
		}
		g.opt.Metrics.RecordsRefused.Inc()
		log.Warn("record refused by the database", "record", e.ID, "reason", reason)
		return 0, []wire.Rejection{{ID: e.ID, Reason: reason}}, nil
	}
	var (
		inserted int
		refused  []wire.Rejection
	)
	mid := len(entries) / 2
	for _, part := range [][]Entry{entries[:mid], entries[mid:]} {
		n, err := g.store.Ingest(ctx, part)
		if err != nil && (force || errors.Is(err, ErrRefused)) && ctx.Err() == nil {
			var r []wire.Rejection
			n, r, err = g.isolate(ctx, log, part, err, force)
			refused = append(refused, r...)
		}
		if err != nil {
			return 0, nil, err
		}
		inserted += n
	}
	return inserted, refused, nil
}

// refusal is the reason sent to the kiosk and kept with a refused record:
// the database's message, in valid UTF-8, within a rejection's length.
func refusal(err error) string {
	r := strings.ToValidUTF8(strings.ReplaceAll(err.Error(), "\x00", ""), "?")
	if len(r) > 200 {
		r = strings.ToValidUTF8(r[:200], "")
	}
	return "database_refused: " + r
}

// succeeded notes a commit of station's: it is no longer failing, and the
// database is known to work.
func (g *Gateway) succeeded(station string) {
	g.failMu.Lock()
	defer g.failMu.Unlock()
	delete(g.failing, station)
	g.lastOK = time.Now()
}

// failed notes a failed commit of station's and reports whether the
// station has now failed StationFailures times in a row while another
// commit succeeded since its first failure.
func (g *Gateway) failed(station string) bool {
	g.failMu.Lock()
	defer g.failMu.Unlock()
	f := g.failing[station]
	if f == nil {
		f = &failure{since: time.Now()}
		g.failing[station] = f
	}
	f.count++
	return f.count >= g.opt.StationFailures && g.lastOK.After(f.since)
}

// Correct gives each record of b the best time available. A record made
// while the kiosk's clock was unsynced is placed by its monotonic clock
// relative to the batch's sending clock, which the gateway knows to have
// been about received on its own clock; that works within one boot only.
func Correct(b *wire.Batch, received time.Time) []Entry {
	entries := make([]Entry, len(b.Records))
	for i, r := range b.Records {
		e := Entry{Record: r, Time: r.At, Received: received}
		if !r.ClockSynced {
			if r.Boot == b.Sent.Boot && r.Mono <= b.Sent.Mono {
				e.Time = received.Add(-time.Duration(b.Sent.Mono - r.Mono))
				e.ClockFlag = ClockCorrected
			} else {
				e.ClockFlag = ClockUncorrected
			}
		}
		e.Time = e.Time.UTC()
		entries[i] = e
	}
	return entries
}

// HandleState takes a station's retained state (or its last will) and
// stores it.
func (g *Gateway) HandleState(ctx context.Context, topic string, payload []byte) {
	station, _, err := wire.ParseStationTopic(topic)
	if err != nil {
		g.opt.Metrics.StatesRejected.Inc()
		return
	}
	if len(payload) == 0 {
		return // a cleared retained message
	}
	st, err := wire.DecodeState(payload, station)
	if err != nil {
		g.opt.Metrics.StatesRejected.Inc()
		g.opt.Logger.Warn("state rejected", "station", station, "reason", wire.Reason(err), "err", err)
		return
	}
	if err := g.store.SaveState(ctx, st, g.opt.Now()); err != nil {
		g.opt.Logger.Warn("state not saved", "station", station, "err", err)
	}
	g.mu.Lock()
	g.online[station] = st.Online
	n := 0
	for _, on := range g.online {
		if on {
			n++
		}
	}
	g.mu.Unlock()
	g.opt.Metrics.StationsOnline.Set(float64(n))
}

// limiter is a token bucket per station.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: make(map[string]*bucket)}
}

func (l *limiter) allow(station string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[station]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[station] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
