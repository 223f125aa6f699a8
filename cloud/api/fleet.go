package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"leifeng/cloud/cards"
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
	// Now is the clock for alerts; nil means time.Now.
	Now func() time.Time
	// Rollouts, if not nil, adds /firmware/ and /api/v1/rollouts (rollout.go).
	Rollouts *Rollouts
	// Cards, if not nil, adds the card desk: issue, list, revoke and
	// re-issue volunteers' cards (cards.go).
	Cards *cards.Service
	// Volunteers, if not nil, adds the volunteer register's routes
	// (volunteers.go).
	Volunteers *Volunteers
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
	mux.HandleFunc("GET /api/v1/fleet", a.g.personal(allStations, a.fleetView))
	mux.HandleFunc("GET /api/v1/config", a.g.personal(configWhat, a.getConfig))
	mux.HandleFunc("POST /api/v1/config", a.admin(a.pushConfig))
	mux.HandleFunc("POST /api/v1/stations/{id}/commands", a.admin(a.command))
	mux.HandleFunc("GET /api/v1/stations/{id}/commands", a.g.personal(stationPath, a.commands))
	mux.HandleFunc("GET /api/v1/stations/{id}/commands/{nonce}", a.g.personal(stationPath, a.commandStatus))
	mux.HandleFunc("GET /api/v1/stations/{id}/presence", a.g.personal(stationPath, a.presence))
	a.reviewRoutes(mux)
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
	targets, err := a.f.Service.Targets(r.Context(), req.Station, req.County, req.All)
	if err != nil {
		a.failFleet(w, "push", err)
		return
	}
	out, err := a.f.Service.Apply(r.Context(), targets, req.Doc, req.Replace)
	if err != nil {
		a.failFleet(w, "push", err)
		return
	}
	writeJSON(w, map[string]any{"pushed": out})
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
	c, err := a.f.Service.Command(r.Context(), id, req.Name, args, ttl)
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
