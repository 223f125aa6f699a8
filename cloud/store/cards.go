package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CardState is where a cloud-issued card stands. A card leaves CardActive
// once and for good: every other state is on the revocation list until
// the card expires.
type CardState string

// Card states.
const (
	CardActive   CardState = "active"
	CardRevoked  CardState = "revoked"
	CardLost     CardState = "lost"
	CardReplaced CardState = "replaced"
)

// ErrCardWithdrawn is returned for a change to a card that is no longer
// active (already revoked, lost or replaced).
var ErrCardWithdrawn = errors.New("store: card already withdrawn")

// Card is a credential the cloud signed for a volunteer's card.
type Card struct {
	Serial    string `json:"serial"`
	Volunteer string `json:"volunteer"`
	// UID is the card UID in upper-case hex.
	UID   string `json:"uid"`
	Media string `json:"media"`
	// Issued is when the cloud signed it, IssuedBy who asked.
	Issued   time.Time `json:"issued"`
	IssuedBy string    `json:"issued_by"`
	// Expires is the last valid day, YYYY-MM-DD (China Standard Time).
	Expires string    `json:"expires"`
	State   CardState `json:"state"`
	// Revoked, RevokedBy and Reason say when, by whom and why the card
	// left CardActive; zero while it is active.
	Revoked   time.Time `json:"revoked,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// ReplacedBy is the serial of the card issued in its place.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// Withdrawal takes a card out of use.
type Withdrawal struct {
	// State is CardRevoked, CardLost or CardReplaced.
	State  CardState
	At     time.Time
	By     string
	Reason string
}

// VolunteerName returns the name the cloud holds for a volunteer (on the
// roster or registered; "" when none was ever given), or ErrNotFound when
// the cloud does not know the volunteer.
func (s *Store) VolunteerName(ctx context.Context, id string) (string, error) {
	var name *string
	err := s.b.query(ctx, `SELECT name FROM volunteers WHERE id = $1`, []any{id},
		func(r rows) error { name = new(string); return r.Scan(name) })
	if err != nil {
		return "", fmt.Errorf("store: volunteer %s: %w", id, err)
	}
	if name == nil {
		return "", fmt.Errorf("%w: volunteer %s", ErrNotFound, id)
	}
	return *name, nil
}

// AddCard records a card issued in state CardActive. It fails with
// ErrExists when the serial is taken or the UID already carries an active
// card (revoke or replace that one first).
func (s *Store) AddCard(ctx context.Context, c Card) error {
	err := s.b.inTx(ctx, func(q querier) error { return addCard(ctx, q, c) })
	if err != nil {
		return fmt.Errorf("store: add card %s: %w", c.Serial, err)
	}
	return nil
}

func addCard(ctx context.Context, q querier, c Card) error {
	taken := ""
	if err := q.query(ctx, `SELECT serial FROM cards WHERE serial = $1 OR (uid = $2 AND state = 'active')`,
		[]any{c.Serial, c.UID}, func(r rows) error { return r.Scan(&taken) }); err != nil {
		return err
	}
	if taken == c.Serial {
		return fmt.Errorf("%w: serial %s", ErrExists, c.Serial)
	}
	if taken != "" {
		return fmt.Errorf("%w: card %s already carries the active credential %s", ErrExists, c.UID, taken)
	}
	_, err := q.exec(ctx, `INSERT INTO cards (serial, volunteer, uid, media, issued_ns, issued_by, expires, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'active')`,
		c.Serial, c.Volunteer, c.UID, c.Media, nanos(c.Issued), c.IssuedBy, c.Expires)
	return err
}

// WithdrawCard takes an active card out of use and returns it as it now
// stands: ErrNotFound for an unknown serial, ErrCardWithdrawn for one
// already out of use.
func (s *Store) WithdrawCard(ctx context.Context, serial string, w Withdrawal) (*Card, error) {
	var out *Card
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		out, err = withdraw(ctx, q, serial, w, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: withdraw card %s: %w", serial, err)
	}
	return out, nil
}

// withdraw sets the withdrawal of serial, and replacedBy when not empty.
// A card already withdrawn may still be replaced once (a card reported
// lost, then issued anew), keeping its state.
func withdraw(ctx context.Context, q querier, serial string, w Withdrawal, replacedBy string) (*Card, error) {
	cs, err := cards(ctx, q, `WHERE serial = $1`, serial)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: card %s", ErrNotFound, serial)
	}
	c := cs[0]
	switch {
	case c.State == CardActive:
		c.State, c.Revoked, c.RevokedBy, c.Reason = w.State, w.At, w.By, w.Reason
	case replacedBy == "" || c.ReplacedBy != "":
		return nil, fmt.Errorf("%w: %s is %s", ErrCardWithdrawn, serial, c.State)
	}
	if replacedBy != "" {
		c.ReplacedBy = replacedBy
	}
	_, err = q.exec(ctx, `UPDATE cards SET state = $1, revoked_ns = $2, revoked_by = $3, reason = $4, replaced_by = $5
		WHERE serial = $6`, string(c.State), nanos(c.Revoked), c.RevokedBy, c.Reason, c.ReplacedBy, serial)
	return &c, err
}

// ReplaceCard withdraws old (w; see WithdrawCard, but a card already
// revoked or reported lost may be replaced once) and records c in its
// place, in one transaction. It returns the old card as it now stands.
func (s *Store) ReplaceCard(ctx context.Context, old string, w Withdrawal, c Card) (*Card, error) {
	var out *Card
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		if out, err = withdraw(ctx, q, old, w, c.Serial); err != nil {
			return err
		}
		if out.Volunteer != c.Volunteer {
			return fmt.Errorf("%w: card %s is not volunteer %s's", ErrNotFound, old, c.Volunteer)
		}
		return addCard(ctx, q, c)
	})
	if err != nil {
		return nil, fmt.Errorf("store: replace card %s: %w", old, err)
	}
	return out, nil
}

// Card returns one card, or ErrNotFound.
func (s *Store) Card(ctx context.Context, serial string) (*Card, error) {
	cs, err := cards(ctx, s.b, `WHERE serial = $1`, serial)
	if err != nil {
		return nil, fmt.Errorf("store: card %s: %w", serial, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: card %s", ErrNotFound, serial)
	}
	return &cs[0], nil
}

// VolunteerCards returns a volunteer's cards, oldest first.
func (s *Store) VolunteerCards(ctx context.Context, volunteer string) ([]Card, error) {
	cs, err := cards(ctx, s.b, `WHERE volunteer = $1 ORDER BY issued_ns, serial`, volunteer)
	if err != nil {
		return nil, fmt.Errorf("store: cards of %s: %w", volunteer, err)
	}
	return cs, nil
}

// RevokedCards returns the serials of the cards out of use that are still
// valid on today (YYYY-MM-DD) or later, by serial: the revocation list a
// kiosk needs. A card past its expiry is refused for that already.
func (s *Store) RevokedCards(ctx context.Context, today string) ([]string, error) {
	var out []string
	err := s.b.query(ctx, `SELECT serial FROM cards WHERE state <> 'active' AND expires >= $1 ORDER BY serial`,
		[]any{today}, func(r rows) error {
			var sn string
			err := r.Scan(&sn)
			out = append(out, sn)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: revoked cards: %w", err)
	}
	return out, nil
}

// CloudCards returns which of serials are cards the cloud issued.
func (s *Store) CloudCards(ctx context.Context, serials []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(serials) > 0 {
		n := min(len(serials), 500)
		args := make([]any, n)
		in := ""
		for i := range n {
			args[i] = serials[i]
			if i > 0 {
				in += ", "
			}
			in += fmt.Sprintf("$%d", i+1)
		}
		err := s.b.query(ctx, `SELECT serial FROM cards WHERE serial IN (`+in+`)`, args, func(r rows) error {
			var sn string
			err := r.Scan(&sn)
			out[sn] = true
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: cloud cards: %w", err)
		}
		serials = serials[n:]
	}
	return out, nil
}

const cardCols = `serial, volunteer, uid, media, issued_ns, issued_by, expires, state, revoked_ns, revoked_by, reason, replaced_by`

func cards(ctx context.Context, q querier, where string, args ...any) ([]Card, error) {
	var out []Card
	err := q.query(ctx, `SELECT `+cardCols+` FROM cards `+where, args, func(r rows) error {
		var c Card
		var issued, revoked int64
		var state string
		err := r.Scan(&c.Serial, &c.Volunteer, &c.UID, &c.Media, &issued, &c.IssuedBy, &c.Expires, &state,
			&revoked, &c.RevokedBy, &c.Reason, &c.ReplacedBy)
		c.Issued, c.Revoked, c.State = fromNanos(issued), fromNanos(revoked), CardState(state)
		out = append(out, c)
		return err
	})
	return out, err
}
