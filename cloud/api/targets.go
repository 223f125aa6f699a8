package api

import (
	"errors"
	"net/http"
	"strconv"

	"leifeng/cloud/fleet"
	"leifeng/cloud/targets"
)

// The plan's figures (issue 14, cloud/targets): aggregates, not personal
// data, so a.view (scoped, not audited). A user sees the figures of the
// areas in their scope (access.Scope.Area): the city everything, a
// county user their county and every area below it, a station manager
// the communities of their stations, an organisation administrator the
// linked communities of their organisations; an area out of scope is
// answered 404 like an unknown one. The targets are the city's to set
// (PUT /api/v1/target-settings); everyone signed in may read them.

func (a *api) targetRoutes(mux *router) {
	svc := &targets.Service{Store: a.f.Store, Now: a.now, Log: a.log}
	mux.HandleFunc("GET /api/v1/targets", a.view(targetsWhat, a.targetsOf(svc, func(r *http.Request, area string, year int) (any, error) {
		return svc.Figures(r.Context(), area, year)
	})))
	mux.HandleFunc("GET /api/v1/targets/children", a.view(targetsWhat, a.targetsOf(svc, func(r *http.Request, area string, year int) (any, error) {
		cs, err := svc.Children(r.Context(), area, year)
		if err != nil {
			return nil, err
		}
		return map[string]any{"area": area, "year": year, "children": cs}, nil
	})))
	mux.HandleFunc("GET /api/v1/targets/trend", a.view(targetsWhat, a.targetsOf(svc, func(r *http.Request, area string, year int) (any, error) {
		return svc.Trend(r.Context(), area, year)
	})))
	mux.HandleFunc("GET /api/v1/target-settings", a.view(targetSettingsWhat, func(w http.ResponseWriter, r *http.Request) {
		set, err := svc.Settings(r.Context())
		if err != nil {
			a.failInternal(w, "cannot read the targets", err)
			return
		}
		writeJSON(w, set)
	}))
	mux.HandleFunc("PUT /api/v1/target-settings", a.change("targets.settings", a.cityOnly(func(w http.ResponseWriter, r *http.Request) {
		var change targets.Settings
		if !a.decodeStrict(w, r, &change, `目标值的格式不对：请按 {"county": {"active_share": 0.75}} 这样的格式填写层级（city、county、township、community）、指标和目标值。`) {
			return
		}
		before, err := svc.Settings(r.Context())
		if err != nil {
			a.failInternal(w, "cannot read the targets", err)
			return
		}
		after, err := svc.SetSettings(r.Context(), change)
		if errors.Is(err, targets.ErrSettings) {
			a.failReview(w, http.StatusBadRequest, err.Error(),
				"目标值不正确：层级只能是 city、county、township、community，指标只能是页面上列出的六项，目标值须为不小于 0 的数（写 null 表示不设目标）。请改正后重试。", nil)
			return
		}
		if err != nil {
			a.failInternal(w, "cannot save the targets", err)
			return
		}
		noteChange(r, "target settings", before, after)
		writeJSON(w, after)
	})))
}

func targetsWhat(r *http.Request) string {
	return "targets of " + r.URL.Query().Get("area") + " " + r.URL.Query().Get("year")
}

func targetSettingsWhat(*http.Request) string { return "target settings" }

// targetsOf parses ?area=CODE&year=Y (year: this year when absent),
// checks the area is in scope, and answers what get returns.
func (a *api) targetsOf(svc *targets.Service, get func(r *http.Request, area string, year int) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		area := q.Get("area")
		if area == "" || len(area) > 64 {
			a.failReview(w, http.StatusBadRequest, "area: give an area code, e.g. ?area=530800&year=2026",
				"请给出地区编码，例如 ?area=530800&year=2026（市、县区、乡镇街道或社区的编码）。", nil)
			return
		}
		year := a.now().In(fleet.CST).Year()
		if s := q.Get("year"); s != "" {
			y, err := strconv.Atoi(s)
			if err != nil {
				a.failReview(w, http.StatusBadRequest, "year: want a year such as 2026",
					"年份格式不对，请写成 2026 这样的四位年份。", nil)
				return
			}
			year = y
		}
		if !scopeOf(r).Area(area) {
			a.failReview(w, http.StatusNotFound, "area "+area+": not found",
				"找不到这个地区：编码可能写错了，或不在您的管理范围内。请核对地区编码后再试。", nil)
			return
		}
		v, err := get(r, area, year)
		switch {
		case errors.Is(err, targets.ErrUnknownArea):
			a.failReview(w, http.StatusNotFound, "area "+area+": not found",
				"找不到这个地区：编码可能写错了，或不在您的管理范围内。请核对地区编码后再试。", nil)
		case errors.Is(err, targets.ErrYear):
			a.failReview(w, http.StatusBadRequest, err.Error(),
				"年份超出范围：只能查询 "+strconv.Itoa(targets.FirstYear)+" 年到今年的指标。请换一个年份再试。", nil)
		case err != nil:
			a.failInternal(w, "cannot compute the targets", err)
		default:
			writeJSON(w, v)
		}
	}
}
