package ingest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
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
	c mqtt.Client
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
				// ctx only bounds the first connection; a state arriving
				// later gets its own deadline.
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				g.HandleState(sctx, m.Topic(), m.Payload())
				cancel()
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
	cl := &Client{c: mqtt.NewClient(opts)}
	// Set before the first message can arrive; workers read it after.
	g.pub = cl
	c := cl.c
	c.Connect()
	select {
	case err := <-subscribed:
		if err != nil {
			c.Disconnect(0)
			return nil, fmt.Errorf("gateway subscribe: %w", err)
		}
	case <-ctx.Done():
		c.Disconnect(0)
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

// Close disconnects from the broker.
func (c *Client) Close() { c.c.Disconnect(250) }
