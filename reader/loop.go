package reader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"leifeng/reader/mfrc522"
)

// DefaultPollInterval is how often the reader looks for a card. A card
// waits on average half of it before its read starts.
const DefaultPollInterval = 30 * time.Millisecond

// Event is what a poll produced: a Tap, or an error for a card that was
// refused or could not be read. The Tap of a refused card carries what
// could be read (UID, media, volunteer ID when the credential decoded).
type Event struct {
	Tap Tap
	Err error
}

// Reader polls an MFRC522 for cards and turns each presentation into one
// Event: a card left on the reader is one tap, lifted and put back is a
// new one.
type Reader struct {
	dev  *mfrc522.Dev
	cfg  *Config
	poll time.Duration
	log  *slog.Logger

	present   []byte // UID of the card already reported, still in the field
	several   bool   // a several-cards error was reported, field unchanged
	empty     int    // consecutive polls without a card
	faulted   bool   // ErrReaderFault was reported
	recovered atomic.Int64
	// gain is a receiver gain waiting to be applied by the polling
	// goroutine, plus one; 0 means none.
	gain atomic.Int32
}

// LoopOption configures a Reader.
type LoopOption func(*Reader)

// WithPollInterval sets the poll interval (default DefaultPollInterval).
func WithPollInterval(d time.Duration) LoopOption { return func(r *Reader) { r.poll = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) LoopOption { return func(r *Reader) { r.log = l } }

// NewReader returns a Reader on dev checking cards against cfg.
func NewReader(dev *mfrc522.Dev, cfg *Config, opts ...LoopOption) *Reader {
	r := &Reader{dev: dev, cfg: cfg, poll: DefaultPollInterval, log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Recoveries returns how many times the chip was reset after it stopped
// answering; the kiosk reports it as reader health.
// It is safe to call from any goroutine.
func (r *Reader) Recoveries() int { return int(r.recovered.Load()) }

// SetAntennaGain asks for the receiver gain g (0, 18 dB, to 7, 48 dB) to
// be written to the chip's RFCfgReg. It is safe to call from any goroutine
// (the kiosk calls it when a config is applied): the polling goroutine,
// which owns the chip, applies it before its next poll, so a pushed gain
// takes effect without a restart.
func (r *Reader) SetAntennaGain(g int) error {
	if g < 0 || g > 7 {
		return fmt.Errorf("reader: antenna gain %d outside 0..7", g)
	}
	r.gain.Store(int32(g) + 1)
	return nil
}

// applyGain writes a gain asked for by SetAntennaGain; a failed write is
// kept for the next poll.
func (r *Reader) applyGain() {
	g := r.gain.Swap(0)
	if g == 0 {
		return
	}
	if err := r.dev.SetAntennaGain(int(g - 1)); err != nil {
		r.gain.CompareAndSwap(0, g)
		r.log.Warn("antenna gain not applied yet", "gain", g-1, "err", err)
		return
	}
	r.log.Info("antenna gain applied", "gain", g-1)
}

// Poll runs one poll cycle and reports whether it produced an event.
//
// Every card read is halted afterwards (HLTA). A halted card does not
// answer REQA, so a card left on the reader is seen only by the WUPA of
// the presence check, and stays one tap; a card lifted and put back powers
// up idle, answers REQA, and is a new tap even between two polls.
func (r *Reader) Poll() (Event, bool) {
	r.applyGain()
	t, err := r.dev.Detect(false)
	switch {
	case errors.Is(err, mfrc522.ErrNoCard):
		if r.present != nil {
			still, err := r.dev.Present(r.present)
			if err != nil {
				return r.fault(err)
			}
			if !still {
				r.present = nil
			}
			return Event{}, false
		}
		// After a collision the cards sit in READY and ignore one REQA:
		// the field is empty only after two silent polls.
		if r.empty++; r.empty >= 2 {
			r.several = false
		}
		return Event{}, false
	case errors.Is(err, ErrSeveralCards):
		r.empty = 0
		if r.several {
			return Event{}, false
		}
		r.several = true
		return Event{Err: ErrSeveralCards}, true
	case errors.Is(err, mfrc522.ErrChip):
		return r.fault(err)
	case err != nil:
		// The card left during anticollision or the link failed: no tap yet.
		return Event{}, false
	}
	r.several, r.faulted, r.empty = false, false, 0
	tap, err := Read(r.dev, t, r.cfg)
	if errors.Is(err, ErrReaderFault) {
		return r.fault(err)
	}
	r.present = t.UID
	if err != nil {
		// Neither the volunteer ID nor the card's UID in routine logs (a
		// UID follows its holder from station to station); the kiosk logs
		// a keyed reference to the volunteer. The UID is there at debug
		// level, for someone diagnosing a reader on site.
		r.log.Info("card refused", "media", tap.Media, "code", Code(err))
		r.log.Debug("card refused", "uid", fmt.Sprintf("%X", tap.UID), "err", err)
	}
	return Event{Tap: tap, Err: err}, true
}

// fault resets a chip that stopped answering. The first failure to
// recover is reported as ErrReaderFault; later polls keep trying.
func (r *Reader) fault(cause error) (Event, bool) {
	r.present = nil
	err := r.dev.Recover()
	if err == nil {
		n := r.recovered.Add(1)
		r.log.Warn("reader chip recovered", "cause", cause, "recoveries", n)
		r.faulted = false
		return Event{}, false
	}
	r.log.Error("reader chip does not answer", "cause", cause, "err", err)
	if r.faulted {
		return Event{}, false
	}
	r.faulted = true
	return Event{Err: errors.Join(ErrReaderFault, err)}, true
}

// Run polls until ctx is done and sends each event on events. It runs in
// the caller's goroutine and starts none; it returns ctx's error.
func (r *Reader) Run(ctx context.Context, events chan<- Event) error {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		if ev, ok := r.Poll(); ok {
			select {
			case events <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
