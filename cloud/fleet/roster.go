package fleet

import (
	"context"
	"errors"
	"math"
	"slices"
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
// the hours the cloud counts for them (all stations) as of now.
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
	var out []wire.VolunteerSummary
	for _, e := range entries {
		h, err := s.st.VolunteerHours(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		v := wire.VolunteerSummary{
			ID: e.ID, Name: wire.MaskName(e.Name), Hours: math.Round(h.Hours*100) / 100, HoursAsOf: now,
		}
		for _, o := range tasks[e.ID] {
			v.Tasks = append(v.Tasks, wire.Task{Ref: o.Ref, Category: o.Category})
		}
		out = append(out, v)
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
	roster, err := s.Roster(ctx, station)
	if err != nil {
		return err
	}
	ords, served, err := s.stationOrders(ctx, station)
	if err != nil {
		return err
	}
	if cur == nil {
		if len(roster) == 0 && len(ords) == 0 && len(served.Counts) == 0 {
			return nil
		}
		cur = &wire.Config{V: wire.Version}
	}
	sameOrders := sameJSON(cur.Orders, ords) || (len(cur.Orders) == 0 && len(ords) == 0)
	sameServed := sameJSON(cur.Served, served) || (cur.Served == nil && len(served.Counts) == 0)
	if sameRoster(cur.Volunteers, roster) && !s.rosterOld(cur.Volunteers) && namesMasked(cur) && sameOrders && sameServed {
		return nil
	}
	cur.Volunteers, cur.Orders = roster, ords
	if !sameServed {
		cur.Served = served
	}
	v, err := s.Push(ctx, station, cur)
	if err == nil {
		s.log.Info("roster refreshed", "station", station, "volunteers", len(roster), "version", v)
	}
	return err
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
	return true
}

func sameRoster(a, b []wire.VolunteerSummary) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || a[i].Hours != b[i].Hours || !slices.Equal(a[i].Tasks, b[i].Tasks) {
			return false
		}
	}
	return true
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
