package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/certificate"
	"leifeng/cloud/store"
)

// Certificates of service (志愿服务证明, issue 12 point 7):
//
//	GET  /api/v1/volunteers/{id}/certificate.pdf?from=DATE&to=DATE  issue one (read: audited, in scope)
//	GET  /api/v1/volunteers/{id}/certificates                       the volunteer's certificates
//	POST /api/v1/certificates/{number}/revoke                       {"reason": "..."} (the issuer or the city)
//	GET  /verify/{number}                                           the public verification page (no login)
//
// The certificate.pdf route takes &lead= (负责人) and &contact= (联系方式)
// too, printed in the issuer block. The QR code points at the cloud's
// public address: Fleet.PublicURL (serve --public-url), else the
// public-url setting (leifeng-cloud settings set public-url), else the
// address the request came in on.

// Default budget of the verification page per remote address.
const (
	DefaultVerifyLimit  = 30
	DefaultVerifyWindow = time.Minute
)

func (a *api) certificateRoutes(mux *router) {
	svc := &certificate.Service{Store: a.f.Store, Now: a.now}
	lim := &rateLimit{limit: a.f.VerifyLimit, window: a.f.VerifyWindow, now: a.now, hits: map[string][]time.Time{}}
	if lim.limit <= 0 {
		lim.limit = DefaultVerifyLimit
	}
	if lim.window <= 0 {
		lim.window = DefaultVerifyWindow
	}
	issue := a.read("certificate.issue", issuedWhat, func(w http.ResponseWriter, r *http.Request) { a.issueCertificate(w, r, svc) })
	mux.HandleFunc("GET /api/v1/volunteers/{id}/certificate.pdf", func(w http.ResponseWriter, r *http.Request) {
		issue(w, r.WithContext(context.WithValue(r.Context(), issuedKey{}, new(string))))
	})
	mux.HandleFunc("GET /api/v1/volunteers/{id}/certificates", a.read("certificates.read", volunteerPath, a.listCertificates))
	mux.HandleFunc("POST /api/v1/certificates/{number}/revoke", a.change("certificate.revoke",
		func(w http.ResponseWriter, r *http.Request) { a.revokeCertificate(w, r, svc) }))
	mux.HandleFunc("GET /verify/{number}", func(w http.ResponseWriter, r *http.Request) { a.verifyPage(w, r, lim) })
}

type issuedKey struct{}

// issuedWhat names what an issue read for the audit log: the volunteer,
// the period and the number of the certificate made (the handler notes it).
func issuedWhat(r *http.Request) string {
	what := volunteerPath(r) + ", certificate " + r.URL.Query().Get("from") + ".." + r.URL.Query().Get("to")
	if n, ok := r.Context().Value(issuedKey{}).(*string); ok && *n != "" {
		what += " " + *n
	}
	return what
}

// PublicBase is the cloud's public address for r, without a final slash:
// public (serve --public-url) if set, else stored (the public-url
// setting), else the scheme and host r came in on.
func PublicBase(r *http.Request, public, stored string) string {
	for _, u := range []string{public, stored} {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			return u
		}
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host
}

const zhNoCertificate = "找不到这份证明：编号可能写错了，或不在您的管理范围内。请核对后再试。"

// failCertificate answers a refused or failed certificate request.
func (a *api) failCertificate(w http.ResponseWriter, what string, err error) {
	var ref *certificate.Refusal
	switch {
	case errors.As(err, &ref):
		a.failReview(w, ref.Status, what+": "+ref.Zh, ref.Zh, nil)
	case errors.Is(err, store.ErrNotFound):
		a.failReview(w, http.StatusNotFound, what+": not found", zhNoCertificate, nil)
	default:
		a.failInternal(w, what, err)
	}
}

func (a *api) issueCertificate(w http.ResponseWriter, r *http.Request, svc *certificate.Service) {
	id := r.PathValue("id")
	u := userOf(r)
	ok, err := a.volunteerVisible(r, id)
	if err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	if !u.CanChange() {
		a.failReview(w, http.StatusForbidden, "auditors read only", "审计员只能查看，不能出具证明。", nil)
		return
	}
	v, err := a.f.Store.Volunteer(r.Context(), id)
	if err != nil {
		a.failVolunteer(w, id, err)
		return
	}
	stored, err := a.f.Store.PublicURL(r.Context())
	if err != nil {
		a.failInternal(w, "cannot read the public url", err)
		return
	}
	q := r.URL.Query()
	c, pdf, err := svc.Issue(r.Context(), u, v, certificate.Request{From: q.Get("from"), To: q.Get("to"),
		Lead: q.Get("lead"), Contact: q.Get("contact"), VerifyBase: PublicBase(r, a.f.PublicURL, stored)})
	if err != nil {
		a.failCertificate(w, "certificate of volunteer "+id, err)
		return
	}
	if n, ok := r.Context().Value(issuedKey{}).(*string); ok {
		*n = c.Number
	}
	a.log.Info("certificate issued", "number", c.Number, "volunteer", id, "by", u.Name, "hours", certificate.Hours(c.Total.Sum()))
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, c.Number))
	w.Header().Set("X-Certificate-Number", c.Number)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(pdf)
}

// CertificateView is a certificate as the API lists it: hours in hours.
type CertificateView struct {
	store.Certificate
	CardHours     float64 `json:"card_hours"`
	ManualHours   float64 `json:"manual_hours"`
	ImportedHours float64 `json:"imported_hours"`
	TotalHours    float64 `json:"total_hours"`
	Status        string  `json:"status"`
}

// ViewCertificate is c as the API lists it, its times in CST.
func ViewCertificate(c store.Certificate) CertificateView {
	v := CertificateView{Certificate: c, CardHours: float64(c.CardCents) / 100, ManualHours: float64(c.Manual) / 100,
		ImportedHours: float64(c.ImportedCents()) / 100, TotalHours: float64(c.TotalCents) / 100, Status: "valid"}
	v.Issued = local(v.Issued)
	if !c.Revoked.IsZero() {
		v.Status, v.Revoked = "revoked", local(c.Revoked)
	}
	return v
}

func (a *api) listCertificates(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ok, err := a.volunteerVisible(r, id)
	if err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	list, err := a.f.Store.Certificates(r.Context(), id)
	if err != nil {
		a.failInternal(w, "cannot list certificates", err)
		return
	}
	out := make([]CertificateView, len(list))
	for i, c := range list {
		out[i] = ViewCertificate(c)
	}
	writeJSON(w, map[string]any{"volunteer": id, "certificates": out})
}

func (a *api) revokeCertificate(w http.ResponseWriter, r *http.Request, svc *certificate.Service) {
	number := r.PathValue("number")
	var req struct {
		Reason string `json:"reason"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Reason = r.PostFormValue("reason")
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		a.failReview(w, http.StatusBadRequest, `body: want {"reason": "..."}`, certificate.ErrNoReason.Zh, err)
		return
	}
	before, after, err := svc.Revoke(r.Context(), userOf(r), number, req.Reason, func(volunteer string) (bool, error) {
		return a.volunteerVisible(r, volunteer)
	})
	if err != nil {
		a.failCertificate(w, "revoke certificate "+number, err)
		return
	}
	noteChange(r, "certificate "+number, ViewCertificate(*before), ViewCertificate(*after))
	writeJSON(w, ViewCertificate(*after))
}

// rateLimit is a sliding window of hits per remote address, like the
// login's budget of failures (auth.go).
type rateLimit struct {
	limit  int
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	hits   map[string][]time.Time
}

// allow counts one hit of addr and reports how long to wait if it is
// over the budget (0: go on).
func (l *rateLimit) allow(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > 100000 {
		for k, hs := range l.hits {
			if len(hs) == 0 || now.Sub(hs[len(hs)-1]) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	hs := l.hits[addr]
	i := 0
	for i < len(hs) && now.Sub(hs[i]) >= l.window {
		i++
	}
	hs = hs[i:]
	if len(hs) >= l.limit {
		l.hits[addr] = hs
		return hs[0].Add(l.window).Sub(now)
	}
	l.hits[addr] = append(hs, now)
	return 0
}

// verifyView is what the public page shows: nothing personal but the
// masked name.
type verifyView struct {
	Number     string
	Found      bool
	Valid      bool
	MaskedName string
	From, To   string
	Total      string
	Card       string
	Manual     string
	Imported   string
	Records    int64
	Issuer     string
	Issued     string
	Revoked    string
	Message    string
}

func (a *api) verifyPage(w http.ResponseWriter, r *http.Request, lim *rateLimit) {
	number := strings.ToUpper(strings.TrimSpace(r.PathValue("number")))
	v := verifyView{Number: number}
	code := http.StatusOK
	if wait := lim.allow(remoteIP(r)); wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		v.Message = fmt.Sprintf("查询太频繁，请 %d 秒后再试。", secs)
		writeVerify(w, http.StatusTooManyRequests, v)
		return
	}
	var c *store.Certificate
	var err error
	if certificate.ValidNumber(number) {
		c, err = a.f.Store.Certificate(r.Context(), number)
	} else {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		code = http.StatusNotFound
		v.Message = "没有编号为 " + number + " 的志愿服务证明。请核对证明上的编号（字母和数字）后再查；如仍查不到，这份证明可能不是本系统出具的。"
	case err != nil:
		a.log.Error("verify: read certificate", "err", err)
		code = http.StatusInternalServerError
		v.Message = "暂时无法查询，请稍后再试。"
	default:
		v.Found, v.Valid = true, c.Revoked.IsZero()
		v.MaskedName, v.From, v.To = c.MaskedName, zhDay(c.From), zhDay(c.To)
		v.Total, v.Card, v.Manual = certificate.Hours(c.TotalCents), certificate.Hours(c.CardCents), certificate.Hours(c.Manual)
		if c.ImportedCents() != 0 {
			v.Imported = certificate.Hours(c.ImportedCents())
		}
		v.Records, v.Issuer = c.Records, c.Issuer
		v.Issued = zhDay(calendar.Day(c.Issued))
		if !v.Valid {
			v.Revoked = zhDay(calendar.Day(c.Revoked))
		}
	}
	writeVerify(w, code, v)
}

func zhDay(day string) string {
	t, err := certificate.ParseDay(day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

func writeVerify(w http.ResponseWriter, code int, v verifyView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	verifyTmpl.Execute(w, v)
}

var verifyTmpl = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>志愿服务证明核验</title>
<style>body{font-family:sans-serif;max-width:36em;margin:1.5em auto;padding:0 1em;line-height:1.6}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em .6em;text-align:left}th{width:8em;background:#f3f3f3}
.valid{color:#05702f;font-weight:bold}.revoked{color:#b00020;font-weight:bold}</style></head>
<body><h1>志愿服务证明核验</h1>
{{if .Found}}<table id="certificate">
<tr><th>证明编号</th><td id="number">{{.Number}}</td></tr>
<tr><th>状态</th><td id="status">{{if .Valid}}<span class="valid">有效</span>{{else}}<span class="revoked">已撤销</span>（撤销日期：{{.Revoked}}）{{end}}</td></tr>
<tr><th>志愿者</th><td id="name">{{.MaskedName}}</td></tr>
<tr><th>服务期间</th><td id="period">{{.From}} 至 {{.To}}</td></tr>
<tr><th>志愿服务时长</th><td id="hours">合计 {{.Total}} 小时（刷卡记录 {{.Card}} 小时，补录记录 {{.Manual}} 小时{{with .Imported}}，导入记录 {{.}} 小时{{end}}；共 {{.Records}} 条记录）</td></tr>
<tr><th>出具单位</th><td id="issuer">{{.Issuer}}</td></tr>
<tr><th>出具日期</th><td id="issued">{{.Issued}}</td></tr>
</table>
<p>{{if .Valid}}本证明真实有效，以上信息与证明原件一致即可确认。{{else}}本证明已被出具单位撤销，不再作为志愿服务的证明。{{end}}
为保护个人信息，本页只显示遮盖后的姓名。</p>
{{else}}<p id="message">{{.Message}}</p>{{end}}
</body></html>
`))
