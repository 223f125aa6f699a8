package fleet

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Roster refresh: a station's document carries its volunteers' hours as
// the cloud counted them. They change with every session closed, but a new
// config version for every tap would spam the kiosks and the version
// history, so the roster is refreshed on a schedule instead
// (RunRosterRefresh, every --roster-refresh, 10 minutes by default): a
// station gets a new version only when a volunteer joined it, a name or
// some hours changed, and once its figures are older than RosterMaxAge
// even when nothing changed, so that a kiosk online never has to show
// hours older than a day. That is at most one version per station per
// interval. Hours are rounded to 0.01 h (36 s), finer than a kiosk shows.
const RosterMaxAge = 12 * time.Hour

// Roster is station's own volunteers as its kiosk may show them: those
// listed for it and those who checked in there, names masked, each with
// the hours the cloud counts for them as of now: the counted hours of
// their final service records (all stations, every ledger — what the
// hour rules, review and public notice made of their sessions, not raw
// session time; a session still in review or notice is not in them), and
// the highest star awarded to them (the star the kiosk shows at the tap).
func (s *Service) Roster(ctx context.Context, station string) ([]wire.VolunteerSummary, error) {
	entries, err := s.st.StationRoster(ctx, station)
	if err != nil {
		return nil, err
	}
	tasks, err := s.st.StationTasks(ctx, station)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	final, err := s.st.FinalCents(ctx, ids)
	if err != nil {
		return nil, err
	}
	awarded, err := s.st.AwardedStars(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []wire.VolunteerSummary
	for _, e := range entries {
		v := wire.VolunteerSummary{
			ID: e.ID, Name: wire.MaskName(e.Name), Hours: float64(final[e.ID]) / 100, HoursAsOf: now,
			Star: ptr(awarded[e.ID]),
		}
		for _, o := range tasks[e.ID] {
			v.Tasks = append(v.Tasks, wire.Task{Ref: o.Ref, Category: o.Category})
		}
		out = append(out, v)
	}
	if err := s.addNotes(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RefreshRosters pushes a new document to every registered station whose
// roster changed or grew older than RosterMaxAge, and cleans documents
// stored by an earlier version of the cloud (a roster in the fleet
// defaults, unmasked names).
func (s *Service) RefreshRosters(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshRosters(ctx)
}

func (s *Service) refreshRosters(ctx context.Context) error {
	if err := s.cleanFleet(ctx); err != nil {
		return err
	}
	regs, err := s.st.Registrations(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range regs {
		if err := s.refreshRoster(ctx, r.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) refreshRoster(ctx context.Context, station string) error {
	cur, err := s.stored(ctx, StationScope(station))
	if err != nil {
		return err
	}
	if err := s.markNotesSeen(ctx, station, cur); err != nil {
		return err
	}
	roster, err := s.Roster(ctx, station)
	if err != nil {
		return err
	}
	ords, served, err := s.stationOrders(ctx, station)
	if err != nil {
		return err
	}
	honor, period, err := s.honorRoll(ctx, station, roster)
	if err != nil {
		return err
	}
	ann, err := s.announcements(ctx, station)
	if err != nil {
		return err
	}
	acts, err := s.stationActivities(ctx, station)
	if err != nil {
		return err
	}
	notice, err := s.stationNotice(ctx, station)
	if err != nil {
		return err
	}
	if cur == nil {
		if len(roster) == 0 && len(ords) == 0 && len(served.Counts) == 0 && len(honor) == 0 && len(ann) == 0 && len(acts) == 0 && len(notice) == 0 {
			return nil
		}
		cur = &wire.Config{V: wire.Version}
	}
	sameOrders := sameJSON(cur.Orders, ords) || (len(cur.Orders) == 0 && len(ords) == 0)
	sameServed := sameJSON(cur.Served, served) || (cur.Served == nil && len(served.Counts) == 0)
	sameHonor := (sameJSON(cur.HonorRoll, honor) || (len(cur.HonorRoll) == 0 && len(honor) == 0)) && cur.HonorRollPeriod == period
	sameAnn := sameJSON(cur.Announcements, ann) || (len(cur.Announcements) == 0 && len(ann) == 0)
	sameActs := sameJSON(cur.Activities, acts) || (len(cur.Activities) == 0 && len(acts) == 0)
	sameNotice := sameJSON(cur.Notice, notice) || (len(cur.Notice) == 0 && len(notice) == 0)
	if sameRoster(cur.Volunteers, roster) && !s.rosterOld(cur.Volunteers) && namesMasked(cur) && sameOrders && sameServed && sameHonor && sameAnn &&
		sameActs && sameNotice {
		return nil
	}
	cur.Volunteers, cur.Orders, cur.HonorRoll, cur.HonorRollPeriod, cur.Announcements = roster, ords, honor, period, ann
	cur.Activities, cur.Notice = acts, notice
	if !sameServed {
		cur.Served = served
	}
	v, err := s.Push(ctx, station, cur)
	if err == nil {
		s.log.Info("roster refreshed", "station", station, "volunteers", len(roster), "version", v)
	}
	return err
}

// HonorRollSize is how many volunteers a station's honor roll names.
const HonorRollSize = 10

// honorRoll is station's honor roll for this month (China time): its
// volunteers with the most counted hours of final service records made at
// this station on this month's days (store.StationFinalCents), at most
// HonorRollSize, names masked, each with the highest star awarded to them
// (store.AwardedStars; none: 0), and the period as the kiosk shows it
// ("2026年11月"). The roll is the cloud's to keep: it is made
// again from the month's records at every refresh, so a roll pushed by
// hand is replaced. A month with no hours yet has no roll and no period.
func (s *Service) honorRoll(ctx context.Context, station string, roster []wire.VolunteerSummary) ([]wire.Honor, string, error) {
	local := s.Now().In(CST)
	from := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, CST)
	known := make(map[string]wire.VolunteerSummary, len(roster))
	ids := make([]string, len(roster))
	for i, v := range roster {
		known[v.ID], ids[i] = v, v.ID
	}
	cents, err := s.st.StationFinalCents(ctx, station, ids, from.Format(time.DateOnly), from.AddDate(0, 1, 0).Format(time.DateOnly))
	if err != nil || len(cents) == 0 {
		return nil, "", err
	}
	awarded, err := s.st.AwardedStars(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	var out []wire.Honor
	for id, c := range cents {
		if c <= 0 {
			continue
		}
		h := float64(c) / 100
		v, ok := known[id]
		if !ok {
			// Not in the roster (it lists everyone who checked in here,
			// so only a race with a new check-in lands here): no name.
			v = wire.VolunteerSummary{ID: id}
		}
		out = append(out, wire.Honor{Volunteer: id, Name: v.Name, Hours: h, Stars: min(awarded[id], 5)})
	}
	slices.SortFunc(out, func(a, b wire.Honor) int {
		if a.Hours != b.Hours {
			if a.Hours > b.Hours {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Volunteer, b.Volunteer)
	})
	if len(out) > HonorRollSize {
		out = out[:HonorRollSize]
	}
	if len(out) == 0 {
		return nil, "", nil
	}
	return out, local.Format("2006年1月"), nil
}

// cleanFleet moves a roster found in the fleet defaults into the cloud's
// roster and pushes the defaults again without it.
func (s *Service) cleanFleet(ctx context.Context) error {
	cur, err := s.stored(ctx, FleetScope)
	if err != nil || cur == nil || (len(cur.Volunteers) == 0 && namesMasked(cur)) {
		return err
	}
	var names []store.RosterEntry
	for _, v := range cur.Volunteers {
		names = append(names, store.RosterEntry{ID: v.ID, Name: v.Name})
	}
	if err := s.st.SaveVolunteers(ctx, "", names, s.Now()); err != nil {
		return err
	}
	_, err = s.Push(ctx, "", cur)
	return err
}

func namesMasked(c *wire.Config) bool {
	for _, v := range c.Volunteers {
		if !wire.NameMasked(v.Name) {
			return false
		}
	}
	for _, h := range c.HonorRoll {
		if !wire.NameMasked(h.Name) {
			return false
		}
	}
	for _, n := range c.Notice {
		if !wire.NameMasked(n.Name) {
			return false
		}
	}
	return true
}

func sameRoster(a, b []wire.VolunteerSummary) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || a[i].Hours != b[i].Hours || !slices.Equal(a[i].Tasks, b[i].Tasks) ||
			!slices.Equal(a[i].Notes, b[i].Notes) || a[i].StarEligible != b[i].StarEligible || starOf(a[i]) != starOf(b[i]) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

// starOf is v's awarded star, -1 when the document does not say.
func starOf(v wire.VolunteerSummary) int {
	if v.Star == nil {
		return -1
	}
	return *v.Star
}

func (s *Service) rosterOld(vs []wire.VolunteerSummary) bool {
	for _, v := range vs {
		if s.Now().Sub(v.HoursAsOf) > RosterMaxAge {
			return true
		}
	}
	return false
}

// RunRosterRefresh refreshes the rosters now and every interval until ctx
// ends. A failure is logged and tried again at the next interval.
func (s *Service) RunRosterRefresh(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.RefreshRosters(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("roster refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
