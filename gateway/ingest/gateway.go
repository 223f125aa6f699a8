package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
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
	Logger       *slog.Logger
	Metrics      *Metrics
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
}

type message struct {
	station  string
	payload  []byte
	received time.Time
}

// New returns a gateway that commits to store and acks through pub; pub
// may be nil when Connect is to provide it.
func New(store Store, pub Publisher, opt Options) *Gateway {
	opt.fill()
	g := &Gateway{
		store:  store,
		pub:    pub,
		opt:    opt,
		limit:  newLimiter(opt.StationRate, opt.StationBurst),
		online: make(map[string]bool),
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
	station, leaf, err := wire.ParseStationTopic(topic)
	if err == nil && leaf != wire.LeafRecords {
		err = fmt.Errorf("%w: records handler got leaf %q", wire.ErrInvalid, leaf)
	}
	if err != nil {
		g.rejectBatch("", "topic", err)
		return
	}
	if len(payload) > wire.MaxMessageBytes {
		g.rejectBatch(station, wire.Reason(wire.ErrTooLarge), fmt.Errorf("%w: %d bytes", wire.ErrTooLarge, len(payload)))
		return
	}
	if !g.limit.allow(station, now) {
		g.rejectBatch(station, "rate_limited", errors.New("station sends faster than its limit"))
		return
	}
	select {
	case g.queues[worker(station, len(g.queues))] <- message{station: station, payload: payload, received: now}:
	default:
		g.rejectBatch(station, "overloaded", errors.New("worker queue full"))
	}
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
		return
	}
	for _, r := range bad {
		g.opt.Metrics.RecordsRejected.Inc()
		log.Warn("record rejected", "record", r.ID, "reason", r.Reason)
	}
	entries := Correct(b, m.received)
	start := time.Now()
	var inserted int
	for try := 0; ; try++ {
		inserted, err = g.store.Ingest(ctx, entries)
		if err == nil || try+1 >= g.opt.StoreRetries || ctx.Err() != nil {
			break
		}
		log.Warn("commit failed, retrying", "err", err, "try", try+1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100<<(2*try)) * time.Millisecond):
		}
	}
	if err != nil {
		// Unacknowledged, the batch stays in the kiosk's outbox and comes
		// again; nothing is lost by dropping it here.
		g.rejectBatch(m.station, "store_error", err)
		return
	}
	committed := time.Now()
	g.opt.Metrics.CommitSeconds.Observe(committed.Sub(start).Seconds())
	g.opt.Metrics.RecordsIngested.Add(float64(inserted))
	g.opt.Metrics.RecordsDuplicate.Add(float64(len(entries) - inserted))

	ack := &wire.Ack{Station: m.station, IDs: make([]string, len(entries)), Rejected: bad, Server: g.opt.Now().UTC()}
	for i := range entries {
		ack.IDs[i] = entries[i].ID
	}
	data, err := wire.EncodeAck(ack)
	if err == nil {
		err = g.pub.Publish(ctx, wire.StationTopic(m.station, wire.LeafAck), data)
	}
	if err != nil {
		// The records are stored; the kiosk sends them again and the
		// duplicate is acked then.
		log.Warn("ack not published", "err", err)
		return
	}
	g.opt.Metrics.AckSeconds.Observe(time.Since(committed).Seconds())
	log.Debug("batch committed", "records", len(entries), "new", inserted, "rejected", len(bad))
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
