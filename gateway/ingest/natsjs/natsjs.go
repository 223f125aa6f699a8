// Package natsjs feeds a gateway (package ingest) from a NATS JetStream
// cluster that speaks MQTT to the kiosks: the province's broker.
//
// NATS 2.9 has no MQTT shared subscriptions, and it keeps a QoS 1 message
// only while some JetStream consumer is interested in it (the $MQTT_msgs
// stream has interest retention): a kiosk's batch published while no
// consumer matched is dropped although the kiosk got its PUBACK. So every
// gateway, before it consumes, makes sure of the stream (with the very
// configuration the MQTT side would give it, which the MQTT side then
// adopts) and of one durable pull consumer on the stations' records
// subjects; any number of gateways pull from that one consumer and share
// the work. Start a gateway before the kiosks publish.
//
// A batch is acknowledged to JetStream only after the database committed
// it (ingest.Committed) or refused it for good (ingest.Dropped); a failed
// commit is handed back for redelivery (Nak with a delay), and a gateway
// killed mid-batch leaves its batches unacknowledged, so JetStream gives
// them to another gateway after AckWait. Nothing a kiosk saw confirmed is
// lost either way: its outbox keeps a record until the gateway's signed
// ack names it.
//
// Per-station order holds across gateways without pinning a station to
// one: a kiosk sends the head of its outbox, one batch at a time, and
// sends a later batch only after the earlier one's records were acked, so
// committed; a resend repeats the head. Whatever gateway commits whichever
// copy, a record is inserted only after every earlier record of its
// station. Within one gateway a station's batches go to one worker, in
// the order JetStream delivered them.
//
// The kiosk's ack goes out on the MQTT-mapped subject
// (leifeng.v1.stations.ID.ack) as a plain NATS message, which the kiosk,
// subscribed at QoS 0, receives without any consumer of its own. States
// arrive on a queue subscription shared by the gateways.
package natsjs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// Names in the cluster. The stream and its subjects are the MQTT side's
// (nats-server 2.9's mqttStreamName and mqttStreamSubjectPrefix).
const (
	// Stream is the JetStream stream holding MQTT QoS 1 messages.
	Stream = "$MQTT_msgs"
	// StreamSubjects is what the stream holds: "$MQTT.msgs." and the
	// message's NATS subject.
	StreamSubjects = "$MQTT.msgs.>"
	// Consumer is the gateways' shared durable consumer.
	Consumer = "leifeng-gateway"
	// RecordsFilter is the consumer's filter: every station's records.
	RecordsFilter = "$MQTT.msgs.leifeng.v1.stations.*." + wire.LeafRecords
	// StatesSubject is every station's state, as NATS sees the topic.
	StatesSubject = "leifeng.v1.stations.*." + wire.LeafState
	// QueueGroup is the gateways' queue group for states.
	QueueGroup = "leifeng-gateway"
)

// Defaults for Config.
const (
	DefaultReplicas      = 3
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 4096
	DefaultPull          = 256
	DefaultRetryDelay    = 2 * time.Second
)

// Config says how a gateway reaches the cluster.
type Config struct {
	// URLs are the cluster's NATS URLs, comma-separated; the client
	// connects to one and moves to another when it is lost.
	URLs     string
	User     string
	Password string
	// TLS is used for tls:// URLs and a cluster that requires TLS.
	TLS *tls.Config
	// Name is the connection's name in the servers' monitoring.
	Name string
	// Replicas is the stream's replicas if the gateway creates it: the
	// servers' mqtt { stream_replicas }. Zero means DefaultReplicas.
	Replicas int
	// AckWait is how long JetStream waits for a batch's ack before it
	// gives the batch to another gateway. Zero means DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds the batches handed out and not yet acked, over
	// every gateway. Zero means DefaultMaxAckPending.
	MaxAckPending int
	// Pull is how many batches one gateway asks for at a time. Zero means
	// DefaultPull.
	Pull int
	// RetryDelay is how long a batch whose commit failed waits before
	// JetStream delivers it again. Zero means DefaultRetryDelay.
	RetryDelay time.Duration
	Logger     *slog.Logger
}

func (c *Config) fill() {
	if c.Replicas <= 0 {
		c.Replicas = DefaultReplicas
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.Pull <= 0 {
		c.Pull = DefaultPull
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		c.Name = "leifeng-gateway"
	}
}

// Client is a gateway's connection to the cluster: the consumer it pulls
// from and the publisher of its acks (an ingest.Publisher).
type Client struct {
	cfg  Config
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	cons jetstream.Consumer
}

// Dial connects to the cluster and makes sure of the stream and the
// consumer. It keeps trying while the cluster is not ready (JetStream
// electing its leaders) until ctx ends.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg.fill()
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("gateway lost the NATS server", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("gateway reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS error", "err", err)
		}),
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.TLS != nil {
		opts = append(opts, nats.Secure(cfg.TLS))
	}
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", cfg.URLs, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Client{cfg: cfg, log: log, nc: nc, js: js}
	for {
		if c.cons, err = c.prepare(ctx); err == nil {
			return c, nil
		}
		if errors.Is(err, nats.ErrAuthorization) || isPermission(err) {
			nc.Close()
			return nil, err
		}
		log.Warn("JetStream not ready, retrying", "err", err)
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func isPermission(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation")
}

// prepare creates the stream unless the MQTT side did, and the consumer.
// Both are idempotent; every gateway does it at start.
func (c *Client) prepare(ctx context.Context) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.js.Stream(ctx, Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// The configuration nats-server 2.9 gives it on the account's
		// first MQTT connection; given the same, the MQTT side takes the
		// stream as its own.
		_, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
			Name: Stream, Subjects: []string{StreamSubjects}, Retention: jetstream.InterestPolicy,
			Storage: jetstream.FileStorage, Replicas: c.cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // the MQTT side (or another gateway) was faster
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", Stream, err)
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, Stream, jetstream.ConsumerConfig{
		Durable:       Consumer,
		Description:   "Leifeng Station gateways: every station's record batches",
		FilterSubject: RecordsFilter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxAckPending: c.cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", Consumer, err)
	}
	return cons, nil
}

// Run feeds g with every station's batches and states until ctx is done.
// g must be running (ingest.Gateway.Run).
func (c *Client) Run(ctx context.Context, g *ingest.Gateway) error {
	states, err := c.nc.QueueSubscribe(StatesSubject, QueueGroup, func(m *nats.Msg) {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		g.HandleState(sctx, Topic(m.Subject), m.Data)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", StatesSubject, err)
	}
	defer states.Unsubscribe()

	it, err := c.cons.Messages(jetstream.PullMaxMessages(c.cfg.Pull))
	if err != nil {
		return fmt.Errorf("consume %s: %w", Consumer, err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		it.Stop()
	}()
	c.log.Info("gateway consuming", "stream", Stream, "consumer", Consumer)
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				// Someone removed it: the gateway stops, and its restart
				// makes it again.
				return fmt.Errorf("consumer %s: %w", Consumer, err)
			}
			// Missed heartbeats while a server is down or the consumer's
			// leader moves: the iterator pulls again by itself.
			c.log.Debug("consumer", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		c.deliver(ctx, g, m)
	}
}

// deliver hands one batch to the gateway and settles it in JetStream when
// the gateway says what became of it.
func (c *Client) deliver(ctx context.Context, g *ingest.Gateway, m jetstream.Msg) {
	received := time.Now()
	if md, err := m.Metadata(); err == nil {
		// When the cluster stored it: a batch that waited there for a
		// gateway is still placed by the clock it was sent with.
		received = md.Timestamp
	}
	topic := Topic(strings.TrimPrefix(m.Subject(), "$MQTT.msgs."))
	err := g.Submit(ctx, topic, m.Data(), received, func(o ingest.Outcome) {
		switch o {
		case ingest.Committed, ingest.Dropped:
			m.Ack()
		default:
			m.NakWithDelay(c.cfg.RetryDelay)
		}
	})
	if err != nil {
		// Stopping: another gateway takes it at once.
		m.Nak()
	}
}

// Publish sends payload on topic's NATS subject. MQTT subscribers get it
// at QoS 0; a kiosk that misses an ack sends its batch again.
func (c *Client) Publish(_ context.Context, topic string, payload []byte) error {
	subj, err := Subject(topic)
	if err != nil {
		return err
	}
	return c.nc.Publish(subj, payload)
}

// ConsumerCount returns how many consumers the MQTT messages stream has:
// the gateways' one, and one for every QoS 1 MQTT subscription.
func (c *Client) ConsumerCount(ctx context.Context) (int, error) {
	s, err := c.js.Stream(ctx, Stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Consumers, nil
}

// Pending returns how many batches wait in the consumer, not yet handed
// to a gateway, and how many are handed out and not yet acked.
func (c *Client) Pending(ctx context.Context) (waiting uint64, unacked int, err error) {
	info, err := c.cons.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, info.NumAckPending, nil
}

// Close drains the connection: acks already given reach the server.
func (c *Client) Close() {
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for !c.nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c.nc.Close()
}

// Subject is the NATS subject of an MQTT topic of this protocol: slashes
// become dots. Station IDs hold no dots or wildcards, so the mapping is
// exact; a topic that has them is refused.
func Subject(topic string) (string, error) {
	if strings.ContainsAny(topic, ".*>+# ") {
		return "", fmt.Errorf("%w: topic %q has no plain NATS subject", wire.ErrInvalid, topic)
	}
	return strings.ReplaceAll(topic, "/", "."), nil
}

// Topic is the MQTT topic of a NATS subject (the inverse of Subject).
func Topic(subject string) string { return strings.ReplaceAll(subject, ".", "/") }
