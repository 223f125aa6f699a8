package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Fleet is the station management behind the console: configs, commands,
// presence and alerts. Without it the API serves only the record path.
type Fleet struct {
	Service    *fleet.Service
	Store      *store.Store
	Thresholds fleet.Thresholds
	// AdminToken must be sent as "Authorization: Bearer TOKEN" to every
	// endpoint that changes something.
	AdminToken string
	// Now is the clock for alerts; nil means time.Now.
	Now func() time.Time
}

// StationView is a station as the console shows it: what it reports, what
// it should run, and its alerts.
type StationView struct {
	store.Station
	Alerts []fleet.Alert `json:"alerts"`
}

func (f *Fleet) routes(mux *http.ServeMux, a *api) {
	mux.HandleFunc("GET /api/v1/fleet", a.g.personal(allStations, a.fleetView))
	mux.HandleFunc("GET /api/v1/config", a.g.personal(configWhat, a.getConfig))
	mux.HandleFunc("POST /api/v1/config", a.admin(a.pushConfig))
	mux.HandleFunc("POST /api/v1/stations/{id}/commands", a.admin(a.command))
	mux.HandleFunc("GET /api/v1/stations/{id}/presence", a.g.personal(stationPath, a.presence))
	mux.HandleFunc("GET /console", a.console)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusFound)
	})
}

func (a *api) now() time.Time {
	if a.f.Now != nil {
		return a.f.Now()
	}
	return time.Now()
}

// admin lets a request through only when authenticated (auth.go).
func (a *api) admin(h http.HandlerFunc) http.HandlerFunc { return a.g.authed(h) }

func (a *api) views(r *http.Request) ([]StationView, error) {
	sts, err := a.s.Stations(r.Context())
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]StationView, len(sts))
	for i, st := range sts {
		out[i] = StationView{Station: st, Alerts: fleet.Alerts(st, now, a.f.Thresholds)}
		if out[i].Alerts == nil {
			out[i].Alerts = []fleet.Alert{}
		}
	}
	return out, nil
}

func (a *api) fleetView(w http.ResponseWriter, r *http.Request) {
	views, err := a.views(r)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot list stations", err)
		return
	}
	var fleetVersion uint64
	if d, err := a.f.Store.Config(r.Context(), fleet.FleetScope); err == nil {
		fleetVersion = d.Version
	} else if !errors.Is(err, store.ErrNotFound) {
		a.fail(w, http.StatusInternalServerError, "cannot read the fleet config", err)
		return
	}
	writeJSON(w, map[string]any{"stations": views, "fleet_config": fleetVersion, "now": a.now()})
}

// getConfig returns the document last pushed: ?station=ID, else the fleet
// defaults.
func (a *api) getConfig(w http.ResponseWriter, r *http.Request) {
	scope := fleet.FleetScope
	if id := r.URL.Query().Get("station"); id != "" {
		if !wire.ValidStationID(id) {
			a.fail(w, http.StatusBadRequest, "bad station ID", nil)
			return
		}
		scope = fleet.StationScope(id)
	}
	doc, err := a.f.Service.Doc(r.Context(), scope)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot read the config", err)
		return
	}
	writeJSON(w, doc)
}

// PushRequest is the body of POST /api/v1/config.
type PushRequest struct {
	// Exactly one target: Station, County (each of its registered
	// stations) or All (the fleet defaults, which every station merges
	// under its own document).
	Station string `json:"station,omitempty"`
	County  string `json:"county,omitempty"`
	All     bool   `json:"all,omitempty"`
	// Doc holds the fields to set. With Replace it is the whole new
	// document; otherwise only its non-empty top-level fields replace
	// those of the document last pushed (edit the menu, keep the rest).
	Doc     json.RawMessage `json:"doc"`
	Replace bool            `json:"replace,omitempty"`
}

// Pushed is one config pushed.
type Pushed struct {
	Station string `json:"station"` // "" for the fleet defaults
	Version uint64 `json:"version"`
}

func (a *api) pushConfig(w http.ResponseWriter, r *http.Request) {
	var req PushRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, wire.MaxMessageBytes)).Decode(&req); err != nil {
		a.fail(w, http.StatusBadRequest, "body: want {station|county|all, doc}: "+err.Error(), nil)
		return
	}
	n := 0
	for _, set := range []bool{req.Station != "", req.County != "", req.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		a.fail(w, http.StatusBadRequest, "give exactly one of station, county, all", nil)
		return
	}
	var edit wire.Config
	if err := json.Unmarshal(req.Doc, &edit); err != nil {
		a.fail(w, http.StatusBadRequest, "doc: "+err.Error(), nil)
		return
	}
	targets, err := a.f.Service.Targets(r.Context(), req.Station, req.County, req.All)
	if err != nil {
		a.fail(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	out := []Pushed{}
	for _, station := range targets {
		var v uint64
		if req.Replace {
			v, err = a.f.Service.Push(r.Context(), station, &edit)
		} else {
			v, err = a.f.Service.Edit(r.Context(), station, func(c *wire.Config) { overlay(c, &edit) })
		}
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, wire.ErrInvalid) || errors.Is(err, wire.ErrTooLarge) {
				code = http.StatusBadRequest
			}
			a.fail(w, code, "push to "+orFleet(station)+": "+err.Error(), err)
			return
		}
		out = append(out, Pushed{Station: station, Version: v})
	}
	writeJSON(w, map[string]any{"pushed": out})
}

func orFleet(s string) string {
	if s == "" {
		return "the fleet"
	}
	return s
}

// overlay sets in c every top-level field e sets.
func overlay(c, e *wire.Config) {
	if e.Profile != nil {
		c.Profile = e.Profile
	}
	if e.Menu != nil {
		c.Menu = e.Menu
	}
	if e.Board != nil {
		c.Board = e.Board
	}
	if e.Announcements != nil {
		c.Announcements = e.Announcements
	}
	if e.HonorRoll != nil {
		c.HonorRoll = e.HonorRoll
	}
	if e.UI != nil {
		c.UI = e.UI
	}
	if e.Reader != nil {
		c.Reader = e.Reader
	}
	if e.Rules != nil {
		c.Rules = e.Rules
	}
	if e.Stars != nil {
		c.Stars = e.Stars
	}
	if e.Revoked != nil {
		c.Revoked = e.Revoked
	}
	if e.TrustedKeys != nil {
		c.TrustedKeys = e.TrustedKeys
	}
	if e.Volunteers != nil {
		c.Volunteers = e.Volunteers
	}
}

// CommandRequest is the body of POST /api/v1/stations/{id}/commands.
type CommandRequest struct {
	Name       string          `json:"name"`
	TTLSeconds int             `json:"ttl_seconds,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
}

func (a *api) command(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req CommandRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		a.fail(w, http.StatusBadRequest, "body: want {name, ttl_seconds, args}", nil)
		return
	}
	if !wire.ValidStationID(id) || !wire.KnownCommand(req.Name) {
		a.fail(w, http.StatusBadRequest, "want a station ID and a command: reboot, resync, reload_config, update_offer", nil)
		return
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	var args any
	if len(req.Args) > 0 {
		args = req.Args
	}
	c, err := a.f.Service.Command(r.Context(), id, req.Name, args, ttl)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot send the command", err)
		return
	}
	writeJSON(w, c)
}

func (a *api) presence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !wire.ValidStationID(id) {
		a.fail(w, http.StatusBadRequest, "bad station ID", nil)
		return
	}
	p, err := a.f.Store.Presence(r.Context(), id, 100)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot read presence", err)
		return
	}
	if p == nil {
		p = []store.PresenceChange{}
	}
	writeJSON(w, map[string]any{"station": id, "presence": p})
}
