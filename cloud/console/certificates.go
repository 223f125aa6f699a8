package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/certificate"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// Certificates of service (志愿服务证明) on a volunteer's page: the form
// "出具服务证明" (from, to, the responsible person and the contact) opens
// the PDF from GET /api/v1/volunteers/{id}/certificate.pdf, which issues,
// stores and audits it; below it the volunteer's certificates, each with
// its verification page and, for the issuer or the city, a revocation.

func (c *Console) certificateRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/certificates/{number}/revoke", c.change("volunteers", c.revokeCertificate))
}

// certView is the certificates' part of the volunteer page.
type certView struct {
	List []certRow
	// Issue shows the form (not to an auditor); From and To its defaults
	// (the year so far).
	Issue    bool
	From, To string
}

type certRow struct {
	store.Certificate
	Total, Card, Manual string
	Issued, Revoked     string
	CanRevoke           bool
}

// certificatesOf is v's certificates as u sees them on v's page.
func (c *Console) certificatesOf(ctx context.Context, u *access.User, v *people.Volunteer) (*certView, error) {
	list, err := c.Store.Certificates(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	svc := &certificate.Service{Store: c.Store, Now: c.Now}
	issuer, err := svc.IssuerOf(ctx, u)
	if err != nil {
		return nil, err
	}
	today := calendar.Day(c.now())
	cv := &certView{Issue: u.CanChange(), From: today[:4] + "-01-01", To: today}
	for _, x := range list {
		row := certRow{Certificate: x, Total: certificate.Hours(x.TotalCents), Card: certificate.Hours(x.CardCents),
			Manual: certificate.Hours(x.Manual), Issued: calendar.Day(x.Issued)}
		if !x.Revoked.IsZero() {
			row.Revoked = calendar.Day(x.Revoked)
		} else {
			row.CanRevoke = u.CanChange() && (u.Role == access.City || x.Issuer == issuer)
		}
		cv.List = append(cv.List, row)
	}
	return cv, nil
}

func (c *Console) revokeCertificate(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	number := r.PathValue("number")
	svc := &certificate.Service{Store: c.Store, Now: c.Now}
	before, after, err := svc.Revoke(r.Context(), user(r), number, r.PostFormValue("reason"), func(volunteer string) (bool, error) {
		return volunteer == v.ID, nil // v is in the user's scope (volunteerOf)
	})
	var ref *certificate.Refusal
	switch {
	case errors.As(err, &ref):
		c.showVolunteer(w, r, v, ref.Status, &page{Error: ref.Zh}, nil)
		return
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r)
		return
	case err != nil:
		c.fault(w, r, "revoke certificate", err)
		return
	}
	c.audit(r, "certificate.revoke", "certificate "+number, before, after)
	c.showVolunteer(w, r, v, http.StatusOK, &page{Flash: fmt.Sprintf("证明 %s 已撤销。核验页面现在显示“已撤销”。", number)}, nil)
}
