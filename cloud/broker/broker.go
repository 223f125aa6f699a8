// Package broker is the MQTT broker embedded in leifeng-cloud: mochi-mqtt
// as a library, so that `leifeng-cloud serve` needs nothing else running.
// A city runs Mosquitto or an EMQX cluster instead (see deploy/); the
// gateway and the kiosks speak to either alike.
//
// The broker faces the network, so it holds every client to limits before
// the client has proved who it is: a deadline for the TLS handshake and
// CONNECT, a CONNECT of at most MaxConnectBytes checked before anything is
// allocated for it, a maximum packet size, and a cap on connections overall
// and per remote address.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded broker.
type Broker struct {
	srv        *mqtt.Server
	addr, url  string
	local      string
	main, loop *limitListener
}

// ErrAddrInUse is returned (wrapped) by StartOptions when the listen address
// is taken, so the caller can name its flag.
var ErrAddrInUse = errors.New("address already in use")

// Options configure StartOptions. The zero value of a limit means its
// default.
type Options struct {
	// Addr is the listener's address, host:port.
	Addr string
	// TLS, if set, makes Addr a TLS listener (mqtts). With ClientCAs and
	// ClientAuth set, a station may authenticate by its client
	// certificate, whose CN is its station ID.
	TLS *tls.Config
	// Local, if set, is a second, plain listener; it must be a loopback
	// address ("127.0.0.1:0" picks a port). The in-process gateway uses it
	// when Addr is TLS.
	Local string
	// Auth holds clients to per-station credentials and topics; nil lets
	// every client use every topic (tests and benchmarks of the record
	// path).
	Auth *Auth
	// ConnectTimeout, MaxConns and MaxConnsPerAddr default to
	// DefaultConnectTimeout, DefaultMaxConns and DefaultMaxConnsPerAddr.
	ConnectTimeout  time.Duration
	MaxConns        int
	MaxConnsPerAddr int
	Log             *slog.Logger
}

// StartOptions starts a broker as o says and serves MQTT until Close:
// without Auth to every client on every topic (tests and benchmarks of the
// record path), with it holding clients to per-station credentials and
// topics.
func StartOptions(o Options) (*Broker, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if o.Local != "" && !IsLoopback(o.Local) {
		return nil, fmt.Errorf("mqtt local listener %s: a plain listener must be on loopback", o.Local)
	}
	// Listen before anything else, so that a taken port is one error and
	// nothing was started.
	listen := func(addr string) (*limitListener, error) {
		raw, err := net.Listen("tcp", addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("mqtt listen %s: %w", addr, ErrAddrInUse)
			}
			return nil, fmt.Errorf("mqtt listen %s: %w", addr, err)
		}
		return newLimitListener(raw, o.MaxConns, o.MaxConnsPerAddr, o.ConnectTimeout), nil
	}
	b := &Broker{}
	var err error
	if b.main, err = listen(o.Addr); err != nil {
		return nil, err
	}
	if o.Local != "" {
		if b.loop, err = listen(o.Local); err != nil {
			b.main.Close()
			return nil, err
		}
	}
	b.srv = mqtt.New(&mqtt.Options{
		Logger: log.With("part", "broker"),
		// Kiosks keep their session across a flaky link for a week.
		Capabilities: func() *mqtt.Capabilities {
			c := mqtt.NewDefaultServerCapabilities()
			c.MaximumSessionExpiryInterval = 7 * 24 * 3600
			c.MaximumPacketSize = MaxPacketBytes
			c.MaximumClientWritesPending = 8192
			c.MaximumClients = int64(o.MaxConns)
			return c
		}(),
	})
	srv := b.srv
	fail := func(err error) (*Broker, error) {
		b.main.Close()
		if b.loop != nil {
			b.loop.Close()
		}
		srv.Close()
		return nil, err
	}
	var hook mqtt.Hook = new(auth.AllowHook)
	if o.Auth != nil {
		if o.Auth.Log == nil {
			o.Auth.Log = log
		}
		hook = o.Auth
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return fail(err)
	}
	if err := srv.AddHook(new(announceHook), nil); err != nil {
		return fail(err)
	}
	var ln net.Listener = b.main
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	if err := srv.AddListener(listeners.NewNet("main", guardListener{ln})); err != nil {
		return fail(err)
	}
	b.addr = b.main.Addr().String()
	b.url = "tcp://" + b.addr
	if o.TLS != nil {
		b.url = "ssl://" + b.addr
	}
	b.local = b.url
	if b.loop != nil {
		if err := srv.AddListener(listeners.NewNet("local", guardListener{b.loop})); err != nil {
			return fail(err)
		}
		b.local = "tcp://" + b.loop.Addr().String()
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("broker stopped", "err", err)
		}
	}()
	return b, nil
}

// IsLoopback reports whether addr (host:port) names a loopback address:
// an IP in 127.0.0.0/8 or ::1, or "localhost". An empty host (all
// interfaces) is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL: tcp:// or, for a TLS
// listener, ssl://.
func (b *Broker) URL() string { return b.url }

// LocalURL is the plain loopback listener's URL (Options.Local), or URL
// without one.
func (b *Broker) LocalURL() string { return b.local }

// Close stops the broker and disconnects every client.
func (b *Broker) Close() error { return b.srv.Close() }
