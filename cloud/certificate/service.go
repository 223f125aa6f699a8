package certificate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// The refusals of Issue and Revoke, each with its HTTP status and what
// the person is told.
var (
	ErrBadDay    = &Refusal{Status: http.StatusBadRequest, Zh: "日期格式不对：请把起止日期写成 2026-03-01 这样的日期，起始日期不能晚于截止日期，截止日期不能晚于今天。"}
	ErrNoReason  = &Refusal{Status: http.StatusBadRequest, Zh: "请填写撤销原因（最多 200 字），再提交。"}
	ErrRevoked   = &Refusal{Status: http.StatusConflict, Zh: "这份证明已经撤销过了，无需再次撤销。"}
	ErrNotIssuer = &Refusal{Status: http.StatusForbidden, Zh: "只有出具这份证明的单位（或市级管理员）可以撤销它。如需撤销，请联系出具单位。"}
	ErrTooLong   = &Refusal{Status: http.StatusBadRequest, Zh: "负责人或联系方式太长：每项最多 40 个字，请改短后再试。"}
)

// Refusal is a request Issue or Revoke refused: the HTTP status that
// answers it and the reason in Chinese.
type Refusal struct {
	Status int
	Zh     string
}

func (r *Refusal) Error() string { return "certificate: refused: " + r.Zh }

// Earliest is the first day a certificate may cover.
const Earliest = "2000-01-01"

// Request is what a certificate is asked for with.
type Request struct {
	// From and To are days (YYYY-MM-DD), both included; To no later
	// than today (China Standard Time).
	From, To string
	// Lead (负责人) and Contact (联系方式) are printed in the issuer
	// block; "" leaves a line to fill in by hand.
	Lead, Contact string
	// VerifyBase is the cloud's public address, without a final slash:
	// the QR code holds VerifyBase + "/verify/" + the number.
	VerifyBase string
}

// Service issues and revokes certificates.
type Service struct {
	Store *store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// IssuerOf is the body a certificate u issues names: an organisation
// administrator's organisation, else the office that leads the city's
// volunteer work (the leading-office setting: the city's, a county's or
// a station's users issue in its name).
func (s *Service) IssuerOf(ctx context.Context, u *access.User) (string, error) {
	if u != nil && u.Role == access.Org && u.Scope != "" {
		o, err := s.Store.Organisation(ctx, u.Scope)
		if err == nil {
			return o.Name, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return s.Store.LeadingOffice(ctx)
}

// Issue makes a certificate of volunteer v's final records from req.From
// to req.To, issued by u, stores it (number and printed figures) and
// returns it with its PDF. The caller has checked that u sees v.
func (s *Service) Issue(ctx context.Context, u *access.User, v *people.Volunteer, req Request) (*Certificate, []byte, error) {
	now := s.now()
	from, err1 := ParseDay(req.From)
	to, err2 := ParseDay(req.To)
	today := calendar.Day(now)
	if err1 != nil || err2 != nil || to.Before(from) || req.From < Earliest || req.To > today {
		return nil, nil, ErrBadDay
	}
	req.Lead, req.Contact = strings.TrimSpace(req.Lead), strings.TrimSpace(req.Contact)
	if len([]rune(req.Lead)) > 40 || len([]rune(req.Contact)) > 40 {
		return nil, nil, ErrTooLong
	}
	recs, err := s.Store.ServiceRecords(ctx, store.ServiceRecordFilter{Volunteer: v.ID, From: req.From, To: req.To,
		Statuses: []string{store.StatusFinal}})
	if err != nil {
		return nil, nil, err
	}
	issuer, err := s.IssuerOf(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	handler := ""
	if u != nil {
		handler = u.Name
	}
	c := &Certificate{Name: v.Name, IDMasked: v.Sealed.Masked, NationalID: v.NationalID, VolunteerID: v.ID,
		From: req.From, To: req.To, Issued: now,
		Issuer: Issuer{Org: issuer, Lead: req.Lead, Handler: handler, Contact: req.Contact}}
	c.Periods, c.Total, c.Records, c.Content = Summarize(recs, req.From, req.To)
	row := &store.Certificate{Volunteer: v.ID, MaskedName: v.MaskedName(), From: req.From, To: req.To,
		CardCents: c.Total.Card, Manual: c.Total.Manual, TotalCents: c.Total.Sum(), Records: int64(c.Records),
		Issuer: issuer, IssuedBy: handler, Issued: now}
	// A number drawn twice (50 random bits) is drawn again.
	for try := 0; ; try++ {
		if c.Number, err = NewNumber(now); err != nil {
			return nil, nil, err
		}
		row.Number = c.Number
		err = s.Store.PutCertificate(ctx, row)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrExists) || try == 3 {
			return nil, nil, err
		}
	}
	c.VerifyURL = req.VerifyBase + "/verify/" + c.Number
	var b bytes.Buffer
	if err := c.PDF(&b); err != nil {
		return nil, nil, err
	}
	return c, b.Bytes(), nil
}

// MaxReason bounds a revocation's reason, in characters.
const MaxReason = 200

// Revoke revokes certificate number for reason, by u. visible says
// whether u sees the certificate's volunteer: one who does not gets
// store.ErrNotFound, as for an unknown number. Besides the city, only
// those who issue in the certificate's issuer's name (IssuerOf) may
// revoke it.
func (s *Service) Revoke(ctx context.Context, u *access.User, number, reason string,
	visible func(volunteer string) (bool, error)) (before, after *store.Certificate, err error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > MaxReason {
		return nil, nil, ErrNoReason
	}
	if !ValidNumber(number) {
		return nil, nil, fmt.Errorf("%w: certificate %s", store.ErrNotFound, number)
	}
	issuer, err := s.IssuerOf(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	name := ""
	if u != nil {
		name = u.Name
	}
	before, after, err = s.Store.RevokeCertificate(ctx, number, name, reason, s.now(), func(c *store.Certificate) error {
		ok, err := visible(c.Volunteer)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: certificate %s", store.ErrNotFound, number)
		}
		if (u == nil || u.Role != access.City) && c.Issuer != issuer {
			return ErrNotIssuer
		}
		return nil
	})
	if errors.Is(err, store.ErrRevoked) {
		err = ErrRevoked
	}
	return before, after, err
}
