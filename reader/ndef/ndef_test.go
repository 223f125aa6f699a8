package ndef

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	recs := []Record{
		MediaRecord("application/vnd.leifeng.card", []byte("hello")),
		{TNF: TNFWellKnown, Type: []byte("U"), ID: []byte("id1"), Payload: long},
	}
	b, err := Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[1].Payload, long) || string(got[1].ID) != "id1" {
		t.Fatalf("round trip: %+v", got)
	}
	p, ok := Find(got, "application/vnd.leifeng.card")
	if !ok || string(p) != "hello" {
		t.Fatalf("Find = %q %v", p, ok)
	}
}

func TestKnownBytes(t *testing.T) {
	// A short MIME record "text/plain" with payload "hi".
	b := []byte{0xD2, 0x0A, 0x02, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n', 'h', 'i'}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].TNF != TNFMedia || string(got[0].Payload) != "hi" {
		t.Fatalf("%+v", got)
	}
	enc, _ := Marshal(got)
	if !bytes.Equal(enc, b) {
		t.Fatalf("Marshal = % x, want % x", enc, b)
	}
}

func TestParseRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     {},
		"no MB":     {0x52, 0x01, 0x00, 'x'},
		"no ME":     {0x92, 0x01, 0x00, 'x'},
		"chunked":   {0xF2, 0x01, 0x00, 'x'},
		"truncated": {0xD2, 0x01, 0x05, 'x', 1},
		"trailing":  {0xD2, 0x01, 0x00, 'x', 0},
		"huge long": {0xC2, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 'x'},
	} {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestTLV(t *testing.T) {
	for _, n := range []int{0, 10, 254, 255, 600} {
		msg := bytes.Repeat([]byte{7}, n)
		area := append([]byte{0x01, 0x03, 0xA0, 0x0C, 0x34, 0x00}, WrapTLV(msg)...)
		area = append(area, 0, 0, 0)
		got, err := UnwrapTLV(area)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("n=%d: %v", n, err)
		}
		need, ok, err := TLVLength(area[:12])
		if err != nil || !ok {
			t.Fatalf("n=%d TLVLength: %v %v", n, ok, err)
		}
		hdr := 2
		if n >= 255 {
			hdr = 4
		}
		if need != 5+1+hdr+n {
			t.Fatalf("n=%d need=%d", n, need)
		}
	}
	if _, err := UnwrapTLV([]byte{0x03, 0x10, 1, 2}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short TLV: %v", err)
	}
	if _, err := UnwrapTLV([]byte{0xFE}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("terminator only: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := Marshal([]Record{MediaRecord("application/vnd.leifeng.card", []byte("x"))})
	f.Add(b)
	f.Add([]byte{0xD2, 0x0A, 0x02, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n', 'h', 'i'})
	f.Add([]byte{0xC2, 0x01, 0x00, 0x00, 0x00, 0x01, 'x', 'y'})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Parse(b)
		if err != nil {
			return
		}
		enc, err := Marshal(recs)
		if err != nil {
			t.Fatalf("parsed message does not marshal: %v", err)
		}
		again, err := Parse(enc)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range recs {
			if !bytes.Equal(recs[i].Payload, again[i].Payload) || !bytes.Equal(recs[i].Type, again[i].Type) {
				t.Fatalf("record %d changed", i)
			}
		}
	})
}

func FuzzTLV(f *testing.F) {
	f.Add(WrapTLV([]byte{1, 2, 3}))
	f.Add([]byte{0x03, 0xFF, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := UnwrapTLV(b)
		if err == nil && len(msg) > len(b) {
			t.Fatal("value longer than area")
		}
		_, _, _ = TLVLength(b)
	})
}
