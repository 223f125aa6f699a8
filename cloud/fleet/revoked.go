package fleet

import (
	"context"
	"slices"
	"time"

	"leifeng/gateway/wire"
)

// cst is China Standard Time: card expiry dates are civil dates in Pu'er.
var cst = time.FixedZone("CST", 8*3600)

// revocations is the revoked list a document pushed at now carries: the
// serials of cloud-issued cards out of use and not yet expired (the cards
// table), and the serials listed names that are not cloud cards (cards
// issued offline with leifeng-card and revoked by hand in a pushed
// document), which stay. A cloud card that has since expired drops out:
// its expiry refuses it already, and the list stays short.
func (s *Service) revocations(ctx context.Context, listed []string, now time.Time) ([]string, error) {
	// A day of slack: a kiosk whose clock runs behind still refuses a
	// card revoked the day it expired.
	table, err := s.st.RevokedCards(ctx, now.In(cst).AddDate(0, 0, -1).Format("2006-01-02"))
	if err != nil {
		return nil, err
	}
	// Only the listed serials the table does not revoke need a look-up:
	// a document pushed before carries the table's list of then, and
	// asking about each of those again would cost every push a query
	// per 500 revoked cards.
	inTable := make(map[string]bool, len(table))
	for _, sn := range table {
		inTable[sn] = true
	}
	var rest []string
	for _, sn := range listed {
		if !inTable[sn] {
			rest = append(rest, sn)
		}
	}
	cloud, err := s.st.CloudCards(ctx, rest)
	if err != nil {
		return nil, err
	}
	out := table
	for _, sn := range rest {
		if !cloud[sn] {
			out = append(out, sn)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// PushRevocations pushes the fleet defaults again as they stand, carrying
// the cards table's revocation list as of now: one push that reaches every
// kiosk (they all take fleet/config, and revocations add up across the
// fleet and station documents, wire.MergeConfig). It returns the version.
func (s *Service) PushRevocations(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.stored(ctx, FleetScope)
	if err != nil {
		return 0, err
	}
	if cur == nil {
		cur = &wire.Config{V: wire.Version}
	}
	return s.Push(ctx, "", cur)
}
