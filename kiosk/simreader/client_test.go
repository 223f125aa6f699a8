package simreader

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
)

// TestClientRedials: a connection the kiosk closed (it restarted) is found
// broken on write and the request goes out once more on a new one; a
// request whose reply never comes is ErrNoAnswer and is not sent again.
func TestClientRedials(t *testing.T) {
	c, st := serve(t, nil)
	if rep := c.send(`{"volunteer":"V0001"}`); !rep.OK {
		t.Fatalf("%+v", rep)
	}
	// The connection fails on write (here closed under the client).
	c.c.mu.Lock()
	c.c.c.(*net.TCPConn).CloseWrite()
	c.c.c.Close()
	c.c.mu.Unlock()
	rep, err := c.c.Tap(context.Background(), "V0002", "")
	if err != nil || !rep.OK || rep.Seq != 2 {
		t.Fatalf("after the connection broke: %+v %v", rep, err)
	}
	if st.Depth() != 2 {
		t.Fatalf("depth %d, want 2", st.Depth())
	}

	// A reader that reads the request and hangs up without a reply.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int, 2)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(conn).ReadBytes('\n')
			got <- 1
			conn.Close()
		}
	}()
	mute := NewClient(ln.Addr().String())
	defer mute.Close()
	if _, err := mute.Tap(context.Background(), "V0003", ""); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err %v, want ErrNoAnswer", err)
	}
	ln.Close()
	if len(got) != 1 {
		t.Fatalf("the request was sent %d times", len(got))
	}
}
