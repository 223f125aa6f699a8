package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Activities (活动预告): what is on at the stations, as the console lists
// it and the kiosks announce it. This is the smallest list the station
// documents' announcements can be made from; the rest of an activity's
// life (sign-up, attendance, its service records) is issue 12's.

// Activity is an announced activity. Stations and Areas say whom it is
// for: a station listed, or a station whose community lies in one of the
// areas (a community, a town, a county). Both empty: every station of
// the city.
type Activity struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	Place    string    `json:"place"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Org      string    `json:"org"`
	Stations []string  `json:"stations"`
	Areas    []string  `json:"communities"`
	// The national record's fields (issue 12): 服务类别, 服务内容,
	// 活动负责人, 记录人. Kind is "service" (counts) or a kind the hour
	// rules may exclude ("meeting", "duty"); Default marks the activity a
	// check-in at its stations belongs to when none is chosen.
	Category string `json:"category"`
	Content  string `json:"content"`
	Lead     string `json:"lead"`
	Recorder string `json:"recorder"`
	Kind     string `json:"kind"`
	Default  bool   `json:"default"`
	// CreatedBy is the user who added it; Created and Updated when.
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// CityWide reports whether a is for every station.
func (a *Activity) CityWide() bool { return len(a.Stations) == 0 && len(a.Areas) == 0 }

// For reports whether a is for the station, whose community lies under
// the areas path (the community first, then its ancestors).
func (a *Activity) For(station string, path []string) bool {
	if a.CityWide() || slices.Contains(a.Stations, station) {
		return true
	}
	for _, c := range path {
		if slices.Contains(a.Areas, c) {
			return true
		}
	}
	return false
}

const activityCols = `id, title, body, place, start_ns, end_ns, org, stations, areas, created_by, created_ns, updated_ns,
	category, content, lead, recorder, kind, is_default`

func scanActivity(r rows) (Activity, error) {
	var (
		a                        Activity
		stations, areas          string
		start, end, created, upd int64
	)
	if err := r.Scan(&a.ID, &a.Title, &a.Body, &a.Place, &start, &end, &a.Org, &stations, &areas, &a.CreatedBy, &created, &upd,
		&a.Category, &a.Content, &a.Lead, &a.Recorder, &a.Kind, &a.Default); err != nil {
		return a, err
	}
	a.Start, a.End, a.Created, a.Updated = fromNanos(start), fromNanos(end), fromNanos(created), fromNanos(upd)
	if err := json.Unmarshal([]byte(stations), &a.Stations); err != nil {
		return a, err
	}
	return a, json.Unmarshal([]byte(areas), &a.Areas)
}

func activityLists(a *Activity) (stations, areas string) {
	s, _ := json.Marshal(orEmpty(a.Stations))
	c, _ := json.Marshal(orEmpty(a.Areas))
	return string(s), string(c)
}

// CreateActivity stores a as a new activity and sets its ID and times.
func (s *Store) CreateActivity(ctx context.Context, a *Activity, now time.Time) error {
	a.Created, a.Updated = now, now
	if a.Kind == "" {
		a.Kind = "service"
	}
	stations, areas := activityLists(a)
	err := s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM activities`, nil,
			func(r rows) error { return r.Scan(&a.ID) }); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO activities (`+activityCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17)`,
			a.ID, a.Title, a.Body, a.Place, nanos(a.Start), nanos(a.End), a.Org, stations, areas, a.CreatedBy, nanos(now),
			a.Category, a.Content, a.Lead, a.Recorder, a.Kind, a.Default)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create activity: %w", err)
	}
	return nil
}

// UpdateActivity stores a's fields over the activity of its ID, or
// returns ErrNotFound.
func (s *Store) UpdateActivity(ctx context.Context, a *Activity, now time.Time) error {
	a.Updated = now
	if a.Kind == "" {
		a.Kind = "service"
	}
	stations, areas := activityLists(a)
	n, err := s.b.exec(ctx, `UPDATE activities SET title = $2, body = $3, place = $4, start_ns = $5, end_ns = $6, org = $7,
		stations = $8, areas = $9, updated_ns = $10, category = $11, content = $12, lead = $13, recorder = $14,
		kind = $15, is_default = $16 WHERE id = $1`,
		a.ID, a.Title, a.Body, a.Place, nanos(a.Start), nanos(a.End), a.Org, stations, areas, nanos(now),
		a.Category, a.Content, a.Lead, a.Recorder, a.Kind, a.Default)
	if err != nil {
		return fmt.Errorf("store: update activity %d: %w", a.ID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteActivity removes activity id, or returns ErrNotFound.
func (s *Store) DeleteActivity(ctx context.Context, id int64) error {
	n, err := s.b.exec(ctx, `DELETE FROM activities WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete activity %d: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Activity is activity id, or ErrNotFound.
func (s *Store) Activity(ctx context.Context, id int64) (*Activity, error) {
	var out *Activity
	err := s.b.query(ctx, `SELECT `+activityCols+` FROM activities WHERE id = $1`, []any{id}, func(r rows) error {
		a, err := scanActivity(r)
		out = &a
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: activity %d: %w", id, err)
	}
	if out == nil {
		return nil, ErrNotFound
	}
	return out, nil
}

// Activities lists the activities that end after endsAfter (the zero
// time: all), soonest first.
func (s *Store) Activities(ctx context.Context, endsAfter time.Time) ([]Activity, error) {
	var out []Activity
	after := int64(0)
	if !endsAfter.IsZero() {
		after = nanos(endsAfter)
	}
	err := s.b.query(ctx, `SELECT `+activityCols+` FROM activities WHERE end_ns > $1 ORDER BY start_ns, id`, []any{after},
		func(r rows) error {
			a, err := scanActivity(r)
			out = append(out, a)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: activities: %w", err)
	}
	return out, nil
}

// StationActivities is the activities for station that have not ended at
// now, soonest first, at most limit (0: all). The database picks them: a
// refresh asks this for every station, and a city may have many
// activities on at once.
func (s *Store) StationActivities(ctx context.Context, station string, now time.Time, limit int) ([]Activity, error) {
	community, err := s.StationCommunity(ctx, station)
	if err != nil {
		return nil, err
	}
	path, err := s.areaPath(ctx, community)
	if err != nil {
		return nil, fmt.Errorf("store: activities of station %s: %w", station, err)
	}
	// The lists are JSON arrays of strings: like() matches one entry
	// exactly, and For checks again.
	q := `SELECT ` + activityCols + ` FROM activities WHERE end_ns > $1 AND ((stations = '[]' AND areas = '[]')
		OR stations LIKE $2 ESCAPE '\'`
	args := []any{nanos(now), like(station)}
	for _, c := range path {
		args = append(args, like(c))
		q += fmt.Sprintf(` OR areas LIKE $%d ESCAPE '\'`, len(args))
	}
	q += `) ORDER BY start_ns, id`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	var out []Activity
	err = s.b.query(ctx, q, args, func(r rows) error {
		a, err := scanActivity(r)
		if err == nil && a.For(station, path) {
			out = append(out, a)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: activities of station %s: %w", station, err)
	}
	return out, nil
}
