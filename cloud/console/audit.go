package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
)

// The audit page: every change and every export of personal data, who,
// when, what, before and after, newest first, for the city administrator
// and auditors. It only reads: the log is never edited.

func (c *Console) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"audit", c.page("audit", c.auditPage))
}

type auditData struct {
	User, Action, From, To string
	Entries                []store.AuditEntry
	// Older pages back: the entries before the last shown (0: none).
	Older int64
}

// auditPageSize is how many entries a page shows.
const auditPageSize = 50

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &auditData{User: strings.TrimSpace(q.Get("user")), Action: strings.TrimSpace(q.Get("action")),
		From: q.Get("from"), To: q.Get("to")}
	f := store.AuditFilter{User: d.User, Action: d.Action, Limit: auditPageSize + 1}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	p := &page{Title: "审计日志", Active: "audit", Data: d}
	for _, x := range []struct {
		s   string
		dst *time.Time
		add int
	}{{d.From, &f.From, 0}, {d.To, &f.To, 1}} {
		if x.s == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, x.s, fleet.CST)
		if err != nil {
			p.Error = "日期格式不对，请写成 2026-03-01 这样的日期。"
			c.render(w, r, http.StatusBadRequest, "audit", p)
			return
		}
		// The "to" day is included.
		*x.dst = t.AddDate(0, 0, x.add)
	}
	es, err := c.Store.AuditLog(r.Context(), f)
	if err != nil {
		c.fault(w, r, "audit log", err)
		return
	}
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
		d.Older = es[len(es)-1].ID
	}
	d.Entries = es
	c.render(w, r, http.StatusOK, "audit", p)
}
