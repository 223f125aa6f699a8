package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"leifeng/cloud/notice"
	"leifeng/cloud/store"
)

// Public notice (公示), objections and the holiday calendar (issue 12
// point 5). Objections are raised by a user who sees the record and
// resolved by the record's station level (the station's managers; the
// county's for a record of no station), never by whoever raised them.
// The holiday calendar is the city's: anyone signed in reads it, only a
// city administrator changes it.

func (a *api) noticeRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/holidays", a.view(holidaysWhat, a.holidays))
	mux.HandleFunc("PUT /api/v1/holidays/{year}", a.change("holidays.set", a.cityRule(a.putHolidays)))
	mux.HandleFunc("GET /api/v1/stations/{id}/notice", a.view(stationPath, a.stationNotice))
	mux.HandleFunc("POST /api/v1/hours/records/{id}/objection", a.change("hours.objection", a.raiseObjection))
	mux.HandleFunc("GET /api/v1/hours/objections", a.read("objections.read", objectionsWhat, a.objections))
	mux.HandleFunc("POST /api/v1/hours/objections/{id}/{action}", a.change("hours.objection_resolve", a.resolveObjection))
}

func holidaysWhat(r *http.Request) string { return "holidays " + r.URL.Query().Get("year") }

func objectionsWhat(r *http.Request) string { return "objections " + r.URL.RawQuery }

// zhCityRule explains a 403 of a city-wide rule.
const zhCityRule = "节假日安排和星级规则全市统一，只有市级管理员可以修改。如需调整，请联系市级管理员。"

// cityRule lets only a city administrator change a city-wide rule.
func (a *api) cityRule(h http.HandlerFunc) http.HandlerFunc { return a.onlyCity(zhCityRule, h) }

// yearParam reads a year 2000–2100, or reports false.
func yearParam(s string) (int, bool) {
	y, err := strconv.Atoi(s)
	return y, err == nil && y >= 2000 && y <= 2100
}

func (a *api) holidays(w http.ResponseWriter, r *http.Request) {
	days, err := a.f.Store.Holidays(r.Context())
	if err != nil {
		a.failInternal(w, "cannot read the holidays", err)
		return
	}
	out := map[string]any{}
	if s := r.URL.Query().Get("year"); s != "" {
		y, ok := yearParam(s)
		if !ok {
			a.failReview(w, http.StatusBadRequest, "year: want a year, e.g. 2026", "年份不对，请写成 2026 这样的四位数年份。", nil)
			return
		}
		days, out["year"] = notice.YearOf(days, y), y
	}
	out["days"] = orEmptyList(days)
	writeJSON(w, out)
}

// putHolidays replaces a year's calendar: the body is the CSV file
// (day,kind,name) or JSON {"days": [{"day", "kind", "name"}]}; nothing is
// stored unless every line is right.
func (a *api) putHolidays(w http.ResponseWriter, r *http.Request) {
	y, ok := yearParam(r.PathValue("year"))
	if !ok {
		a.failReview(w, http.StatusBadRequest, "year: want a year, e.g. 2026", "年份不对，请写成 2026 这样的四位数年份。", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		a.failReview(w, http.StatusRequestEntityTooLarge, "body too large", "文件太大了：一年的节假日安排不超过 256 KB。", err)
		return
	}
	var days []store.Holiday
	// JSON by its first character (clients send CSV under all sorts of
	// content types, and a CSV line never starts with "{").
	if strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		var req struct {
			Days []store.Holiday `json:"days"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			a.failReview(w, http.StatusBadRequest, `body: want {"days": [{"day": "2026-10-01", "kind": "holiday", "name": "国庆节"}]}`,
				"内容格式不对，请按“日期、类型、名称”逐天填写。", err)
			return
		}
		days, err = notice.CheckHolidays(req.Days, y)
	} else {
		days, err = notice.ParseHolidays(strings.NewReader(string(body)), y)
	}
	var fe *notice.FileError
	if errors.As(err, &fe) {
		lines := make([]map[string]any, len(fe.Lines))
		for i, l := range fe.Lines {
			lines[i] = map[string]any{"line": l.Line, "message_zh": l.Zh}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]any{"error": "some lines are refused", "lines": lines,
			"message_zh": "以下各行有误，整份未保存，请改正后重新提交：\n" + fe.Error()})
		return
	}
	if err != nil {
		a.failReview(w, http.StatusBadRequest, "cannot read the calendar", "读不出这份节假日安排，请检查文件后重试。", err)
		return
	}
	all, err := a.f.Store.Holidays(r.Context())
	if err == nil {
		err = a.f.Store.SetHolidays(r.Context(), y, days)
	}
	if err != nil {
		a.failInternal(w, "cannot store the holidays", err)
		return
	}
	noteChange(r, fmt.Sprintf("holidays %d", y), notice.YearOf(all, y), days)
	writeJSON(w, map[string]any{"year": y, "days": orEmptyList(days)})
}

func (a *api) stationNotice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.stationInScope(w, r, id, "notice of "+id) {
		return
	}
	list, err := a.f.Store.StationNotice(r.Context(), id, a.now())
	if err != nil {
		a.failInternal(w, "cannot read the notice of "+id, err)
		return
	}
	for i := range list {
		list[i].Until = local(list[i].Until)
	}
	starList, err := a.f.Store.StationStarNotice(r.Context(), id, a.now())
	if err != nil {
		a.failInternal(w, "cannot read the star notice of "+id, err)
		return
	}
	for i := range starList {
		starList[i].Until = local(starList[i].Until)
	}
	writeJSON(w, map[string]any{"station": id, "notice": orEmptyList(list), "stars": orEmptyList(starList)})
}

// reasonBody reads {"reason": "..."}: required, at most 500 characters.
func (a *api) reasonBody(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil && (required || !errors.Is(err, io.EOF)) {
		a.failReview(w, http.StatusBadRequest, `body: want {"reason": "..."}`, "请求内容有误，请填写原因后再提交。", err)
		return "", false
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case required && req.Reason == "":
		a.failReview(w, http.StatusBadRequest, "reason required", "请写明原因：相关人员会看到，审计日志也会记下。", nil)
		return "", false
	case len([]rune(req.Reason)) > 500:
		a.failReview(w, http.StatusBadRequest, "reason: at most 500 characters", "原因太长了，请控制在 500 字以内。", nil)
		return "", false
	}
	return req.Reason, true
}

const zhNoRecord = "找不到这条服务记录：编号可能写错了，或不在您的管理范围内。"

func (a *api) raiseObjection(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rec, err := a.f.Store.ServiceRecord(r.Context(), id)
	if err == nil && !scopeOf(r).SeesServiceRecord(rec.Station, rec.Community, rec.Org) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		a.failReview(w, http.StatusNotFound, "no service record "+id, zhNoRecord, nil)
		return
	}
	if err != nil {
		a.failInternal(w, "cannot read service record "+id, err)
		return
	}
	reason, ok := a.reasonBody(w, r, true)
	if !ok {
		return
	}
	o, after, err := a.f.Store.RaiseObjection(r.Context(), store.Objection{Record: id, Via: store.ViaConsole,
		RaisedBy: userOf(r).Name, Reason: reason}, a.now())
	switch {
	case errors.Is(err, store.ErrNotInNotice):
		a.failReview(w, http.StatusConflict, "the record is not in public notice",
			"这条记录不在公示期（状态："+statusZh(rec.Status)+"），不能提出异议；如需更正，请联系站点管理员申请复核。", nil)
		return
	case errors.Is(err, store.ErrAlreadyObjected):
		a.failReview(w, http.StatusConflict, "your objection to the record is still open", "您对这条记录的异议还在处理中，不必重复提出。", nil)
		return
	case err != nil:
		a.failInternal(w, "cannot record the objection", err)
		return
	}
	a.refreshNotice(r, rec.Station)
	noteChange(r, "service record "+id, map[string]string{"status": rec.Status},
		map[string]any{"status": after.Status, "objection": o.ID, "reason": reason})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"objection": localObjection(*o), "record": map[string]string{"id": id, "status": after.Status}})
}

// refreshNotice sends station its config again so that its kiosk's
// notice shows the change (the roster refresh sends it later if this
// fails, so a failure is logged, not answered).
func (a *api) refreshNotice(r *http.Request, station string) {
	if a.f.Service == nil || station == "" {
		return
	}
	if err := a.f.Service.RefreshStations(r.Context(), []string{station}); err != nil {
		a.log.Warn("cannot send the station its notice", "station", station, "err", err)
	}
}

// statusZh names a service record's status.
func statusZh(s string) string {
	return map[string]string{store.StatusReview: "待审核", store.StatusNotice: "公示中", store.StatusObjected: "有异议",
		store.StatusFinal: "已生效", store.StatusRejected: "未通过"}[s]
}

// ObjectionView is an objection as the console lists it: CanResolve when
// the user is the one to decide it.
type ObjectionView struct {
	store.Objection
	CanResolve bool `json:"can_resolve"`
}

func localObjection(o store.Objection) store.Objection {
	o.Raised, o.Resolved = local(o.Raised), local(o.Resolved)
	return o
}

// objections lists the objections the user sees (?state=open, the
// default; upheld, dismissed or all); ?mine=1 keeps those they resolve.
func (a *api) objections(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case "":
		state = store.ObjectionOpen
	case "all":
		state = ""
	case store.ObjectionOpen, store.ObjectionUpheld, store.ObjectionDismissed:
	default:
		a.failReview(w, http.StatusBadRequest, "state: open, upheld, dismissed or all", "状态只能是 open（待处理）、upheld（成立）、dismissed（不成立）或 all。", nil)
		return
	}
	list, err := a.f.Store.Objections(r.Context(), store.ObjectionFilter{State: state, Limit: 5000})
	if err != nil {
		a.failInternal(w, "cannot list objections", err)
		return
	}
	sc, mine := scopeOf(r), r.URL.Query().Get("mine") == "1"
	out := []ObjectionView{}
	for _, o := range list {
		if !sc.SeesServiceRecord(o.Station, o.Community, o.Org) {
			continue
		}
		v := ObjectionView{Objection: localObjection(o), CanResolve: o.State == store.ObjectionOpen && sc.ResolvesObjections(o.Station, o.Community)}
		if mine && !v.CanResolve {
			continue
		}
		out = append(out, v)
	}
	writeJSON(w, map[string]any{"objections": out})
}

func (a *api) resolveObjection(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "dismiss" && action != "uphold" {
		a.failReview(w, http.StatusNotFound, "action: dismiss or uphold", "操作只能是 dismiss（异议不成立）或 uphold（异议成立）。", nil)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var o *store.Objection
	if err == nil {
		o, err = a.f.Store.Objection(r.Context(), id)
	} else {
		err = store.ErrNotFound
	}
	sc := scopeOf(r)
	if err == nil && !sc.SeesServiceRecord(o.Station, o.Community, o.Org) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		a.failReview(w, http.StatusNotFound, "no objection "+r.PathValue("id"), "找不到这条异议：编号可能写错了，或不在您的管理范围内。", nil)
		return
	}
	if err != nil {
		a.failInternal(w, "cannot read the objection", err)
		return
	}
	if !sc.ResolvesObjections(o.Station, o.Community) {
		a.failReview(w, http.StatusForbidden, "objections are resolved by the record's station",
			"异议由记录所在站点的站点管理员处理（没有站点的记录由县级管理员处理）。", nil)
		return
	}
	reason, ok := a.reasonBody(w, r, true)
	if !ok {
		return
	}
	done, rec, err := a.f.Store.ResolveObjection(r.Context(), id, action == "uphold", userOf(r).Name, reason, a.now())
	switch {
	case errors.Is(err, store.ErrObjectionClosed):
		a.failReview(w, http.StatusConflict, "already resolved", "这条异议已经处理过了，请刷新列表。", nil)
		return
	case errors.Is(err, store.ErrOwnObjection):
		a.failReview(w, http.StatusForbidden, "raised by you", "您提出的异议需由另一位管理员处理。", nil)
		return
	case err != nil:
		a.failInternal(w, "cannot resolve the objection", err)
		return
	}
	a.refreshNotice(r, rec.Station)
	noteChange(r, fmt.Sprintf("objection %d", id), map[string]string{"state": o.State},
		map[string]string{"state": done.State, "reason": reason, "record": rec.ID, "record_status": rec.Status})
	writeJSON(w, map[string]any{"objection": localObjection(*done), "record": map[string]string{"id": rec.ID, "status": rec.Status}})
}
