// Package notice is the public notice (公示) of service records and star
// awards (issue 12 point 5): the holiday calendar as data (the working
// days a notice lasts), and the pass that serve runs every minute —
// kiosks' objections taken in once each, records whose notice ended made
// final (through store.ChangeServiceRecord, so the rollups count them),
// stars whose notice ended awarded.
//
// Objections: anyone may object to a record shown in a station's notice
// — at the kiosk by card tap (any registered volunteer, not only the
// record's own: 公示 invites objections from whoever reads the board),
// or in the console by a user who sees the record. An open objection
// holds the record (objected: it does not count). The station level
// resolves it (the county for a record of no station): dismissed, the
// record goes back to notice, or is final if its period is over; upheld,
// it goes to review with the reason 'objection'.
package notice

import (
	"context"
	"log/slog"
	"time"

	"leifeng/cloud/store"
)

// Pass runs the notice pass.
type Pass struct {
	Store *store.Store
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Changed, if set, is told the stations whose notice the pass
	// changed (serve sends them their config again, with the notice).
	Changed func(ctx context.Context, stations []string) error
}

// Result is what one pass did.
type Result struct {
	Objections int // kiosk objections applied
	Final      int // records made final
	Stars      int // stars awarded
	// Stations are those whose notice changed.
	Stations []string
}

// Once runs one pass at now.
func (p *Pass) Once(ctx context.Context) (Result, error) {
	var (
		res Result
		err error
	)
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	if res.Stations, err = p.Store.NoticeStations(ctx, now); err != nil {
		return res, err
	}
	// Objections first: a record objected to in its last minutes is not
	// made final under it.
	if res.Objections, err = p.Store.ApplyKioskObjections(ctx, now); err != nil {
		return res, err
	}
	if res.Final, err = p.Store.FinalizeNotices(ctx, now); err != nil {
		return res, err
	}
	if res.Stars, err = p.Store.AwardDueStars(ctx, now); err != nil {
		return res, err
	}
	if p.Changed != nil && len(res.Stations) > 0 {
		err = p.Changed(ctx, res.Stations)
	}
	return res, err
}

// Run runs a pass now and every every until ctx is done.
func (p *Pass) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := p.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.Log.Error("notice pass", "err", err)
		case res.Objections+res.Final+res.Stars > 0:
			p.Log.Info("notice pass", "objections", res.Objections, "final", res.Final, "stars", res.Stars)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
