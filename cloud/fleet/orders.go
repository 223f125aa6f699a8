package fleet

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"leifeng/cloud/orders"
	"leifeng/gateway/wire"
)

// OrdersKept is how long a final order (rated, rejected, cancelled) stays
// in its station's document, so that a resident can still look up the
// outcome at the kiosk.
const OrdersKept = 30 * 24 * time.Hour

// stationOrders is what a station's document says of residents' orders:
// those registered there (open, or final within OrdersKept), with a check
// of the phone's last digits instead of the phone, and this month's served
// counts of the station's community per category.
func (s *Service) stationOrders(ctx context.Context, station string) ([]wire.OrderStatus, *wire.Served, error) {
	now := s.Now()
	list, err := s.st.StationOrders(ctx, station, now.Add(-OrdersKept))
	if err != nil {
		return nil, nil, err
	}
	out := []wire.OrderStatus{}
	for _, o := range list {
		digits := ""
		if p := strings.TrimSpace(o.Phone); len(p) >= orders.LastDigits {
			digits = p[len(p)-orders.LastDigits:]
		}
		reason := ""
		if o.State == orders.Rejected || o.State == orders.Cancelled {
			reason = o.Reason
		}
		out = append(out, wire.OrderStatus{Ref: o.Ref, Category: o.Category, State: string(o.State), Reason: reason,
			Check: wire.OrderCheck(station, o.Ref, digits), Updated: o.Since.UTC()})
	}
	local := now.In(CST)
	month := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, CST)
	counts, err := s.st.ServedAtStation(ctx, station, month)
	if err != nil {
		return nil, nil, err
	}
	served := &wire.Served{Period: local.Format("2006年1月"), Counts: []wire.ServedCount{}}
	for c, n := range counts {
		served.Counts = append(served.Counts, wire.ServedCount{Category: c, Count: n})
	}
	slices.SortFunc(served.Counts, func(a, b wire.ServedCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Category, b.Category)
	})
	return out, served, nil
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// RefreshStation sends station its document again if its derived parts
// (roster, tasks, orders, served counts, honor roll, announcements)
// changed.
func (s *Service) RefreshStation(ctx context.Context, station string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshRoster(ctx, station)
}

// RunOrders takes the kiosks' service requests in as orders, applies the
// kiosks' order records (a volunteer starting an order, a resident's
// rating), applies policy's clock rules, and sends every station whose
// orders changed its new document, now and every interval until ctx
// ends.
func (s *Service) RunOrders(ctx context.Context, every time.Duration, policy orders.Policy) {
	t := time.NewTicker(every)
	defer t.Stop()
	since := time.Time{}
	for {
		next, err := s.OrdersPass(ctx, policy, since)
		if err != nil && ctx.Err() == nil {
			s.log.Error("orders", "err", err)
		} else {
			since = next
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// OrdersPass is one pass of RunOrders: it returns the time to give the
// next pass as since (orders changed after it get their stations
// refreshed).
func (s *Service) OrdersPass(ctx context.Context, policy orders.Policy, since time.Time) (time.Time, error) {
	now := s.Now()
	if _, err := s.st.IntakeOrders(ctx, now); err != nil {
		return since, err
	}
	if _, err := s.st.ApplyKioskOrders(ctx, now); err != nil {
		return since, err
	}
	if _, err := s.st.TickOrders(ctx, policy, now); err != nil {
		return since, err
	}
	stations, err := s.st.StationsWithOrdersSince(ctx, since)
	if err != nil {
		return since, err
	}
	for _, st := range stations {
		if err := s.RefreshStation(ctx, st); err != nil {
			return since, err
		}
	}
	return now, nil
}
