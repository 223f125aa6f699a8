package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/activities"
	"leifeng/cloud/fleet"
	"leifeng/cloud/orders"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// The order pages (群众点单、中心派单、志愿者接单、群众评单): the queue of the
// residents' needs in the user's scope, one order with its history and
// the actions the user may take now, the form to register a need for a
// resident (代办), and supply and demand per community and category. The
// scope is the JSON API's (store.OrderFilterOf, orders.Visible), the
// phone is shown as the API shows it (orders.ShownTo), the rules are
// orders.Apply's and every action is audited as "order.action".

func (c *Console) orderRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"orders", c.page("orders", c.ordersPage))
	mux.HandleFunc("GET "+Prefix+"orders/new", c.page("orders", c.newOrderPage))
	mux.HandleFunc("POST "+Prefix+"orders", c.change("orders", c.createOrder))
	mux.HandleFunc("GET "+Prefix+"orders/{id}", c.page("orders", c.orderPage))
	mux.HandleFunc("POST "+Prefix+"orders/{id}/{action}", c.change("orders", c.actOnOrder))
	mux.HandleFunc("GET "+Prefix+"supply", c.page("supply", c.supplyPage))
}

// orderRow is an order in a list.
type orderRow struct {
	orders.Order
	StateZh, CommunityName, Age, LevelZh string
	// Ago is when it was registered, "3小时前".
	Ago string
}

type ordersData struct {
	Rows                []orderRow
	State, Community    string
	States, Communities []choice
	CanCreate           bool
	Page, Prev, Next    int
	Filtered            bool
}

const ordersPerPage = 50

// ordersPage is the queue: the orders in the user's scope, newest first,
// filtered by state and community.
func (c *Console) ordersPage(w http.ResponseWriter, r *http.Request) {
	ctx, u := r.Context(), user(r)
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	q := r.URL.Query()
	d := &ordersData{State: q.Get("state"), Community: q.Get("community"), CanCreate: mayRegisterNeeds(u), Page: 1}
	p := &page{Title: "需求", Active: "orders", Data: d}
	for _, s := range orders.States {
		d.States = append(d.States, choice{string(s), s.Zh()})
	}
	names, err := c.communities(ctx, sc)
	if err != nil {
		c.fault(w, r, "communities", err)
		return
	}
	d.Communities = names
	f := store.OrderFilterOf(sc)
	f.Community = d.Community
	if d.State != "" {
		st, err := orders.ParseState(d.State)
		if err != nil {
			p.Error = "没有这个状态，请从列表中选择。"
			c.render(w, r, http.StatusBadRequest, "orders", p)
			return
		}
		f.State = st
	}
	d.Filtered = d.State != "" || d.Community != ""
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		d.Page = n
	}
	f.Limit, f.Offset = ordersPerPage+1, (d.Page-1)*ordersPerPage
	list, err := c.Store.Orders(ctx, f)
	if err != nil {
		c.fault(w, r, "orders", err)
		return
	}
	if len(list) > ordersPerPage {
		list, d.Next = list[:ordersPerPage], d.Page+1
	}
	if d.Page > 1 {
		d.Prev = d.Page - 1
	}
	d.Rows = c.orderRows(u, list, names)
	if n, err := strconv.ParseInt(q.Get("returned"), 10, 64); err == nil {
		p.Flash = fmt.Sprintf("已退回需求 %d，它回到站点的待审核队列，由站点或县级中心另行派单。", n)
	}
	c.render(w, r, http.StatusOK, "orders", p)
}

// orderRows is list as rows, each order as u may see it.
func (c *Console) orderRows(u *access.User, list []orders.Order, names []choice) []orderRow {
	now := c.now()
	out := make([]orderRow, 0, len(list))
	for _, o := range list {
		row := orderRow{Order: orders.ShownTo(u, o), StateZh: o.State.Zh(), CommunityName: o.Community,
			Age: age(now.Sub(o.CreatedAt)), LevelZh: levelZh(o.Level)}
		if row.Ago = row.Age; row.Age != "刚刚" {
			row.Ago += "前"
		}
		for _, n := range names {
			if n.Value == o.Community {
				row.CommunityName = n.Label
			}
		}
		out = append(out, row)
	}
	return out
}

// mayRegisterNeeds says whether u registers needs for residents: a
// station manager (代办), a county or the city administrator.
func mayRegisterNeeds(u *access.User) bool {
	return u.CanChange() && (u.Role == access.City || u.Role == access.County || u.Role == access.Station)
}

// communities is the communities in sc, as choices "name（code）".
func (c *Console) communities(ctx context.Context, sc *access.Scope) ([]choice, error) {
	all, err := c.Store.AllAreas(ctx)
	if err != nil {
		return nil, err
	}
	var out []choice
	for _, a := range all {
		if a.Level == people.LevelCommunity && sc.Area(a.Code) {
			out = append(out, choice{a.Code, a.Name + "（" + a.Code + "）"})
		}
	}
	return out, nil
}

// age is how long ago, in Chinese.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "刚刚"
	case d < time.Hour:
		return fmt.Sprintf("%d分钟", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d天%d小时", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// levelZh is who must answer an order now.
func levelZh(level int) string {
	switch level {
	case 0:
		return "站点"
	case 1:
		return "已上报县级中心"
	}
	return "已上报市级"
}

var sourceZh = map[orders.Source]string{orders.FromKiosk: "站点一体机", orders.FromProxy: "站长代办", orders.FromConsole: "管理平台登记"}

// orderView is one order's page.
type orderView struct {
	orderRow
	SourceZh    string
	StationName string
	OrgName     string
	History     []eventRow
	// The actions the user may take now, each with what its form needs.
	Can      map[string]bool
	Orgs     []store.OrgSuggestion
	Vols     []store.VolunteerSuggestion
	Comments []string
	Ratings  []int
	Assigned []string
	ReadOnly bool
}

type eventRow struct {
	orders.Event
	ActionZh, FromZh, ToZh, DetailZh string
}

// orderOf is the order the path names if the user sees it; else it
// answers 404 (or the fault) itself.
func (c *Console) orderOf(w http.ResponseWriter, r *http.Request) (*orders.Order, []orders.Event, *access.Scope, bool) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r)
		return nil, nil, nil, false
	}
	sc, err := c.scopeOf(ctx, user(r))
	if err != nil {
		c.fault(w, r, "scope", err)
		return nil, nil, nil, false
	}
	o, evs, err := c.Store.Order(ctx, id)
	if errors.Is(err, store.ErrNoOrder) || err == nil && !orders.Visible(sc, o) {
		c.notFound(w, r)
		return nil, nil, nil, false
	}
	if err != nil {
		c.fault(w, r, "order", err)
		return nil, nil, nil, false
	}
	return o, evs, sc, true
}

func (c *Console) orderPage(w http.ResponseWriter, r *http.Request) {
	o, evs, sc, ok := c.orderOf(w, r)
	if !ok {
		return
	}
	p := &page{}
	if r.URL.Query().Get("created") != "" {
		p.Flash = "已登记需求，回执号 " + o.Ref + "。请把回执号告诉居民，凭回执号和电话后四位可在站点查询进度、评价服务。"
	}
	if a := r.URL.Query().Get("done"); a != "" {
		if act, err := orders.ParseAction(a); err == nil {
			p.Flash = "已" + act.Zh() + "。当前状态：" + o.State.Zh() + "。"
		}
	}
	c.showOrder(w, r, o, evs, sc, http.StatusOK, p)
}

// showOrder renders o's page with p's message.
func (c *Console) showOrder(w http.ResponseWriter, r *http.Request, o *orders.Order, evs []orders.Event, sc *access.Scope, code int, p *page) {
	ctx, u := r.Context(), user(r)
	names, err := c.communities(ctx, sc)
	if err != nil {
		c.fault(w, r, "communities", err)
		return
	}
	v := &orderView{orderRow: c.orderRows(u, []orders.Order{*o}, names)[0], SourceZh: sourceZh[o.Source],
		StationName: o.Station, OrgName: o.Org, Can: map[string]bool{}, Comments: orders.Comments,
		Ratings: []int{5, 4, 3, 2, 1}, ReadOnly: !u.CanChange()}
	if v.CommunityName == o.Community {
		if a, err := c.Store.Area(ctx, o.Community); err == nil {
			v.CommunityName = a.Name + "（" + a.Code + "）"
		}
	}
	if o.Org != "" {
		if org, err := c.Store.Organisation(ctx, o.Org); err == nil && org != nil {
			v.OrgName = org.Name + "（" + org.ID + "）"
		}
	}
	if o.Station != "" {
		if st, err := c.station(ctx, u, o.Station); err == nil && st.Name != "" {
			v.StationName = st.Name + "（" + st.ID + "）"
		}
	}
	for _, e := range evs {
		v.History = append(v.History, eventRow{Event: e, ActionZh: e.Action.Zh(), FromZh: e.From.Zh(), ToZh: e.To.Zh(), DetailZh: detailZh(e.Detail)})
	}
	// The actions the rules let the user take now: each tried on a copy
	// with what its form would carry.
	actor := orders.Actor{User: u, Orgs: sc.VolunteerOrgs()}
	try := orders.Request{Org: "-", Volunteers: []string{"-"}, Reason: "-", Rating: 5}
	for _, act := range orders.Actions {
		cp := *o
		if _, err := orders.Apply(&cp, act, try, actor, c.now()); err == nil {
			v.Can[string(act)] = true
		}
	}
	now := c.now()
	if v.Can[string(orders.Dispatch)] {
		if v.Orgs, err = c.Store.SuggestOrgs(ctx, o, now, 10); err != nil {
			c.fault(w, r, "suggest organisations", err)
			return
		}
	}
	if v.Can[string(orders.Assign)] {
		vols, err := c.Store.SuggestVolunteers(ctx, o, o.Org, now, 20)
		if err != nil {
			c.fault(w, r, "suggest volunteers", err)
			return
		}
		vsc := store.VolunteerScopeOf(sc)
		for _, s := range vols {
			if ok, err := c.Store.VolunteerInScope(ctx, s.ID, vsc); err == nil && ok {
				v.Vols = append(v.Vols, s)
			}
		}
	}
	v.Assigned = o.Volunteers
	p.Title, p.Active, p.Data = "需求 "+o.Ref, "orders", v
	c.render(w, r, code, "order", p)
}

// detailZh is what an action carried, in Chinese.
func detailZh(d string) string {
	k, val, ok := strings.Cut(d, "=")
	if !ok {
		return d
	}
	switch k {
	case "org":
		return "组织 " + val
	case "source":
		if zh, ok := sourceZh[orders.Source(val)]; ok {
			return zh
		}
	case "volunteers":
		return "志愿者 " + strings.ReplaceAll(val, ",", "、")
	case "rating":
		return val + " 星"
	case "duplicate_of":
		return "与需求 " + val + " 重复"
	case "level":
		n, _ := strconv.Atoi(val)
		return levelZh(n)
	}
	return d
}

// actOnOrder takes the action of the path on the order: the form's
// fields as orders.Request, the rules orders.Apply's in the store's
// transaction. A refusal is shown on the order's page in Chinese.
func (c *Console) actOnOrder(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	o, evs, sc, ok := c.orderOf(w, r)
	if !ok {
		return
	}
	ctx, u := r.Context(), user(r)
	act, err := orders.ParseAction(r.PathValue("action"))
	if err != nil {
		c.notFound(w, r)
		return
	}
	refuse := func(code int, msg string) {
		c.showOrder(w, r, o, evs, sc, code, &page{Error: "未执行“" + act.Zh() + "”：" + msg})
	}
	req := orders.Request{Org: strings.TrimSpace(r.PostFormValue("org")), Reason: r.PostFormValue("reason"),
		Comment: r.PostFormValue("comment"), Volunteers: r.PostForm["volunteers"]}
	if s := strings.TrimSpace(r.PostFormValue("rating")); s != "" {
		if req.Rating, err = strconv.Atoi(s); err != nil {
			refuse(http.StatusUnprocessableEntity, "评分为1到5星。")
			return
		}
	}
	if s := strings.TrimSpace(r.PostFormValue("duplicate_of")); s != "" {
		dup, err := strconv.ParseInt(s, 10, 64)
		var other *orders.Order
		if err == nil {
			other, _, err = c.Store.Order(ctx, dup)
		}
		if err != nil || !orders.Visible(sc, other) {
			refuse(http.StatusUnprocessableEntity, "找不到需求 "+s+"，或不在您的管理范围内。请核对需求编号。")
			return
		}
		req.DuplicateOf = dup
	}
	if act == orders.Dispatch && req.Org != "" {
		if org, err := c.Store.Organisation(ctx, req.Org); err != nil || org == nil {
			refuse(http.StatusUnprocessableEntity, "找不到这个志愿服务组织，请从建议列表中选择。")
			return
		}
	}
	if act == orders.Assign {
		vsc := store.VolunteerScopeOf(sc)
		for _, id := range req.Volunteers {
			if ok, err := c.Store.VolunteerInScope(ctx, id, vsc); err != nil || !ok {
				refuse(http.StatusUnprocessableEntity, "找不到志愿者 "+id+"，或不在您的管理范围内。")
				return
			}
		}
	}
	before := o.State
	now := c.now()
	actor := orders.Actor{User: u, Orgs: sc.VolunteerOrgs()}
	changed, err := c.Store.ActOnOrder(ctx, o.ID, now, func(o *orders.Order) (orders.Event, error) {
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
		// The page shows the order as it is now.
		if cur, curEvs, err := c.Store.Order(ctx, o.ID); err == nil {
			o, evs = cur, curEvs
		}
		refuse(code, oe.Zh)
		return
	case err != nil:
		c.fault(w, r, "order action", err)
		return
	}
	c.audit(r, "order.action", "order "+strconv.FormatInt(o.ID, 10)+" "+string(act),
		map[string]any{"state": before}, map[string]any{"state": changed.State, "org": changed.Org, "volunteers": changed.Volunteers})
	c.refreshOrderStation(r, changed)
	if !orders.Visible(sc, changed) {
		// Declined by the organisation: no longer its order.
		http.Redirect(w, r, fmt.Sprintf("%sorders?returned=%d", Prefix, o.ID), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%sorders/%d?done=%s", Prefix, o.ID, act), http.StatusSeeOther)
}

// refreshOrderStation sends the order's station its new document (the
// resident's lookup, the volunteers' tasks) now; failing that, the
// orders pass does it.
func (c *Console) refreshOrderStation(r *http.Request, o *orders.Order) {
	if o.Station == "" || c.Fleet == nil {
		return
	}
	if err := c.Fleet.RefreshStation(r.Context(), o.Station); err != nil {
		c.Log.Warn("console: order's station not refreshed", "order", o.ID, "station", o.Station, "err", err)
	}
}

// needForm is the 代办 form's state.
type needForm struct {
	Station, Community, Category, Phone, Note, Preferred string
	Stations, Communities                                []choice
	Categories                                           []string
}

// serviceTypes are the service types of plan item 30 (GLOSSARY), the
// categories a need may have besides the stations' menu categories.
var serviceTypes = activities.Categories

// fillNeedForm adds the choices: the stations and communities in scope,
// the menu categories of the stations' config and the service types.
func (c *Console) fillNeedForm(ctx context.Context, u *access.User, f *needForm) error {
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return err
	}
	if f.Communities, err = c.communities(ctx, sc); err != nil {
		return err
	}
	sts, err := c.visibleStations(ctx, u)
	if err != nil {
		return err
	}
	menus := []string{""}
	for _, st := range sts {
		label := st.ID
		if st.Name != "" {
			label = st.Name + "（" + st.ID + "）"
		}
		f.Stations = append(f.Stations, choice{st.ID, label})
		if u.Role == access.Station {
			menus = append(menus, st.ID)
		}
	}
	if c.Fleet != nil {
		for _, st := range menus {
			doc, err := c.Fleet.Effective(ctx, st)
			if err != nil {
				return err
			}
			for _, m := range doc.Menu {
				if m.Name != "" && !slices.Contains(f.Categories, m.Name) {
					f.Categories = append(f.Categories, m.Name)
				}
			}
		}
	}
	for _, t := range serviceTypes {
		if !slices.Contains(f.Categories, t) {
			f.Categories = append(f.Categories, t)
		}
	}
	return nil
}

func (c *Console) newOrderPage(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	if !mayRegisterNeeds(u) {
		c.notFound(w, r)
		return
	}
	f := &needForm{}
	if err := c.fillNeedForm(r.Context(), u, f); err != nil {
		c.fault(w, r, "need form", err)
		return
	}
	if len(f.Stations) == 1 {
		f.Station = f.Stations[0].Value
	}
	c.render(w, r, http.StatusOK, "neworder", &page{Title: "代办", Active: "orders", Data: f})
}

// createOrder registers a need for a resident: from a station manager it
// is 代办 (source proxy), from a county or the city administrator a need
// entered in the console.
func (c *Console) createOrder(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx, u := r.Context(), user(r)
	if !mayRegisterNeeds(u) {
		c.notFound(w, r)
		return
	}
	f := &needForm{Station: strings.TrimSpace(r.PostFormValue("station")), Community: strings.TrimSpace(r.PostFormValue("community")),
		Category: strings.TrimSpace(r.PostFormValue("category")), Phone: strings.TrimSpace(r.PostFormValue("phone")),
		Note: strings.TrimSpace(r.PostFormValue("note")), Preferred: strings.TrimSpace(r.PostFormValue("preferred"))}
	p := &page{Title: "代办", Active: "orders", Data: f}
	refuse := func(msg string) {
		if err := c.fillNeedForm(ctx, u, f); err != nil {
			c.fault(w, r, "need form", err)
			return
		}
		p.Error = "未登记：" + msg
		c.render(w, r, http.StatusUnprocessableEntity, "neworder", p)
	}
	var oe *orders.Error
	if errors.As(orders.CheckNeed(f.Category, f.Phone, f.Note, f.Preferred), &oe) {
		refuse(oe.Zh)
		return
	}
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	community := f.Community
	if f.Station != "" {
		st, err := c.station(ctx, u, f.Station)
		if err != nil {
			refuse("找不到这个站点，或不在您的管理范围内。")
			return
		}
		if community == "" {
			community = st.Community
		}
	}
	if community == "" || !sc.Area(community) {
		refuse("请选择居民所在的社区（须在您的管理范围内）。")
		return
	}
	src := orders.FromConsole
	if u.Role == access.Station {
		src = orders.FromProxy
	}
	now := c.now()
	o := &orders.Order{Station: f.Station, Community: community, Category: f.Category, Phone: f.Phone,
		Note: f.Note, Preferred: f.Preferred, Source: src, CreatedAt: now}
	if _, err := c.Store.CreateOrder(ctx, o, u.Name, now); err != nil {
		c.fault(w, r, "create order", err)
		return
	}
	c.audit(r, "order.create", "order "+strconv.FormatInt(o.ID, 10), nil, map[string]any{"category": o.Category, "community": o.Community})
	c.refreshOrderStation(r, o)
	http.Redirect(w, r, fmt.Sprintf("%sorders/%d?created=1", Prefix, o.ID), http.StatusSeeOther)
}

// supplyData is the supply and demand page.
type supplyData struct {
	Area, From, To string
	Areas          []choice
	Rows           []supplyRow
	WithinHours    float64
	NoSupply       int
}

type supplyRow struct {
	store.OrderStat
	CommunityName string
	InTimePct     string
	Rating        string
}

// supplyPage is, per community and category in scope, the orders of a
// period: accepted within the target time, completed, the mean rating,
// and demand without supply.
func (c *Console) supplyPage(w http.ResponseWriter, r *http.Request) {
	ctx, u := r.Context(), user(r)
	q := r.URL.Query()
	now := c.now()
	d := &supplyData{Area: q.Get("area"), WithinHours: c.acceptWithin().Hours()}
	p := &page{Title: "供需", Active: "supply", Data: d}
	from, to := now.AddDate(0, -1, 0), now.Add(time.Second)
	if v := q.Get("from"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, fleet.CST)
		if err != nil {
			p.Error = "日期格式应为 2026-11-01。"
		} else {
			from = t
		}
	}
	if v := q.Get("to"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, fleet.CST)
		if err != nil {
			p.Error = "日期格式应为 2026-11-01。"
		} else {
			to = t.AddDate(0, 0, 1)
		}
	}
	d.From, d.To = from.In(fleet.CST).Format(time.DateOnly), to.Add(-time.Second).In(fleet.CST).Format(time.DateOnly)
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		c.fault(w, r, "scope", err)
		return
	}
	all, err := c.Store.AllAreas(ctx)
	if err != nil {
		c.fault(w, r, "areas", err)
		return
	}
	names := map[string]string{}
	for _, a := range all {
		names[a.Code] = a.Name
		if a.Level != people.LevelCommunity && sc.Area(a.Code) {
			d.Areas = append(d.Areas, choice{a.Code, a.Name + "（" + a.Code + "）"})
		}
	}
	communities, ok, err := c.Store.StatCommunities(ctx, sc, d.Area)
	if !ok {
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.fault(w, r, "areas", err)
		return
	}
	stats, err := c.Store.OrderStats(ctx, communities, from, to, c.acceptWithin())
	if err != nil {
		c.fault(w, r, "order statistics", err)
		return
	}
	for _, s := range stats {
		row := supplyRow{OrderStat: s, CommunityName: names[s.Community], InTimePct: "–", Rating: "–"}
		if row.CommunityName == "" {
			row.CommunityName = s.Community
		}
		if s.Orders > 0 {
			row.InTimePct = fmt.Sprintf("%d%%", s.AcceptedInTime*100/s.Orders)
		}
		if s.Rated > 0 {
			row.Rating = fmt.Sprintf("%.1f", s.AvgRating)
		}
		if s.NoSupply {
			d.NoSupply++
		}
		d.Rows = append(d.Rows, row)
	}
	code := http.StatusOK
	if p.Error != "" {
		code = http.StatusBadRequest
	}
	c.render(w, r, code, "supply", p)
}

// acceptWithin is the target time to accept a dispatched order.
func (c *Console) acceptWithin() time.Duration {
	if c.AcceptWithin > 0 {
		return c.AcceptWithin
	}
	return orders.DefaultPolicy.AcceptWithin
}

// volunteerTasks is the open orders v is assigned to that u sees.
func (c *Console) volunteerTasks(ctx context.Context, u *access.User, v string) ([]orderRow, error) {
	sc, err := c.scopeOf(ctx, u)
	if err != nil {
		return nil, err
	}
	tasks, err := c.Store.VolunteerTasks(ctx, v)
	if err != nil {
		return nil, err
	}
	seen := tasks[:0]
	for _, o := range tasks {
		if orders.Visible(sc, &o) {
			seen = append(seen, o)
		}
	}
	return c.orderRows(u, seen, nil), nil
}
