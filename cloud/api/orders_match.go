package api

import (
	"net/http"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/orders"
	"leifeng/cloud/store"
)

// Matching supply and demand: suggestions for dispatching an order, and
// per community and category how the orders fared.

// Suggestions answers GET /api/v1/orders/{id}/suggestions.
type Suggestions struct {
	Orgs       []store.OrgSuggestion       `json:"orgs"`
	Volunteers []store.VolunteerSuggestion `json:"volunteers"`
}

func (a *api) matchRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/orders/{id}/suggestions", a.read("order.suggest", orderPath, a.suggestions))
	mux.HandleFunc("GET /api/v1/order-stats", a.view(statsWhat, a.orderStats))
}

func statsWhat(r *http.Request) string { return "order statistics " + r.URL.RawQuery }

// suggestions proposes organisations (by the order's community, county,
// members offering its category and recent service) and, from the
// organisation it was dispatched to (or the community), volunteers (by
// category, skills, home and recent activity), names masked.
func (a *api) suggestions(w http.ResponseWriter, r *http.Request) {
	o, _, ok := a.loadOrder(w, r)
	if !ok {
		return
	}
	now := a.now()
	orgs, err := a.f.Store.SuggestOrgs(r.Context(), o, now, 10)
	if err != nil {
		a.failInternal(w, "cannot suggest organisations", err)
		return
	}
	org := o.Org
	if q := r.URL.Query().Get("org"); q != "" {
		org = q
	}
	vols, err := a.f.Store.SuggestVolunteers(r.Context(), o, org, now, 20)
	if err != nil {
		a.failInternal(w, "cannot suggest volunteers", err)
		return
	}
	// Only volunteers the user may see, and assign.
	kept := vols[:0]
	for _, v := range vols {
		if ok, err := a.volunteerVisible(r, v.ID); err == nil && ok {
			kept = append(kept, v)
		}
	}
	if orgs == nil {
		orgs = []store.OrgSuggestion{}
	}
	if kept == nil {
		kept = []store.VolunteerSuggestion{}
	}
	writeJSON(w, Suggestions{Orgs: orgs, Volunteers: kept})
}

// orderStats is GET /api/v1/order-stats?area=CODE&from=YYYY-MM-DD&to=YYYY-MM-DD:
// per community (in the area and the user's scope) and category, the
// orders created in the period, accepted within the target time,
// completed, rejected, the mean rating, and demand without supply.
func (a *api) orderStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := a.now()
	from := now.AddDate(0, -1, 0)
	to := now.Add(time.Second)
	for _, p := range []struct {
		name string
		t    *time.Time
		add  int
	}{{"from", &from, 0}, {"to", &to, 1}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseInLocation(time.DateOnly, v, fleet.CST)
			if err != nil {
				a.failReview(w, http.StatusBadRequest, "bad "+p.name, "日期格式应为 2026-11-01。", nil)
				return
			}
			*p.t = d.AddDate(0, 0, p.add)
		}
	}
	communities, ok, err := a.f.Store.StatCommunities(r.Context(), scopeOf(r), q.Get("area"))
	if !ok {
		a.failReview(w, http.StatusNotFound, "no area "+q.Get("area"), "找不到这个地区，或不在您的管理范围内。", nil)
		return
	}
	if err != nil {
		a.failInternal(w, "cannot read the area tree", err)
		return
	}
	within := a.f.OrderPolicy.AcceptWithin
	if within <= 0 {
		within = orders.DefaultPolicy.AcceptWithin
	}
	stats, err := a.f.Store.OrderStats(r.Context(), communities, from, to, within)
	if err != nil {
		a.failInternal(w, "cannot count orders", err)
		return
	}
	writeJSON(w, map[string]any{"from": from.In(fleet.CST), "to": to.In(fleet.CST), "accept_within_hours": within.Hours(), "stats": stats})
}
