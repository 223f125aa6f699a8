package mosquittotest_test

import (
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"leifeng/internal/mosquittotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStopStart: the private broker carries messages, is gone after Stop,
// and comes back on the same port with its persistent state: a QoS 1
// message queued for an absent subscriber is delivered after the restart.
func TestStopStart(t *testing.T) {
	s := mosquittotest.Start(t, "")
	got := make(chan string, 4)
	opts := paho.NewClientOptions().AddBroker(s.URL()).SetClientID("sub").SetCleanSession(false).
		SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond)
	opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	sub := paho.NewClient(opts)
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := sub.Subscribe("t/x", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(s.URL()).SetClientID("pub"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	publish := func(msg string) {
		t.Helper()
		if tok := pub.Publish("t/x", 1, false, msg); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	publish("one")
	if m := <-got; m != "one" {
		t.Fatalf("got %q", m)
	}
	// The subscriber leaves; a message is queued for its session.
	sub.Disconnect(100)
	publish("queued")
	pub.Disconnect(100)

	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("the broker still listens after Stop")
	}
	s.Start()
	sub = paho.NewClient(opts)
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	select {
	case m := <-got:
		if m != "queued" {
			t.Fatalf("got %q after the restart", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the queued message did not survive the restart")
	}
}
