package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Certificates of service (志愿服务证明, issue 12 point 7): the table of
// migration 15 keeps what each certificate printed, so that the public
// verification page (/verify/{number}) says what the paper says even
// after later records change, and whether it was revoked.

// ErrRevoked: the certificate was revoked already.
var ErrRevoked = errors.New("store: certificate already revoked")

// Certificate is one row of certificates. Hours are in hundredths: Card
// the card ledger's, Manual the manual ledger's (补录), Total all final
// hours of the period (the imported ledger's are Total − Card − Manual).
type Certificate struct {
	Number     string    `json:"number"`
	Volunteer  string    `json:"volunteer"`
	MaskedName string    `json:"masked_name"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	CardCents  int64     `json:"card_cents"`
	Manual     int64     `json:"manual_cents"`
	TotalCents int64     `json:"total_cents"`
	Records    int64     `json:"records"`
	Issuer     string    `json:"issuer"`
	IssuedBy   string    `json:"issued_by"`
	Issued     time.Time `json:"issued"`
	Revoked    time.Time `json:"revoked,omitzero"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
	Reason     string    `json:"revoke_reason,omitempty"`
}

// ImportedCents is the imported ledger's hours.
func (c *Certificate) ImportedCents() int64 { return c.TotalCents - c.CardCents - c.Manual }

const certificateCols = `number, volunteer, masked_name, from_day, to_day, card_cents, manual_cents, total_cents, records,
	issuer, issued_by, issued_ns, revoked_ns, revoked_by, revoke_reason`

func scanCertificate(r rows) (Certificate, error) {
	var (
		c              Certificate
		issued, revoke int64
	)
	err := r.Scan(&c.Number, &c.Volunteer, &c.MaskedName, &c.From, &c.To, &c.CardCents, &c.Manual, &c.TotalCents, &c.Records,
		&c.Issuer, &c.IssuedBy, &issued, &revoke, &c.RevokedBy, &c.Reason)
	c.Issued, c.Revoked = fromNanos(issued), fromNanos(revoke)
	return c, err
}

// PutCertificate stores a new certificate; a number stored already is
// ErrExists (numbers are random: the caller draws another).
func (s *Store) PutCertificate(ctx context.Context, c *Certificate) error {
	n, err := s.b.exec(ctx, `INSERT INTO certificates (`+certificateCols+`) VALUES (`+marks(1, 15)+`)
		ON CONFLICT (number) DO NOTHING`,
		c.Number, c.Volunteer, c.MaskedName, c.From, c.To, c.CardCents, c.Manual, c.TotalCents, c.Records,
		c.Issuer, c.IssuedBy, nanos(c.Issued), nanos(c.Revoked), c.RevokedBy, c.Reason)
	if err != nil {
		return fmt.Errorf("store: put certificate: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: certificate %s", ErrExists, c.Number)
	}
	return nil
}

// Certificate reads certificate number, or ErrNotFound.
func (s *Store) Certificate(ctx context.Context, number string) (*Certificate, error) {
	var (
		c     Certificate
		found bool
	)
	err := s.b.query(ctx, `SELECT `+certificateCols+` FROM certificates WHERE number = $1`, []any{number}, func(r rows) error {
		var err error
		c, err = scanCertificate(r)
		found = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: certificate: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("%w: certificate %s", ErrNotFound, number)
	}
	return &c, nil
}

// Certificates lists volunteer's certificates, the newest first.
func (s *Store) Certificates(ctx context.Context, volunteer string) ([]Certificate, error) {
	var out []Certificate
	err := s.b.query(ctx, `SELECT `+certificateCols+` FROM certificates WHERE volunteer = $1 ORDER BY issued_ns DESC, number`,
		[]any{volunteer}, func(r rows) error {
			c, err := scanCertificate(r)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: certificates: %w", err)
	}
	return out, nil
}

// RevokeCertificate marks certificate number revoked by who for reason
// and returns it as it was before and after; an unknown number is
// ErrNotFound, a revoked one ErrRevoked. allow, if not nil, sees the
// certificate first inside the transaction and may refuse (its error is
// returned as it is).
func (s *Store) RevokeCertificate(ctx context.Context, number, who, reason string, now time.Time,
	allow func(*Certificate) error) (before, after *Certificate, err error) {
	err = s.b.inTx(ctx, func(q querier) error {
		var found bool
		var c Certificate
		err := q.query(ctx, `SELECT `+certificateCols+` FROM certificates WHERE number = $1`, []any{number}, func(r rows) error {
			var err error
			c, err = scanCertificate(r)
			found = true
			return err
		})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: certificate %s", ErrNotFound, number)
		}
		if allow != nil {
			if err := allow(&c); err != nil {
				return err
			}
		}
		if !c.Revoked.IsZero() {
			return ErrRevoked
		}
		b := c
		before = &b
		c.Revoked, c.RevokedBy, c.Reason = now, who, reason
		if _, err := q.exec(ctx, `UPDATE certificates SET revoked_ns = $2, revoked_by = $3, revoke_reason = $4
			WHERE number = $1 AND revoked_ns = 0`, number, nanos(now), who, reason); err != nil {
			return err
		}
		after = &c
		return nil
	})
	return before, after, err
}

const settingPublicURL = "public_url"

// PublicURL is the cloud's public address as the administrators set it
// (leifeng-cloud settings set public-url), "" when not set: what the
// certificates' QR codes point at (<public url>/verify/{number}).
func (s *Store) PublicURL(ctx context.Context) (string, error) {
	v, _, err := s.setting(ctx, settingPublicURL)
	return v, err
}

// CheckPublicURL checks an address for PublicURL: http or https, a host,
// no query, and returns it without a final slash.
func CheckPublicURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("store: public url %q: want https://host[:port][/path]", s)
	}
	return s, nil
}

// SetPublicURL sets the cloud's public address ("" goes back to the
// address a request came in on).
func (s *Store) SetPublicURL(ctx context.Context, u string, now time.Time) error {
	u, err := CheckPublicURL(u)
	if err != nil {
		return err
	}
	if _, err := s.b.exec(ctx, `INSERT INTO settings (key, value, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ns = excluded.updated_ns`,
		settingPublicURL, u, nanos(now)); err != nil {
		return fmt.Errorf("store: set public url: %w", err)
	}
	return nil
}
