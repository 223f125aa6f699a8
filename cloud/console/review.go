package console

import (
	"errors"
	"net/http"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The review queue (待审核): sessions the cloud flagged (too long,
// overlapping, dated in the future) count only once a person approves
// them. A decision is a change: auditors see the queue without the
// buttons, and the reviewer recorded is the signed-in user.

func (c *Console) reviewRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"review", c.page("review", c.reviewPage))
	mux.HandleFunc("POST "+Prefix+"review/{check_in}", c.change("review", c.decide))
}

// flagNames are the flags in Chinese.
var flagNames = map[string]string{"too_long": "时间过长", "overlap": "与其他记录重叠", "future": "时间在未来"}

// maxNote bounds a reviewer's note.
const maxNote = 1000

// visibleQueue is the flagged sessions of the stations u sees.
func (c *Console) visibleQueue(r *http.Request) ([]store.FlaggedSession, error) {
	all, err := c.Store.FlaggedSessions(r.Context(), time.Time{})
	if err != nil {
		return nil, err
	}
	sts, err := c.visibleStations(r.Context(), user(r))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, st := range sts {
		seen[st.ID] = true
	}
	out := all[:0]
	for _, s := range all {
		if seen[s.Station] {
			out = append(out, s)
		}
	}
	return out, nil
}

func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request) {
	list, err := c.visibleQueue(r)
	if err != nil {
		c.fault(w, r, "review queue", err)
		return
	}
	c.render(w, r, http.StatusOK, "review", &page{Title: "待审核", Active: "review", Data: list})
}

func (c *Console) decide(w http.ResponseWriter, r *http.Request) {
	checkIn := r.PathValue("check_in")
	gone := "找不到这次服务记录，或它已经审核过了。请刷新待审核列表后再试。"
	list, err := c.visibleQueue(r)
	if err != nil {
		c.fault(w, r, "review queue", err)
		return
	}
	found := false
	for _, s := range list {
		found = found || s.CheckIn == checkIn
	}
	if wire.ValidRecordID(checkIn) != nil || !found {
		c.failPage(w, r, http.StatusNotFound, gone)
		return
	}
	approve := r.PostFormValue("approve") == "true"
	note := r.PostFormValue("note")
	if len([]rune(note)) > maxNote {
		c.failPage(w, r, http.StatusBadRequest, "备注太长了，请控制在 1000 字以内。")
		return
	}
	err = c.Store.ReviewSession(r.Context(), checkIn, approve, user(r).Name, note, c.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.failPage(w, r, http.StatusNotFound, gone)
		return
	case errors.Is(err, store.ErrNotFlagged):
		c.failPage(w, r, http.StatusConflict, "这次服务没有异常标记，已经计入时长，不需要审核。请刷新待审核列表。")
		return
	case err != nil:
		c.fault(w, r, "review", err)
		return
	}
	c.audit(r, "review.session", "session "+checkIn, nil, map[string]any{"approve": approve, "note": note})
	msg := "已通过，这次服务计入时长。"
	if !approve {
		msg = "已标记为不通过，这次服务不计入时长。"
	}
	if htmx(r) {
		c.fragment(w, r, "review", "decided", &page{Flash: msg})
		return
	}
	list, err = c.visibleQueue(r)
	if err != nil {
		c.fault(w, r, "review queue", err)
		return
	}
	c.render(w, r, http.StatusOK, "review", &page{Title: "待审核", Active: "review", Flash: msg, Data: list})
}
