package simreader

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/kiosk/attendance"
	"leifeng/kiosk/store"
	"leifeng/reader"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (c *client) send(line string) Reply {
	c.t.Helper()
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatal(err)
	}
	var rep Reply
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		c.t.Fatalf("reply %q: %v", s, err)
	}
	return rep
}

func serve(t *testing.T, images ImageDecoder) (*client, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	book, err := attendance.New(st, attendance.Config{Station: "pe-simao-001", Debounce: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("127.0.0.1:0", book, images, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Shut down with the client still connected: Serve must close it.
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
		c.Close()
	})
	return &client{t: t, c: c, r: bufio.NewReader(c)}, st
}

func TestTapProtocol(t *testing.T) {
	c, st := serve(t, nil)
	in := c.send(`{"volunteer":"V0001","service":"邻里互助"}`)
	if !in.OK || in.Kind != "check_in" || in.Seq != 1 || in.Repeat || in.ID == "" {
		t.Fatalf("%+v", in)
	}
	if rep := c.send(`{"volunteer":"V0001"}`); !rep.OK || !rep.Repeat || rep.ID != in.ID {
		t.Fatalf("re-tap: %+v", rep)
	}
	time.Sleep(100 * time.Millisecond)
	out := c.send(`{"volunteer":"V0001"}`)
	if !out.OK || out.Kind != "check_out" || out.CheckIn != in.ID || out.Seconds <= 0 || out.Seq != 2 {
		t.Fatalf("check-out: %+v", out)
	}
	recs, _ := st.Oldest(10)
	if recs[0].Card != "SIM-V0001" || recs[0].Service != "邻里互助" || recs[1].Service != "邻里互助" {
		t.Fatalf("records %+v", recs)
	}
	req := c.send(`{"kind":"service_request","service":"家政","phone":"13800000000","note":"周二"}`)
	if !req.OK || req.Kind != "service_request" {
		t.Fatalf("%+v", req)
	}
	if rep := c.send(`{"volunteer":"V0002","card":"C-77"}`); !rep.OK {
		t.Fatalf("%+v", rep)
	}
	if recs, _ := st.Oldest(10); recs[3].Card != "C-77" {
		t.Fatalf("card %q", recs[3].Card)
	}
}

func TestBadRequests(t *testing.T) {
	c, st := serve(t, nil)
	for line, code := range map[string]string{
		`not json`:              "bad_request",
		`{"kind":"reboot"}`:     "bad_request",
		`{}`:                    "invalid",
		`{"image":{"uid":"1"}}`: "unsupported",
	} {
		rep := c.send(line)
		if rep.OK || rep.Error != code || rep.Message == "" {
			t.Errorf("%s → %+v, want %s", line, rep, code)
		}
	}
	if st.Depth() != 0 {
		t.Fatal("a bad request was stored")
	}
	// The connection still works after bad requests.
	if rep := c.send(`{"volunteer":"V0001"}`); !rep.OK {
		t.Fatalf("%+v", rep)
	}
}

func TestImageDecoder(t *testing.T) {
	decode := func(_ context.Context, img json.RawMessage) (reader.Tap, error) {
		var v struct{ Volunteer string }
		if err := json.Unmarshal(img, &v); err != nil || v.Volunteer == "" {
			return reader.Tap{}, errors.New("forged")
		}
		return reader.Tap{Volunteer: v.Volunteer, Card: "IMG-1", Media: "ntag215"}, nil
	}
	c, st := serve(t, decode)
	if rep := c.send(`{"image":{"volunteer":"V0009"}}`); !rep.OK || rep.Volunteer != "V0009" {
		t.Fatalf("%+v", rep)
	}
	if rep := c.send(`{"image":{}}`); rep.OK || rep.Error != "card" || !strings.Contains(rep.Message, "重新刷卡") {
		t.Fatalf("%+v", rep)
	}
	if recs, _ := st.Oldest(10); len(recs) != 1 || recs[0].Card != "IMG-1" {
		t.Fatalf("%+v", recs)
	}
}
