package ingest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"leifeng/gateway/wire"
)

// ClientConfig says how a gateway reaches the broker.
type ClientConfig struct {
	// Broker is the broker's URL: tcp://host:port, ssl://host:port.
	Broker string
	// ClientID is the gateway's MQTT client ID; empty means
	// "leifeng-gateway-" and 128 random bits. A guessable ID (host and
	// PID) let anyone with any account at the broker connect under it and
	// kick the gateway off.
	ClientID string
	Username string
	Password string
	TLS      *tls.Config
}

// Client is a gateway's connection to the broker. It subscribes to the
// shared records subscription and to every station's state, and publishes
// acks.
type Client struct {
	c      mqtt.Client
	states *states
}

// states holds the stations' latest states until a goroutine of its own
// saves them. Saving one is a database write; done on the MQTT client's
// goroutine, which delivers every message in order, the states of ten
// thousand stations held their record batches back behind them (make
// bench-scale). A station's newer state replaces one not yet saved: only
// the latest counts.
type states struct {
	mu      sync.Mutex
	pending map[string][]byte // topic → payload
	order   []string          // topics in order of arrival
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

func newStates() *states {
	return &states{pending: map[string][]byte{}, wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
}

func (s *states) put(topic string, payload []byte) {
	s.mu.Lock()
	if _, ok := s.pending[topic]; !ok {
		s.order = append(s.order, topic)
	}
	s.pending[topic] = payload
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run saves states as they come until stop.
func (s *states) run(g *Gateway) {
	defer close(s.stopped)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.order) == 0 {
				s.mu.Unlock()
				break
			}
			topic := s.order[0]
			s.order = s.order[1:]
			payload := s.pending[topic]
			delete(s.pending, topic)
			s.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			g.HandleState(ctx, topic, payload)
			cancel()
			select {
			case <-s.done:
				return
			default:
			}
		}
	}
}

func (s *states) stop() {
	close(s.done)
	<-s.stopped
}

// Connect connects g to the broker, making it g's Publisher, and keeps it
// connected until Close: on every (re)connection it subscribes again. It
// returns once the first connection is up, or when ctx ends first; ctx
// bounds only that wait.
func Connect(ctx context.Context, g *Gateway, cfg ClientConfig) (*Client, error) {
	log := g.opt.Logger
	if cfg.ClientID == "" {
		cfg.ClientID = "leifeng-gateway-" + rand.Text()
	}
	subscribed := make(chan error, 1)
	st := newStates()
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetTLSConfig(cfg.TLS).
		// A clean session: a batch that waited at the broker while no
		// gateway was up would be time-corrected by the length of the wait.
		// Kiosks send unacknowledged batches again, with a fresh sending
		// clock, so nothing is lost by letting the broker drop them.
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("gateway lost the broker", "err", err)
		})
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.SubscribeMultiple(map[string]byte{
			wire.SharedRecordsFilter: 1,
			wire.AllStatesFilter:     1,
		}, func(_ mqtt.Client, m mqtt.Message) {
			switch _, leaf, _ := wire.ParseStationTopic(m.Topic()); leaf {
			case wire.LeafRecords:
				g.HandleRecords(m.Topic(), m.Payload())
			case wire.LeafState:
				st.put(m.Topic(), m.Payload())
			}
		})
		tok.Wait()
		if err := tok.Error(); err != nil {
			log.Error("gateway subscribe failed", "err", err)
		} else {
			log.Info("gateway subscribed", "broker", cfg.Broker, "client", cfg.ClientID)
		}
		select {
		case subscribed <- tok.Error():
		default:
		}
	})
	go st.run(g)
	cl := &Client{c: mqtt.NewClient(opts), states: st}
	// Set before the first message can arrive; workers read it after.
	g.pub = cl
	c := cl.c
	c.Connect()
	select {
	case err := <-subscribed:
		if err != nil {
			c.Disconnect(0)
			st.stop()
			return nil, fmt.Errorf("gateway subscribe: %w", err)
		}
	case <-ctx.Done():
		c.Disconnect(0)
		st.stop()
		return nil, ctx.Err()
	}
	return cl, nil
}

// Publish sends payload with QoS 1 and waits for the broker to take it.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) error {
	return c.publish(ctx, topic, payload, false)
}

// PublishRetained is Publish with the retain flag: the broker keeps the
// message for every later subscriber (signed configs).
func (c *Client) PublishRetained(ctx context.Context, topic string, payload []byte) error {
	return c.publish(ctx, topic, payload, true)
}

func (c *Client) publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	tok := c.c.Publish(topic, 1, retained, payload)
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return errors.New("broker did not take the message in 10 s")
	}
}

// Close disconnects from the broker and stops saving states (one being
// saved is finished; the rest are retained at the broker and come again).
func (c *Client) Close() {
	c.c.Disconnect(250)
	c.states.stop()
}
