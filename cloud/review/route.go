// Package review is the part of issue 12 that puts service records in
// front of a person: the review queue of each reviewer (station,
// organisation, county, city: the routing in the README, "Hours the city can trust"), the
// decisions (approve, adjust, reject, each with the outcome the volunteer
// is shown), and the manual ledger (补录, 民政部令第67号 Art. 13): a
// manual entry with its evidence, capped per volunteer and period, that
// its author may never approve.
//
// Every function takes the acting user and the scope access.Resolve gave
// them; what they may not see is store.ErrNotFound, exactly like what
// does not exist.
package review

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/hours"
	"leifeng/cloud/store"
)

// CurrentRules is the hour rules in force (hours.CurrentRules: the
// highest stored version; the first call on a new cloud stores the
// defaults as version 1).
func CurrentRules(ctx context.Context, s *store.Store) (hours.Rules, int64, error) {
	return hours.CurrentRules(ctx, s, time.Now())
}

// inForce is the rules in force, their version and the working-day
// calendar: what every decision and deadline is counted by.
func inForce(ctx context.Context, s *store.Store) (hours.Rules, int64, *calendar.Calendar, error) {
	rules, version, err := CurrentRules(ctx, s)
	if err != nil {
		return rules, 0, nil, err
	}
	cal, err := calendar.Load(ctx, s)
	return rules, version, cal, err
}

// Level is the reviewer level that decides r: its Reviewer, except that
// a record for the organisation without an organisation goes to the
// county, and one naming no level to the city (so that no record waits
// in nobody's queue).
func Level(r *store.ServiceRecord) string {
	switch {
	case r.Reviewer == hours.ReviewOrg && r.Org == "":
		return hours.ReviewCounty
	case r.Reviewer == "":
		return hours.ReviewCity
	}
	return r.Reviewer
}

// Routed reports whether u (with scope sc) is the reviewer of r: a
// station manager of r's station, an organisation administrator of r's
// organisation, a county administrator of r's community's county, a city
// administrator — each for its own level only. Auditors review nothing.
func Routed(u *access.User, sc *access.Scope, r *store.ServiceRecord) bool {
	if u == nil || sc == nil {
		return false
	}
	switch Level(r) {
	case hours.ReviewStation:
		return u.Role == access.Station && r.Station != "" && sc.Station(r.Station, r.Community)
	case hours.ReviewOrg:
		return u.Role == access.Org && sc.Orgs[r.Org]
	case hours.ReviewCounty:
		return u.Role == access.County && sc.Area(r.Community)
	case hours.ReviewCity:
		return u.Role == access.City
	}
	return false
}

// Item is a record of a queue as the reviewer sees it: the reasons in
// Chinese (with 临近录入期限 added when the deadline is within the
// rules' WarnDays), the working days left and the evidence files.
type Item struct {
	store.ServiceRecord
	ReasonsZh    []string             `json:"reasons_zh"`
	NearDeadline bool                 `json:"near_deadline"`
	DaysLeft     int                  `json:"working_days_left"`
	Evidence     hours.Evidence       `json:"evidence_detail"`
	Files        []store.EvidenceFile `json:"files,omitempty"`
}

// Queue is u's review queue: the records in review routed to u, oldest
// deadline first. A role without a queue (an auditor) gets none.
func Queue(ctx context.Context, s *store.Store, u *access.User, sc *access.Scope, now time.Time) ([]Item, error) {
	q := store.ReviewQuery{Limit: 1000}
	switch {
	case u == nil || sc == nil:
		return nil, nil
	case u.Role == access.Station:
		q.Level, q.Stations = hours.ReviewStation, sortedKeys(sc.Stations)
	case u.Role == access.Org:
		q.Level, q.Orgs = hours.ReviewOrg, sortedKeys(sc.Orgs)
	case u.Role == access.County:
		q.Level, q.Communities = hours.ReviewCounty, sortedKeys(sc.Areas)
	case u.Role == access.City:
		q.Level = hours.ReviewCity
	default:
		return nil, nil
	}
	recs, err := s.ReviewQueue(ctx, q)
	if err != nil {
		return nil, err
	}
	rules, _, cal, err := inForce(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(recs))
	for i := range recs {
		// The query is the routing's fast path; Routed is the rule.
		if !Routed(u, sc, &recs[i]) {
			continue
		}
		it, err := item(ctx, s, cal, rules, &recs[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// Describe is records as a reviewer or the volunteer's page shows them.
func Describe(ctx context.Context, s *store.Store, recs []store.ServiceRecord, now time.Time) ([]Item, error) {
	rules, _, cal, err := inForce(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(recs))
	for i := range recs {
		it, err := item(ctx, s, cal, rules, &recs[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func item(ctx context.Context, s *store.Store, cal *calendar.Calendar, rules hours.Rules, r *store.ServiceRecord, now time.Time) (Item, error) {
	it := Item{ServiceRecord: *r}
	for _, code := range r.Reasons {
		it.ReasonsZh = append(it.ReasonsZh, ReasonZh(code))
	}
	if r.Status == store.StatusReview && !r.Deadline.IsZero() {
		if now.Before(r.Deadline) {
			it.DaysLeft = cal.WorkingDaysBetween(now, r.Deadline.Add(-time.Nanosecond))
		}
		// The pass marks such records 'deadline' (its reason is read
		// above); either way the reviewer is warned.
		marked := slices.Contains(r.Reasons, hours.ReasonDeadline)
		if it.DaysLeft <= rules.WarnDays || marked {
			it.NearDeadline = true
			if !marked {
				it.ReasonsZh = append(it.ReasonsZh, ReasonZh(hours.ReasonDeadline))
			}
		}
	}
	if r.Evidence != "" {
		if err := json.Unmarshal([]byte(r.Evidence), &it.Evidence); err != nil {
			return it, fmt.Errorf("review: evidence of %s: %w", r.ID, err)
		}
	}
	if r.Ledger == store.LedgerManual {
		var err error
		if it.Files, err = s.EvidenceFiles(ctx, r.ID); err != nil {
			return it, err
		}
	}
	return it, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
