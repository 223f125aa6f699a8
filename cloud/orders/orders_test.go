package orders_test

import (
	"errors"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/orders"
)

var t0 = time.Date(2026, 3, 5, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func user(role access.Role, scope string) orders.Actor {
	return orders.Actor{User: &access.User{Name: string(role) + "-user", Role: role, Scope: scope}}
}

func newOrder() *orders.Order {
	return &orders.Order{ID: 7, Ref: "XQ-0042", Station: "pe-sm-001", Community: "530802001001", Category: "家政",
		Phone: "13800005678", State: orders.Submitted, Source: orders.FromKiosk, CreatedAt: t0, Since: t0}
}

func must(t *testing.T, o *orders.Order, act orders.Action, req orders.Request, a orders.Actor, at time.Time) orders.Event {
	t.Helper()
	ev, err := orders.Apply(o, act, req, a, at)
	if err != nil {
		t.Fatalf("%s by %s: %v", act, a.Name(), err)
	}
	return ev
}

// The whole flow: 点单 → 派单 → 接单 → 指派 → 服务 → 完成 → 评单.
func TestWholeFlow(t *testing.T) {
	o := newOrder()
	station := user(access.Station, "pe-sm-001")
	org := user(access.Org, "org-12")
	steps := []struct {
		act  orders.Action
		req  orders.Request
		by   orders.Actor
		want orders.State
	}{
		{orders.Dispatch, orders.Request{Org: "org-12"}, station, orders.Dispatched},
		{orders.Accept, orders.Request{}, org, orders.Accepted},
		{orders.Assign, orders.Request{Volunteers: []string{"PE-1", "PE-2", "PE-1", " "}}, org, orders.Accepted},
		{orders.Start, orders.Request{}, orders.Actor{Kiosk: "pe-sm-001", Volunteer: "PE-2"}, orders.InService},
		{orders.Complete, orders.Request{}, org, orders.Completed},
		{orders.Rate, orders.Request{Rating: 5, Comment: "服务很好，谢谢"}, orders.Actor{Resident: true}, orders.Rated},
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i+1) * time.Hour)
		ev := must(t, o, s.act, s.req, s.by, at)
		if o.State != s.want || ev.To != s.want || ev.Action != s.act || !ev.At.Equal(at) || ev.Who == "" {
			t.Fatalf("step %d %s: state %s, event %+v", i, s.act, o.State, ev)
		}
	}
	if len(o.Volunteers) != 2 || o.Rating != 5 || o.Org != "org-12" || !o.State.Final() {
		t.Fatalf("order after the flow: %+v", o)
	}
}

func TestWhoMayAct(t *testing.T) {
	cases := []struct {
		name string
		prep func(o *orders.Order)
		act  orders.Action
		req  orders.Request
		by   orders.Actor
		ok   bool
	}{
		{"auditor changes nothing", nil, orders.Dispatch, orders.Request{Org: "o"}, user(access.Auditor, ""), false},
		{"org cannot dispatch", nil, orders.Dispatch, orders.Request{Org: "o"}, user(access.Org, "o"), false},
		{"county dispatches", nil, orders.Dispatch, orders.Request{Org: "o"}, user(access.County, "530802"), true},
		{"other org cannot accept", func(o *orders.Order) { o.State, o.Org = orders.Dispatched, "org-12" }, orders.Accept, orders.Request{}, user(access.Org, "org-99"), false},
		{"station cannot accept for the org", func(o *orders.Order) { o.State, o.Org = orders.Dispatched, "org-12" }, orders.Accept, orders.Request{}, user(access.Station, "pe-sm-001"), false},
		{"resident cannot dispatch", nil, orders.Dispatch, orders.Request{Org: "o"}, orders.Actor{Resident: true}, false},
		{"resident cancels", nil, orders.Cancel, orders.Request{}, orders.Actor{Resident: true}, true},
		{"unassigned volunteer cannot start", func(o *orders.Order) { o.State, o.Volunteers = orders.Accepted, []string{"PE-1"} }, orders.Start, orders.Request{}, orders.Actor{Kiosk: "s", Volunteer: "PE-9"}, false},
		{"password not changed yet", nil, orders.Dispatch, orders.Request{Org: "o"}, orders.Actor{User: &access.User{Role: access.City, MustChangePassword: true}}, false},
		{"password not changed yet, signed in", nil, orders.Dispatch, orders.Request{Org: "o"}, orders.Actor{User: &access.User{Role: access.City, MustChangePassword: true, Via: "session"}}, false},
		{"password not changed yet, API token", nil, orders.Dispatch, orders.Request{Org: "o"}, orders.Actor{User: &access.User{Role: access.City, MustChangePassword: true, Via: "token"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOrder()
			if c.prep != nil {
				c.prep(o)
			}
			before := *o
			_, err := orders.Apply(o, c.act, c.req, c.by, t0)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, orders.ErrNotAllowed) {
					t.Fatalf("err = %v, want ErrNotAllowed", err)
				}
				if o.State != before.State || o.Org != before.Org {
					t.Fatal("a refused action changed the order")
				}
			}
		})
	}
}

func TestRefusalsSayWhy(t *testing.T) {
	city := user(access.City, "")
	o := newOrder()
	for _, c := range []struct {
		act  orders.Action
		req  orders.Request
		kind error
	}{
		{orders.Dispatch, orders.Request{}, orders.ErrInvalid},
		{orders.Reject, orders.Request{}, orders.ErrInvalid},
		{orders.Complete, orders.Request{}, orders.ErrState},
		{orders.Rate, orders.Request{Rating: 5}, orders.ErrState},
	} {
		_, err := orders.Apply(o, c.act, c.req, city, t0)
		var e *orders.Error
		if !errors.Is(err, c.kind) || !errors.As(err, &e) || e.Zh == "" {
			t.Fatalf("%s: err = %v, want %v with a Chinese reason", c.act, err, c.kind)
		}
	}
	o.State = orders.Completed
	for _, r := range []int{0, 6, -1} {
		if _, err := orders.Apply(o, orders.Rate, orders.Request{Rating: r}, city, t0); !errors.Is(err, orders.ErrInvalid) {
			t.Fatalf("rating %d: %v", r, err)
		}
	}
}

func TestRejectTellsTheResidentAndMergesDuplicates(t *testing.T) {
	o := newOrder()
	must(t, o, orders.Reject, orders.Request{Reason: "不在服务范围内"}, user(access.Station, "pe-sm-001"), t0)
	if o.State != orders.Rejected || o.Reason != "不在服务范围内" {
		t.Fatalf("%+v", o)
	}
	d := newOrder()
	ev := must(t, d, orders.Reject, orders.Request{DuplicateOf: 3}, user(access.County, "530802"), t0)
	if d.DuplicateOf != 3 || d.Reason == "" || ev.Detail != "duplicate_of=3" {
		t.Fatalf("merge: %+v %+v", d, ev)
	}
	if _, err := orders.Apply(newOrder(), orders.Reject, orders.Request{DuplicateOf: 7}, user(access.City, ""), t0); !errors.Is(err, orders.ErrInvalid) {
		t.Fatalf("self-duplicate: %v", err)
	}
}

// An organisation that declines a dispatched order sends it back to the
// queue; the resident is not told no.
func TestOrgDeclineReturnsToQueue(t *testing.T) {
	o := newOrder()
	must(t, o, orders.Dispatch, orders.Request{Org: "org-12"}, user(access.City, ""), t0)
	ev := must(t, o, orders.Reject, orders.Request{Reason: "人手不足"}, user(access.Org, "org-12"), t0.Add(time.Hour))
	if o.State != orders.Submitted || o.Org != "" || ev.To != orders.Submitted || o.Reason != "" {
		t.Fatalf("%+v %+v", o, ev)
	}
}

func TestClockRules(t *testing.T) {
	p := orders.Policy{AnswerWithin: 4 * time.Hour, AcceptWithin: 24 * time.Hour}
	o := newOrder()
	if _, due := p.Tick(o, t0.Add(3*time.Hour)); due {
		t.Fatal("escalated early")
	}
	for level := 1; level <= orders.MaxLevel; level++ {
		ev, due := p.Tick(o, o.Since.Add(4*time.Hour))
		if !due || o.Level != level || ev.Action != orders.Escalate {
			t.Fatalf("level %d: due=%v %+v", level, due, o)
		}
	}
	if _, due := p.Tick(o, o.Since.Add(100*time.Hour)); due {
		t.Fatal("escalated past the city")
	}
	must(t, o, orders.Dispatch, orders.Request{Org: "org-12"}, user(access.City, ""), t0.Add(20*time.Hour))
	if _, due := p.Tick(o, t0.Add(43*time.Hour)); due {
		t.Fatal("returned early")
	}
	ev, due := p.Tick(o, t0.Add(44*time.Hour))
	if !due || o.State != orders.Submitted || o.Org != "" || ev.Action != orders.Return || ev.From != orders.Dispatched {
		t.Fatalf("return: due=%v %+v %+v", due, o, ev)
	}
}

func TestResidentProofAndMask(t *testing.T) {
	o := newOrder()
	if !orders.ResidentProof(o, "5678") || orders.ResidentProof(o, "1234") || orders.ResidentProof(o, "678") || orders.ResidentProof(&orders.Order{Phone: "12"}, "12") {
		t.Fatal("proof")
	}
	if got := orders.MaskPhone("13800005678"); got != "138****5678" {
		t.Fatal(got)
	}
}

func TestParse(t *testing.T) {
	for _, s := range orders.States {
		if st, err := orders.ParseState(string(s)); err != nil || st != s || s.Zh() == string(s) {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, a := range orders.Actions {
		if _, err := orders.ParseAction(string(a)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := orders.ParseAction("escalate"); err == nil {
		t.Fatal("clock action accepted from the API")
	}
}
