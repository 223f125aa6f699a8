package broker

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// closedWithin reports whether the broker closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	ne, ok := err.(net.Error)
	return !(ok && ne.Timeout())
}

func TestConnectGuards(t *testing.T) {
	b, err := StartOptions(Options{Addr: "127.0.0.1:0", ConnectTimeout: time.Second, MaxConnsPerAddr: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for name, first := range map[string][]byte{
		"CONNECT announcing 2 MiB": {0x10, 0x80, 0x80, 0x80, 0x01},
		"CONNECT over 16 KiB":      {0x10, 0x81, 0x80, 0x01},
		"PUBLISH before CONNECT":   {0x30, 0x02, 0, 0},
		"length of five bytes":     {0x10, 0x80, 0x80, 0x80, 0x80, 0x01},
	} {
		c := dial()
		c.Write(first)
		if !closedWithin(c, 5*time.Second) {
			t.Errorf("%s: connection kept open", name)
		}
	}
	// Silent: closed at the CONNECT deadline.
	if c := dial(); !closedWithin(c, 5*time.Second) {
		t.Error("a silent connection outlived the CONNECT deadline")
	}
	// A well-behaved client connects and stays past the deadline.
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("ok").SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("a normal client: %v", tok.Error())
	}
	defer cl.Disconnect(50)
	// Per address: with the client holding one slot, two more fit and a
	// fourth connection is closed at once.
	held := []net.Conn{dial(), dial()}
	if c := dial(); !closedWithin(c, 300*time.Millisecond) {
		t.Error("a connection over the per-address limit was accepted")
	}
	for _, c := range held {
		c.Close()
	}
	if tok := cl.Publish("x", 1, false, "after"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("the normal client lost its connection: %v", tok.Error())
	}
}

// An MQTT 5 client is told the maximum packet size in CONNACK, and a
// larger packet closes its connection before the broker allocates it.
func TestMaximumPacketSize(t *testing.T) {
	b, err := StartOptions(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// CONNECT: "MQTT", version 5, clean start, keepalive 60, no
	// properties, client ID "c1".
	c.Write([]byte{0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 2, 'c', '1'})
	rd := bufio.NewReader(c)
	if kind, err := rd.ReadByte(); err != nil || kind != 0x20 {
		t.Fatalf("no CONNACK: %v %x", err, kind)
	}
	length, _, err := packets.DecodeLength(rd)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(rd, body); err != nil {
		t.Fatal(err)
	}
	var pk packets.Packet
	pk.ProtocolVersion = 5
	pk.FixedHeader.Type = packets.Connack
	if err := pk.ConnackDecode(body); err != nil {
		t.Fatal(err)
	}
	announced := pk.Properties.MaximumPacketSize
	if announced != MaxPacketBytes {
		t.Fatalf("CONNACK announces maximum packet size %d, want %d", announced, MaxPacketBytes)
	}
	// A PUBLISH one byte over: the connection ends.
	n, over := MaxPacketBytes, []byte{0x30}
	for n > 0 {
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 0x80
		}
		over = append(over, d)
	}
	c.Write(over)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a packet over the maximum did not end the connection")
	}
}
