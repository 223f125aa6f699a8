package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/orders"
	"leifeng/cloud/store"
)

// Residents' orders (群众点单、中心派单、志愿者接单、群众评单), scoped like
// everything else: the city sees every order; a county administrator and
// an auditor with an area the orders of their communities; a station
// manager those registered at their stations or in their stations'
// communities; an organisation administrator those dispatched to it.
// Out of scope is 404. The resident's phone is personal data: it is shown
// whole only to those who serve the order (the station, the county and
// city, the organisation it was dispatched to) and masked to an auditor.

// OrderView is an order as the API shows it, with its state in Chinese.
type OrderView struct {
	orders.Order
	StateZh string `json:"state_zh"`
}

// OrderDetail is one order with its history.
type OrderDetail struct {
	OrderView
	History []orders.Event `json:"history"`
}

// NewOrder is the body of POST /api/v1/orders: a need registered by a
// station manager for a resident (代办) or in the console.
type NewOrder struct {
	Station   string `json:"station,omitempty"`
	Community string `json:"community,omitempty"`
	Category  string `json:"category"`
	Phone     string `json:"phone"`
	Note      string `json:"note,omitempty"`
	Preferred string `json:"preferred,omitempty"`
}

func (a *api) orderRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/orders", a.read("orders.read", ordersWhat, a.listOrders))
	mux.HandleFunc("POST /api/v1/orders", a.change("order.create", a.createOrder))
	mux.HandleFunc("GET /api/v1/orders/{id}", a.read("order.read", orderPath, a.getOrder))
	mux.HandleFunc("POST /api/v1/orders/{id}/{action}", a.change("order.action", a.actOnOrder))
}

func ordersWhat(r *http.Request) string { return "orders " + r.URL.RawQuery }

func orderPath(r *http.Request) string { return "order " + r.PathValue("id") }

const zhNoOrder = "找不到这个需求：编号可能写错了，或不在您的管理范围内。请核对后再试。"

// viewOrder is o as u may see it: the phone masked for an auditor.
func viewOrder(u *access.User, o orders.Order) OrderView {
	o = orders.ShownTo(u, o)
	return OrderView{Order: o, StateZh: o.State.Zh()}
}

// listOrders is GET /api/v1/orders?community=CODE&state=STATE&page=N.
func (a *api) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.OrderFilterOf(scopeOf(r))
	f.Community = q.Get("community")
	if s := q.Get("state"); s != "" {
		st, err := orders.ParseState(s)
		if err != nil {
			a.failReview(w, http.StatusBadRequest, err.Error(), "状态不正确：可选 submitted、dispatched、accepted、in_service、completed、rated、rejected、cancelled。", nil)
			return
		}
		f.State = st
	}
	f.Limit = 100
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		f.Offset = (p - 1) * f.Limit
	}
	list, err := a.f.Store.Orders(r.Context(), f)
	if err != nil {
		a.failInternal(w, "cannot list orders", err)
		return
	}
	u := userOf(r)
	out := make([]OrderView, len(list))
	for i, o := range list {
		out[i] = viewOrder(u, o)
	}
	writeJSON(w, map[string]any{"orders": out})
}

// loadOrder reads the order of r's path in r's scope, or answers 404.
func (a *api) loadOrder(w http.ResponseWriter, r *http.Request) (*orders.Order, []orders.Event, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.failReview(w, http.StatusNotFound, "no order "+r.PathValue("id"), zhNoOrder, nil)
		return nil, nil, false
	}
	o, evs, err := a.f.Store.Order(r.Context(), id)
	if errors.Is(err, store.ErrNoOrder) || (err == nil && !orders.Visible(scopeOf(r), o)) {
		a.failReview(w, http.StatusNotFound, "no order "+r.PathValue("id"), zhNoOrder, nil)
		return nil, nil, false
	}
	if err != nil {
		a.failInternal(w, "cannot read order", err)
		return nil, nil, false
	}
	return o, evs, true
}

// getOrder is GET /api/v1/orders/{id}: the order with its history.
func (a *api) getOrder(w http.ResponseWriter, r *http.Request) {
	o, evs, ok := a.loadOrder(w, r)
	if !ok {
		return
	}
	if evs == nil {
		evs = []orders.Event{}
	}
	writeJSON(w, OrderDetail{OrderView: viewOrder(userOf(r), *o), History: evs})
}

// actOnOrder is POST /api/v1/orders/{id}/{action}.
func (a *api) actOnOrder(w http.ResponseWriter, r *http.Request) {
	act, err := orders.ParseAction(r.PathValue("action"))
	if err != nil {
		a.failReview(w, http.StatusNotFound, err.Error(), "没有这个操作：可选 dispatch、reject、accept、assign、start、complete、rate、cancel。", nil)
		return
	}
	o, _, ok := a.loadOrder(w, r)
	if !ok {
		return
	}
	var req orders.Request
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
			a.failReview(w, http.StatusBadRequest, "bad request body: "+err.Error(), "请求内容不是有效的 JSON，请检查后重试。", nil)
			return
		}
	}
	if act == orders.Dispatch && req.Org != "" {
		org, err := a.f.Store.Organisation(r.Context(), req.Org)
		if err != nil || org == nil {
			a.failReview(w, http.StatusUnprocessableEntity, "unknown organisation "+req.Org, "找不到这个志愿服务组织，请从建议列表中选择。", nil)
			return
		}
	}
	if act == orders.Assign {
		for _, v := range req.Volunteers {
			if ok, err := a.volunteerVisible(r, v); err != nil || !ok {
				a.failReview(w, http.StatusUnprocessableEntity, "unknown volunteer "+v, "找不到志愿者 "+v+"，或不在您的管理范围内。", nil)
				return
			}
		}
	}
	before := o.State
	now := a.now()
	actor := orders.Actor{User: userOf(r), Orgs: scopeOf(r).VolunteerOrgs()}
	changed, err := a.f.Store.ActOnOrder(r.Context(), o.ID, now, func(o *orders.Order) (orders.Event, error) {
		return orders.Apply(o, act, req, actor, now)
	})
	var oe *orders.Error
	switch {
	case errors.As(err, &oe):
		code := http.StatusUnprocessableEntity
		switch {
		case errors.Is(err, orders.ErrNotAllowed):
			code = http.StatusForbidden
		case errors.Is(err, orders.ErrState):
			code = http.StatusConflict
		}
		a.failReview(w, code, oe.En, oe.Zh, nil)
		return
	case err != nil:
		a.failInternal(w, "cannot change order", err)
		return
	}
	noteChange(r, "order "+strconv.FormatInt(o.ID, 10)+" "+string(act),
		map[string]any{"state": before}, map[string]any{"state": changed.State, "org": changed.Org, "volunteers": changed.Volunteers})
	a.refreshOrderStation(r, changed)
	writeJSON(w, viewOrder(userOf(r), *changed))
}

// refreshOrderStation sends the order's station its new document (the
// resident's lookup, the volunteers' tasks) now rather than at the next
// orders pass; failing that, the pass does it.
func (a *api) refreshOrderStation(r *http.Request, o *orders.Order) {
	if o.Station == "" || a.f.Service == nil {
		return
	}
	if err := a.f.Service.RefreshStation(r.Context(), o.Station); err != nil {
		a.log.Warn("order's station not refreshed", "order", o.ID, "station", o.Station, "err", err)
	}
}

// createOrder is POST /api/v1/orders: a need entered for a resident.
func (a *api) createOrder(w http.ResponseWriter, r *http.Request) {
	var n NewOrder
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&n); err != nil {
		a.failReview(w, http.StatusBadRequest, "bad request body: "+err.Error(), "请求内容不是有效的 JSON，请检查后重试。", nil)
		return
	}
	n.Category, n.Phone = strings.TrimSpace(n.Category), strings.TrimSpace(n.Phone)
	var oe *orders.Error
	if errors.As(orders.CheckNeed(n.Category, n.Phone, n.Note, n.Preferred), &oe) {
		a.failReview(w, http.StatusUnprocessableEntity, oe.En, oe.Zh, nil)
		return
	}
	sc := scopeOf(r)
	if n.Station != "" {
		c, err := a.f.Store.StationCommunity(r.Context(), n.Station)
		if err != nil || !sc.Station(n.Station, c) {
			a.failReview(w, http.StatusNotFound, "no station "+n.Station, "找不到这个站点，或不在您的管理范围内。", nil)
			return
		}
		if n.Community == "" {
			n.Community = c
		}
	}
	if n.Community == "" || !sc.Area(n.Community) {
		a.failReview(w, http.StatusUnprocessableEntity, "community missing or out of scope", "请选择居民所在的社区（须在您的管理范围内）。", nil)
		return
	}
	u := userOf(r)
	src := orders.FromConsole
	if u != nil && u.Role == access.Station {
		src = orders.FromProxy
	}
	o := &orders.Order{Station: n.Station, Community: n.Community, Category: n.Category, Phone: n.Phone,
		Note: n.Note, Preferred: n.Preferred, Source: src, CreatedAt: a.now()}
	who := "console"
	if u != nil {
		who = u.Name
	}
	if _, err := a.f.Store.CreateOrder(r.Context(), o, who, a.now()); err != nil {
		a.failInternal(w, "cannot create order", err)
		return
	}
	noteChange(r, "order "+strconv.FormatInt(o.ID, 10), nil, map[string]any{"category": o.Category, "community": o.Community})
	a.refreshOrderStation(r, o)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(viewOrder(u, *o))
}
