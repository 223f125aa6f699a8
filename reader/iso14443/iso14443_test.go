package iso14443

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestCRCA(t *testing.T) {
	// ISO/IEC 14443-3 annex B: 00 00 → A0 1E; 12 34 → 26 CF. HLTA → 57 CD.
	for _, c := range []struct{ in, want []byte }{
		{[]byte{0x00, 0x00}, []byte{0xA0, 0x1E}},
		{[]byte{0x12, 0x34}, []byte{0x26, 0xCF}},
		{[]byte{0x50, 0x00}, []byte{0x57, 0xCD}},
	} {
		got := CRCA(c.in)
		if !bytes.Equal(got[:], c.want) {
			t.Errorf("CRCA(% x) = % x, want % x", c.in, got, c.want)
		}
	}
	if !CheckCRCA(AppendCRCA([]byte{1, 2, 3})) || CheckCRCA([]byte{1, 2, 3}) {
		t.Fatal("CheckCRCA")
	}
}

func TestParseATS(t *testing.T) {
	a, err := ParseATS([]byte{0x06, 0x77, 0x77, 0x71, 0x02, 0x80})
	if err != nil {
		t.Fatal(err)
	}
	if a.FSC != 128 || a.FWT < 38*time.Millisecond || a.FWT > 39*time.Millisecond || !a.CID || !bytes.Equal(a.Historical, []byte{0x80}) {
		t.Fatalf("%+v", a)
	}
	if _, err := ParseATS([]byte{0x05, 0x77}); !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
}

// script answers frames from a list and records what was sent.
type script struct {
	replies [][]byte
	sent    [][]byte
}

func (s *script) Transceive(tx []byte, _ time.Duration) ([]byte, error) {
	s.sent = append(s.sent, append([]byte(nil), tx...))
	if len(s.replies) == 0 {
		return nil, errors.New("timeout")
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	if r == nil {
		return nil, errors.New("timeout")
	}
	return r, nil
}

func TestExchangeChainingAndWTX(t *testing.T) {
	s := &script{replies: [][]byte{
		{0xF2, 0x05},            // S(WTX) request
		{0x12, 'a', 'b'},        // I(0) chaining
		nil,                     // lost reply to R(ACK)
		{0x03, 'c', 0x90, 0x00}, // retransmitted after R(NAK): I(1) last
	}}
	c := NewConn(s, ATS{FSC: 16, FWT: time.Millisecond}, 64)
	resp, err := c.Exchange([]byte{0x00, 0xB0, 0x00, 0x00, 0x03})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp) != "abc\x90\x00" {
		t.Fatalf("resp %q", resp)
	}
	want := [][]byte{{0x02, 0x00, 0xB0, 0x00, 0x00, 0x03}, {0xF2, 0x05}, {0xA3}, {0xB3}}
	if len(s.sent) != len(want) {
		t.Fatalf("sent % x", s.sent)
	}
	for i := range want {
		if !bytes.Equal(s.sent[i], want[i]) {
			t.Fatalf("frame %d: % x, want % x", i, s.sent[i], want[i])
		}
	}
	if c.WTXs != 1 {
		t.Fatalf("WTXs %d", c.WTXs)
	}
}

func TestExchangeSendChaining(t *testing.T) {
	s := &script{replies: [][]byte{{0xA2}, {0xA3}, {0x02, 0x90, 0x00}}}
	c := NewConn(s, ATS{FSC: 16, FWT: time.Millisecond}, 64)
	apdu := bytes.Repeat([]byte{1}, 30)
	resp, err := c.Exchange(apdu)
	if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("%v % x", err, resp)
	}
	if s.sent[0][0] != 0x12 || s.sent[1][0] != 0x13 || s.sent[2][0] != 0x02 || len(s.sent[0]) != 14 {
		t.Fatalf("sent % x", s.sent)
	}
}

// FuzzExchange feeds arbitrary card replies to the ISO-DEP engine: it must
// return, without panicking, an error or a reply made of the bytes it got.
func FuzzExchange(f *testing.F) {
	f.Add([]byte{3, 0xF2, 0x05, 3, 0x12, 'a', 'b', 4, 0x13, 'c', 0x90, 0x00})
	f.Add([]byte{1, 0xA2, 3, 0x02, 0x90, 0x00})
	f.Add([]byte{2, 0xF2, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &script{}
		total := 0
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			if n == 0 {
				s.replies = append(s.replies, nil)
				continue
			}
			n = min(n, len(in))
			s.replies = append(s.replies, in[:n])
			total += n
			in = in[n:]
		}
		c := NewConn(s, ATS{FSC: 16, FWT: time.Millisecond}, 64)
		resp, err := c.Exchange(bytes.Repeat([]byte{7}, 20))
		if err == nil && len(resp) > total {
			t.Fatalf("reply of %d bytes from %d bytes received", len(resp), total)
		}
		if len(s.sent) > 4*len(s.replies)+8 {
			t.Fatalf("%d frames sent for %d replies", len(s.sent), len(s.replies))
		}
	})
}
