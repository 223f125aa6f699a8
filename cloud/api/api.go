// Package api is the cloud's HTTP interface: JSON under /api/v1 for the
// console and for scripts, /healthz for load balancers and /metrics for
// Prometheus. Plain net/http handlers, no framework.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// Store is what the API reads.
type Store interface {
	Stations(ctx context.Context) ([]store.Station, error)
	Records(ctx context.Context, station string, afterSeq uint64, limit int) ([]ingest.Entry, error)
	VolunteerHours(ctx context.Context, volunteer string) (*store.Hours, error)
	Ping(ctx context.Context) error
}

// maxPage bounds one page of records.
const maxPage = 1000

// New returns the API's handler. gatherer serves /metrics. f, if not nil,
// adds the fleet endpoints and the console, and its Store holds the users
// every guarded route needs (without f nothing but /healthz and /metrics
// answers). See auth.go for the access control and opts.
func New(s Store, gatherer prometheus.Gatherer, log *slog.Logger, f *Fleet, opts ...Option) http.Handler {
	h, _ := build(s, gatherer, log, f, opts...)
	return h
}

// router is a ServeMux that remembers the patterns registered on it, so
// that a test can hold every route, including one added later, to the
// guard (export_test.go).
type router struct {
	*http.ServeMux
	patterns []string
}

// HandleFunc registers h for pattern and records the pattern.
func (m *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Handle registers h for pattern and records the pattern.
func (m *router) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// build is New, also returning the patterns it registered.
func build(s Store, gatherer prometheus.Gatherer, log *slog.Logger, f *Fleet, opts ...Option) (http.Handler, []string) {
	var users *store.Store
	if f != nil {
		users = f.Store
	}
	g := newGuard(users, log, opts)
	a := &api{s: s, log: log, f: f, g: g}
	mux := &router{ServeMux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("/api/v1/session", g.session)
	mux.HandleFunc("POST /api/v1/session/password", g.signedIn(g.changePassword))
	mux.HandleFunc("GET /api/v1/stations", a.view(allStations, a.stations))
	mux.HandleFunc("GET /api/v1/records", a.read("records.read", stationParam, a.records))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/hours", a.read("hours.read", volunteerPath, a.hours))
	// Counters and gauges without personal data: open to Prometheus.
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	if f != nil {
		f.routes(mux, a)
	}
	return g.wrap(mux), mux.patterns
}

type api struct {
	s   Store
	log *slog.Logger
	f   *Fleet
	g   *guard
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if err := a.s.Ping(r.Context()); err != nil {
		a.fail(w, http.StatusServiceUnavailable, "database unreachable", err)
		return
	}
	writeJSON(w, map[string]any{"ok": true})
}

func (a *api) stations(w http.ResponseWriter, r *http.Request) {
	st, err := a.s.Stations(r.Context())
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot list stations", err)
		return
	}
	sc := scopeOf(r)
	st = slices.DeleteFunc(st, func(s store.Station) bool { return !sc.Station(s.ID, s.Community) })
	if a.f != nil {
		views, err := a.views(r)
		if err != nil {
			a.fail(w, http.StatusInternalServerError, "cannot list stations", err)
			return
		}
		writeJSON(w, map[string]any{"stations": views})
		return
	}
	writeJSON(w, map[string]any{"stations": orEmptyList(st)})
}

func (a *api) records(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	station := q.Get("station")
	if !wire.ValidStationID(station) {
		a.fail(w, http.StatusBadRequest, "station: give a station ID, e.g. ?station=pe-simao-001", nil)
		return
	}
	after, err := uintParam(q.Get("after"), 0)
	if err != nil {
		a.fail(w, http.StatusBadRequest, "after: want the last seq of the previous page", err)
		return
	}
	limit, err := uintParam(q.Get("limit"), 100)
	if err != nil || limit == 0 || limit > maxPage {
		a.fail(w, http.StatusBadRequest, "limit: want 1 to 1000", err)
		return
	}
	if !a.stationInScope(w, r, station, "records of "+station) {
		return
	}
	rs, err := a.s.Records(r.Context(), station, after, int(limit))
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot read records", err)
		return
	}
	if rs == nil {
		rs = []ingest.Entry{}
	}
	localEntries(rs)
	writeJSON(w, map[string]any{"station": station, "records": rs})
}

func (a *api) hours(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		a.fail(w, http.StatusBadRequest, "volunteer ID missing or too long", nil)
		return
	}
	if ok, err := a.volunteerVisible(r, id); err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	h, err := a.s.VolunteerHours(r.Context(), id)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot compute hours", err)
		return
	}
	localHours(h)
	writeJSON(w, h)
}

// orEmptyList is xs, or an empty list (JSON [] rather than null).
func orEmptyList[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func uintParam(s string, def uint64) (uint64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func (a *api) fail(w http.ResponseWriter, code int, msg string, err error) {
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
