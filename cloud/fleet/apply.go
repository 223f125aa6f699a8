package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Pushed is one config pushed.
type Pushed struct {
	Station string `json:"station"` // "" for the fleet defaults
	Version uint64 `json:"version"`
}

// Apply pushes doc to each of targets (station IDs, "" for the fleet
// defaults; see Targets). doc is a JSON object of config fields. Unless
// replace, it edits the document last pushed to each target as a JSON
// Merge Patch (RFC 7396): the parts it names change, a part set to null
// goes, everything else stays. With replace it is the whole new document.
//
// Every target is checked before anything is pushed: an unknown station
// (ErrUnknownStation), a document that is not a config (ErrBadPatch or
// wire.ErrInvalid), or a change that would leave a station without its
// menu or name (a *RequiredError) pushes nothing.
//
// Volunteers in doc are the cloud's roster, not what a kiosk receives:
// their names are stored in full, and for a station push they become the
// volunteers listed for it. Each station's document then carries its own
// volunteers only, names masked, with the cloud's hours (see Roster); the
// fleet defaults carry none.
func (s *Service) Apply(ctx context.Context, targets []string, doc json.RawMessage, replace bool) ([]Pushed, error) {
	patch, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ready []*prepared
	for _, station := range targets {
		p, err := s.prepare(ctx, station, patch, replace)
		if err != nil {
			return nil, err
		}
		ready = append(ready, p)
	}
	out := []Pushed{}
	for _, p := range ready {
		v, err := s.commit(ctx, p)
		if err != nil {
			return out, err
		}
		out = append(out, Pushed{Station: p.station, Version: v})
	}
	return out, nil
}

// prepared is a push checked and ready to go.
type prepared struct {
	station string
	doc     *wire.Config
	// listed, when set, are the volunteers the push names.
	listed    []store.RosterEntry
	listedSet bool
}

func (s *Service) prepare(ctx context.Context, station string, patch map[string]any, replace bool) (*prepared, error) {
	scope := FleetScope
	if station != "" {
		if err := s.Known(ctx, station); err != nil {
			return nil, err
		}
		scope = StationScope(station)
	}
	merged := clone(patch).(map[string]any)
	if !replace {
		cur, err := s.storedRaw(ctx, scope)
		if err != nil {
			return nil, err
		}
		merged = mergePatch(cur, merged).(map[string]any)
	}
	doc, err := toConfig(merged)
	if err != nil {
		return nil, err
	}
	p := &prepared{station: station, doc: doc}
	if _, ok := patch["volunteers"]; ok {
		p.listedSet = true
		for i, v := range doc.Volunteers {
			id := strings.TrimSpace(v.ID)
			if id == "" || len(id) > 64 {
				return nil, fmt.Errorf("%w: volunteers[%d].id: want 1 to 64 characters", ErrBadPatch, i)
			}
			p.listed = append(p.listed, store.RosterEntry{ID: id, Name: strings.TrimSpace(v.Name)})
		}
	}
	doc.Volunteers = nil // the roster is filled in at commit

	fleetNow, err := s.stored(ctx, FleetScope)
	if err != nil {
		return nil, err
	}
	if station != "" {
		own, err := s.stored(ctx, scope)
		if err != nil {
			return nil, err
		}
		before := wire.MergeConfig(wire.DefaultConfig(), fleetNow, own)
		after := wire.MergeConfig(wire.DefaultConfig(), fleetNow, doc)
		if err := checkRequired(station, patch, replace, before, after); err != nil {
			return nil, err
		}
	} else if err := s.checkFleetRequired(ctx, patch, fleetNow, doc); err != nil {
		return nil, err
	}
	// Refuse what a kiosk would refuse before anything is pushed.
	probe := *doc
	probe.Version, probe.Station = 1, station
	sanitize(&probe, station)
	if _, err := wire.EncodeConfig(&probe); err != nil {
		return nil, err
	}
	return p, nil
}

// checkFleetRequired checks a change of the fleet defaults against every
// registered station's own document (or alone, with none registered).
func (s *Service) checkFleetRequired(ctx context.Context, patch map[string]any, before, after *wire.Config) error {
	regs, err := s.st.Registrations(ctx, "")
	if err != nil {
		return err
	}
	if len(regs) == 0 {
		return checkRequired("", patch, false, wire.MergeConfig(wire.DefaultConfig(), before, nil), wire.MergeConfig(wire.DefaultConfig(), after, nil))
	}
	for _, r := range regs {
		own, err := s.stored(ctx, StationScope(r.ID))
		if err != nil {
			return err
		}
		if err := checkRequired(r.ID, patch, false, wire.MergeConfig(wire.DefaultConfig(), before, own),
			wire.MergeConfig(wire.DefaultConfig(), after, own)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) commit(ctx context.Context, p *prepared) (uint64, error) {
	if p.listedSet {
		if err := s.st.SaveVolunteers(ctx, p.station, p.listed, s.Now()); err != nil {
			return 0, err
		}
	}
	if p.station != "" {
		roster, err := s.Roster(ctx, p.station)
		if err != nil {
			return 0, err
		}
		p.doc.Volunteers = roster
	}
	v, err := s.Push(ctx, p.station, p.doc)
	if err != nil {
		return v, err
	}
	if p.station == "" && p.listedSet {
		// New names reach the stations whose volunteers they are.
		if err := s.refreshRosters(ctx); err != nil {
			return v, err
		}
	}
	return v, nil
}

// sanitize makes c fit to leave the cloud: every volunteer's name on the
// roster and the honor roll masked (wire.MaskName), and no roster at all
// in the fleet defaults, which every station receives.
func sanitize(c *wire.Config, station string) {
	if station == "" {
		// A station's own: its roster, its check-in activities, its
		// notice list.
		c.Volunteers, c.Activities, c.Notice = nil, nil, nil
	}
	for i := range c.Notice {
		c.Notice[i].Name = wire.MaskName(c.Notice[i].Name)
	}
	for i := range c.Volunteers {
		c.Volunteers[i].Name = wire.MaskName(c.Volunteers[i].Name)
	}
	for i := range c.HonorRoll {
		c.HonorRoll[i].Name = wire.MaskName(c.HonorRoll[i].Name)
	}
}

// clone copies a decoded JSON value deeply.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = clone(e)
		}
		return a
	}
	return v
}
