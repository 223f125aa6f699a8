// Package attendance holds the check-in and check-out rules of a station:
// the first tap checks a volunteer in, the next tap checks them out, a card
// held on the reader or tapped again within the debounce window counts
// once, and a session left open longer than the maximum is closed by an
// auto_check_out record that asks a person to review it.
//
// A tap is confirmed only when Tap returns a nil error: by then its record
// and the session change are on disk together (see store.Store.Commit).
package attendance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/clock"
	"leifeng/kiosk/store"
	"leifeng/reader"
)

// refKeyBlob names, in the store, the kiosk's random key for volunteer
// references in logs.
const refKeyBlob = "log_ref_key"

// Defaults for Config.
const (
	DefaultDebounce   = 3 * time.Second
	DefaultMaxSession = 12 * time.Hour
	DefaultSweepEvery = time.Minute
)

// Config sets up a Book.
type Config struct {
	// Station is this kiosk's station ID.
	Station string
	// Debounce is how long after a card was last seen a tap of the same
	// card still counts as the same tap. Zero means DefaultDebounce.
	Debounce time.Duration
	// MaxSession is the longest a session may stay open before it is
	// closed automatically for review. Zero means DefaultMaxSession.
	MaxSession time.Duration
	// SweepEvery is how often Run looks for sessions past MaxSession. Zero
	// means DefaultSweepEvery.
	SweepEvery time.Duration
	// Clock reads the time; nil means the system clock.
	Clock clock.Clock
	// Logger receives one line per record, naming the volunteer only by
	// VolunteerRef; nil means slog.Default().
	Logger *slog.Logger
}

// Result is what a screen shows after a tap.
type Result struct {
	Kind wire.Kind
	// ID and Seq name the record the tap wrote (or, for a repeat, the
	// record the earlier tap wrote).
	ID        string
	Seq       uint64
	Volunteer string
	Card      string
	Service   string
	At        time.Time
	// Repeat is true when the tap was the same card again within the
	// debounce window: nothing was written, and the rest of Result is the
	// earlier tap's.
	Repeat bool
	// CheckIn is, for a check-out, the ID of the check-in it closes.
	CheckIn string
	// Duration is, for a check-out, the session's length. It is measured
	// on the monotonic clock when check-in and check-out happened in the
	// same boot, else on the wall clock.
	Duration time.Duration
	// AutoCheckOut is the ID of an auto_check_out record this tap wrote
	// first, because the volunteer's previous session had run past the
	// maximum; the tap itself is then a fresh check-in.
	AutoCheckOut string
	// Activity is, for a check-in, the activity chosen (0: none, the
	// station's default activity).
	Activity int64
}

// Choice is what a volunteer chose on screen before tapping their card:
// a menu item (Service) and an activity of the station's (Activity, 0
// for none: the station's default activity). A check-out ignores both;
// the session's check-out carries the check-in's service.
type Choice struct {
	Service  string
	Activity int64
}

// Book applies the rules and writes the records. Its methods are safe for
// concurrent use; taps are decided one at a time.
type Book struct {
	st     *store.Store
	cfg    Config
	log    *slog.Logger
	refKey []byte

	mu   sync.Mutex
	seen map[string]sighting // card → last sighting, for debouncing
}

type sighting struct {
	mono   int64
	boot   string
	result Result
}

// New returns a Book writing to st.
func New(st *store.Store, cfg Config) (*Book, error) {
	if !wire.ValidStationID(cfg.Station) {
		return nil, fmt.Errorf("attendance: bad station ID %q", cfg.Station)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.MaxSession == 0 {
		cfg.MaxSession = DefaultMaxSession
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	if cfg.Clock == nil {
		sys, err := clock.NewSystem()
		if err != nil {
			return nil, fmt.Errorf("attendance: %w", err)
		}
		cfg.Clock = sys
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Book{st: st, cfg: cfg, log: log.With("station", cfg.Station), seen: make(map[string]sighting)}
	if err := b.loadRefKey(); err != nil {
		return nil, err
	}
	return b, nil
}

// loadRefKey reads the kiosk's key for volunteer references, making it on
// first start. A key that cannot be stored (a full disk) is used for this
// run only: the references then change at the next start, which costs
// nothing but the link between two runs' logs.
func (b *Book) loadRefKey() error {
	key, err := b.st.Blob(refKeyBlob)
	if err != nil {
		return fmt.Errorf("attendance: log reference key: %w", err)
	}
	if len(key) == 32 {
		b.refKey = key
		return nil
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := b.st.PutBlob(refKeyBlob, key); err != nil {
		b.log.Warn("log reference key not stored; volunteer references change at the next start", "err", err)
	}
	b.refKey = key
	return nil
}

// VolunteerRef is how logs name a volunteer: 8 hex digits of an
// HMAC-SHA256 of the ID under a random key that never leaves this kiosk's
// store. The lines of one volunteer on one kiosk can be followed; the ID
// cannot be read back or guessed from them, even where IDs are easy to
// enumerate. Routine logs carry this, the record ID and the station, never
// the volunteer ID.
func (b *Book) VolunteerRef(volunteer string) string {
	if volunteer == "" {
		return ""
	}
	m := hmac.New(sha256.New, b.refKey)
	m.Write([]byte(volunteer))
	return hex.EncodeToString(m.Sum(nil)[:4])
}

// Tap decides what a tap means and records it. On a nil error the record
// and the session change are durable and the tap may be shown as
// confirmed. On an error nothing was written; errors.Is(err, ErrStorage)
// means the store failed (Message says what to tell the person).
func (b *Book) Tap(ctx context.Context, t reader.Tap) (Result, error) {
	return b.TapService(ctx, t, "")
}

// TapService is Tap for a volunteer who chose a menu item (service) at
// check-in; the session's check-out carries the same service. A check-out
// ignores service.
func (b *Book) TapService(ctx context.Context, t reader.Tap, service string) (Result, error) {
	return b.TapChoice(ctx, t, Choice{Service: service})
}

// TapChoice is Tap for a volunteer who chose on screen: a check-in
// carries c's service and activity (wire.Record.Activity).
func (b *Book) TapChoice(ctx context.Context, t reader.Tap, c Choice) (Result, error) {
	service := c.Service
	if c.Activity < 0 {
		return Result{}, fmt.Errorf("%w: activity %d", ErrInvalidTap, c.Activity)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if t.Volunteer == "" {
		return Result{}, fmt.Errorf("%w: no volunteer on the card", ErrInvalidTap)
	}
	card := t.Card
	if card == "" {
		card = t.Volunteer
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Clock.Now()
	if s, ok := b.seen[card]; ok && s.boot == now.Boot && now.Mono-s.mono < int64(b.cfg.Debounce) {
		// Sliding window: a card held on the reader keeps being seen and
		// must not turn into a check-out a few seconds later.
		s.mono = now.Mono
		b.seen[card] = s
		r := s.result
		r.Repeat = true
		return r, nil
	}
	b.forget(now)

	ses, open, err := b.st.Session(t.Volunteer)
	if err != nil {
		return Result{}, &storageError{err}
	}
	var change store.Change
	var res Result
	switch {
	case open && b.expired(ses, now):
		auto, err := b.autoCheckOut(ses, now)
		if err != nil {
			return Result{}, err
		}
		in, err := b.newRecord(wire.KindCheckIn, t.Volunteer, t.Card, service, now)
		if err != nil {
			return Result{}, err
		}
		in.Activity = c.Activity
		addCard(in, t)
		change = store.Change{Records: []*wire.Record{auto, in}, Close: []string{ses.Volunteer}, Open: sessionOf(in)}
		res = Result{AutoCheckOut: auto.ID}
	case open:
		out, err := b.newRecord(wire.KindCheckOut, t.Volunteer, t.Card, ses.Service, now)
		if err != nil {
			return Result{}, err
		}
		out.Ref = ses.CheckIn
		addCard(out, t)
		change = store.Change{Records: []*wire.Record{out}, Close: []string{t.Volunteer}}
		res = Result{CheckIn: ses.CheckIn, Duration: elapsed(ses, now)}
	default:
		in, err := b.newRecord(wire.KindCheckIn, t.Volunteer, t.Card, service, now)
		if err != nil {
			return Result{}, err
		}
		in.Activity = c.Activity
		addCard(in, t)
		change = store.Change{Records: []*wire.Record{in}, Open: sessionOf(in)}
	}
	if err := b.st.Commit(change); err != nil {
		return Result{}, b.commitError(err)
	}
	last := change.Records[len(change.Records)-1]
	res.Kind, res.ID, res.Seq = last.Kind, last.ID, last.Seq
	res.Volunteer, res.Card, res.Service, res.At = last.Volunteer, last.Card, last.Service, last.At
	res.Activity = last.Activity
	b.seen[card] = sighting{mono: now.Mono, boot: now.Boot, result: res}
	for _, r := range change.Records {
		b.log.Info("tap recorded", "record", r.ID, "kind", r.Kind, "volunteer_ref", b.VolunteerRef(r.Volunteer), "seq", r.Seq, "ref", r.Ref, "review", r.Review)
	}
	return res, nil
}

// forget drops sightings older than the debounce window so the map stays
// as small as the set of cards tapped in the last few seconds.
func (b *Book) forget(now wire.Clock) {
	for card, s := range b.seen {
		if s.boot != now.Boot || now.Mono-s.mono >= int64(b.cfg.Debounce) {
			delete(b.seen, card)
		}
	}
}

// addCard copies the NTAG 424 DNA clone-check data from the tap, and its
// request for review (a card that could not be date-checked).
func addCard(r *wire.Record, t reader.Tap) {
	r.Review = r.Review || t.Review
	r.Counter = t.Counter
	if len(t.SUN) > 0 {
		r.SUN = fmt.Sprintf("%X", t.SUN)
	}
}

func sessionOf(in *wire.Record) *store.Session {
	return &store.Session{
		Volunteer: in.Volunteer, CheckIn: in.ID, Card: in.Card, Service: in.Service,
		At: in.At, Mono: in.Mono, Boot: in.Boot,
	}
}

// elapsed is how long a session has been open at now.
func elapsed(ses store.Session, now wire.Clock) time.Duration {
	if ses.Boot == now.Boot {
		return time.Duration(now.Mono - ses.Mono)
	}
	// Across a reboot only the wall clock links the two; it may be wrong
	// (unsynced), which the gateway corrects and flags.
	return now.At.Sub(ses.At)
}

func (b *Book) expired(ses store.Session, now wire.Clock) bool {
	return elapsed(ses, now) > b.cfg.MaxSession
}

func (b *Book) newRecord(kind wire.Kind, volunteer, card, service string, now wire.Clock) (*wire.Record, error) {
	id, err := wire.NewRecordID()
	if err != nil {
		return nil, fmt.Errorf("attendance: record ID: %w", err)
	}
	return &wire.Record{
		ID: id, Station: b.cfg.Station, Kind: kind, Volunteer: volunteer, Card: card, Service: service,
		At: now.At, Mono: now.Mono, Boot: now.Boot, ClockSynced: now.Synced,
	}, nil
}

func (b *Book) autoCheckOut(ses store.Session, now wire.Clock) (*wire.Record, error) {
	r, err := b.newRecord(wire.KindAutoCheckOut, ses.Volunteer, ses.Card, ses.Service, now)
	if err != nil {
		return nil, err
	}
	r.Ref, r.Review = ses.CheckIn, true
	return r, nil
}

// commitError turns a failed Commit into the error a caller sees: an
// invalid record is the tap's fault, anything else is the store's.
func (b *Book) commitError(err error) error {
	if errors.Is(err, wire.ErrInvalid) {
		return fmt.Errorf("%w: %w", ErrInvalidTap, err)
	}
	b.log.Error("tap not stored", "err", err)
	return &storageError{err}
}

// Run closes sessions that outlive the maximum until ctx is done: once at
// start (to catch sessions left open across a power cut) and then every
// SweepEvery. It returns ctx's error.
func (b *Book) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.SweepEvery)
	defer t.Stop()
	for {
		if _, err := b.Sweep(ctx); err != nil {
			b.log.Error("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Sweep writes an auto_check_out record, flagged for review, for every
// open session past the maximum, each in its own transaction, and returns
// how many it closed.
func (b *Book) Sweep(ctx context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sessions, err := b.st.Sessions()
	if err != nil {
		return 0, &storageError{err}
	}
	closed := 0
	for _, ses := range sessions {
		if err := ctx.Err(); err != nil {
			return closed, err
		}
		now := b.cfg.Clock.Now()
		if !b.expired(ses, now) {
			continue
		}
		auto, err := b.autoCheckOut(ses, now)
		if err != nil {
			return closed, err
		}
		if err := b.st.Commit(store.Change{Records: []*wire.Record{auto}, Close: []string{ses.Volunteer}}); err != nil {
			return closed, b.commitError(err)
		}
		closed++
		b.log.Warn("session closed automatically", "record", auto.ID, "volunteer_ref", b.VolunteerRef(ses.Volunteer), "ref", ses.CheckIn, "seq", auto.Seq)
	}
	return closed, nil
}

// ServiceRequest is a resident's registered need (需求登记).
type ServiceRequest struct {
	// Service is the menu item or category asked for.
	Service string
	Phone   string
	Note    string
	// Volunteer is the volunteer who helped register it, if any.
	Volunteer string
}

// Request records a service request. Like Tap, a nil error means it is
// durable; errors.Is(err, ErrStorage) means it was not stored.
func (b *Book) Request(ctx context.Context, req ServiceRequest) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if req.Service == "" {
		return Result{}, fmt.Errorf("%w: a service request needs a service", ErrInvalidTap)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.newRecord(wire.KindServiceRequest, req.Volunteer, "", req.Service, b.cfg.Clock.Now())
	if err != nil {
		return Result{}, err
	}
	r.Phone, r.Note = req.Phone, req.Note
	if err := b.st.Commit(store.Change{Records: []*wire.Record{r}}); err != nil {
		return Result{}, b.commitError(err)
	}
	b.log.Info("service request recorded", "record", r.ID, "service", r.Service, "seq", r.Seq)
	return Result{Kind: r.Kind, ID: r.ID, Seq: r.Seq, Volunteer: r.Volunteer, Service: r.Service, At: r.At}, nil
}

// OrderAction is something done at the kiosk about a resident's order.
type OrderAction struct {
	// Kind is wire.KindOrderStart (an assigned volunteer starts the
	// order's service with their check-in) or wire.KindOrderRating (the
	// resident rates the service).
	Kind wire.Kind
	// Order is the order's reference number (XQ-…).
	Order string
	// Volunteer and CheckIn (the check-in record's ID) start an order.
	Volunteer, CheckIn string
	// Digits (the last four of the resident's phone), Rating (1–5) and
	// Comment (a preset one, or empty) rate it.
	Digits  string
	Rating  int
	Comment string
}

// Order records an action on a resident's order. Like Tap, a nil error
// means it is durable.
func (b *Book) Order(ctx context.Context, a OrderAction) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if a.Kind != wire.KindOrderStart && a.Kind != wire.KindOrderRating {
		return Result{}, fmt.Errorf("%w: %q is not an order action", ErrInvalidTap, a.Kind)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.newRecord(a.Kind, a.Volunteer, "", "", b.cfg.Clock.Now())
	if err != nil {
		return Result{}, err
	}
	r.Order = a.Order
	if a.Kind == wire.KindOrderStart {
		r.Ref = a.CheckIn
	} else {
		r.Volunteer, r.Phone, r.Rating, r.Note = "", a.Digits, a.Rating, a.Comment
	}
	if err := b.st.Commit(store.Change{Records: []*wire.Record{r}}); err != nil {
		return Result{}, b.commitError(err)
	}
	b.log.Info("order action recorded", "record", r.ID, "kind", r.Kind, "order", r.Order, "seq", r.Seq)
	return Result{Kind: r.Kind, ID: r.ID, Seq: r.Seq, Volunteer: r.Volunteer, At: r.At}, nil
}

// Objection is a volunteer's objection (异议) to a service record in the
// station's public notice (公示), raised by tapping their card.
type Objection struct {
	// Volunteer and Card are the tapped card's.
	Volunteer, Card string
	// Record is the service record's ID as the notice list gave it.
	Record string
	// Reason is the reason chosen (a preset sentence, in Chinese).
	Reason string
}

// Object records an objection. Like Tap, a nil error means it is durable:
// the outbox sends it exactly once.
func (b *Book) Object(ctx context.Context, o Objection) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if o.Volunteer == "" || o.Record == "" {
		return Result{}, fmt.Errorf("%w: an objection needs the volunteer and the record", ErrInvalidTap)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.newRecord(wire.KindObjection, o.Volunteer, o.Card, "", b.cfg.Clock.Now())
	if err != nil {
		return Result{}, err
	}
	r.Ref, r.Note = o.Record, o.Reason
	if err := b.st.Commit(store.Change{Records: []*wire.Record{r}}); err != nil {
		return Result{}, b.commitError(err)
	}
	b.log.Info("objection recorded", "record", r.ID, "ref", r.Ref, "volunteer_ref", b.VolunteerRef(r.Volunteer), "seq", r.Seq)
	return Result{Kind: r.Kind, ID: r.ID, Seq: r.Seq, Volunteer: r.Volunteer, Card: r.Card, At: r.At}, nil
}

// SetRules changes the debounce window and the maximum session while the
// Book runs (a new config applied); zero keeps a value as it is. The next
// tap and the next sweep use the new values.
func (b *Book) SetRules(debounce, maxSession time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if debounce > 0 {
		b.cfg.Debounce = debounce
	}
	if maxSession > 0 {
		b.cfg.MaxSession = maxSession
	}
}

// Rules returns the debounce window and maximum session in use.
func (b *Book) Rules() (debounce, maxSession time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg.Debounce, b.cfg.MaxSession
}
