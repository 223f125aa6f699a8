// Package broker is the MQTT broker embedded in leifeng-cloud: mochi-mqtt
// as a library, listening on one TCP address, so that `leifeng-cloud serve`
// needs nothing else running. A city runs Mosquitto or an EMQX cluster
// instead (see deploy/); the gateway and the kiosks speak to either alike.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// ErrAddrInUse is returned by Start when the listen address is taken.
var ErrAddrInUse = errors.New("address already in use")

// Start listens on addr and serves MQTT until Close, to every client on
// every topic (tests and benchmarks of the record path). It returns
// ErrAddrInUse (wrapped) when the port is taken, so the caller can name its
// flag.
func Start(addr string, log *slog.Logger) (*Broker, error) { return StartAuth(addr, nil, log) }

// StartAuth is Start holding clients to a: per-station credentials and
// topics. leifeng-cloud serve uses it.
func StartAuth(addr string, a *Auth, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("mqtt listen %s: %w", addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("mqtt listen %s: %w", addr, err)
	}
	srv := mqtt.New(&mqtt.Options{
		Logger: log.With("part", "broker"),
		// Kiosks keep their session across a flaky link for a week.
		Capabilities: func() *mqtt.Capabilities {
			c := mqtt.NewDefaultServerCapabilities()
			c.MaximumSessionExpiryInterval = 7 * 24 * 3600
			c.MaximumPacketSize = 2 << 20
			c.MaximumClientWritesPending = 8192
			return c
		}(),
	})
	var hook mqtt.Hook = new(auth.AllowHook)
	if a != nil {
		if a.Log == nil {
			a.Log = log
		}
		hook = a
	}
	if err := srv.AddHook(hook, nil); err != nil {
		ln.Close()
		return nil, err
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("broker stopped", "err", err)
		}
	}()
	return &Broker{srv: srv, addr: ln.Addr().String()}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close stops the broker and disconnects every client.
func (b *Broker) Close() error { return b.srv.Close() }
