package simreader

import (
	"context"
	"encoding/json"

	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

// Observed is a Book that also reports the outcome of every tap, so a
// touchscreen can show what the simulated reader did, and that uses the
// service chosen on screen when a request names none. Observe runs after
// the record is durable and must not block.
type Observed struct {
	Book Book
	// Observe receives each tap and its outcome; nil means nobody watches.
	Observe func(t reader.Tap, res attendance.Result, err error)
	// Choose returns the service chosen on screen for the next check-in,
	// or ""; nil means none.
	Choose func() string
	// ChooseActivity returns the activity chosen on screen for the next
	// check-in, or 0 (the station's default); nil means none.
	ChooseActivity func() int64
}

// TapService implements Book.
func (o Observed) TapService(ctx context.Context, t reader.Tap, service string) (attendance.Result, error) {
	return o.TapChoice(ctx, t, attendance.Choice{Service: service})
}

// TapChoice implements Book: what the request leaves unchosen is taken
// from the screen.
func (o Observed) TapChoice(ctx context.Context, t reader.Tap, c attendance.Choice) (attendance.Result, error) {
	if c.Service == "" && o.Choose != nil {
		c.Service = o.Choose()
	}
	if c.Activity == 0 && o.ChooseActivity != nil {
		c.Activity = o.ChooseActivity()
	}
	res, err := o.Book.TapChoice(ctx, t, c)
	if o.Observe != nil {
		o.Observe(t, res, err)
	}
	return res, err
}

// Request implements Book.
func (o Observed) Request(ctx context.Context, req attendance.ServiceRequest) (attendance.Result, error) {
	return o.Book.Request(ctx, req)
}

// Order implements Book.
func (o Observed) Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error) {
	return o.Book.Order(ctx, a)
}

// Images wraps dec so that a card refused while decoding (forged,
// expired, revoked, ...) is reported to Observe too. A nil dec stays nil.
func (o Observed) Images(dec ImageDecoder) ImageDecoder {
	if dec == nil {
		return nil
	}
	return func(ctx context.Context, image json.RawMessage) (reader.Tap, error) {
		t, err := dec(ctx, image)
		if err != nil && o.Observe != nil {
			o.Observe(t, attendance.Result{}, err)
		}
		return t, err
	}
}
