// Package orders is the life of a resident's need, from the kiosk to a
// volunteer and back: 群众点单 (a resident asks), 中心派单 (the station or
// county centre dispatches it to an organisation), 志愿者接单 (the
// organisation accepts and assigns volunteers, who serve) and 群众评单 (the
// resident rates the service).
//
// The package holds the rules only: states, actions, who may take which
// action, and the clock rules (escalation of an unanswered order, return
// of a dispatched order nobody accepted). Storing orders and checking that
// an order lies in a user's scope are the callers' work.
package orders

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
)

// State is where an order stands. The API uses these English names.
type State string

// The states.
const (
	Submitted  State = "submitted"
	Dispatched State = "dispatched"
	Accepted   State = "accepted"
	InService  State = "in_service"
	Completed  State = "completed"
	Rated      State = "rated"
	Rejected   State = "rejected"
	Cancelled  State = "cancelled"
)

// States lists every state in the order of the flow.
var States = []State{Submitted, Dispatched, Accepted, InService, Completed, Rated, Rejected, Cancelled}

// ParseState checks s is a state.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: unknown state %q", ErrInvalid, s)
}

// Zh is the state's name in the console and at the kiosk.
func (s State) Zh() string {
	switch s {
	case Submitted:
		return "待审核"
	case Dispatched:
		return "已派单"
	case Accepted:
		return "已接单"
	case InService:
		return "服务中"
	case Completed:
		return "已完成"
	case Rated:
		return "已评价"
	case Rejected:
		return "已拒绝"
	case Cancelled:
		return "已取消"
	}
	return string(s)
}

// Final reports whether nothing more happens to an order in state s.
func (s State) Final() bool { return s == Rated || s == Rejected || s == Cancelled }

// Action is what a person (or the clock) does to an order. The API's
// POST /api/v1/orders/{id}/{action} uses these names.
type Action string

// The actions a person takes.
const (
	Dispatch Action = "dispatch"
	Reject   Action = "reject"
	Accept   Action = "accept"
	Assign   Action = "assign"
	Start    Action = "start"
	Complete Action = "complete"
	Rate     Action = "rate"
	Cancel   Action = "cancel"
)

// The actions of the clock and of order intake; never taken through the API.
const (
	// Submit is the order's creation.
	Submit Action = "submit"
	// Escalate raises an unanswered order to the next level.
	Escalate Action = "escalate"
	// Return takes back a dispatched order nobody accepted in time.
	Return Action = "return"
)

// Actions lists the actions of the API.
var Actions = []Action{Dispatch, Reject, Accept, Assign, Start, Complete, Rate, Cancel}

// ParseAction checks s is an action of the API.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: unknown action %q (dispatch, reject, accept, assign, start, complete, rate or cancel)", ErrInvalid, s)
}

// Zh is the action's name in the console.
func (a Action) Zh() string {
	switch a {
	case Submit:
		return "点单"
	case Dispatch:
		return "派单"
	case Reject:
		return "拒绝"
	case Accept:
		return "接单"
	case Assign:
		return "指派志愿者"
	case Start:
		return "开始服务"
	case Complete:
		return "完成服务"
	case Rate:
		return "评价"
	case Cancel:
		return "取消"
	case Escalate:
		return "超时上报"
	case Return:
		return "超时退回"
	}
	return string(a)
}

// Source says where a need was registered.
type Source string

// The sources of an order.
const (
	FromKiosk   Source = "kiosk"   // the resident at a kiosk
	FromProxy   Source = "proxy"   // a station manager on the resident's behalf (代办)
	FromConsole Source = "console" // entered in the console
)

// Order is one resident's need.
type Order struct {
	ID int64 `json:"id"`
	// Ref is the reference number the resident was given (XQ-…); with
	// Station it names the order at the kiosk.
	Ref       string `json:"ref"`
	Station   string `json:"station,omitempty"`
	Community string `json:"community"`
	Category  string `json:"category"`
	// Phone is the resident's contact: personal data, shown masked to
	// everyone but those who serve the order.
	Phone      string   `json:"phone,omitempty"`
	Note       string   `json:"note,omitempty"`
	Preferred  string   `json:"preferred,omitempty"`
	Source     Source   `json:"source"`
	RecordID   string   `json:"record_id,omitempty"`
	State      State    `json:"state"`
	Org        string   `json:"org,omitempty"`
	Volunteers []string `json:"volunteers,omitempty"`
	// Reason is why the order was rejected or cancelled (the resident is
	// told it).
	Reason string `json:"reason,omitempty"`
	// DuplicateOf names the order this one was merged into.
	DuplicateOf int64  `json:"duplicate_of,omitempty"`
	Rating      int    `json:"rating,omitempty"`
	Comment     string `json:"comment,omitempty"`
	// Level is who must answer now: 0 the station, 1 the county centre,
	// 2 the city (raised by Escalate).
	Level     int       `json:"level"`
	CreatedAt time.Time `json:"created_at"`
	// Since is when the order entered its state.
	Since time.Time `json:"since"`
}

// Event is one step of an order's history.
type Event struct {
	Order  int64     `json:"order"`
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Action Action    `json:"action"`
	From   State     `json:"from,omitempty"`
	To     State     `json:"to"`
	Reason string    `json:"reason,omitempty"`
	// Detail is what the action carried: organisation, volunteers,
	// rating.
	Detail string `json:"detail,omitempty"`
}

// Request is the body of an action.
type Request struct {
	Org        string   `json:"org,omitempty"`
	Volunteers []string `json:"volunteers,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Rating     int      `json:"rating,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	// DuplicateOf, on a reject, merges the order into another.
	DuplicateOf int64 `json:"duplicate_of,omitempty"`
}

// Actor is who takes an action.
type Actor struct {
	// User is the signed-in user, or nil for a resident or a kiosk.
	User *access.User
	// Orgs are the organisations an organisation administrator runs
	// (theirs and those under it); nil means User.Scope alone.
	Orgs []string
	// Resident is set when the resident acts at a kiosk, proven by the
	// reference number and the last digits of their phone.
	Resident bool
	// Kiosk is the station whose kiosk acted for an assigned volunteer
	// (check-in and check-out against the order), with Volunteer the
	// volunteer whose card was tapped.
	Kiosk, Volunteer string
}

// Name is how the actor appears in the order's history.
func (a Actor) Name() string {
	switch {
	case a.User != nil:
		return a.User.Name
	case a.Resident:
		return "居民"
	case a.Kiosk != "":
		return "站点 " + a.Kiosk + " · 志愿者 " + a.Volunteer
	}
	return "系统"
}

// Errors of a transition; the API maps ErrNotAllowed to 403 (or 404 when
// out of scope, which the caller decides), ErrState to 409 and ErrInvalid
// to 422.
var (
	ErrInvalid    = errors.New("orders: invalid")
	ErrState      = errors.New("orders: not possible in this state")
	ErrNotAllowed = errors.New("orders: not allowed")
)

// Error is a refused action with its reason in Chinese for the person.
type Error struct {
	Kind error
	Zh   string
	En   string
}

func (e *Error) Error() string { return e.En }
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, zh, en string, args ...any) *Error {
	return &Error{Kind: kind, Zh: zh, En: fmt.Sprintf(en, args...)}
}

// flow says, per action, the states it starts from and the state it leads
// to ("" keeps the state).
var flow = map[Action]struct {
	from []State
	to   State
}{
	Dispatch: {[]State{Submitted}, Dispatched},
	Reject:   {[]State{Submitted, Dispatched}, Rejected},
	Accept:   {[]State{Dispatched}, Accepted},
	Assign:   {[]State{Accepted, InService}, ""},
	Start:    {[]State{Accepted}, InService},
	Complete: {[]State{InService}, Completed},
	Rate:     {[]State{Completed}, Rated},
	Cancel:   {[]State{Submitted, Dispatched, Accepted}, Cancelled},
	Escalate: {[]State{Submitted}, ""},
	Return:   {[]State{Dispatched}, Submitted},
}

// mayAct says whether actor may take action on o, by role. Whether o lies
// in the user's scope (its community in a county administrator's county,
// its station among a station manager's) is the caller's check, made
// before; this adds what the role alone decides, and the organisation
// administrator's tie to the order's organisation.
func mayAct(a Actor, act Action, o *Order, req Request) bool {
	if a.Resident {
		return act == Rate || act == Cancel
	}
	if a.Kiosk != "" {
		return (act == Start || act == Complete) && slices.Contains(o.Volunteers, a.Volunteer)
	}
	u := a.User
	// The initial password must be replaced before a signed-in user acts;
	// an API token, made on the server by an operator, works meanwhile,
	// as the API's guard has it.
	if u == nil || !u.CanChange() || (u.MustChangePassword && u.Via != "token") {
		return false
	}
	switch u.Role {
	case access.City, access.County:
		return true
	case access.Station:
		// The community's station: reviews, dispatches, rejects, records a
		// rating from a phone call, cancels for the resident.
		return act == Dispatch || act == Reject || act == Rate || act == Cancel
	case access.Org:
		// The organisation the order was dispatched to runs the service.
		orgs := a.Orgs
		if orgs == nil {
			orgs = []string{u.Scope}
		}
		ours := o.Org != "" && slices.Contains(orgs, o.Org)
		switch act {
		case Accept, Assign, Start, Complete:
			return ours
		case Reject:
			// Declining a dispatched order sends it back, see Apply.
			return o.State == Dispatched && ours
		}
	}
	return false
}

// MaxReason bounds reasons and comments.
const MaxReason = 200

// Apply takes action act on o for actor at now: it checks the rules,
// changes o and returns the event to record. On error o is unchanged.
func Apply(o *Order, act Action, req Request, actor Actor, now time.Time) (Event, error) {
	f, ok := flow[act]
	if !ok || act == Escalate || act == Return {
		return Event{}, refuse(ErrInvalid, "未知的操作。", "unknown action %q", act)
	}
	if !mayAct(actor, act, o, req) {
		return Event{}, refuse(ErrNotAllowed, "您没有权限对此需求执行“"+act.Zh()+"”。", "%s may not %s order %d", actor.Name(), act, o.ID)
	}
	if !slices.Contains(f.from, o.State) {
		return Event{}, refuse(ErrState, "此需求当前为“"+o.State.Zh()+"”，不能"+act.Zh()+"。请刷新后再试。",
			"order %d is %s: cannot %s", o.ID, o.State, act)
	}
	if utf8.RuneCountInString(req.Reason) > MaxReason || utf8.RuneCountInString(req.Comment) > MaxReason {
		return Event{}, refuse(ErrInvalid, fmt.Sprintf("原因或评语不能超过%d个字。", MaxReason), "reason or comment longer than %d characters", MaxReason)
	}
	reason := strings.TrimSpace(req.Reason)
	next := *o
	ev := Event{Order: o.ID, At: now, Who: actor.Name(), Action: act, From: o.State, Reason: reason}
	switch act {
	case Dispatch:
		if strings.TrimSpace(req.Org) == "" {
			return Event{}, refuse(ErrInvalid, "派单需要选择一个志愿服务组织。", "dispatch needs an organisation (org)")
		}
		next.Org = strings.TrimSpace(req.Org)
		next.Volunteers = nil
		ev.Detail = "org=" + next.Org
	case Reject:
		if reason == "" && req.DuplicateOf == 0 {
			return Event{}, refuse(ErrInvalid, "拒绝需要填写原因，居民会收到这个原因。", "reject needs a reason; the resident is told it")
		}
		if req.DuplicateOf != 0 {
			if req.DuplicateOf == o.ID {
				return Event{}, refuse(ErrInvalid, "不能与自己合并。", "an order cannot duplicate itself")
			}
			next.DuplicateOf = req.DuplicateOf
			if reason == "" {
				reason = fmt.Sprintf("与需求 %d 重复，已合并", req.DuplicateOf)
				ev.Reason = reason
			}
			ev.Detail = fmt.Sprintf("duplicate_of=%d", req.DuplicateOf)
		}
		if actor.User != nil && actor.User.Role == access.Org {
			// The organisation declines: the order goes back to the
			// queue for another organisation, it is not refused.
			next.State, next.Org, next.Volunteers = Submitted, "", nil
			next.Since = now
			ev.To = Submitted
			*o = next
			return ev, nil
		}
		next.Reason = reason
	case Accept:
	case Assign:
		vs := cleanList(req.Volunteers)
		if len(vs) == 0 {
			return Event{}, refuse(ErrInvalid, "请至少指派一名志愿者。", "assign needs volunteers")
		}
		next.Volunteers = vs
		ev.Detail = "volunteers=" + strings.Join(vs, ",")
	case Start:
		if len(o.Volunteers) == 0 {
			return Event{}, refuse(ErrState, "请先指派志愿者，再开始服务。", "order %d has no volunteers assigned", o.ID)
		}
	case Complete:
	case Rate:
		if req.Rating < 1 || req.Rating > 5 {
			return Event{}, refuse(ErrInvalid, "评分为1到5星。", "rating must be 1 to 5")
		}
		next.Rating, next.Comment = req.Rating, strings.TrimSpace(req.Comment)
		ev.Detail = fmt.Sprintf("rating=%d", req.Rating)
		ev.Reason = next.Comment
	case Cancel:
		if actor.User != nil && reason == "" {
			return Event{}, refuse(ErrInvalid, "代居民取消需要填写原因。", "cancel on a resident's behalf needs a reason")
		}
		next.Reason = reason
	}
	if f.to != "" && f.to != o.State {
		next.State = f.to
		next.Since = now
	}
	ev.To = next.State
	*o = next
	return ev, nil
}

func cleanList(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Policy is the clock rules of the order flow.
type Policy struct {
	// AnswerWithin is how long a submitted order may wait for an answer
	// at one level before it is raised to the next (station → county →
	// city).
	AnswerWithin time.Duration
	// AcceptWithin is how long a dispatched order may wait for the
	// organisation to accept before it returns to the queue.
	AcceptWithin time.Duration
}

// DefaultPolicy answers within a working day's hours and accepts within
// two days.
var DefaultPolicy = Policy{AnswerWithin: 24 * time.Hour, AcceptWithin: 48 * time.Hour}

// MaxLevel is the city's level.
const MaxLevel = 2

// Tick applies the clock rules to o at now: an order unanswered for
// AnswerWithin at its level is escalated, a dispatched order not accepted
// within AcceptWithin returns to the queue. It returns the event, or false
// when nothing is due.
func (p Policy) Tick(o *Order, now time.Time) (Event, bool) {
	switch o.State {
	case Submitted:
		if p.AnswerWithin <= 0 || o.Level >= MaxLevel || now.Sub(o.Since) < p.AnswerWithin {
			return Event{}, false
		}
		ev := Event{Order: o.ID, At: now, Who: "系统", Action: Escalate, From: o.State, To: o.State,
			Reason: fmt.Sprintf("%s内无人处理", human(p.AnswerWithin))}
		o.Level++
		o.Since = now
		ev.Detail = fmt.Sprintf("level=%d", o.Level)
		return ev, true
	case Dispatched:
		if p.AcceptWithin <= 0 || now.Sub(o.Since) < p.AcceptWithin {
			return Event{}, false
		}
		ev := Event{Order: o.ID, At: now, Who: "系统", Action: Return, From: Dispatched, To: Submitted,
			Reason: fmt.Sprintf("%s在%s内未接单", o.Org, human(p.AcceptWithin)), Detail: "org=" + o.Org}
		o.State, o.Org, o.Volunteers, o.Since = Submitted, "", nil, now
		return ev, true
	}
	return Event{}, false
}

func human(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d天", d/(24*time.Hour))
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d小时", d/time.Hour)
	}
	return fmt.Sprintf("%d分钟", d/time.Minute)
}

// LastDigits is how many of the phone's last digits prove a resident at
// the kiosk.
const LastDigits = 4

// ResidentProof reports whether digits are the last LastDigits digits of
// the order's phone. Compare in constant time is not needed: the kiosk
// limits tries, and four digits are no secret worth timing.
func ResidentProof(o *Order, digits string) bool {
	p := strings.TrimSpace(o.Phone)
	return len(digits) == LastDigits && len(p) >= LastDigits && p[len(p)-LastDigits:] == digits
}

// MaskPhone shows a phone number as 138****5678: people.MaskPhone, the
// register's one rule.
func MaskPhone(p string) string { return people.MaskPhone(p) }

// Comments are the preset comments a resident can pick at the kiosk.
var Comments = []string{"服务很好，谢谢", "准时到达", "态度热情", "问题已解决", "问题未完全解决", "来晚了"}
