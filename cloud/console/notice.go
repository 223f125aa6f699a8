package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/notice"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
)

// The pages of public notice (公示) and star ratings: the holiday
// calendar (the city edits it, everyone reads it), the objections a user
// sees (raised here too; resolved by the record's station), the star
// queue of the county or city that approves, and a volunteer's stars
// with the button to apply for the next one.

func (c *Console) noticeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"holidays", c.page("holidays", c.holidaysPage))
	mux.HandleFunc("POST "+Prefix+"holidays", c.change("holidays", c.setHolidays))
	mux.HandleFunc("GET "+Prefix+"objections", c.page("objections", c.objectionsPage))
	mux.HandleFunc("POST "+Prefix+"objections", c.change("objections", c.raiseObjection))
	mux.HandleFunc("POST "+Prefix+"objections/{id}", c.change("objections", c.resolveObjection))
	mux.HandleFunc("GET "+Prefix+"stars", c.page("stars", c.starsPage))
	mux.HandleFunc("POST "+Prefix+"stars/{id}", c.change("stars", c.decideStar))
	c.starNoticeRoutes(mux) // star_notice.go
	mux.HandleFunc("GET "+Prefix+"volunteers/{id}/stars", c.signedIn(c.volunteerStarsPage))
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/stars/apply", c.signedIn(c.applyStar))
	mux.HandleFunc("GET "+Prefix+"orgs/{id}/stars", c.signedIn(c.volunteerStarsPage))
	mux.HandleFunc("POST "+Prefix+"orgs/{id}/stars/apply", c.signedIn(c.applyStar))
}

// holidaysView is the holidays page's data.
type holidaysView struct {
	Year     int
	Years    []int
	Days     []store.Holiday
	CSV      string
	CanEdit  bool
	Problems []notice.LineError
}

func (c *Console) holidaysView(r *http.Request, year int) (*holidaysView, error) {
	all, err := c.Store.Holidays(r.Context())
	if err != nil {
		return nil, err
	}
	v := &holidaysView{Year: year, CanEdit: user(r).Role == access.City}
	seen := map[int]bool{}
	for _, d := range all {
		if y, err := strconv.Atoi(d.Day[:4]); err == nil && !seen[y] {
			seen[y] = true
			v.Years = append(v.Years, y)
		}
	}
	v.Days = notice.YearOf(all, year)
	var b strings.Builder
	for _, d := range v.Days {
		fmt.Fprintf(&b, "%s,%s,%s\n", d.Day, d.Kind, d.Name)
	}
	v.CSV = b.String()
	return v, nil
}

func (c *Console) holidaysPage(w http.ResponseWriter, r *http.Request) {
	year := c.now().In(calendar.CST).Year()
	if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && y >= 2000 && y <= 2100 {
		year = y
	}
	v, err := c.holidaysView(r, year)
	if err != nil {
		c.fault(w, r, "holidays", err)
		return
	}
	c.render(w, r, http.StatusOK, "holidays", &page{Title: "节假日安排", Active: "holidays", Data: v})
}

func (c *Console) setHolidays(w http.ResponseWriter, r *http.Request) {
	if user(r).Role != access.City {
		c.failPage(w, r, http.StatusForbidden, "节假日安排全市统一，只有市级管理员可以修改。")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	year, err := strconv.Atoi(r.PostFormValue("year"))
	if err != nil || year < 2000 || year > 2100 {
		c.failPage(w, r, http.StatusBadRequest, "年份不对，请写成 2026 这样的四位数年份。")
		return
	}
	text := r.PostFormValue("days")
	days, err := notice.ParseHolidays(strings.NewReader(text), year)
	var fe *notice.FileError
	if errors.As(err, &fe) {
		v, verr := c.holidaysView(r, year)
		if verr != nil {
			c.fault(w, r, "holidays", verr)
			return
		}
		v.CSV, v.Problems = text, fe.Lines
		c.render(w, r, http.StatusUnprocessableEntity, "holidays", &page{Title: "节假日安排", Active: "holidays",
			Error: "以下各行有误，整份未保存，请改正后重新保存。", Data: v})
		return
	}
	if err != nil {
		c.failPage(w, r, http.StatusBadRequest, "读不出这份节假日安排，请检查后重试。")
		return
	}
	before, err := c.Store.Holidays(r.Context())
	if err == nil {
		err = c.Store.SetHolidays(r.Context(), year, days)
	}
	if err != nil {
		c.fault(w, r, "holidays", err)
		return
	}
	c.audit(r, "holidays.set", fmt.Sprintf("holidays %d", year), notice.YearOf(before, year), days)
	v, err := c.holidaysView(r, year)
	if err != nil {
		c.fault(w, r, "holidays", err)
		return
	}
	c.render(w, r, http.StatusOK, "holidays", &page{Title: "节假日安排", Active: "holidays",
		Flash: fmt.Sprintf("%d 年的节假日安排已保存（%d 天）。", year, len(days)), Data: v})
}

// objectionRow is an objection as the page lists it.
type objectionRow struct {
	store.Objection
	CanResolve bool
}

func (c *Console) visibleObjections(r *http.Request) ([]objectionRow, error) {
	sc, err := c.scopeOf(r.Context(), user(r))
	if err != nil {
		return nil, err
	}
	list, err := c.Store.Objections(r.Context(), store.ObjectionFilter{State: store.ObjectionOpen, Limit: 2000})
	if err != nil {
		return nil, err
	}
	var out []objectionRow
	for _, o := range list {
		if sc.SeesServiceRecord(o.Station, o.Community, o.Org) {
			out = append(out, objectionRow{o, sc.ResolvesObjections(o.Station, o.Community)})
		}
	}
	return out, nil
}

func (c *Console) objectionsPage(w http.ResponseWriter, r *http.Request) {
	c.renderObjections(w, r, http.StatusOK, "", "")
}

func (c *Console) renderObjections(w http.ResponseWriter, r *http.Request, code int, flash, msg string) {
	list, err := c.visibleObjections(r)
	if err != nil {
		c.fault(w, r, "objections", err)
		return
	}
	c.render(w, r, code, "objections", &page{Title: "公示异议", Active: "objections", Flash: flash, Error: msg, Data: list})
}

// formReason is the form's reason, or a refusal for the page.
func formReason(r *http.Request) (string, string) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	switch {
	case reason == "":
		return "", "请写明原因：相关人员会看到，审计日志也会记下。"
	case len([]rune(reason)) > 500:
		return "", "原因太长了，请控制在 500 字以内。"
	}
	return reason, ""
}

func (c *Console) raiseObjection(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id := strings.TrimSpace(r.PostFormValue("record"))
	reason, refusal := formReason(r)
	if refusal != "" {
		c.renderObjections(w, r, http.StatusBadRequest, "", refusal)
		return
	}
	sc, err := c.scopeOf(r.Context(), user(r))
	if err != nil {
		c.fault(w, r, "objection", err)
		return
	}
	rec, err := c.Store.ServiceRecord(r.Context(), id)
	if err == nil && !sc.SeesServiceRecord(rec.Station, rec.Community, rec.Org) {
		err = store.ErrNotFound
	}
	var o *store.Objection
	if err == nil {
		o, _, err = c.Store.RaiseObjection(r.Context(), store.Objection{Record: id, Via: store.ViaConsole, RaisedBy: user(r).Name, Reason: reason}, c.now())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.renderObjections(w, r, http.StatusNotFound, "", "找不到这条服务记录：编号可能写错了，或不在您的管理范围内。")
		return
	case errors.Is(err, store.ErrNotInNotice):
		c.renderObjections(w, r, http.StatusConflict, "", "这条记录不在公示期，不能提出异议；如需更正，请联系站点管理员申请复核。")
		return
	case errors.Is(err, store.ErrAlreadyObjected):
		c.renderObjections(w, r, http.StatusConflict, "", "您对这条记录的异议还在处理中，不必重复提出。")
		return
	case err != nil:
		c.fault(w, r, "objection", err)
		return
	}
	c.refreshNotice(r, rec.Station)
	c.audit(r, "hours.objection", "service record "+id, map[string]string{"status": rec.Status},
		map[string]any{"status": store.StatusObjected, "objection": o.ID, "reason": reason})
	c.renderObjections(w, r, http.StatusOK, fmt.Sprintf("已提出异议（第%d号），这条记录在处理完之前不计入时长。", o.ID), "")
}

func (c *Console) resolveObjection(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var found *objectionRow
	list, err := c.visibleObjections(r)
	if err != nil {
		c.fault(w, r, "objections", err)
		return
	}
	for i := range list {
		if list[i].ID == id {
			found = &list[i]
		}
	}
	action := r.PostFormValue("action")
	switch {
	case found == nil:
		c.renderObjections(w, r, http.StatusNotFound, "", "找不到这条异议，或它已经处理过了。请刷新列表。")
		return
	case !found.CanResolve:
		c.renderObjections(w, r, http.StatusForbidden, "", "异议由记录所在站点的站点管理员处理（没有站点的记录由县级管理员处理）。")
		return
	case action != "dismiss" && action != "uphold":
		c.renderObjections(w, r, http.StatusBadRequest, "", "请选择“异议不成立”或“异议成立”。")
		return
	}
	reason, refusal := formReason(r)
	if refusal != "" {
		c.renderObjections(w, r, http.StatusBadRequest, "", refusal)
		return
	}
	o, rec, err := c.Store.ResolveObjection(r.Context(), id, action == "uphold", user(r).Name, reason, c.now())
	switch {
	case errors.Is(err, store.ErrOwnObjection):
		c.renderObjections(w, r, http.StatusForbidden, "", "您提出的异议需由另一位管理员处理。")
		return
	case errors.Is(err, store.ErrObjectionClosed):
		c.renderObjections(w, r, http.StatusConflict, "", "这条异议已经处理过了，请刷新列表。")
		return
	case err != nil:
		c.fault(w, r, "objection", err)
		return
	}
	c.refreshNotice(r, rec.Station)
	c.audit(r, "hours.objection_resolve", fmt.Sprintf("objection %d", id), map[string]string{"state": store.ObjectionOpen},
		map[string]string{"state": o.State, "reason": reason, "record": rec.ID, "record_status": rec.Status})
	msg := "异议不成立：记录回到公示，公示期满后生效。"
	switch {
	case o.State == store.ObjectionUpheld:
		msg = "异议成立：记录已转回待审核，请在审核中更正或不予通过。"
	case rec.Status == store.StatusFinal:
		msg = "异议不成立：公示期已满，记录已生效。"
	}
	c.renderObjections(w, r, http.StatusOK, msg, "")
}

// refreshNotice sends station its config again so that its kiosk's
// notice shows the change; a failure is logged.
func (c *Console) refreshNotice(r *http.Request, station string) {
	if c.Fleet == nil || station == "" {
		return
	}
	if err := c.Fleet.RefreshStations(r.Context(), []string{station}); err != nil {
		c.Log.Warn("console: cannot send the station its notice", "station", station, "err", err)
	}
}

func (c *Console) stars() *stars.Service { return &stars.Service{Store: c.Store, Now: c.now} }

// starRow is an application in the queue.
type starRow struct {
	store.StarAward
	Name string
	// Open are the open objections raised during its notice.
	Open []store.StarObjection
}

// starsView is the star queue page's data.
type starsView struct {
	Queue []starRow
	Rules stars.Rules
}

func (c *Console) starsPage(w http.ResponseWriter, r *http.Request) {
	c.renderStars(w, r, http.StatusOK, "", "")
}

func (c *Console) starQueue(r *http.Request) ([]starRow, error) {
	sc, err := c.scopeOf(r.Context(), user(r))
	if err != nil {
		return nil, err
	}
	list, err := c.Store.StarAwards(r.Context(), store.StarFilter{States: []string{store.StarApplied}})
	if err != nil {
		return nil, err
	}
	var out []starRow
	for _, x := range list {
		if !sc.ApprovesStars(x.Approver, x.Areas) {
			continue
		}
		row := starRow{StarAward: x}
		if x.Objections > 0 {
			objs, err := c.Store.StarObjections(r.Context(), x.ID)
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				if o.State == store.ObjectionOpen {
					row.Open = append(row.Open, o)
				}
			}
		}
		if x.SubjectKind == store.SubjectOrg {
			if o, err := c.Store.Organisation(r.Context(), x.Subject); err == nil {
				row.Name = o.Name
			}
		} else if v, err := c.Store.Volunteer(r.Context(), x.Subject); err == nil {
			row.Name = v.Name
		}
		out = append(out, row)
	}
	return out, nil
}

func (c *Console) renderStars(w http.ResponseWriter, r *http.Request, code int, flash, msg string) {
	q, err := c.starQueue(r)
	var rules stars.Rules
	if err == nil {
		rules, err = c.stars().Rules(r.Context())
	}
	if err != nil {
		c.fault(w, r, "star queue", err)
		return
	}
	c.render(w, r, code, "stars", &page{Title: "星级认定", Active: "stars", Flash: flash, Error: msg, Data: &starsView{q, rules}})
}

func (c *Console) decideStar(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	q, err := c.starQueue(r)
	if err != nil {
		c.fault(w, r, "star queue", err)
		return
	}
	found := false
	for _, x := range q {
		found = found || x.ID == id
	}
	action := r.PostFormValue("action")
	switch {
	case !found:
		c.renderStars(w, r, http.StatusNotFound, "", "找不到这份申请，或它不归您审批、已经审批过了。请刷新列表。")
		return
	case action == "dismiss" || action == "uphold":
		c.resolveStar(w, r, id, action == "uphold") // star_notice.go
		return
	case action != "approve" && action != "reject":
		c.renderStars(w, r, http.StatusBadRequest, "", "请选择“通过”或“不通过”。")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var after *store.StarAward
	if action == "approve" {
		after, err = c.stars().Approve(r.Context(), id, user(r).Name, reason)
	} else {
		after, err = c.stars().Reject(r.Context(), id, user(r).Name, reason)
	}
	var refusal *stars.Refusal
	if errors.As(err, &refusal) {
		c.renderStars(w, r, http.StatusConflict, "", refusal.Zh)
		return
	}
	if err != nil {
		c.fault(w, r, "star decision", err)
		return
	}
	if after.State == store.StarNotice {
		c.refreshStarNotice(r, after) // its stations' kiosks show it now
	}
	c.audit(r, "stars.decide", fmt.Sprintf("star application %d", id), map[string]string{"state": store.StarApplied},
		map[string]string{"state": after.State, "reason": reason})
	msg := "已不予通过，申请人会看到原因。"
	if after.State == store.StarNotice {
		msg = fmt.Sprintf("已通过，公示至%s，期满无异议后授予%s。", after.NoticeUntil.In(calendar.CST).AddDate(0, 0, -1).Format("1月2日"), stars.Name(after.Level))
	}
	c.renderStars(w, r, http.StatusOK, msg, "")
}

// volunteerStarsView is a volunteer's (or an organisation's) stars
// page's data: Kind "volunteers" or "orgs", as in the page's path.
type volunteerStarsView struct {
	Kind, ID, Name string
	Standing       *stars.Standing
}

// starSubject reads the volunteer or organisation of r's path if the
// signed-in user sees it, with its standing.
func (c *Console) starSubject(r *http.Request) (*volunteerStarsView, error) {
	id := r.PathValue("id")
	v := &volunteerStarsView{Kind: "volunteers", ID: id}
	if strings.HasPrefix(r.URL.Path, Prefix+"orgs/") {
		v.Kind = "orgs"
		o, err := c.Store.Organisation(r.Context(), id)
		if err != nil {
			return nil, err
		}
		if ok, err := c.orgVisible(r.Context(), user(r), o); err != nil || !ok {
			return nil, errors.Join(store.ErrNotFound, err)
		}
		v.Name = o.Name
		v.Standing, err = c.stars().Org(r.Context(), id)
		return v, err
	}
	p, err := c.Store.Volunteer(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if ok, err := c.volunteerVisible(r.Context(), user(r), p); err != nil || !ok {
		return nil, errors.Join(store.ErrNotFound, err)
	}
	v.Name = p.Name
	v.Standing, err = c.stars().Volunteer(r.Context(), id)
	return v, err
}

func (c *Console) volunteerStarsPage(w http.ResponseWriter, r *http.Request) {
	c.renderVolunteerStars(w, r, http.StatusOK, "", "")
}

func (c *Console) renderVolunteerStars(w http.ResponseWriter, r *http.Request, code int, flash, msg string) {
	v, err := c.starSubject(r)
	if errors.Is(err, store.ErrNotFound) {
		c.failPage(w, r, http.StatusNotFound, "找不到：编号可能写错了，或不在您的管理范围内。")
		return
	}
	if err != nil {
		c.fault(w, r, "stars", err)
		return
	}
	c.render(w, r, code, "volstars", &page{Title: v.Name + " 的星级", Active: v.Kind, Flash: flash, Error: msg, Data: v})
}

func (c *Console) applyStar(w http.ResponseWriter, r *http.Request) {
	if !user(r).CanChange() {
		c.failPage(w, r, http.StatusForbidden, "审计员只能查看，不能修改。如需修改，请联系市级管理员。")
		return
	}
	v, err := c.starSubject(r)
	if err != nil {
		c.renderVolunteerStars(w, r, http.StatusNotFound, "", "")
		return
	}
	kind := store.SubjectVolunteer
	if v.Kind == "orgs" {
		kind = store.SubjectOrg
	}
	a, err := c.stars().Apply(r.Context(), kind, v.ID, user(r).Name)
	var refusal *stars.Refusal
	if errors.As(err, &refusal) {
		c.renderVolunteerStars(w, r, http.StatusConflict, "", refusal.Zh)
		return
	}
	if err != nil {
		c.fault(w, r, "star application", err)
		return
	}
	c.audit(r, "stars.apply", kind+" "+a.Subject, nil, a)
	level := map[string]string{stars.ApproveCounty: "县级", stars.ApproveCity: "市级"}[a.Approver]
	c.renderVolunteerStars(w, r, http.StatusOK, fmt.Sprintf("已提交%s申请，等待%s审批。", stars.Name(a.Level), level), "")
}
