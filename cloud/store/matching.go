package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"leifeng/cloud/orders"
	"leifeng/gateway/wire"
)

// Matching supply and demand: who could serve an order, and per community
// and category how the orders fared.

// OrgSuggestion is an organisation proposed for an order, with why.
type OrgSuggestion struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	County    string `json:"county"`
	Community string `json:"community"`
	// Score ranks the suggestions; Reasons say what it is made of.
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
	// Members is how many of its volunteers offer the order's category;
	// Served how many orders of it the organisation completed in the last
	// 90 days.
	Members int `json:"members"`
	Served  int `json:"served"`
	// Evaluation is what residents rated the orders it served (all
	// categories, all time).
	Evaluation Evaluation `json:"evaluation"`
}

// VolunteerSuggestion is a volunteer proposed for an order: masked name.
type VolunteerSuggestion struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
	// Sessions is their check-ins in the last 90 days.
	Sessions int `json:"sessions"`
}

// like is a LIKE pattern matching a JSON string list holding s.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return `%"` + r.Replace(s) + `"%`
}

// SuggestOrgs ranks organisations for o: linked to the order's community
// (3), in its county (2), with members who offer the category (1 each, at
// most 5), with orders of the category served lately (1 each, at most 5),
// and by the residents' ratings of every order it served: the mean
// rating's distance from the middle of the scale, 3, rounded and counted
// twice (5.0 adds 4, 4.0 adds 2, 3.0 nothing, 1.0 takes 4 off), once at
// least RatedToCount orders are rated, so that one early rating does not
// decide. A well rated organisation thus outranks an equally placed one,
// and a poorly rated one may drop out of the list.
func (s *Store) SuggestOrgs(ctx context.Context, o *orders.Order, now time.Time, limit int) ([]OrgSuggestion, error) {
	county := ""
	if o.Community != "" {
		codes, err := s.areaPath(ctx, o.Community)
		if err != nil {
			return nil, err
		}
		for _, c := range codes {
			if l, _ := areaLevel(ctx, s.b, c); l == "county" {
				county = c
			}
		}
	}
	byID := map[string]*OrgSuggestion{}
	err := s.b.query(ctx, `SELECT id, name, county, community FROM organisations`, nil, func(r rows) error {
		var g OrgSuggestion
		err := r.Scan(&g.ID, &g.Name, &g.County, &g.Community)
		byID[g.ID] = &g
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: suggest organisations: %w", err)
	}
	if err := s.b.query(ctx, `SELECT vo.org, COUNT(*) FROM volunteer_orgs vo JOIN volunteers v ON v.id = vo.volunteer
		WHERE v.deregistered_ns = 0 AND (v.service_types LIKE $1 ESCAPE '\' OR v.skills LIKE $1 ESCAPE '\') GROUP BY vo.org`,
		[]any{like(o.Category)}, func(r rows) error {
			var id string
			var n int
			if err := r.Scan(&id, &n); err != nil {
				return err
			}
			if g := byID[id]; g != nil {
				g.Members = n
			}
			return nil
		}); err != nil {
		return nil, fmt.Errorf("store: suggest organisations: %w", err)
	}
	if err := s.b.query(ctx, `SELECT org, COUNT(*) FROM orders WHERE category = $1 AND state IN ('completed', 'rated')
		AND since_ns >= $2 AND org <> '' GROUP BY org`, []any{o.Category, nanos(now.Add(-90 * 24 * time.Hour))},
		func(r rows) error {
			var id string
			var n int
			if err := r.Scan(&id, &n); err != nil {
				return err
			}
			if g := byID[id]; g != nil {
				g.Served = n
			}
			return nil
		}); err != nil {
		return nil, fmt.Errorf("store: suggest organisations: %w", err)
	}
	evals, err := s.OrgEvaluations(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: suggest organisations: %w", err)
	}
	var out []OrgSuggestion
	for _, g := range byID {
		g.Evaluation = evals[g.ID]
		if e := g.Evaluation; e.Rated >= RatedToCount {
			g.Score += int(math.Round(2 * (e.Mean() - 3)))
			g.Reasons = append(g.Reasons, fmt.Sprintf("群众评价平均%.1f分（%d单）", e.Mean(), e.Rated))
		}
		if o.Community != "" && g.Community == o.Community {
			g.Score += 3
			g.Reasons = append(g.Reasons, "结对本社区")
		}
		if county != "" && g.County == county {
			g.Score += 2
			g.Reasons = append(g.Reasons, "同一县（区）")
		}
		if g.Members > 0 {
			g.Score += min(g.Members, 5)
			g.Reasons = append(g.Reasons, fmt.Sprintf("%d名志愿者提供此类服务", g.Members))
		}
		if g.Served > 0 {
			g.Score += min(g.Served, 5)
			g.Reasons = append(g.Reasons, fmt.Sprintf("近90天完成%d单同类需求", g.Served))
		}
		if g.Score > 0 {
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(a, b OrgSuggestion) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return strings.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RatedToCount is how many rated orders an organisation needs before its
// mean rating moves its suggestions.
const RatedToCount = 3

// AreaPath is code and its ancestors up to the city (none for "").
func (s *Store) AreaPath(ctx context.Context, code string) ([]string, error) {
	return s.areaPath(ctx, code)
}

// areaPath is code and its ancestors up to the city.
func (s *Store) areaPath(ctx context.Context, code string) ([]string, error) {
	var out []string
	for i := 0; code != "" && i < 8; i++ {
		out = append(out, code)
		var parent string
		if err := s.b.query(ctx, `SELECT parent FROM areas WHERE code = $1`, []any{code},
			func(r rows) error { return r.Scan(&parent) }); err != nil {
			return nil, err
		}
		code = parent
	}
	return out, nil
}

// SuggestVolunteers ranks the registered volunteers of org (all, when org
// is empty, of the order's community) for o: offers the category (3), has
// a matching skill (2), lives in the order's community (2), served
// lately (1 per 5 check-ins in 90 days, at most 3). Names are masked.
func (s *Store) SuggestVolunteers(ctx context.Context, o *orders.Order, org string, now time.Time, limit int) ([]VolunteerSuggestion, error) {
	q := `SELECT v.id, v.name, v.community, v.service_types, v.skills,
			(SELECT COUNT(*) FROM records r WHERE r.volunteer = v.id AND r.kind = 'check_in' AND r.time_ns >= $1)
		FROM volunteers v WHERE v.registered_ns > 0 AND v.deregistered_ns = 0 AND `
	args := []any{nanos(now.Add(-90 * 24 * time.Hour))}
	if org != "" {
		q += `v.id IN (SELECT volunteer FROM volunteer_orgs WHERE org = $2)`
		args = append(args, org)
	} else {
		q += `v.community = $2`
		args = append(args, o.Community)
	}
	var out []VolunteerSuggestion
	err := s.b.query(ctx, q+` ORDER BY v.id LIMIT 5000`, args, func(r rows) error {
		var (
			sg                   VolunteerSuggestion
			community, ts, skill string
		)
		if err := r.Scan(&sg.ID, &sg.Name, &community, &ts, &skill, &sg.Sessions); err != nil {
			return err
		}
		sg.Name = wire.MaskName(sg.Name)
		if strings.Contains(ts, `"`+o.Category+`"`) {
			sg.Score += 3
			sg.Reasons = append(sg.Reasons, "服务类别相符")
		}
		if strings.Contains(skill, `"`+o.Category+`"`) {
			sg.Score += 2
			sg.Reasons = append(sg.Reasons, "专业技能相符")
		}
		if community != "" && community == o.Community {
			sg.Score += 2
			sg.Reasons = append(sg.Reasons, "住在本社区")
		}
		if sg.Sessions > 0 {
			sg.Score += min(sg.Sessions/5+1, 3)
			sg.Reasons = append(sg.Reasons, fmt.Sprintf("近90天服务%d次", sg.Sessions))
		}
		out = append(out, sg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: suggest volunteers: %w", err)
	}
	slices.SortFunc(out, func(a, b VolunteerSuggestion) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return strings.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// OrderStat is how one community's orders of one category fared.
type OrderStat struct {
	Community string `json:"community"`
	Category  string `json:"category"`
	Orders    int    `json:"orders"`
	// AcceptedInTime were accepted within the target time of their
	// creation; Accepted at all.
	Accepted       int `json:"accepted"`
	AcceptedInTime int `json:"accepted_in_time"`
	Completed      int `json:"completed"`
	Rejected       int `json:"rejected"`
	Rated          int `json:"rated"`
	// AvgRating is the mean rating of the rated ones (0 when none).
	AvgRating float64 `json:"avg_rating"`
	// NoSupply says no registered volunteer living in the community's
	// county offers the category: demand without supply.
	NoSupply bool `json:"no_supply"`
}

// OrderStats counts, per community and category, the orders created in
// [from, to) of the communities given (nil: all): how many, accepted
// within acceptWithin, completed, rejected, the mean rating, and whether
// anyone nearby offers the category at all.
func (s *Store) OrderStats(ctx context.Context, communities []string, from, to time.Time, acceptWithin time.Duration) ([]OrderStat, error) {
	args := []any{nanos(from), nanos(to)}
	limit := int64(acceptWithin)
	where := ""
	if communities != nil {
		if len(communities) == 0 {
			return []OrderStat{}, nil
		}
		where = " AND o.community IN (" + marks(3, len(communities)) + ")"
		args = append(args, anys(communities)...)
	}
	type key struct{ c, cat string }
	stats := map[key]*OrderStat{}
	var keys []key
	err := s.b.query(ctx, `SELECT o.community, o.category, o.state, o.rating, o.created_ns,
			COALESCE((SELECT MIN(e.at_ns) FROM order_events e WHERE e.order_id = o.id AND e.action = 'accept'), 0)
		FROM orders o WHERE o.created_ns >= $1 AND o.created_ns < $2`+where+` ORDER BY o.community, o.category`, args,
		func(r rows) error {
			var (
				k            key
				state        string
				rating       int
				created, acc int64
			)
			if err := r.Scan(&k.c, &k.cat, &state, &rating, &created, &acc); err != nil {
				return err
			}
			st := stats[k]
			if st == nil {
				st = &OrderStat{Community: k.c, Category: k.cat}
				stats[k] = st
				keys = append(keys, k)
			}
			st.Orders++
			if acc > 0 {
				st.Accepted++
				if acc-created <= limit {
					st.AcceptedInTime++
				}
			}
			switch orders.State(state) {
			case orders.Completed:
				st.Completed++
			case orders.Rated:
				st.Completed++
				st.Rated++
				st.AvgRating += float64(rating)
			case orders.Rejected:
				st.Rejected++
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: order statistics: %w", err)
	}
	out := make([]OrderStat, 0, len(keys))
	for _, k := range keys {
		st := stats[k]
		if st.Rated > 0 {
			st.AvgRating = float64(int(st.AvgRating/float64(st.Rated)*100+0.5)) / 100
		}
		supply, err := s.supplyNear(ctx, k.c, k.cat)
		if err != nil {
			return nil, err
		}
		st.NoSupply = !supply
		out = append(out, *st)
	}
	return out, nil
}

// supplyNear reports whether a registered volunteer living in the county
// of community (or in the community, when it has no county) offers
// category.
func (s *Store) supplyNear(ctx context.Context, community, category string) (bool, error) {
	codes := []string{community}
	if community != "" {
		path, err := s.areaPath(ctx, community)
		if err != nil {
			return false, err
		}
		for _, c := range path {
			if l, _ := areaLevel(ctx, s.b, c); l == "county" {
				under, err := s.AreasUnder(ctx, c)
				if err != nil {
					return false, err
				}
				codes = under
			}
		}
	}
	found := false
	err := s.b.query(ctx, `SELECT 1 FROM volunteers WHERE registered_ns > 0 AND deregistered_ns = 0
		AND community IN (`+marks(2, len(codes))+`) AND (service_types LIKE $1 ESCAPE '\' OR skills LIKE $1 ESCAPE '\') LIMIT 1`,
		append([]any{like(category)}, anys(codes)...), func(rows) error { found = true; return nil })
	if err != nil {
		return false, fmt.Errorf("store: supply of %s: %w", category, err)
	}
	return found, nil
}
