package fleet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// Announcements flow from the activity list into the station documents,
// on SQLite and PostgreSQL: an activity reaches the stations it is for at
// once (RefreshActivity) and no other, replacing announcements pushed by
// hand; soonest first, at most AnnouncementsMax; one that has ended leaves
// at the next roster refresh, a deleted one at once; a refresh with
// nothing changed pushes no new version.
func TestAnnouncementsFromActivities(t *testing.T) {
	for _, be := range dbBackends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			s, st := serviceOn(t, be.dsn(t, dir), dir, &now)
			testAnnouncements(t, s, st, &now)
		})
	}
}

func testAnnouncements(t *testing.T, s *Service, st *store.Store, now *time.Time) {
	ctx := context.Background()
	if _, err := s.AddStationIn(ctx, "st-b", "南屏站", "530802", "530802001002", "tcp://127.0.0.1:1883"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, []string{"st-a"}, []byte(`{"announcements": [{"title": "手工推送的公告"}]}`), false); err != nil {
		t.Fatal(err)
	}
	titles := func(station string) []string {
		t.Helper()
		cur, err := s.stored(ctx, StationScope(station))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if cur != nil {
			for _, a := range cur.Announcements {
				out = append(out, a.Title)
			}
		}
		return out
	}
	add := func(a *store.Activity) {
		t.Helper()
		if err := st.CreateActivity(ctx, a, *now); err != nil {
			t.Fatal(err)
		}
		if err := s.RefreshActivity(ctx, nil, a); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	sweep := &store.Activity{Title: "清扫街道", Body: "带上手套", Place: "茶源社区活动室", Start: now.Add(2 * day), End: now.Add(2*day + 2*time.Hour),
		Org: "O1", Stations: []string{"st-a"}}
	add(sweep)
	if got := titles("st-a"); !slices.Equal(got, []string{"清扫街道"}) {
		t.Fatalf("st-a announcements %v, want the activity only (the hand-pushed one replaced)", got)
	}
	if got := titles("st-b"); len(got) != 0 {
		t.Fatalf("st-b announcements %v, want none", got)
	}
	cur, _ := s.stored(ctx, StationScope("st-a"))
	if a := cur.Announcements[0]; a.Where != "茶源社区活动室" || a.Body != "带上手套" || !a.When.Equal(sweep.Start) {
		t.Fatalf("announcement %+v", a)
	}

	// For the county (an area above both communities), sooner: first at both.
	talk := &store.Activity{Title: "防诈骗讲座", Start: now.Add(day), End: now.Add(day + time.Hour), Areas: []string{"530802"}}
	add(talk)
	if a, b := titles("st-a"), titles("st-b"); !slices.Equal(a, []string{"防诈骗讲座", "清扫街道"}) || !slices.Equal(b, []string{"防诈骗讲座"}) {
		t.Fatalf("after the county's talk: st-a %v, st-b %v", a, b)
	}

	// Nothing changed: no new version.
	v := cur.Version
	if err := s.RefreshRosters(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.stored(ctx, StationScope("st-a")); cur.Version == v {
		t.Fatal("the county's talk pushed no version")
	}
	v = cur.Version
	if err := s.RefreshRosters(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.stored(ctx, StationScope("st-a")); cur.Version != v {
		t.Fatalf("refresh without a change pushed version %d after %d", cur.Version, v)
	}

	// City-wide ones, more than a document carries: the soonest make it.
	for i := range AnnouncementsMax + 2 {
		add(&store.Activity{Title: fmt.Sprintf("全市活动%02d", i), Start: now.Add(3*day + time.Duration(i)*time.Hour), End: now.Add(4 * day)})
	}
	got := titles("st-b")
	if len(got) != AnnouncementsMax || got[0] != "防诈骗讲座" || got[AnnouncementsMax-1] != "全市活动18" {
		t.Fatalf("st-b with city-wide activities: %d %v", len(got), got)
	}

	// The talk ends: gone at the next refresh. The sweep is deleted: gone at once.
	*now = now.Add(day + 2*time.Hour)
	if err := s.RefreshRosters(ctx); err != nil {
		t.Fatal(err)
	}
	if got := titles("st-a"); slices.Contains(got, "防诈骗讲座") || got[0] != "清扫街道" {
		t.Fatalf("after the talk ended: %v", got)
	}
	if err := st.DeleteActivity(ctx, sweep.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshActivity(ctx, sweep, nil); err != nil {
		t.Fatal(err)
	}
	if got := titles("st-a"); slices.Contains(got, "清扫街道") || len(got) != AnnouncementsMax {
		t.Fatalf("after the sweep was deleted: %v", got)
	}

	// Everything over: no announcements left.
	*now = now.Add(10 * day)
	if err := s.RefreshRosters(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := titles("st-a"), titles("st-b"); len(a)+len(b) != 0 {
		t.Fatalf("after every activity ended: %v %v", a, b)
	}
}
