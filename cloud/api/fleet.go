package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/cards"
	"leifeng/cloud/fleet"
	"leifeng/cloud/orders"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Fleet is the station management behind the console: configs, commands,
// presence and alerts. Without it the API serves only the record path.
type Fleet struct {
	Service    *fleet.Service
	Store      *store.Store
	Thresholds fleet.Thresholds
	// Now is the clock for alerts; nil means time.Now.
	Now func() time.Time
	// Rollouts, if not nil, adds /firmware/ and /api/v1/rollouts (rollout.go).
	Rollouts *Rollouts
	// OrderPolicy is the order flow's clock rules (the target time to
	// accept an order, for the statistics); zero is orders.DefaultPolicy.
	OrderPolicy orders.Policy
	// Cards, if not nil, adds the card desk: issue, list, revoke and
	// re-issue volunteers' cards (cards.go).
	Cards *cards.Service
	// Volunteers, if not nil, adds the volunteer register's routes
	// (volunteers.go).
	Volunteers *Volunteers
	// PublicURL is the cloud's public address (serve --public-url), for
	// the certificates' QR codes; "" means the public-url setting, else
	// the address a request came in on (certificates.go).
	PublicURL string
	// VerifyLimit lookups of the public verification page per remote
	// address within VerifyWindow (DefaultVerifyLimit per
	// DefaultVerifyWindow when zero).
	VerifyLimit  int
	VerifyWindow time.Duration
}

// StationView is a station as the console shows it: what it reports, what
// it should run, its alerts and its last command. Its times are in China
// Standard Time (RFC 3339 with +08:00: the same instant, read as local).
type StationView struct {
	store.Station
	Alerts []fleet.Alert `json:"alerts"`
	// Command is the last command the cloud sent it and what became of
	// it; nil if none was sent.
	Command *fleet.CommandStatus `json:"command,omitempty"`
}

func (f *Fleet) routes(mux *router, a *api) {
	mux.HandleFunc("GET /api/v1/fleet", a.view(allStations, a.fleetView))
	mux.HandleFunc("GET /api/v1/config", a.read("config.read", configWhat, a.getConfig))
	mux.HandleFunc("POST /api/v1/config", a.change("config.push", a.pushConfig))
	mux.HandleFunc("POST /api/v1/stations/{id}/commands", a.change("station.command", a.command))
	mux.HandleFunc("GET /api/v1/stations/{id}/commands", a.view(stationPath, a.commands))
	mux.HandleFunc("GET /api/v1/stations/{id}/commands/{nonce}", a.view(stationPath, a.commandStatus))
	mux.HandleFunc("GET /api/v1/stations/{id}/presence", a.view(stationPath, a.presence))
	a.reviewRoutes(mux)
	a.hoursReviewRoutes(mux)
	a.peopleRoutes(mux)
	a.orderRoutes(mux)
	a.matchRoutes(mux)
	a.activityRoutes(mux)
	a.certificateRoutes(mux)
	a.noticeRoutes(mux)
	a.starRoutes(mux)
	a.exportRoutes(mux)
	a.targetRoutes(mux)
	if f.Rollouts != nil {
		a.rolloutRoutes(mux, f.Rollouts)
	}
	if f.Cards != nil {
		a.cardRoutes(mux)
	}
	if f.Volunteers != nil {
		if f.Volunteers.Log == nil {
			f.Volunteers.Log = a.log
		}
		// The register sees through the user's scope and writes to the
		// audit log, unless its owner set other hooks.
		if f.Volunteers.Scope == nil {
			f.Volunteers.Scope = a.volunteerScope
		}
		if f.Volunteers.Audit == nil {
			f.Volunteers.Audit = a.volunteerAudit
		}
		a.volunteerRoutes(mux, f.Volunteers)
	}
	a.consoleRoutes(mux, f)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
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

// failFleet answers a fleet request that went wrong: unknown stations 404,
// refused documents 400 or 422, both with the reason in English (error)
// and in Chinese (message_zh, what the console shows).
func (a *api) failFleet(w http.ResponseWriter, what string, err error) {
	code, zh := fleet.Refusal(err)
	if code >= 500 {
		zh = "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"
	}
	msg := what + ": " + err.Error()
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "message_zh": zh})
}

// views are the stations in r's scope as the console shows them.
func (a *api) views(r *http.Request) ([]StationView, error) {
	sts, err := a.s.Stations(r.Context())
	if err != nil {
		return nil, err
	}
	sc := scopeOf(r)
	sts = slices.DeleteFunc(sts, func(s store.Station) bool { return !sc.Station(s.ID, s.Community) })
	now := a.now()
	out := make([]StationView, len(sts))
	for i, st := range sts {
		out[i] = StationView{Station: st, Alerts: fleet.Alerts(st, now, a.f.Thresholds)}
		if out[i].Alerts == nil {
			out[i].Alerts = []fleet.Alert{}
		}
		out[i].LastSeen, out[i].Since = local(st.LastSeen), local(st.Since)
		cs, err := a.f.Service.Commands(r.Context(), st.ID, 1)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			out[i].Command = localCommand(&cs[0])
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
	writeJSON(w, map[string]any{"stations": views, "fleet_config": fleetVersion, "now": local(a.now())})
}

// getConfig returns the effective config for editing: ?station=ID gives
// what that station runs (built-in defaults, fleet defaults, its own
// document), without it the fleet defaults over the built-in ones.
func (a *api) getConfig(w http.ResponseWriter, r *http.Request) {
	station := r.URL.Query().Get("station")
	if station == "" && !scopeOf(r).All() {
		a.failReview(w, http.StatusForbidden, "the fleet defaults are the city's: give ?station=", zhCityOnly, nil)
		return
	}
	if station != "" && !a.stationInScope(w, r, station, "config of "+orFleet(station)) {
		return
	}
	doc, err := a.f.Service.Effective(r.Context(), station)
	if err != nil {
		a.failFleet(w, "config of "+orFleet(station), err)
		return
	}
	doc.Issued = local(doc.Issued)
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
	// Doc holds the parts to change, merged into each target's document
	// as a JSON Merge Patch (a part set changes, a part set to null goes,
	// the rest stays). With Replace it is the whole new document.
	Doc     json.RawMessage `json:"doc"`
	Replace bool            `json:"replace,omitempty"`
}

// Pushed is one config pushed.
type Pushed = fleet.Pushed

func (a *api) pushConfig(w http.ResponseWriter, r *http.Request) {
	var req PushRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, wire.MaxMessageBytes)).Decode(&req); err != nil {
		a.failFleet(w, "body: want {station|county|all, doc}", fmt.Errorf("%w: %v", fleet.ErrBadPatch, err))
		return
	}
	n := 0
	for _, set := range []bool{req.Station != "", req.County != "", req.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		a.failFleet(w, "push", fmt.Errorf("%w: give exactly one of station, county, all", fleet.ErrBadPatch))
		return
	}
	if req.All && userOf(r).Role != access.City {
		a.failReview(w, http.StatusForbidden, "only a city administrator may push to every station", zhCityOnly, nil)
		return
	}
	targets, err := a.f.Service.Targets(r.Context(), req.Station, req.County, req.All)
	if err == nil && !req.All {
		targets, err = a.scopeTargets(r, targets, req.County)
	}
	if err != nil {
		a.failFleet(w, "push", err)
		return
	}
	out, err := a.f.Service.Apply(r.Context(), targets, req.Doc, req.Replace)
	noteChange(r, pushTarget(req), nil, map[string]any{"doc": req.Doc, "replace": req.Replace, "pushed": out})
	if err != nil {
		a.failFleet(w, "push", err)
		return
	}
	writeJSON(w, map[string]any{"pushed": out})
}

// scopeTargets keeps the push targets in r's scope: one station out of it
// is unknown, a county's stations out of it are left out (none left: as
// if the county had none).
func (a *api) scopeTargets(r *http.Request, targets []string, county string) ([]string, error) {
	in, err := a.stationFilter(r)
	if err != nil {
		return nil, err
	}
	kept := slices.DeleteFunc(slices.Clone(targets), func(id string) bool { return !in(id) })
	switch {
	case len(kept) > 0:
		return kept, nil
	case county != "":
		return nil, fmt.Errorf("%w: no station registered in county %q", fleet.ErrUnknownStation, county)
	}
	return nil, fleet.UnknownStation(targets[0])
}

func pushTarget(req PushRequest) string {
	switch {
	case req.All:
		return "all stations"
	case req.County != "":
		return "county " + req.County
	}
	return "station " + req.Station
}

func orFleet(s string) string {
	if s == "" {
		return "the fleet"
	}
	return s
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
	if !wire.KnownCommand(req.Name) {
		a.fail(w, http.StatusBadRequest, "want a command: reboot, resync, reload_config, update_offer", nil)
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
	if !a.stationInScope(w, r, id, "command "+req.Name+" to "+id) {
		return
	}
	c, err := a.f.Service.Command(r.Context(), id, req.Name, args, ttl)
	if err == nil {
		noteChange(r, "station "+id, nil, map[string]any{"command": req.Name, "args": req.Args, "nonce": c.Nonce})
	}
	if err != nil {
		a.failFleet(w, "command "+req.Name+" to "+id, err)
		return
	}
	c.Expires = local(c.Expires)
	writeJSON(w, c)
}

// commands lists the station's last commands and what became of them.
func (a *api) commands(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !a.stationInScope(w, r, id, "commands of "+id) {
		return
	}
	if err := a.f.Service.Known(r.Context(), id); err != nil {
		a.failFleet(w, "commands of "+id, err)
		return
	}
	cs, err := a.f.Service.Commands(r.Context(), id, 20)
	if err != nil {
		a.failFleet(w, "commands of "+id, err)
		return
	}
	for i := range cs {
		localCommand(&cs[i])
	}
	writeJSON(w, map[string]any{"station": id, "commands": cs})
}

// commandStatus is what became of one command: pending, ok, failed (with
// the kiosk's reason) or unanswered.
func (a *api) commandStatus(w http.ResponseWriter, r *http.Request) {
	id, nonce := r.PathValue("id"), r.PathValue("nonce")
	if !a.stationInScope(w, r, id, "command "+nonce) {
		return
	}
	if err := a.f.Service.Known(r.Context(), id); err != nil {
		a.failFleet(w, "command "+nonce, err)
		return
	}
	st, err := a.f.Service.CommandStatus(r.Context(), id, nonce)
	if err != nil {
		a.failFleet(w, "command "+nonce, err)
		return
	}
	writeJSON(w, localCommand(st))
}

func (a *api) presence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !wire.ValidStationID(id) {
		a.fail(w, http.StatusBadRequest, "bad station ID", nil)
		return
	}
	if !a.stationInScope(w, r, id, "presence of "+id) {
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
	for i := range p {
		p[i].At = local(p[i].At)
	}
	writeJSON(w, map[string]any{"station": id, "presence": p})
}
