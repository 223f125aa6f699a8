package fleet

import (
	"context"
	"errors"
	"slices"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Hours at the kiosk (issue 12): a station's document carries
//
//   - Activities: the station's activities on now or within
//     ActivitiesAhead, of any kind (a meeting is offered too: the record
//     then says what the time was, and the hour rules decide that it does
//     not count), so a kiosk offline for the rest of the day still offers
//     the right ones; the kiosk filters them by its own clock
//     (wire.StationActivity.Current).
//   - Notice: the station's service records in notice or under
//     objection (store.StationNotice), names masked, at most NoticeMax.
//   - Per volunteer of the roster: review outcomes not yet seen (at most
//     NotesPerVolunteer) and the star level they may apply for
//     (Service.StarEligible).
//
// All three are the cloud's to keep: made again at every refresh, so
// what an administrator pushes into them by hand is replaced. A pass that
// changes what they hold (the hours pass, the notice pass, a review
// decision) calls RefreshStations for the stations it touched; the
// roster refresh (every --roster-refresh) catches the rest.
//
// When is an outcome seen? When its volunteer checks in at a station
// whose document carries it, after a document first carried it as it
// stands: every push notes when a document first carried each outcome
// (store.NoteOutcomesCarried, notified_ns), and at the station's next
// refresh a check-in of the volunteer there with a later time marks it
// seen (store.MarkOutcomesSeen). A push alone marks nothing: a volunteer
// who does not come by keeps the note until they do, at any of their
// stations; a changed outcome is due again. Between the tap and the next
// refresh the kiosk itself keeps the note from being shown twice. A kiosk
// offline when the document was pushed, whose volunteer taps before it
// receives it, has the note marked seen without showing it: the outcome
// stays in the volunteer's record in the console.
const (
	NoticeMax         = 200
	NotesPerVolunteer = 3
	ActivitiesMax     = 50
)

// ActivitiesAhead is how far ahead a document offers activities.
const ActivitiesAhead = 12 * time.Hour

// stationActivities is what the document offers at check-in: the
// station's activities whose window, widened by wire.ActivityMargin,
// reaches from now to ActivitiesAhead, soonest first.
func (s *Service) stationActivities(ctx context.Context, station string) ([]wire.StationActivity, error) {
	now := s.Now()
	acts, err := s.st.StationActivities(ctx, station, now.Add(-wire.ActivityMargin), 0)
	if err != nil {
		return nil, err
	}
	var out []wire.StationActivity
	for _, a := range acts {
		if a.Start.Add(-wire.ActivityMargin).After(now.Add(ActivitiesAhead)) || a.End.Before(a.Start) {
			continue
		}
		out = append(out, wire.StationActivity{ID: a.ID, Name: clip(a.Title, 200), Category: clip(a.Category, 64),
			Start: a.Start.UTC(), End: a.End.UTC(), Default: a.Default})
		if len(out) == ActivitiesMax {
			break
		}
	}
	return out, nil
}

// stationNotice is the document's notice list: the star awards in notice
// of the station's community (volunteers living there, organisations
// linked to it: store.StationStarNotice) first, then its service records.
func (s *Service) stationNotice(ctx context.Context, station string) ([]wire.NoticeRecord, error) {
	now := s.Now()
	starList, err := s.st.StationStarNotice(ctx, station, now)
	if err != nil {
		return nil, err
	}
	list, err := s.st.StationNotice(ctx, station, now)
	if err != nil {
		return nil, err
	}
	var out []wire.NoticeRecord
	for _, e := range starList[:min(len(starList), NoticeMax)] {
		n := wire.NoticeRecord{ID: e.Ref, Kind: wire.NoticeStar, Level: e.Level, Day: e.Day, Until: e.Until.UTC(),
			Objected: e.Objected, Activity: "星级认定公示：拟认定为" + starName(e.Level) + "志愿者"}
		if e.Kind == store.SubjectOrg {
			n.Org, n.Activity = clip(e.Name, 200), "星级认定公示：拟认定为"+starName(e.Level)+"志愿服务组织"
		} else {
			n.Name = e.Name // masked by the store
		}
		out = append(out, n)
	}
	for _, e := range list[:min(len(list), NoticeMax-len(out))] {
		// The store masks the name already.
		out = append(out, wire.NoticeRecord{ID: e.Record, Name: e.Name, Day: e.Day, Activity: clip(e.Activity, 200),
			Hours: float64(e.Cents) / 100, Until: e.Until.UTC(), Objected: e.Objected})
	}
	return out, nil
}

// addNotes gives each volunteer of roster their unseen outcomes and the
// star level they may apply for. A failing StarEligible hook is logged
// and the roster goes without eligibility: the rest must not wait on it.
func (s *Service) addNotes(ctx context.Context, roster []wire.VolunteerSummary) error {
	if len(roster) == 0 {
		return nil
	}
	ids := make([]string, len(roster))
	for i, v := range roster {
		ids[i] = v.ID
	}
	unseen, err := s.st.UnseenOutcomes(ctx, ids, NotesPerVolunteer)
	if err != nil {
		return err
	}
	var eligible map[string]int
	if s.StarEligible != nil {
		if eligible, err = s.StarEligible(ctx, ids); err != nil {
			s.log.Error("star eligibility", "err", err)
			eligible = nil
		}
	}
	for i := range roster {
		v := &roster[i]
		for _, r := range unseen[v.ID] {
			v.Notes = append(v.Notes, wire.VolunteerNote{ID: r.ID, Text: clip(r.Outcome, 200)})
		}
		if l := eligible[v.ID]; l >= 1 && l <= 5 {
			v.StarEligible = l
		}
	}
	return nil
}

// markNotesSeen marks seen the outcomes station's document cur (nil:
// none yet) carries to volunteers who checked in there since (see above).
func (s *Service) markNotesSeen(ctx context.Context, station string, cur *wire.Config) error {
	if cur == nil {
		return nil
	}
	ids := noteIDs(cur)
	if len(ids) == 0 {
		return nil
	}
	n, err := s.st.MarkOutcomesSeen(ctx, station, ids, s.Now())
	if n > 0 {
		s.log.Info("outcomes seen at the kiosk", "station", station, "records", n)
	}
	return err
}

// noteIDs is the records whose outcomes c carries.
func noteIDs(c *wire.Config) []string {
	var ids []string
	for _, v := range c.Volunteers {
		for _, n := range v.Notes {
			ids = append(ids, n.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// carried records that a document pushed at carries its notes' outcomes.
// A failure is logged: the push is made, and the next one tries again.
func (s *Service) carried(ctx context.Context, c *wire.Config, at time.Time) {
	if ids := noteIDs(c); len(ids) > 0 {
		if _, err := s.st.NoteOutcomesCarried(ctx, ids, at); err != nil {
			s.log.Error("outcomes carried", "station", c.Station, "err", err)
		}
	}
}

// RefreshStations sends each of stations its document again if what it
// derives from the cloud's data (roster and notes, orders, honor roll,
// announcements, activities, notice list) changed: the hours pass, the
// notice pass and review decisions call it for the stations whose records
// they changed. A station not registered is skipped.
func (s *Service) RefreshStations(ctx context.Context, stations []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	seen := map[string]bool{}
	for _, st := range stations {
		if seen[st] {
			continue
		}
		seen[st] = true
		if err := s.Known(ctx, st); errors.Is(err, ErrUnknownStation) {
			continue
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.refreshRoster(ctx, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// starName is "三星级" for 3.
func starName(level int) string {
	return []string{"", "一星级", "二星级", "三星级", "四星级", "五星级"}[max(0, min(level, 5))]
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}
