package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A node killed with SIGKILL comes back on its ports and store, and a
// three-replica stream keeps taking messages while it is gone.
func TestKillRestart(t *testing.T) {
	c := Start(t, Options{})
	nc, err := nats.Connect(c.ClientURLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// A loaded machine (CI runs every package at once) may take long to
	// elect a leader: two minutes overall, two seconds per attempt.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "t", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	c.Nodes[1].Kill()
	if c.Nodes[1].Running() {
		t.Fatal("killed node still running")
	}
	for i := range 10 {
		// The killed node may have led the stream: the others elect a
		// new leader within seconds, and until then a publish times out.
		// A publish sent while no node leads the stream gets no answer:
		// each attempt waits two seconds, not the whole deadline. The
		// message ID makes a retry of one that did land a duplicate the
		// stream drops.
		for {
			actx, acancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := js.Publish(actx, "t.x", []byte{byte(i)}, jetstream.WithMsgID(string(rune('a'+i))))
			acancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %d with a node down: %v", i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.Nodes[1].Restart()
	s, err := js.Stream(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 {
		t.Fatalf("stream holds %d messages, want 10", info.State.Msgs)
	}

	// The whole cluster stopped and started again: the stream is still
	// there, on every node's store.
	c.Stop()
	for _, n := range c.Nodes {
		if n.Running() || n.Pid() != 0 {
			t.Fatalf("node %s still running after Stop", n.Name)
		}
	}
	c.Restart()
	for _, n := range c.Nodes {
		if n.Pid() == 0 {
			t.Fatalf("node %s not running after Restart", n.Name)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		s, err := js.Stream(ctx, "t")
		if err == nil {
			if info, err = s.Info(ctx); err == nil && info.State.Msgs == 10 {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("after the cluster's restart: %v (%+v)", err, info)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
