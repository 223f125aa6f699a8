package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/orders"
	"leifeng/cloud/people"
)

// The activity list on both databases: created, read, edited and deleted;
// a station's activities are those for it, its community or an area
// above, or the whole city, not ended, soonest first, at most the limit.
func TestActivities(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			evalFixture(t, s, now)
			h := time.Hour
			mk := func(title string, start, end time.Duration, stations, areas []string) *Activity {
				a := &Activity{Title: title, Start: now.Add(start), End: now.Add(end), Stations: stations, Areas: areas, CreatedBy: "city"}
				if err := s.CreateActivity(ctx, a, now); err != nil {
					t.Fatal(err)
				}
				return a
			}
			mk("茶源站活动", 5*h, 6*h, []string{"st-1"}, nil)
			mk("南屏社区活动", 3*h, 4*h, nil, []string{"530802001002"})
			county := mk("思茅区活动", 2*h, 3*h, nil, []string{"530802"})
			mk("全市活动", 4*h, 5*h, nil, nil)
			mk("已结束", -3*h, -h, []string{"st-1"}, nil)
			titles := func(station string, at time.Time, limit int) []string {
				t.Helper()
				list, err := s.StationActivities(ctx, station, at, limit)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, a := range list {
					out = append(out, a.Title)
				}
				return out
			}
			if got := titles("st-1", now, 0); !equal(got, "思茅区活动", "全市活动", "茶源站活动") {
				t.Fatalf("st-1: %v", got)
			}
			if got := titles("st-1", now, 2); !equal(got, "思茅区活动", "全市活动") {
				t.Fatalf("st-1, two: %v", got)
			}
			if got := titles("st-1", now.Add(3*h), 0); !equal(got, "全市活动", "茶源站活动") {
				t.Fatalf("st-1 three hours on: %v", got)
			}

			county.Title, county.Areas = "思茅街道活动", []string{"530802001"}
			if err := s.UpdateActivity(ctx, county, now.Add(h)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Activity(ctx, county.ID)
			if err != nil || got.Title != "思茅街道活动" || got.Areas[0] != "530802001" || !got.Updated.Equal(now.Add(h)) ||
				!got.Created.Equal(now) || got.CreatedBy != "city" || !got.Start.Equal(now.Add(2*h)) {
				t.Fatalf("after the edit: %+v %v", got, err)
			}
			if err := s.DeleteActivity(ctx, county.ID); err != nil {
				t.Fatal(err)
			}
			for _, err := range []error{s.DeleteActivity(ctx, county.ID), s.UpdateActivity(ctx, county, now), func() error { _, err := s.Activity(ctx, county.ID); return err }()} {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("gone activity: %v", err)
				}
			}
			if all, err := s.Activities(ctx, time.Time{}); err != nil || len(all) != 4 {
				t.Fatalf("all: %d %v", len(all), err)
			}
		})
	}
}

func equal(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// evalFixture: the areas of 思茅区, station st-1 in 茶源社区, and two
// organisations linked to it.
func evalFixture(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
		{Code: "530802001002", Name: "南屏社区", Parent: "530802001", Level: people.LevelCommunity},
	}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveOrganisations(ctx, []people.Organisation{
		{ID: "OA", Name: "甲队", County: "530802", Community: "530802001001"},
		{ID: "OB", Name: "乙队", County: "530802", Community: "530802001001"},
	}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.b.exec(ctx, `INSERT INTO stations (id, name, county, secret_hash, created_ns, community) VALUES ('st-1', '茶源站', '530802', '', 0, '530802001001')`); err != nil {
		t.Fatal(err)
	}
}

// Evaluations on both databases: an organisation's orders served, rated
// and mean rating; a volunteer's served orders with the ratings; and the
// suggestions: of two organisations placed alike, the one residents rate
// better comes first once RatedToCount orders are rated.
func TestEvaluations(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := open(t, be.dsn(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			evalFixture(t, s, now)
			city := orders.Actor{User: &access.User{Name: "city", Role: access.City}}
			serve := func(org, volunteer string, rating int) {
				t.Helper()
				o := &orders.Order{Station: "st-1", Category: "家政", Phone: "13800005678", Source: orders.FromConsole}
				if _, err := s.CreateOrder(ctx, o, "city", now); err != nil {
					t.Fatal(err)
				}
				by := orders.Actor{User: &access.User{Name: org, Role: access.Org, Scope: org}, Orgs: []string{org}}
				for _, st := range []struct {
					a   orders.Action
					req orders.Request
					by  orders.Actor
				}{
					{orders.Dispatch, orders.Request{Org: org}, city},
					{orders.Accept, orders.Request{}, by},
					{orders.Assign, orders.Request{Volunteers: []string{volunteer}}, by},
					{orders.Start, orders.Request{}, by},
					{orders.Complete, orders.Request{}, by},
					{orders.Rate, orders.Request{Rating: rating}, city},
				} {
					if st.a == orders.Rate && rating == 0 {
						break
					}
					if _, err := s.ActOnOrder(ctx, o.ID, now, func(o *orders.Order) (orders.Event, error) {
						return orders.Apply(o, st.a, st.req, st.by, now)
					}); err != nil {
						t.Fatalf("%s: %v", st.a, err)
					}
				}
			}
			// Placed alike, OA comes first by ID unless ratings say otherwise.
			serve("OB", "PE-1", 5)
			serve("OB", "PE-1", 4)
			serve("OA", "PE-2", 2)
			serve("OA", "PE-2", 2)
			probe := &orders.Order{Community: "530802001001", Category: "法律"}
			suggest := func() []OrgSuggestion {
				t.Helper()
				sg, err := s.SuggestOrgs(ctx, probe, now, 5)
				if err != nil || len(sg) != 2 {
					t.Fatalf("suggestions %+v %v", sg, err)
				}
				return sg
			}
			if sg := suggest(); sg[0].ID != "OA" || sg[0].Score != sg[1].Score {
				t.Fatalf("with two ratings each (not counted yet): %+v, want OA first by ID, scores equal", sg)
			}
			serve("OA", "PE-2", 1)
			serve("OB", "PE-1", 5)
			serve("OB", "PE-1", 0)
			e, err := s.OrgEvaluation(ctx, "OB")
			if err != nil || e.OrdersServed != 4 || e.Rated != 3 || e.Mean() != 4.67 {
				t.Fatalf("OB: %+v %v", e, err)
			}
			if e, err := s.OrgEvaluation(ctx, "nobody"); err != nil || e.OrdersServed != 0 || e.MeanRating != nil {
				t.Fatalf("nobody: %+v %v", e, err)
			}
			// Linked (3) and same county (2): OB's mean 4.67 adds 3, OA's
			// 1.67 takes 3 off.
			if sg := suggest(); sg[0].ID != "OB" || sg[0].Score != 8 || sg[1].Score != 2 || sg[1].Evaluation.Rated != 3 {
				t.Fatalf("suggestions %+v", sg)
			}
			list, err := s.VolunteerOrders(ctx, "PE-1")
			if err != nil || len(list) != 4 || list[0].Rating != 5 || list[3].Rating != 0 || list[3].State != "completed" || list[0].Org != "OB" {
				t.Fatalf("PE-1's orders %+v %v", list, err)
			}
		})
	}
}
