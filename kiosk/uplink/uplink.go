// Package uplink drains the kiosk's outbox to the cloud over MQTT and
// reports the station's state.
//
// The outbox, not the MQTT client, is the truth about delivery: a record
// leaves the outbox only when the gateway's ack names it, which the gateway
// publishes after its database commit. A publish token only says the broker
// took the message. So the uplink sends one batch at a time, oldest records
// first, and sends the head of the outbox again after a timeout or a
// reconnect; the gateway stores each record ID once, so a resend is
// harmless and strict per-station order holds.
//
// With AckKeys (the cloud's config keys from the station's bundle) only an
// ack sealed by one of them deletes anything: a broker that is compromised
// can withhold acks, which only delays, but cannot forge one that empties
// the outbox of records never stored.
package uplink

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"leifeng/gateway/wire"
	"leifeng/kiosk/clock"
	"leifeng/kiosk/store"
)

// Defaults for Config.
const (
	DefaultAckTimeout    = 10 * time.Second
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultStateDebounce = time.Second
)

// Config sets up an Uplink.
type Config struct {
	// Broker is the broker's URL, e.g. tcp://127.0.0.1:1883, or several
	// separated by commas: the nodes of a broker cluster, any of which
	// serves the kiosk. They are tried in turn, starting from a random one
	// so that a fleet spreads over the nodes, and the next is tried as
	// soon as one refuses or drops the connection.
	Broker string
	// Station is this kiosk's station ID; it is also the MQTT client ID,
	// which keeps the broker session (and its queued acks) across
	// reconnects.
	Station  string
	Username string
	Password string
	// TLS is used for an ssl:// broker (CA and client certificate).
	TLS *tls.Config
	// AckKeys are the keys an ack must be sealed with (the cloud's config
	// keys, from the bundle); an ack that is unsigned or does not verify
	// is ignored and logged. Without keys (a kiosk with no bundle, in
	// development) plain acks are obeyed.
	AckKeys map[string]ed25519.PublicKey
	// AckTimeout is how long to wait for the ack of a batch before sending
	// it again. Zero means DefaultAckTimeout.
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// connection attempts. Zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// StateDebounce gathers state changes (outbox depth while draining)
	// into one retained state message per period. Zero means
	// DefaultStateDebounce.
	StateDebounce time.Duration
	// MaxBatch caps the records per batch; zero or more than
	// wire.MaxBatchRecords means wire.MaxBatchRecords.
	MaxBatch int
	// Firmware is the version string reported in the station state.
	Firmware string
	// Clock stamps each batch and state; nil means the system clock.
	Clock clock.Clock
	// Logger receives connection and delivery events; nil means
	// slog.Default().
	Logger *slog.Logger
	// DownlinkQoS0 subscribes to acks, configs and commands at QoS 0
	// instead of 1. On a NATS cluster every QoS 1 subscription is a
	// JetStream consumer, and ten thousand kiosks with four each are more
	// than a cluster handles well; at QoS 0 they make none. Nothing is
	// lost that matters: an ack missed while the link was down is made
	// good by the resend that follows every reconnection, configs are
	// retained and come again with every subscription, and a command
	// sent while the kiosk was offline is reported unanswered (send it
	// again). NATS delivers the gateway's acks at QoS 0 in any case.
	DownlinkQoS0 bool
	// Inbox, if set, receives what the cloud sends besides acks: the
	// station's and the fleet's retained config and the station's
	// commands. The uplink subscribes to those topics only when it is set.
	Inbox Inbox
	// Report, if set, fills the configuration and command fields of each
	// state the uplink publishes.
	Report func(*wire.State)
	// Acked, if set, is told of every ack that took records out of the
	// outbox, after they left it (durably), on the uplink's goroutine: it
	// must return promptly. leifeng-loadgen times taps to their ack by it.
	Acked func(*wire.Ack)
}

// Inbox takes configs and commands as they arrive. Message runs on the MQTT
// client's goroutine: it must return promptly (a bbolt write is fine).
type Inbox interface {
	Message(topic string, payload []byte)
}

// Uplink connects to the broker and drains the outbox. Create it with New
// and run it with Run.
type Uplink struct {
	cfg Config
	st  *store.Store
	log *slog.Logger

	ackTopic, recordsTopic, stateTopic string
	// brokers is Config.Broker split; next is the one the next
	// connection attempt dials. Both belong to Run.
	brokers []string
	next    int

	acks        chan *wire.Ack
	readerDirty chan struct{}
	resync      chan struct{}

	mu     sync.Mutex
	reader string
	// online is true while a session is up (connected and subscribed);
	// linkCh is closed and replaced each time online changes. Both are
	// guarded by mu: Run's goroutine writes them, anyone reads.
	online bool
	linkCh chan struct{}
	// acked is the cloud's confirmations so far; guarded by mu.
	acked Acked
}

// Acked describes the cloud's confirmations of this run: the last ack
// that took records out of the outbox, and all of them since start.
type Acked struct {
	// At is when the last such ack was applied (the kiosk's clock); zero
	// before the first.
	At time.Time
	// Batch is how many records that ack took out of the outbox (stored
	// ones deleted, rejected ones moved aside).
	Batch int
	// Total is how many records acks took out since the uplink started.
	Total int
}

// New returns an Uplink for st. It does not connect; Run does.
func New(st *store.Store, cfg Config) (*Uplink, error) {
	if !wire.ValidStationID(cfg.Station) {
		return nil, fmt.Errorf("uplink: bad station ID %q", cfg.Station)
	}
	brokers := SplitBrokers(cfg.Broker)
	if len(brokers) == 0 {
		return nil, errors.New("uplink: no broker URL")
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.StateDebounce <= 0 {
		cfg.StateDebounce = DefaultStateDebounce
	}
	if cfg.MaxBatch <= 0 || cfg.MaxBatch > wire.MaxBatchRecords {
		cfg.MaxBatch = wire.MaxBatchRecords
	}
	if cfg.Clock == nil {
		sys, err := clock.NewSystem()
		if err != nil {
			return nil, fmt.Errorf("uplink: %w", err)
		}
		cfg.Clock = sys
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(cfg.AckKeys) == 0 {
		log.Warn("no cloud key: acks are obeyed unverified (run with the station's --bundle)", "station", cfg.Station)
	}
	return &Uplink{
		cfg:          cfg,
		st:           st,
		log:          log.With("station", cfg.Station),
		ackTopic:     wire.StationTopic(cfg.Station, wire.LeafAck),
		recordsTopic: wire.StationTopic(cfg.Station, wire.LeafRecords),
		stateTopic:   wire.StationTopic(cfg.Station, wire.LeafState),
		brokers:      brokers,
		next:         rand.N(len(brokers)),
		// Acks are few (one batch is in flight); the buffer only absorbs
		// duplicates from resends. A full buffer drops an ack, which a
		// resend recovers.
		acks:        make(chan *wire.Ack, 64),
		readerDirty: make(chan struct{}, 1),
		resync:      make(chan struct{}, 1),
		reader:      wire.ReaderAbsent,
		linkCh:      make(chan struct{}),
	}, nil
}

// Online reports whether the uplink holds a working connection to the
// broker: connected and subscribed to its acks. It is false before Run
// connects, while Run waits to retry, and after Run returns.
func (u *Uplink) Online() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.online
}

// Link returns the connection state now and a channel that is closed at
// its next change; call Link again after the channel closes. A watcher
// never misses a change and never blocks the uplink.
func (u *Uplink) Link() (online bool, changed <-chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.online, u.linkCh
}

// setOnline records the connection state and wakes the watchers when it
// changed.
func (u *Uplink) setOnline(online bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.online == online {
		return
	}
	u.online = online
	close(u.linkCh)
	u.linkCh = make(chan struct{})
}

// LastAck reports the last acknowledged batch and the total since start:
// what the outbox really lost to acks, not a guess from its depth (which a
// tap made at the same moment would hide).
func (u *Uplink) LastAck() Acked {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.acked
}

// Refresh publishes the station state again soon (within StateDebounce),
// after something Report fills in changed.
func (u *Uplink) Refresh() {
	select {
	case u.readerDirty <- struct{}{}:
	default:
	}
}

// Resync sends the head of the outbox again now, without waiting for the
// ack timeout; the outbox then drains as usual, so everything not yet
// acknowledged is sent again (the resync command).
func (u *Uplink) Resync() {
	select {
	case u.resync <- struct{}{}:
	default:
	}
}

// SetReader reports the card reader's health (wire.ReaderOK, ...) in the
// station state.
func (u *Uplink) SetReader(health string) {
	u.mu.Lock()
	changed := u.reader != health
	u.reader = health
	u.mu.Unlock()
	if changed {
		select {
		case u.readerDirty <- struct{}{}:
		default:
		}
	}
}

func (u *Uplink) state(online bool) []byte {
	u.mu.Lock()
	health := u.reader
	u.mu.Unlock()
	st := &wire.State{
		Station: u.cfg.Station, Online: online, Firmware: u.cfg.Firmware,
		Outbox: u.st.Depth(), Reader: health, Clock: u.cfg.Clock.Now(),
	}
	if u.cfg.Report != nil {
		u.cfg.Report(st)
	}
	data, err := wire.EncodeState(st)
	if err != nil {
		// A State of plain fields always marshals.
		panic(fmt.Sprintf("uplink: encode state: %v", err))
	}
	return data
}

// Run connects and keeps the outbox draining until ctx is done, retrying a
// broker that is down (at start or later) forever with jittered
// exponential backoff. On the way out it publishes the offline state and
// disconnects cleanly. It returns ctx's error.
func (u *Uplink) Run(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		broker := u.brokers[u.next]
		// A node that refused or dropped us is likely down: the next
		// attempt goes to the next one.
		u.next = (u.next + 1) % len(u.brokers)
		lost := make(chan error, 1)
		client := mqtt.NewClient(u.options(broker, lost))
		err := u.connect(ctx, broker, client)
		held := false
		if err == nil {
			attempt = 0
			u.log.Info("uplink connected", "broker", broker, "outbox", u.st.Depth())
			began := time.Now()
			err = u.session(ctx, client, lost)
			held = time.Since(began) > u.cfg.MaxBackoff
			if ctx.Err() != nil {
				u.goOffline(client)
				return ctx.Err()
			}
			client.Disconnect(0)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := u.backoff(attempt)
		if held && len(u.brokers) > 1 {
			// A session that worked for a while ended: its node is
			// likely down and another up. One that ends at once (a node
			// that takes the connection and refuses the rest) waits as
			// usual, or kiosks would spin round the nodes.
			wait = 0
		}
		u.log.Warn("uplink down, retrying", "broker", broker, "err", err, "in", wait.Round(time.Millisecond), "outbox", u.st.Depth())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// backoff is the wait before connection attempt n+1: exponential from
// MinBackoff to MaxBackoff, jittered to half to full so that kiosks cut
// off together (a broker restart) do not all come back in one instant.
func (u *Uplink) backoff(n int) time.Duration {
	d := u.cfg.MaxBackoff
	if n < 30 {
		d = min(u.cfg.MinBackoff<<n, u.cfg.MaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

func (u *Uplink) options(broker string, lost chan<- error) *mqtt.ClientOptions {
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(u.cfg.Station).
		SetCleanSession(false).
		SetUsername(u.cfg.Username).
		SetPassword(u.cfg.Password).
		SetTLSConfig(u.dialTLS(broker)).
		// Reconnection is Run's loop: it owns the backoff, and each
		// connection gets a fresh last will carrying the current depth.
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(5*time.Second).
		SetKeepAlive(30*time.Second).
		SetPingTimeout(10*time.Second).
		SetWill(u.stateTopic, string(u.state(false)), 1, true).
		// Acks queued by the broker for our persistent session may arrive
		// before Subscribe returns; they land here.
		SetDefaultPublishHandler(u.route).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	return opts
}

// connect waits for the connection or ctx.
func (u *Uplink) connect(ctx context.Context, broker string, client mqtt.Client) error {
	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// The attempt ends within ConnectTimeout; wait so that no paho
		// goroutine outlives Run.
		<-tok.Done()
		if tok.Error() == nil {
			client.Disconnect(0)
		}
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("connect %s: %w", broker, err)
	}
	return nil
}

// goOffline says goodbye: a clean disconnect suppresses the last will, so
// the offline state is published by hand first.
func (u *Uplink) goOffline(client mqtt.Client) {
	tok := client.Publish(u.stateTopic, 1, true, u.state(false))
	tok.WaitTimeout(time.Second)
	client.Disconnect(250)
	u.log.Info("uplink disconnected", "outbox", u.st.Depth())
}

// route runs on paho's goroutine: acks go to the session, configs and
// commands to the Inbox.
func (u *Uplink) route(c mqtt.Client, m mqtt.Message) {
	if m.Topic() == u.ackTopic {
		u.onAck(c, m)
		return
	}
	if _, ok := u.inboxTopics()[m.Topic()]; ok && u.cfg.Inbox != nil {
		u.cfg.Inbox.Message(m.Topic(), m.Payload())
		return
	}
	u.log.Warn("message on unexpected topic ignored", "topic", m.Topic())
}

// inboxTopics are the topics the Inbox takes, with their QoS.
func (u *Uplink) inboxTopics() map[string]byte {
	q := u.downQoS()
	return map[string]byte{
		wire.StationTopic(u.cfg.Station, wire.LeafConfig):   q,
		wire.StationTopic(u.cfg.Station, wire.LeafCommands): q,
		wire.FleetConfigTopic:                               q,
	}
}

// downQoS is the QoS of the kiosk's subscriptions (Config.DownlinkQoS0).
func (u *Uplink) downQoS() byte {
	if u.cfg.DownlinkQoS0 {
		return 0
	}
	return 1
}

// SplitBrokers splits a comma-separated list of broker URLs, dropping
// blanks.
func SplitBrokers(list string) []string {
	var out []string
	for _, b := range strings.Split(list, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// onAck only verifies, decodes and hands over, never blocks.
func (u *Uplink) onAck(_ mqtt.Client, m mqtt.Message) {
	var (
		ack *wire.Ack
		err error
	)
	if len(u.cfg.AckKeys) > 0 {
		ack, err = wire.OpenAck(m.Payload(), u.cfg.Station, u.cfg.AckKeys)
	} else {
		ack, err = wire.DecodeAck(m.Payload(), u.cfg.Station)
	}
	if errors.Is(err, wire.ErrSignature) {
		u.log.Warn("unsigned or forged ack ignored: nothing deleted from the outbox", "err", err, "reason", wire.Reason(err))
		return
	}
	if err != nil {
		u.log.Warn("bad ack ignored", "err", err, "reason", wire.Reason(err))
		return
	}
	select {
	case u.acks <- ack:
	default:
		u.log.Warn("ack dropped, the batch will be resent", "ids", len(ack.IDs))
	}
}

// inflight is the batch awaiting its ack.
type inflight struct {
	ids     map[string]bool
	first   string
	retries int
}

// session drains the outbox over one connection until it is lost or ctx is
// done.
func (u *Uplink) session(ctx context.Context, client mqtt.Client, lost <-chan error) error {
	filters := map[string]byte{u.ackTopic: u.downQoS()}
	if u.cfg.Inbox != nil {
		for topic, qos := range u.inboxTopics() {
			filters[topic] = qos
		}
	}
	sub := client.SubscribeMultiple(filters, u.route)
	if !sub.WaitTimeout(u.cfg.AckTimeout) {
		return fmt.Errorf("subscribe %s: no answer in %s", u.ackTopic, u.cfg.AckTimeout)
	}
	if err := sub.Error(); err != nil {
		return fmt.Errorf("subscribe %s: %w", u.ackTopic, err)
	}
	client.Publish(u.stateTopic, 1, true, u.state(true))
	u.setOnline(true)
	defer u.setOnline(false)

	ackTimer := time.NewTimer(u.cfg.AckTimeout)
	ackTimer.Stop()
	defer ackTimer.Stop()
	stateTimer := time.NewTimer(u.cfg.StateDebounce)
	stateTimer.Stop()
	defer stateTimer.Stop()
	stateDue := false
	markState := func() {
		if !stateDue {
			stateDue = true
			stateTimer.Reset(u.cfg.StateDebounce)
		}
	}

	var cur *inflight
	// send publishes the head of the outbox: on a new connection and after
	// a timeout that is a resend of whatever was in flight.
	send := func() error {
		retries := 0
		if cur != nil {
			retries = cur.retries + 1
		}
		cur = nil
		b, err := u.publishHead(client)
		if err != nil || b == nil {
			return err
		}
		b.retries = retries
		cur = b
		ackTimer.Reset(u.cfg.AckTimeout)
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-u.st.Appended():
			markState()
			if cur == nil {
				if err := send(); err != nil {
					return err
				}
			}
		case ack := <-u.acks:
			if u.apply(ack, cur) > 0 {
				markState()
			}
			if cur != nil && len(cur.ids) == 0 {
				cur = nil
				if err := send(); err != nil {
					return err
				}
			}
		case <-ackTimer.C:
			if cur != nil {
				u.log.Warn("no ack in time, resending", "record", cur.first, "records", len(cur.ids), "retry", cur.retries+1)
				if err := send(); err != nil {
					return err
				}
			}
		case <-u.readerDirty:
			markState()
		case <-u.resync:
			u.log.Info("resync: sending the outbox again", "outbox", u.st.Depth())
			if err := send(); err != nil {
				return err
			}
		case <-stateTimer.C:
			stateDue = false
			client.Publish(u.stateTopic, 1, true, u.state(true))
		}
	}
}

// publishHead publishes the oldest records as one batch and returns it, or
// nil if the outbox is empty.
func (u *Uplink) publishHead(client mqtt.Client) (*inflight, error) {
	recs, err := u.st.Oldest(u.cfg.MaxBatch)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	var data []byte
	n := len(recs)
	for {
		data, err = wire.EncodeBatch(&wire.Batch{Station: u.cfg.Station, Sent: u.cfg.Clock.Now(), Records: recs[:n]})
		if errors.Is(err, wire.ErrTooLarge) && n > 1 {
			// Records with long notes: halve until the batch fits.
			n /= 2
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("encode batch from seq %d: %w", recs[0].Seq, err)
		}
		break
	}
	// The token is not waited for: only the ack counts, and the ack timer
	// covers a publish that never reached the broker.
	client.Publish(u.recordsTopic, 1, false, data)
	b := &inflight{ids: make(map[string]bool, n), first: recs[0].ID}
	for _, r := range recs[:n] {
		b.ids[r.ID] = true
	}
	u.log.Debug("batch sent", "record", recs[0].ID, "seq", recs[0].Seq, "records", n, "bytes", len(data))
	return b, nil
}

// apply deletes what an ack names from the outbox: stored IDs are deleted,
// rejected ones moved to the rejected bucket for the station manager. IDs
// the outbox does not hold (a second ack for a resent batch, or garbage)
// change nothing. It returns how many records left the outbox.
func (u *Uplink) apply(ack *wire.Ack, cur *inflight) int {
	acked, err := u.st.Ack(ack.IDs, ack.Hours...)
	if err != nil {
		// Most likely a full disk; the records stay and are resent, and
		// the gateway's de-duplication makes that harmless.
		u.log.Error("cannot delete acked records", "err", err)
		return 0
	}
	rejected := 0
	if len(ack.Rejected) > 0 {
		rejected, err = u.st.Reject(ack.Rejected, u.cfg.Clock.Now().At)
		if err != nil {
			u.log.Error("cannot move rejected records", "err", err)
		}
		for _, r := range ack.Rejected {
			u.log.Warn("record rejected by the gateway", "record", r.ID, "reason", r.Reason)
		}
	}
	if cur != nil {
		for _, id := range ack.IDs {
			delete(cur.ids, id)
		}
		if err == nil {
			for _, r := range ack.Rejected {
				delete(cur.ids, r.ID)
			}
		}
	}
	if unknown := len(ack.IDs) - acked; unknown > 0 {
		u.log.Debug("ack named records not in the outbox", "ids", unknown)
	}
	if n := acked + rejected; n > 0 {
		at := u.cfg.Clock.Now().At
		u.mu.Lock()
		u.acked = Acked{At: at, Batch: n, Total: u.acked.Total + n}
		u.mu.Unlock()
		if u.cfg.Acked != nil {
			u.cfg.Acked(ack)
		}
	}
	return acked + rejected
}
