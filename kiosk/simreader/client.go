package simreader

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultTimeout bounds one request's round trip when the context passed
// to a Client has no deadline of its own: a kiosk confirms a tap in
// milliseconds, so ten seconds means it is gone.
const DefaultTimeout = 10 * time.Second

// ErrNoAnswer is wrapped by Client.Send when a request was written but its
// reply never came (the kiosk died or restarted). The kiosk may or may not
// have recorded it, so the request is not sent again: a second tap would
// check the volunteer out.
var ErrNoAnswer = errors.New("simreader: the reader gave no answer")

// Client sends requests to a simulated reader over one connection, the way
// tests, the demo and leifeng-traffic present cards. It dials on first use
// and again after the connection broke. A Client is safe for concurrent
// use; requests are sent one at a time, each waiting for its reply.
type Client struct {
	addr string

	mu sync.Mutex
	c  net.Conn
	r  *bufio.Reader
}

// NewClient returns a client of the simulated reader listening on addr
// (host:port). It does not dial until the first request.
func NewClient(addr string) *Client { return &Client{addr: addr} }

// Tap presents the card of volunteer ("SIM-" + volunteer unless the kiosk
// checks cards), choosing service ("" for none).
func (c *Client) Tap(ctx context.Context, volunteer, service string) (Reply, error) {
	return c.Send(ctx, Request{Volunteer: volunteer, Service: service})
}

// Image presents a card image (a card image file's JSON, as leifeng-card
// writes it).
func (c *Client) Image(ctx context.Context, image json.RawMessage) (Reply, error) {
	return c.Send(ctx, Request{Image: image})
}

// Send writes req as one line and reads its reply. A connection left from
// before a kiosk restart fails on write; only then is the request sent
// again, once, on a fresh connection. A reply that does not come is
// ErrNoAnswer, and the connection is dropped.
func (c *Client) Send(ctx context.Context, req Request) (Reply, error) {
	line, err := json.Marshal(req)
	if err != nil {
		return Reply{}, fmt.Errorf("simreader: %w", err)
	}
	return c.SendLine(ctx, line)
}

// SendLine is Send for a line already encoded: a card image file compacted
// to one line, or bytes that are not a request at all, to see how the
// reader answers them. line must not hold a newline; one is added.
func (c *Client) SendLine(ctx context.Context, line []byte) (Reply, error) {
	line = append(line[:len(line):len(line)], '\n')
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; ; try++ {
		fresh := c.c == nil
		if fresh {
			d := net.Dialer{Deadline: deadline}
			nc, err := d.DialContext(ctx, "tcp", c.addr)
			if err != nil {
				return Reply{}, fmt.Errorf("simreader: %w", err)
			}
			c.c, c.r = nc, bufio.NewReader(nc)
		}
		conn := c.c
		conn.SetDeadline(deadline)
		// A cancelled ctx ends a blocked read or write at once.
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		_, err := conn.Write(line)
		if err != nil {
			stop()
			c.drop()
			if !fresh && try == 0 && ctx.Err() == nil {
				continue
			}
			return Reply{}, fmt.Errorf("simreader: %s: %w", c.addr, err)
		}
		text, err := c.r.ReadBytes('\n')
		stop()
		if err != nil {
			c.drop()
			return Reply{}, fmt.Errorf("%w at %s: %w", ErrNoAnswer, c.addr, err)
		}
		var rep Reply
		if err := json.Unmarshal(text, &rep); err != nil {
			return Reply{}, fmt.Errorf("simreader: reply %q: %w", text, err)
		}
		return rep, nil
	}
}

func (c *Client) drop() {
	if c.c != nil {
		c.c.Close()
		c.c, c.r = nil, nil
	}
}

// Close closes the connection, if any. The client may be used again: it
// dials anew.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if c.c != nil {
		err = c.c.Close()
		c.c, c.r = nil, nil
	}
	return err
}
