package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
)

// The public notice page (公示, issue 12 points 5 and 6): the service
// records and the star awards in notice (or held by an objection) within
// the user's scope, with an objection form for each; the star queue
// (stars.html) shows an award's open objections to its approver, who
// dismisses or upholds them.

func (c *Console) starNoticeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"notice", c.page("notice", c.noticePage))
	mux.HandleFunc("POST "+Prefix+"stars/{id}/objection", c.change("notice", c.raiseStarObjection))
}

// noticeStar is a star award in the notice page.
type noticeStar struct {
	store.StarAward
	Name string
}

// noticeView is the notice page's data.
type noticeView struct {
	Records []store.ServiceRecord
	Stars   []noticeStar
}

func starSeen(sc *access.Scope, x *store.StarAward) bool {
	return sc.All() || slices.ContainsFunc(x.Areas, sc.Area) || sc.ApprovesStars(x.Approver, x.Areas)
}

func (c *Console) noticeView(r *http.Request) (*noticeView, error) {
	sc, err := c.scopeOf(r.Context(), user(r))
	if err != nil {
		return nil, err
	}
	recs, err := c.Store.ServiceRecords(r.Context(), store.ServiceRecordFilter{
		Statuses: []string{store.StatusNotice, store.StatusObjected}, Limit: 2000})
	if err != nil {
		return nil, err
	}
	v := &noticeView{}
	for _, x := range recs {
		if sc.SeesServiceRecord(x.Station, x.Community, x.Org) {
			v.Records = append(v.Records, x)
		}
	}
	list, err := c.Store.StarAwards(r.Context(), store.StarFilter{States: []string{store.StarNotice, store.StarApplied}, Limit: 2000})
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		if (x.State == store.StarApplied && x.Objections == 0) || !starSeen(sc, &x) {
			continue
		}
		row := noticeStar{StarAward: x}
		if x.SubjectKind == store.SubjectOrg {
			if o, err := c.Store.Organisation(r.Context(), x.Subject); err == nil {
				row.Name = o.Name
			}
		} else if vol, err := c.Store.Volunteer(r.Context(), x.Subject); err == nil {
			row.Name = people.MaskName(vol.Name)
		}
		v.Stars = append(v.Stars, row)
	}
	return v, nil
}

func (c *Console) noticePage(w http.ResponseWriter, r *http.Request) {
	c.renderNotice(w, r, http.StatusOK, "", "")
}

func (c *Console) renderNotice(w http.ResponseWriter, r *http.Request, code int, flash, msg string) {
	v, err := c.noticeView(r)
	if err != nil {
		c.fault(w, r, "notice", err)
		return
	}
	c.render(w, r, code, "notice", &page{Title: "公示", Active: "notice", Flash: flash, Error: msg, Data: v})
}

func (c *Console) raiseStarObjection(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	reason, refusal := formReason(r)
	if refusal != "" {
		c.renderNotice(w, r, http.StatusBadRequest, "", refusal)
		return
	}
	sc, err2 := c.scopeOf(r.Context(), user(r))
	if err2 != nil {
		c.fault(w, r, "star objection", err2)
		return
	}
	var x *store.StarAward
	if err == nil {
		x, err = c.Store.StarAward(r.Context(), id)
	}
	if err != nil || !starSeen(sc, x) {
		c.renderNotice(w, r, http.StatusNotFound, "", "找不到这项星级认定：编号可能写错了，或不在您的管理范围内。")
		return
	}
	o, after, err := c.stars().Object(r.Context(), id, user(r).Name, reason)
	var ref *stars.Refusal
	if errors.As(err, &ref) {
		c.renderNotice(w, r, http.StatusConflict, "", ref.Zh)
		return
	}
	if err != nil {
		c.fault(w, r, "star objection", err)
		return
	}
	c.refreshStarNotice(r, after)
	c.audit(r, "stars.objection", fmt.Sprintf("star award %d", id), map[string]string{"state": x.State},
		map[string]any{"state": after.State, "objection": o.ID, "reason": reason})
	c.renderNotice(w, r, http.StatusOK, fmt.Sprintf("已提出异议：%s认定转回审批人核实，处理完之前不予认定。", stars.Name(after.Level)), "")
}

// resolveStar is decideStar's dismiss and uphold (found: the award is in
// the user's queue).
func (c *Console) resolveStar(w http.ResponseWriter, r *http.Request, id int64, uphold bool) {
	reason, refusal := formReason(r)
	if refusal != "" {
		c.renderStars(w, r, http.StatusBadRequest, "", refusal)
		return
	}
	after, done, err := c.stars().Resolve(r.Context(), id, uphold, user(r).Name, reason)
	var ref *stars.Refusal
	if errors.As(err, &ref) {
		code := http.StatusConflict
		if !ref.Conflict {
			code = http.StatusForbidden
		}
		c.renderStars(w, r, code, "", ref.Zh)
		return
	}
	if err != nil {
		c.fault(w, r, "star objection", err)
		return
	}
	c.refreshStarNotice(r, after)
	ids := make([]string, len(done))
	for i, o := range done {
		ids[i] = strconv.FormatInt(o.ID, 10)
	}
	c.audit(r, "stars.decide", fmt.Sprintf("star application %d", id), map[string]string{"state": store.StarApplied},
		map[string]string{"state": after.State, "reason": reason, "objections_resolved": strings.Join(ids, ",")})
	var msg string
	switch after.State {
	case store.StarRejected:
		msg = "异议成立：不予认定，申请人会看到原因。"
	case store.StarAwarded:
		msg = fmt.Sprintf("异议不成立：公示期已满，已授予%s。", stars.Name(after.Level))
	default:
		msg = "异议不成立：恢复公示，期满授予星级。"
	}
	c.renderStars(w, r, http.StatusOK, msg, "")
}

// refreshStarNotice sends the stations showing award x their config
// again; a failure is logged.
func (c *Console) refreshStarNotice(r *http.Request, x *store.StarAward) {
	if c.Fleet == nil {
		return
	}
	stations, err := c.Store.StarStations(r.Context(), x)
	if err == nil {
		err = c.Fleet.RefreshStations(r.Context(), stations)
	}
	if err != nil {
		c.Log.Warn("console: cannot send the stations their star notice", "award", x.ID, "err", err)
	}
}
