package attendance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/gateway/wire"
	"leifeng/kiosk/store"
	"leifeng/reader"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const station = "pe-simao-001"

// manualClock is moved by the test. Tests may move it while a Book reads it.
type manualClock struct {
	mu sync.Mutex
	c  wire.Clock
}

func newManualClock() *manualClock {
	return &manualClock{c: wire.Clock{At: time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC), Mono: int64(time.Hour), Boot: "boot-1", Synced: true}}
}

func (m *manualClock) Now() wire.Clock {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

func (m *manualClock) advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.At = m.c.At.Add(d)
	m.c.Mono += int64(d)
}

// reboot starts a new boot: the monotonic clock restarts, the wall clock
// goes on (or not, if unsynced).
func (m *manualClock) reboot(wall time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.Boot += "'"
	m.c.Mono = int64(20 * time.Second)
	m.c.At = m.c.At.Add(wall)
}

type fixture struct {
	book  *Book
	st    *store.Store
	clock *manualClock
	path  string
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := newManualClock()
	cfg.Station, cfg.Clock = station, clk
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{book: b, st: st, clock: clk, path: path}
}

func tap(volunteer string) reader.Tap {
	return reader.Tap{Volunteer: volunteer, Card: "C-" + volunteer, Media: "sim"}
}

func (f *fixture) tap(t *testing.T, volunteer string) Result {
	t.Helper()
	r, err := f.book.Tap(context.Background(), tap(volunteer))
	if err != nil {
		t.Fatalf("tap %s: %v", volunteer, err)
	}
	return r
}

func (f *fixture) outbox(t *testing.T) []wire.Record {
	t.Helper()
	recs, err := f.st.Oldest(1000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestCheckInOut(t *testing.T) {
	f := newFixture(t, Config{})
	in := f.tap(t, "V0001")
	if in.Kind != wire.KindCheckIn || in.Repeat || in.Seq != 1 {
		t.Fatalf("first tap: %+v", in)
	}
	f.clock.advance(2*time.Hour + 30*time.Minute)
	out := f.tap(t, "V0001")
	if out.Kind != wire.KindCheckOut || out.CheckIn != in.ID || out.Duration != 2*time.Hour+30*time.Minute {
		t.Fatalf("second tap: %+v", out)
	}
	f.clock.advance(time.Minute)
	again := f.tap(t, "V0001")
	if again.Kind != wire.KindCheckIn {
		t.Fatalf("third tap: %+v", again)
	}

	recs := f.outbox(t)
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[1]
	if r.ID != out.ID || r.Ref != in.ID || r.Station != station || r.Volunteer != "V0001" || r.Card != "C-V0001" ||
		r.Boot != "boot-1" || !r.ClockSynced || r.Seq != 2 || r.Mono != f.clock.Now().Mono-int64(time.Minute) {
		t.Fatalf("check-out record: %+v", r)
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	ses, ok, _ := f.st.Session("V0001")
	if !ok || ses.CheckIn != again.ID {
		t.Fatalf("open session %+v %v", ses, ok)
	}
}

// TestDebounceHeld: a card held on the reader is seen again and again; as
// long as each sighting follows the last within the window it is one tap,
// even when the whole hold is longer than the window.
func TestDebounceHeld(t *testing.T) {
	f := newFixture(t, Config{Debounce: 3 * time.Second})
	first := f.tap(t, "V0001")
	for range 10 {
		f.clock.advance(500 * time.Millisecond)
		r := f.tap(t, "V0001")
		if !r.Repeat || r.ID != first.ID || r.Kind != wire.KindCheckIn {
			t.Fatalf("held card counted again: %+v", r)
		}
	}
	if n := len(f.outbox(t)); n != 1 {
		t.Fatalf("%d records for one held tap", n)
	}
	// Lifted and tapped again after the window: a new tap, the check-out.
	f.clock.advance(3 * time.Second)
	out := f.tap(t, "V0001")
	if out.Repeat || out.Kind != wire.KindCheckOut || out.CheckIn != first.ID {
		t.Fatalf("tap after the window: %+v", out)
	}
	// And a quick re-tap of the check-out repeats the check-out.
	f.clock.advance(time.Second)
	if r := f.tap(t, "V0001"); !r.Repeat || r.ID != out.ID || r.Kind != wire.KindCheckOut {
		t.Fatalf("re-tap of the check-out: %+v", r)
	}
	if n := len(f.outbox(t)); n != 2 {
		t.Fatalf("%d records", n)
	}
}

// TestDebounceOtherCards: the window is per card; another volunteer's tap
// in between is its own tap.
func TestDebounceOtherCards(t *testing.T) {
	f := newFixture(t, Config{})
	a := f.tap(t, "V0001")
	b := f.tap(t, "V0002")
	if a.Repeat || b.Repeat || a.ID == b.ID {
		t.Fatalf("%+v %+v", a, b)
	}
	if r := f.tap(t, "V0001"); !r.Repeat {
		t.Fatalf("re-tap: %+v", r)
	}
}

func checkAuto(t *testing.T, r wire.Record, volunteer, ref string) {
	t.Helper()
	if r.Kind != wire.KindAutoCheckOut || !r.Review || r.Ref != ref || r.Volunteer != volunteer {
		t.Fatalf("auto check-out record: %+v", r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAutoCheckOutOnNextTap(t *testing.T) {
	f := newFixture(t, Config{MaxSession: 12 * time.Hour})
	in := f.tap(t, "V0001")
	f.clock.advance(13 * time.Hour)
	r := f.tap(t, "V0001")
	if r.Kind != wire.KindCheckIn || r.AutoCheckOut == "" || r.ID == in.ID {
		t.Fatalf("tap after the maximum: %+v", r)
	}
	recs := f.outbox(t)
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	checkAuto(t, recs[1], "V0001", in.ID)
	if recs[1].ID != r.AutoCheckOut || recs[2].ID != r.ID || recs[2].Kind != wire.KindCheckIn {
		t.Fatalf("records: %+v", recs)
	}
	ses, ok, _ := f.st.Session("V0001")
	if !ok || ses.CheckIn != r.ID {
		t.Fatalf("session %+v", ses)
	}
	// Just under the maximum is an ordinary check-out.
	f.clock.advance(12*time.Hour - time.Second)
	if out := f.tap(t, "V0001"); out.Kind != wire.KindCheckOut || out.CheckIn != r.ID {
		t.Fatalf("check-out: %+v", out)
	}
}

func TestAutoCheckOutBySweep(t *testing.T) {
	f := newFixture(t, Config{MaxSession: 12 * time.Hour, SweepEvery: 10 * time.Millisecond})
	old := f.tap(t, "V0001")
	f.clock.advance(11 * time.Hour)
	young := f.tap(t, "V0002")
	f.clock.advance(90 * time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.book.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.st.Depth() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	recs := f.outbox(t)
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	checkAuto(t, recs[2], "V0001", old.ID)
	if _, ok, _ := f.st.Session("V0001"); ok {
		t.Fatal("swept session still open")
	}
	if ses, ok, _ := f.st.Session("V0002"); !ok || ses.CheckIn != young.ID {
		t.Fatal("young session closed")
	}
	// The next tap of the swept volunteer is a fresh check-in.
	if r := f.tap(t, "V0001"); r.Kind != wire.KindCheckIn || r.AutoCheckOut != "" {
		t.Fatalf("tap after sweep: %+v", r)
	}
}

// TestAcrossReboot: the monotonic clock restarts with a new boot, so the
// session length comes from the wall clock.
func TestAcrossReboot(t *testing.T) {
	f := newFixture(t, Config{})
	in := f.tap(t, "V0001")
	f.clock.reboot(3 * time.Hour)
	out := f.tap(t, "V0001")
	if out.Kind != wire.KindCheckOut || out.CheckIn != in.ID || out.Duration != 3*time.Hour {
		t.Fatalf("%+v", out)
	}
}

func TestServiceAndRequest(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	in, err := f.book.TapService(ctx, tap("V0001"), "关爱空巢老人")
	if err != nil || in.Service != "关爱空巢老人" {
		t.Fatalf("%+v %v", in, err)
	}
	f.clock.advance(time.Hour)
	out, err := f.book.TapService(ctx, tap("V0001"), "other")
	if err != nil || out.Kind != wire.KindCheckOut || out.Service != "关爱空巢老人" {
		t.Fatalf("%+v %v", out, err)
	}
	req, err := f.book.Request(ctx, ServiceRequest{Service: "家政", Phone: "13800000000", Note: "每周二上午"})
	if err != nil || req.Kind != wire.KindServiceRequest {
		t.Fatalf("%+v %v", req, err)
	}
	recs := f.outbox(t)
	r := recs[2]
	if r.Kind != wire.KindServiceRequest || r.Phone != "13800000000" || r.Note != "每周二上午" || r.Service != "家政" {
		t.Fatalf("%+v", r)
	}
	if _, err := f.book.Request(ctx, ServiceRequest{}); !errors.Is(err, ErrInvalidTap) {
		t.Fatalf("empty request: %v", err)
	}
}

func TestInvalidTap(t *testing.T) {
	f := newFixture(t, Config{})
	_, err := f.book.Tap(context.Background(), reader.Tap{Card: "x"})
	if !errors.Is(err, ErrInvalidTap) || Code(err) != CodeInvalidTap {
		t.Fatalf("%v", err)
	}
	long := reader.Tap{Volunteer: fmt.Sprintf("%0300d", 1)}
	if _, err := f.book.Tap(context.Background(), long); !errors.Is(err, ErrInvalidTap) {
		t.Fatalf("oversized volunteer: %v", err)
	}
	if f.st.Depth() != 0 {
		t.Fatal("invalid taps stored")
	}
}

// TestSetRulesLive: a config applied while the kiosk runs changes the
// debounce window and the maximum session for the next tap.
func TestSetRulesLive(t *testing.T) {
	f := newFixture(t, Config{Debounce: 3 * time.Second, MaxSession: 12 * time.Hour})
	in := f.tap(t, "V0001")
	f.book.SetRules(500*time.Millisecond, 0)
	if d, m := f.book.Rules(); d != 500*time.Millisecond || m != 12*time.Hour {
		t.Fatalf("rules %s %s", d, m)
	}
	f.clock.advance(time.Second)
	if r := f.tap(t, "V0001"); r.Repeat || r.Kind != wire.KindCheckOut || r.CheckIn != in.ID {
		t.Fatalf("after a shorter debounce: %+v", r)
	}
	f.book.SetRules(0, time.Hour)
	f.clock.advance(time.Second)
	f.tap(t, "V0002")
	f.clock.advance(2 * time.Hour)
	if r := f.tap(t, "V0002"); r.AutoCheckOut == "" || r.Kind != wire.KindCheckIn {
		t.Fatalf("after a shorter maximum session: %+v", r)
	}
}

// An objection is one record of kind objection in the outbox (Ref the
// service record, Note the reason, the card's volunteer and serial), and
// it opens or closes no session; one without a record or volunteer is
// refused and nothing is written. A check-in carries its activity, an
// automatic check-out's fresh check-in too.
func TestObjectionAndActivity(t *testing.T) {
	f := newFixture(t, Config{MaxSession: time.Hour})
	ctx := context.Background()
	if _, err := f.book.Object(ctx, Objection{Volunteer: "V0001", Reason: "时长不对"}); !errors.Is(err, ErrInvalidTap) {
		t.Fatalf("objection without a record: %v", err)
	}
	if _, err := f.book.TapChoice(ctx, tap("V0002"), Choice{Activity: -1}); !errors.Is(err, ErrInvalidTap) {
		t.Fatalf("negative activity: %v", err)
	}
	o, err := f.book.Object(ctx, Objection{Volunteer: "V0001", Card: "C-V0001", Record: "tap:0192", Reason: "时长不对"})
	if err != nil || o.Kind != wire.KindObjection {
		t.Fatalf("objection %+v %v", o, err)
	}
	in, err := f.book.TapChoice(ctx, tap("V0001"), Choice{Activity: 7})
	if err != nil || in.Kind != wire.KindCheckIn || in.Activity != 7 {
		t.Fatalf("check-in after the objection %+v %v", in, err)
	}
	f.clock.advance(2 * time.Hour) // past the maximum: closed, then a fresh check-in
	again, err := f.book.TapChoice(ctx, tap("V0001"), Choice{Activity: 8})
	if err != nil || again.AutoCheckOut == "" || again.Activity != 8 {
		t.Fatalf("fresh check-in %+v %v", again, err)
	}
	recs := f.outbox(t)
	if len(recs) != 4 {
		t.Fatalf("outbox %+v", recs)
	}
	if r := recs[0]; r.Kind != wire.KindObjection || r.Ref != "tap:0192" || r.Note != "时长不对" || r.Volunteer != "V0001" || r.Card != "C-V0001" {
		t.Fatalf("objection record %+v", r)
	}
	for i, want := range []int64{0, 7, 0, 8} {
		if recs[i].Activity != want {
			t.Fatalf("record %d (%s) activity %d, want %d", i, recs[i].Kind, recs[i].Activity, want)
		}
		if err := recs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
}
