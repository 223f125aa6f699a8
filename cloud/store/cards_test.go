package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The cards table on both databases: issue, one active credential per
// UID, withdraw once, replace (also a card reported lost), and the
// revocation list leaving out expired cards.
func TestCards(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			ctx := context.Background()
			if err := s.SaveVolunteers(ctx, "", []RosterEntry{{"V1", "王小明"}}, t0); err != nil {
				t.Fatal(err)
			}
			if n, err := s.VolunteerName(ctx, "V1"); err != nil || n != "王小明" {
				t.Fatalf("VolunteerName = %q, %v", n, err)
			}
			if _, err := s.VolunteerName(ctx, "V404"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown volunteer: %v", err)
			}
			card := func(serial, uid, expires string) Card {
				return Card{Serial: serial, Volunteer: "V1", UID: uid, Media: "ntag215", Issued: t0, IssuedBy: "admin", Expires: expires, State: CardActive}
			}
			a := card("C-A", "04A1", "2029-01-01")
			if err := s.AddCard(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := s.AddCard(ctx, card("C-A", "04A2", "2029-01-01")); !errors.Is(err, ErrExists) {
				t.Fatalf("serial taken: %v", err)
			}
			if err := s.AddCard(ctx, card("C-B", "04A1", "2029-01-01")); !errors.Is(err, ErrExists) {
				t.Fatalf("second active credential on one card: %v", err)
			}
			got, err := s.Card(ctx, "C-A")
			if err != nil || !reflect.DeepEqual(*got, a) {
				t.Fatalf("Card = %+v, %v; want %+v", got, err, a)
			}

			// Replaced: old becomes replaced, the new one is active, even
			// on the same UID.
			w := Withdrawal{State: CardReplaced, At: t0.Add(time.Hour), By: "admin", Reason: "损坏"}
			old, err := s.ReplaceCard(ctx, "C-A", w, card("C-B", "04A1", "2029-06-01"))
			if err != nil {
				t.Fatal(err)
			}
			if old.State != CardReplaced || old.ReplacedBy != "C-B" || old.Reason != "损坏" || !old.Revoked.Equal(w.At) {
				t.Fatalf("old card %+v", old)
			}
			if _, err := s.WithdrawCard(ctx, "C-A", Withdrawal{State: CardRevoked, At: t0}); !errors.Is(err, ErrCardWithdrawn) {
				t.Fatalf("revoke a replaced card: %v", err)
			}
			if _, err := s.WithdrawCard(ctx, "C-404", Withdrawal{State: CardRevoked, At: t0}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("revoke an unknown card: %v", err)
			}
			// Lost, then issued anew: the lost card keeps its state and
			// names its successor; it cannot be replaced twice.
			if _, err := s.WithdrawCard(ctx, "C-B", Withdrawal{State: CardLost, At: t0, By: "admin", Reason: "丢失"}); err != nil {
				t.Fatal(err)
			}
			old, err = s.ReplaceCard(ctx, "C-B", Withdrawal{State: CardReplaced, At: t0}, card("C-C", "04A3", "2020-01-01"))
			if err != nil || old.State != CardLost || old.ReplacedBy != "C-C" {
				t.Fatalf("replace a lost card: %+v, %v", old, err)
			}
			if _, err := s.ReplaceCard(ctx, "C-B", Withdrawal{State: CardReplaced, At: t0}, card("C-D", "04A4", "2029-01-01")); !errors.Is(err, ErrCardWithdrawn) {
				t.Fatalf("replace twice: %v", err)
			}
			if _, err := s.WithdrawCard(ctx, "C-C", Withdrawal{State: CardRevoked, At: t0, By: "admin"}); err != nil {
				t.Fatal(err)
			}
			// C-C expired in 2020: no kiosk needs it listed.
			rev, err := s.RevokedCards(ctx, "2026-11-29")
			if err != nil || !reflect.DeepEqual(rev, []string{"C-A", "C-B"}) {
				t.Fatalf("RevokedCards = %v, %v", rev, err)
			}
			cs, err := s.VolunteerCards(ctx, "V1")
			if err != nil || len(cs) != 3 || cs[2].Serial != "C-C" {
				t.Fatalf("VolunteerCards = %+v, %v", cs, err)
			}
			known, err := s.CloudCards(ctx, []string{"C-A", "OFFLINE-1", "C-C"})
			if err != nil || !reflect.DeepEqual(known, map[string]bool{"C-A": true, "C-C": true}) {
				t.Fatalf("CloudCards = %v, %v", known, err)
			}
		})
	}
}
