package simreader

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/kiosk/attendance"
	"leifeng/kiosk/store"
	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client is the exported Client, failing the test on a broken connection.
type client struct {
	t *testing.T
	c *Client
}

func (c *client) send(line string) Reply {
	c.t.Helper()
	rep, err := c.c.SendLine(context.Background(), []byte(line))
	if err != nil {
		c.t.Fatal(err)
	}
	return rep
}

// testDebounce is long enough that a re-tap right after a tap whose fsync
// was slow (a loaded disk) still falls inside it.
const testDebounce = time.Second

func serve(t *testing.T, images ImageDecoder, opts ...Option) (*client, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	book, err := attendance.New(st, attendance.Config{Station: "pe-simao-001", Debounce: testDebounce, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("127.0.0.1:0", book, images, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	c := NewClient(srv.Addr().String())
	t.Cleanup(func() {
		// Shut down with the client still connected: Serve must close it.
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
		c.Close()
	})
	return &client{t: t, c: c}, st
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
	time.Sleep(testDebounce + 100*time.Millisecond)
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

// Card images go through the real driver on a simulated chip and the real
// credential check: a genuine card taps, a forged one is refused with its
// reason and a plain Chinese message.
func TestCardImages(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	cfg := &reader.Config{Verifier: &credential.Verifier{Keys: map[uint16]ed25519.PublicKey{1: pub}}}
	image := func(signer ed25519.PrivateKey, uid []byte, volunteer, serial string) string {
		c := credential.Credential{Version: 1, UID: uid, Volunteer: volunteer, Serial: serial,
			Issued: time.Now().AddDate(0, -1, 0), Expires: time.Now().AddDate(1, 0, 0)}
		payload, err := c.Sign(1, signer)
		if err != nil {
			t.Fatal(err)
		}
		im, err := cardimage.Issue("ntag215", uid, payload, cardimage.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := im.Save()
		var compact bytes.Buffer
		json.Compact(&compact, data)
		return `{"image":` + compact.String() + `}`
	}
	c, st := serve(t, CardImages(cfg))
	uid := []byte{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}
	if rep := c.send(image(priv, uid, "V0009", "S-0009")); !rep.OK || rep.Volunteer != "V0009" || rep.Kind != "check_in" {
		t.Fatalf("genuine card: %+v", rep)
	}
	rep := c.send(image(other, []byte{0x04, 1, 2, 3, 4, 5, 6}, "V0010", "S-0010"))
	if rep.OK || rep.Error != "card" || rep.Reason != "forged" || !strings.Contains(rep.Message, "志愿服务证") {
		t.Fatalf("forged card: %+v", rep)
	}
	if recs, _ := st.Oldest(10); len(recs) != 1 || recs[0].Card != "S-0009" || recs[0].Volunteer != "V0009" {
		t.Fatalf("%+v", recs)
	}
}

// TestCardsOnly: a bare {"volunteer":…} tap, which carries no signed
// credential, is taken only while the kiosk has no issuer key; once it has
// one, it is refused with reason "unsigned" and nothing is written.
func TestCardsOnly(t *testing.T) {
	var mu sync.Mutex
	keys := false
	c, st := serve(t, nil, CardsOnly(func() bool { mu.Lock(); defer mu.Unlock(); return keys }))
	if rep := c.send(`{"volunteer":"V0001"}`); !rep.OK {
		t.Fatalf("bare tap without issuer keys: %+v", rep)
	}
	mu.Lock()
	keys = true
	mu.Unlock()
	rep := c.send(`{"volunteer":"V0002"}`)
	if rep.OK || rep.Error != "card" || rep.Reason != "unsigned" || rep.Message == "" {
		t.Fatalf("bare tap with issuer keys: %+v", rep)
	}
	if recs, _ := st.Oldest(10); len(recs) != 1 {
		t.Fatalf("%d records, want only the first tap's", len(recs))
	}
	if rep := c.send(`{"kind":"service_request","service":"家政"}`); !rep.OK {
		t.Fatalf("service request: %+v", rep)
	}
}

// A check-in names the activity chosen ("activity"), its check-out none;
// a negative activity is refused as invalid, nothing stored.
func TestTapActivity(t *testing.T) {
	c, st := serve(t, nil)
	if rep := c.send(`{"volunteer":"V0001","activity":-3}`); rep.OK || rep.Error != "invalid" {
		t.Fatalf("negative activity: %+v", rep)
	}
	in := c.send(`{"volunteer":"V0001","activity":42}`)
	if !in.OK || in.Kind != "check_in" {
		t.Fatalf("check-in %+v", in)
	}
	time.Sleep(testDebounce + 100*time.Millisecond)
	if out := c.send(`{"volunteer":"V0001","activity":43}`); !out.OK || out.Kind != "check_out" {
		t.Fatalf("check-out %+v", out)
	}
	recs, err := st.Oldest(10)
	if err != nil || len(recs) != 2 || recs[0].Activity != 42 || recs[1].Activity != 0 {
		t.Fatalf("outbox %v %+v", err, recs)
	}
}
