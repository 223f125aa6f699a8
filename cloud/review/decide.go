package review

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"leifeng/cloud/access"
	"leifeng/cloud/hours"
	"leifeng/cloud/store"
)

// Decisions on a record in review.
const (
	ActionApprove = "approve" // → notice, hours as counted
	ActionAdjust  = "adjust"  // → notice, hours changed (reason required)
	ActionReject  = "reject"  // → rejected (reason required)
)

// MaxReason bounds a decision's reason, in characters.
const MaxReason = 500

// Decision is what a reviewer decides: Action, the Reason (required to
// adjust or reject) and for an adjustment the new hours in hundredths.
type Decision struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
	Cents  int64  `json:"counted_cents"`
}

// Decide applies d to record id for u, in one transaction with its event:
// approve and adjust put the record in public notice (公示) until the end
// of the rules' NoticeDays working days from now; reject ends it. The
// record's outcome is the sentence the volunteer is shown (seen reset,
// so the kiosk shows it at the next tap). A record not routed to u is
// store.ErrNotFound; one u entered is ErrSelfDecision, whatever the
// decision; both are checked before the decision itself, so that one who
// may not decide learns nothing from it.
func Decide(ctx context.Context, s *store.Store, u *access.User, sc *access.Scope, id string, d Decision, now time.Time) (*store.ServiceRecord, error) {
	d.Reason = strings.TrimSpace(d.Reason)
	if u == nil || !u.CanChange() {
		return nil, store.ErrNotFound
	}
	rules, _, cal, err := inForce(ctx, s)
	if err != nil {
		return nil, err
	}
	// A card record held as flagged is the old review queue's flagged
	// session too: the decision is written there as well (session_reviews),
	// in the same transaction, so the two queues agree.
	flagged := ""
	also := func(ctx context.Context, q store.Querier, r *store.ServiceRecord) error {
		if flagged == "" {
			return nil
		}
		return store.SessionReviewIn(ctx, q, flagged, d.Action != ActionReject, u.Name, d.Reason, now)
	}
	return s.ChangeServiceRecordAnd(ctx, id, now, func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
		// Checked on the record as stored, inside the transaction.
		if !Routed(u, sc, r) {
			return store.ServiceRecordEvent{}, store.ErrNotFound
		}
		if r.Status != store.StatusReview {
			return store.ServiceRecordEvent{}, ErrNotInReview
		}
		if r.EnteredBy != "" && r.EnteredBy == u.Name {
			return store.ServiceRecordEvent{}, ErrSelfDecision
		}
		if err := d.check(); err != nil {
			return store.ServiceRecordEvent{}, err
		}
		if r.Ledger == store.LedgerCard && r.CheckIn != "" && slices.Contains(r.Reasons, hours.ReasonFlagged) {
			flagged = r.CheckIn
		}
		old := r.CountedCents
		e := store.ServiceRecordEvent{Who: u.Name, Action: d.Action, Reason: d.Reason}
		switch d.Action {
		case ActionReject:
			r.Status = store.StatusRejected
		default:
			if d.Action == ActionAdjust {
				r.CountedCents = d.Cents
				e.Detail = "计入时长由 " + Hours(old) + " 小时调整为 " + Hours(d.Cents) + " 小时"
			}
			r.Status, r.ApprovedBy = store.StatusNotice, u.Name
			r.NoticeUntil = cal.After(now, rules.NoticeDays)
		}
		r.Outcome, r.Seen = Outcome(r, d.Action, old, d.Reason), time.Time{}
		return e, nil
	}, also)
}

// check refuses a decision that is not whole: an unknown action, an
// adjustment or rejection without a reason, hours out of range.
func (d Decision) check() error {
	switch d.Action {
	case ActionApprove:
	case ActionAdjust, ActionReject:
		if d.Reason == "" {
			return ErrNeedReason
		}
		if d.Action == ActionAdjust && (d.Cents < 0 || d.Cents > 2400) {
			return ErrBadHours
		}
	default:
		return ErrBadAction
	}
	if utf8.RuneCountInString(d.Reason) > MaxReason {
		return &EntryError{Field: "reason", Zh: "原因太长了，请控制在 500 字以内。"}
	}
	return nil
}
