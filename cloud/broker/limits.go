package broker

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"leifeng/gateway/wire"
)

// Defaults for the connection limits of Options.
const (
	// DefaultConnectTimeout is how long a client has, from the TCP accept,
	// to finish the TLS handshake and send its whole CONNECT packet.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxConns bounds the connections open at once, authenticated
	// or not.
	DefaultMaxConns = 4096
	// DefaultMaxConnsPerAddr bounds the connections from one remote
	// address. Several kiosks may share a NAT address (a county office);
	// an attacker on one address cannot take every slot.
	DefaultMaxConnsPerAddr = 64
	// MaxConnectBytes bounds a CONNECT packet (client ID, credentials and
	// a last will). It is checked on the fixed header, before the broker
	// allocates anything for the packet, so that a client that has not
	// authenticated costs the cloud a few kilobytes at most.
	MaxConnectBytes = 16 << 10
	// MaxPacketBytes is the largest packet the broker takes from an
	// authenticated client, announced in CONNACK (MQTT 5) and checked
	// before allocating: the largest message of the protocol plus room
	// for the topic and properties.
	MaxPacketBytes = wire.MaxMessageBytes + 4<<10
)

// errConnectTooLarge is what a guarded connection's Read returns when the
// first packet is not a CONNECT or announces more than MaxConnectBytes.
var errConnectTooLarge = errors.New("broker: first packet is not a CONNECT of at most 16 KiB")

// limitListener admits at most max connections at once and perAddr from
// one remote IP, closing the others at once, and gives each admitted
// connection until connectTimeout to finish its CONNECT (the broker
// replaces that deadline with the keepalive one once CONNECT is read).
type limitListener struct {
	net.Listener
	max, perAddr   int
	connectTimeout time.Duration

	mu     sync.Mutex
	total  int
	byAddr map[string]int
}

func newLimitListener(ln net.Listener, max, perAddr int, connectTimeout time.Duration) *limitListener {
	return &limitListener{Listener: ln, max: max, perAddr: perAddr, connectTimeout: connectTimeout, byAddr: map[string]int{}}
}

// Accept returns the next admitted connection. A refused connection is
// closed here and never reaches the broker; Accept returns an error only
// when the listener does, which ends the broker's accept loop.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := remoteHost(c)
		l.mu.Lock()
		ok := l.total < l.max && l.byAddr[host] < l.perAddr
		if ok {
			l.total++
			l.byAddr[host]++
		}
		l.mu.Unlock()
		if !ok {
			c.Close()
			continue
		}
		c.SetDeadline(time.Now().Add(l.connectTimeout))
		return &countedConn{Conn: c, l: l, host: host}, nil
	}
}

func (l *limitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byAddr[host]--; l.byAddr[host] <= 0 {
		delete(l.byAddr, host)
	}
}

func remoteHost(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its slot back when closed, once.
type countedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.release(c.host) })
	return c.Conn.Close()
}

// guardListener checks the fixed header of each connection's first packet
// (after TLS, if any) before the broker reads it.
type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c}, nil
}

// guardConn parses the fixed header of the first packet as it passes: the
// packet type byte and the remaining length (a varint of up to 4 bytes).
// A first packet that is not CONNECT, or that announces more than
// MaxConnectBytes, fails the read, and the broker drops the connection
// before it allocates the announced size.
type guardConn struct {
	net.Conn
	header   int // bytes of the fixed header seen
	length   int
	shift    uint
	done     bool
	rejected bool
}

func (c *guardConn) Read(p []byte) (int, error) {
	if c.rejected {
		return 0, errConnectTooLarge
	}
	n, err := c.Conn.Read(p)
	for i := 0; i < n && !c.done; i++ {
		b := p[i]
		if c.header == 0 {
			if b>>4 != 1 { // CONNECT
				c.rejected = true
				return 0, errConnectTooLarge
			}
			c.header++
			continue
		}
		c.header++
		c.length |= int(b&0x7f) << c.shift
		c.shift += 7
		if c.length > MaxConnectBytes || (b&0x80 != 0 && c.header >= 5) {
			c.rejected = true
			return 0, errConnectTooLarge
		}
		if b&0x80 == 0 {
			c.done = true
		}
	}
	return n, err
}

// ConnectionState exposes the TLS state of a TLS connection, so the auth
// hook can read a client certificate through the guard.
func (c *guardConn) ConnectionState() (tls.ConnectionState, bool) {
	if t, ok := c.Conn.(*tls.Conn); ok {
		return t.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// announceHook tells MQTT 5 clients in CONNACK the largest packet the
// broker takes (mochi enforces Capabilities.MaximumPacketSize but does not
// announce it), so a well-behaved client never sends one it would be
// disconnected for.
type announceHook struct{ mqtt.HookBase }

func (*announceHook) ID() string { return "leifeng-limits" }

func (*announceHook) Provides(b byte) bool { return b == mqtt.OnPacketEncode }

func (*announceHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && cl.Properties.ProtocolVersion == 5 {
		pk.Properties.MaximumPacketSize = MaxPacketBytes
	}
	return pk
}
