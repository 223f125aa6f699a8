package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// nopPublisher takes every message: the benchmark measures the cloud's
// side of a push (database, signing), not the broker.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, []byte) error         { return nil }
func (nopPublisher) PublishRetained(context.Context, string, []byte) error { return nil }

// withRevoked is a fleet service on SQLite whose cards table holds n
// revoked cards valid until 2099 and one expired revoked card.
func withRevoked(tb testing.TB, n int) (*Service, *store.Store) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "leifeng.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	keys, err := LoadKeys(dir)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	add := func(serial, expires string) {
		c := store.Card{Serial: serial, Volunteer: "V1", UID: serial, Media: "ntag215", Issued: now, Expires: expires, State: store.CardActive}
		if err := st.AddCard(ctx, c); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.WithdrawCard(ctx, serial, store.Withdrawal{State: store.CardRevoked, At: now}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		add(fmt.Sprintf("C2026-%010X", i), "2099-12-31")
	}
	add("C2020-EXPIRED", "2026-11-27")
	s := NewService(st, keys, nopPublisher{}, nil)
	s.Now = func() time.Time { return now }
	return s, st
}

// Every push carries the cards table's revocations; a card expired before
// yesterday drops out; a serial revoked by hand that is no cloud card
// stays, and PushRevocations sends the fleet defaults as they stand.
func TestPushCarriesRevocations(t *testing.T) {
	s, _ := withRevoked(t, 2)
	ctx := context.Background()
	if _, err := s.Push(ctx, "", &wire.Config{V: wire.Version, Revoked: []string{"DESK-1", "C2020-EXPIRED"}, Profile: &wire.Profile{Name: "站"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.PushRevocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.stored(ctx, FleetScope)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"C2026-0000000000", "C2026-0000000001", "DESK-1"}; cur.Version != v || !slices.Equal(cur.Revoked, want) || cur.Profile.Name != "站" {
		t.Fatalf("fleet defaults %d revoke %v (profile %+v), want %d revoking %v", cur.Version, cur.Revoked, cur.Profile, v, want)
	}
}

// BenchmarkPushRevoked is the cost of one config push with n cloud cards
// revoked and unexpired: what every push (and every roster refresh of
// every station) now pays.
func BenchmarkPushRevoked(b *testing.B) {
	for _, n := range []int{0, 1000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, _ := withRevoked(b, n)
			ctx := context.Background()
			doc := &wire.Config{V: wire.Version, Profile: &wire.Profile{Name: "站"}}
			for b.Loop() {
				if _, err := s.Push(ctx, "", doc); err != nil {
					b.Fatal(err)
				}
				cur, _ := s.stored(ctx, FleetScope)
				doc = cur // the next push starts from what is stored, as Apply does
			}
		})
	}
}
