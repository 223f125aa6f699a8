package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/orders"
	"leifeng/cloud/store/storetest"
	"leifeng/gateway/wire"
)

// Orders on both databases: intake from kiosk records (once), the flow
// with its history, filters, the clock rules, lookups by reference.
func TestOrders(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			testOrders(t, s)
		})
	}
}

func testOrders(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)
	if _, err := s.b.exec(ctx, `INSERT INTO stations (id, name, county, secret_hash, created_ns, community) VALUES ('st-1', '茶源站', '530802', '', 0, '530802001001')`); err != nil {
		t.Fatal(err)
	}

	// Two service requests and a check-in from the kiosk.
	tr := storetest.NewTraffic("st-1", now.Add(-time.Hour))
	entries := tr.Entries(3)
	entries[0].Record.Kind, entries[0].Record.Service, entries[0].Record.Phone, entries[0].Record.Note = wire.KindServiceRequest, "家政", "13800005678", "每周二上午"
	entries[1].Record.Kind, entries[1].Record.Service, entries[1].Record.Phone = wire.KindServiceRequest, "关爱空巢老人", "13900001111"
	entries[1].Record.Volunteer = ""
	entries[0].Record.Volunteer = ""
	if _, err := s.Ingest(ctx, entries); err != nil {
		t.Fatal(err)
	}
	for round, want := range []int{2, 0} {
		n, err := s.IntakeOrders(ctx, now)
		if err != nil || n != want {
			t.Fatalf("intake round %d: %d, %v; want %d", round, n, err, want)
		}
	}
	list, err := s.Orders(ctx, OrderFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("orders: %v %v", list, err)
	}
	o := list[1]
	if o.Community != "530802001001" || o.Category != "家政" || o.Phone != "13800005678" || o.State != orders.Submitted ||
		o.Ref != "XQ-"+pad4(entries[0].Record.Seq) || o.Source != orders.FromKiosk {
		t.Fatalf("intake order: %+v", o)
	}

	// The flow, each step in the history.
	city := orders.Actor{User: &access.User{Name: "市管理员", Role: access.City}}
	org := orders.Actor{User: &access.User{Name: "茶源志愿队", Role: access.Org, Scope: "org-1"}}
	act := func(id int64, a orders.Action, req orders.Request, by orders.Actor) error {
		_, err := s.ActOnOrder(ctx, id, now, func(o *orders.Order) (orders.Event, error) { return orders.Apply(o, a, req, by, now) })
		return err
	}
	for _, step := range []struct {
		a   orders.Action
		req orders.Request
		by  orders.Actor
	}{
		{orders.Dispatch, orders.Request{Org: "org-1"}, city},
		{orders.Accept, orders.Request{}, org},
		{orders.Assign, orders.Request{Volunteers: []string{"PE-1", "PE-2"}}, org},
	} {
		if err := act(o.ID, step.a, step.req, step.by); err != nil {
			t.Fatalf("%s: %v", step.a, err)
		}
	}
	// A refused step stores nothing.
	if err := act(o.ID, orders.Rate, orders.Request{Rating: 5}, city); !errors.Is(err, orders.ErrState) {
		t.Fatalf("rate before completion: %v", err)
	}
	got, evs, err := s.Order(ctx, o.ID)
	if err != nil || got.State != orders.Accepted || len(got.Volunteers) != 2 || len(evs) != 4 ||
		evs[0].Action != orders.Submit || evs[3].Action != orders.Assign || evs[1].Who != "市管理员" {
		t.Fatalf("order %+v history %+v err %v", got, evs, err)
	}
	if tasks, err := s.VolunteerTasks(ctx, "PE-2"); err != nil || len(tasks) != 1 || tasks[0].ID != o.ID {
		t.Fatalf("tasks: %v %v", tasks, err)
	}

	// Filters, scope lists: community, state, org; an empty scope list
	// matches nothing.
	for _, c := range []struct {
		f    OrderFilter
		want int
	}{
		{OrderFilter{Community: "530802001001"}, 2},
		{OrderFilter{State: orders.Accepted}, 1},
		{OrderFilter{Orgs: []string{"org-1"}}, 1},
		{OrderFilter{Communities: []string{}}, 0},
		{OrderFilter{Communities: []string{"x"}, Stations: []string{"st-1"}}, 2},
		{OrderFilter{Volunteer: "PE-1"}, 1},
	} {
		if l, err := s.Orders(ctx, c.f); err != nil || len(l) != c.want {
			t.Errorf("filter %+v: %d orders, %v; want %d", c.f, len(l), err, c.want)
		}
	}

	// The resident's lookup: reference and last four phone digits.
	if f, err := s.OrderByRef(ctx, "st-1", o.Ref, "5678"); err != nil || f.ID != o.ID {
		t.Fatalf("by ref: %v %v", f, err)
	}
	if _, err := s.OrderByRef(ctx, "st-1", o.Ref, "0000"); !errors.Is(err, ErrNoOrder) {
		t.Fatalf("wrong digits: %v", err)
	}

	// The clock: the other order escalates; a dispatched order nobody
	// accepts returns.
	p := orders.Policy{AnswerWithin: time.Hour, AcceptWithin: 2 * time.Hour}
	evs2, err := s.TickOrders(ctx, p, now.Add(90*time.Minute))
	if err != nil || len(evs2) != 1 || evs2[0].Action != orders.Escalate {
		t.Fatalf("tick: %+v %v", evs2, err)
	}
	other := list[0].ID
	if _, err := s.ActOnOrder(ctx, other, now.Add(100*time.Minute), func(o *orders.Order) (orders.Event, error) {
		return orders.Apply(o, orders.Dispatch, orders.Request{Org: "org-2"}, city, now.Add(100*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	evs2, err = s.TickOrders(ctx, p, now.Add(221*time.Minute))
	if err != nil || len(evs2) != 1 || evs2[0].Action != orders.Return {
		t.Fatalf("tick 2: %+v %v", evs2, err)
	}
	if r, _, _ := s.Order(ctx, other); r.State != orders.Submitted || r.Org != "" {
		t.Fatalf("returned order: %+v", r)
	}

	// Served this month, per category: counts only.
	for _, a := range []orders.Action{orders.Start, orders.Complete} {
		if err := act(o.ID, a, orders.Request{}, org); err != nil {
			t.Fatal(err)
		}
	}
	served, err := s.ServedByCategory(ctx, "530802001001", now.Add(-24*time.Hour))
	if err != nil || served["家政"] != 1 || len(served) != 1 {
		t.Fatalf("served: %v %v", served, err)
	}

	// The kiosk's part: a volunteer assigned to the order checks in,
	// starts it, checks out (which completes it); the resident rates it at
	// another kiosk with the last four phone digits, a wrong try first.
	k := newOrder(t, s, "st-1", "13600002468", now)
	for _, step := range []struct {
		a   orders.Action
		req orders.Request
		by  orders.Actor
	}{
		{orders.Dispatch, orders.Request{Org: "org-1"}, city},
		{orders.Accept, orders.Request{}, org},
		{orders.Assign, orders.Request{Volunteers: []string{"PE-7"}}, org},
	} {
		if err := act(k.ID, step.a, step.req, step.by); err != nil {
			t.Fatalf("%s: %v", step.a, err)
		}
	}
	kt := storetest.NewTraffic("st-1", now.Add(time.Hour))
	ke := kt.Entries(6)
	in, start, out, bad, rate, stranger := &ke[0], &ke[1], &ke[2], &ke[3], &ke[4], &ke[5]
	in.Kind, in.Volunteer = wire.KindCheckIn, "PE-7"
	start.Kind, start.Volunteer, start.Ref, start.Order, start.Card = wire.KindOrderStart, "PE-7", in.ID, k.Ref, in.Card
	out.Kind, out.Volunteer, out.Ref, out.Card = wire.KindCheckOut, "PE-7", in.ID, in.Card
	bad.Kind, bad.Volunteer, bad.Card, bad.Order, bad.Rating, bad.Phone = wire.KindOrderRating, "", "", k.Ref, 2, "0000"
	rate.Kind, rate.Volunteer, rate.Card, rate.Order, rate.Rating, rate.Phone, rate.Note = wire.KindOrderRating, "", "", k.Ref, 4, "2468", "准时到达"
	rate.Station, bad.Station = "st-2", "st-2"
	stranger.Kind, stranger.Volunteer, stranger.Ref, stranger.Order = wire.KindOrderStart, "PE-8", in.ID, k.Ref
	for i := range ke {
		if err := ke[i].Validate(); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if _, err := s.Ingest(ctx, ke[:3]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ApplyKioskOrders(ctx, now); err != nil || n != 1 {
		t.Fatalf("start: %d %v", n, err)
	}
	// The check-out arrives after the start was applied: the next pass
	// completes the order.
	if n, err := s.ApplyKioskOrders(ctx, now); err != nil || n != 1 {
		t.Fatalf("complete: %d %v", n, err)
	}
	if _, err := s.Ingest(ctx, ke[3:]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ApplyKioskOrders(ctx, now); err != nil || n != 1 {
		t.Fatalf("rating: %d %v", n, err)
	}
	if n, err := s.ApplyKioskOrders(ctx, now); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
	got, evs, err = s.Order(ctx, k.ID)
	if err != nil || got.State != orders.Rated || got.Rating != 4 || got.Comment != "准时到达" {
		t.Fatalf("kiosk flow: %+v %v", got, err)
	}
	var acts []orders.Action
	for _, e := range evs {
		acts = append(acts, e.Action)
	}
	if want := []orders.Action{orders.Submit, orders.Dispatch, orders.Accept, orders.Assign, orders.Start, orders.Complete, orders.Rate}; !slices.Equal(acts, want) {
		t.Fatalf("history %v, want %v", acts, want)
	}
	var outcomes []string
	if err := s.b.query(ctx, `SELECT outcome FROM order_intake WHERE record_id = $1 OR record_id = $2 ORDER BY record_id`,
		[]any{bad.ID, stranger.ID}, func(r rows) error { var o string; err := r.Scan(&o); outcomes = append(outcomes, o); return err }); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 2 || outcomes[0] == "" || outcomes[1] == "" {
		t.Fatalf("refused kiosk records' outcomes: %q", outcomes)
	}

	// A console order gets a console reference.
	id, err := s.CreateOrder(ctx, &orders.Order{Community: "530802001001", Category: "义务家教", Phone: "13700000000", Source: orders.FromProxy}, "站长", now)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.Order(ctx, id); c.Ref == "" || c.Source != orders.FromProxy {
		t.Fatalf("console order: %+v", c)
	}
}

// newOrder registers a need at station's kiosk and takes it in.
func newOrder(t *testing.T, s *Store, station, phone string, now time.Time) *orders.Order {
	t.Helper()
	ctx := context.Background()
	e := storetest.NewTraffic(station, now).Entries(1)
	e[0].Kind, e[0].Volunteer, e[0].Card, e[0].Service, e[0].Phone = wire.KindServiceRequest, "", "", "家政", phone
	if _, err := s.Ingest(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n, err := s.IntakeOrders(ctx, now); err != nil || n != 1 {
		t.Fatalf("intake: %d %v", n, err)
	}
	l, err := s.Orders(ctx, OrderFilter{Limit: 1})
	if err != nil || len(l) != 1 || l[0].RecordID != e[0].ID {
		t.Fatalf("new order: %v %v", l, err)
	}
	return &l[0]
}

func pad4(n uint64) string {
	return string([]byte{byte('0' + n/1000%10), byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}
