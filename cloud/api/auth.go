package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"golang.org/x/time/rate"
)

// Access control of the API. Until the cloud has users and roles, one
// admin token guards everything that reads personal data or changes
// anything: scripts send it as "Authorization: Bearer TOKEN"; the console
// posts it once to POST /api/v1/session and from then on holds only an
// HttpOnly, SameSite=Strict session cookie (Secure over TLS), which
// JavaScript cannot read and another site cannot make the browser send.
// Sessions are kept in memory (alexedwards/scs: a well-kept session
// library, not hand-made cookie handling); a restart logs everyone out.
//
// Around every route:
//   - the Host header must be an IP literal, localhost, or a configured
//     name, so that a page on another domain resolved to this address (DNS
//     rebinding) gets 421 instead of data;
//   - a state-changing request from a browser must come from this origin
//     (net/http's CrossOriginProtection on Sec-Fetch-Site and Origin), and
//     one that rides on the session cookie must say where it comes from;
//   - failed authentication is rate limited per remote address (behind a
//     reverse proxy that is the proxy's: rate limit there too): after
//     FailBurst failures an address gets 429 until it earns another try
//     (one every FailEvery), even with the right token, so guessing the
//     token or enumerating volunteers is slow;
//   - every read of personal data is logged: who, route, what.
//
// /healthz (no data) stays open; the console's pages (console.go) answer
// 401 with the login form to a request without a session. /metrics
// needs the token: it is scraped from anywhere by Prometheus
// (authorization: credentials_file), and a loopback exemption would open
// it to anyone behind a reverse proxy on the same host.

// Defaults of the access options.
const (
	DefaultSessionLifetime = 8 * time.Hour
	DefaultFailBurst       = 10
	DefaultFailEvery       = 6 * time.Second
	sessionCookie          = "leifeng_session"
)

// Option configures New.
type Option func(*guard)

// WithHosts adds the names clients use to reach the API (its DNS names).
// IP literals and localhost are always accepted.
func WithHosts(names ...string) Option {
	return func(g *guard) {
		for _, n := range names {
			if n = normHost(n); n != "" {
				g.hosts[n] = true
			}
		}
	}
}

// WithTLS marks the session cookie Secure: the API is served over TLS.
func WithTLS() Option { return func(g *guard) { g.sessions.Cookie.Secure = true } }

// WithSessionLifetime sets how long a console login lasts.
func WithSessionLifetime(d time.Duration) Option {
	return func(g *guard) { g.sessions.Lifetime = d }
}

// WithFailureLimit sets the failed-authentication budget of one remote
// address: burst failures, then one more every every.
func WithFailureLimit(burst int, every time.Duration) Option {
	return func(g *guard) { g.failBurst, g.failEvery = burst, every }
}

// guard is the API's access control.
type guard struct {
	token    string
	hosts    map[string]bool
	sessions *scs.SessionManager
	csrf     *http.CrossOriginProtection
	log      *slog.Logger

	failBurst int
	failEvery time.Duration
	mu        sync.Mutex
	fails     map[string]*rate.Limiter
}

func newGuard(token string, log *slog.Logger, opts []Option) *guard {
	sm := scs.New()
	// No cleanup goroutine to own: an expired session is refused on
	// lookup, and only an admin who knows the token can create one.
	sm.Store = memstore.NewWithCleanupInterval(0)
	sm.Lifetime = DefaultSessionLifetime
	sm.Cookie.Name = sessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteStrictMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	g := &guard{token: token, hosts: map[string]bool{"localhost": true}, sessions: sm,
		csrf: http.NewCrossOriginProtection(), log: log,
		failBurst: DefaultFailBurst, failEvery: DefaultFailEvery, fails: map[string]*rate.Limiter{}}
	for _, o := range opts {
		o(g)
	}
	g.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return g
}

// wrap puts the checks every request passes around h.
func (g *guard) wrap(h http.Handler) http.Handler {
	return g.checkHost(g.csrf.Handler(g.sessions.LoadAndSave(h)))
}

func (g *guard) checkHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normHost(r.Host)
		if net.ParseIP(host) == nil && !g.hosts[host] {
			deny(w, http.StatusMisdirectedRequest, "unknown host name "+r.Host+"; the cloud answers only the names given with --public-name")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// normHost is host without port, brackets or a final dot, in lower case.
func normHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// limiter is the failure budget of addr.
func (g *guard) limiter(addr string) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.fails[addr]
	if !ok {
		if len(g.fails) > 10000 {
			// Forget addresses whose budget is whole again.
			for a, l := range g.fails {
				if l.Tokens() >= float64(g.failBurst) {
					delete(g.fails, a)
				}
			}
		}
		l = rate.NewLimiter(rate.Every(g.failEvery), g.failBurst)
		g.fails[addr] = l
	}
	return l
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tokenOK compares in constant time; no token configured admits nobody.
func (g *guard) tokenOK(tok string) bool {
	return g.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(g.token)) == 1
}

// who authenticates r: the token, or a console session. how is "token" or
// "session"; who is "" when r is not authenticated.
func (g *guard) who(r *http.Request) (who, how string) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if g.tokenOK(tok) {
			return "admin", "token"
		}
		return "", ""
	}
	if w := g.sessions.GetString(r.Context(), "who"); w != "" {
		return w, "session"
	}
	return "", ""
}

// blocked answers 429 when addr has spent its failure budget.
func (g *guard) blocked(w http.ResponseWriter, r *http.Request) bool {
	l := g.limiter(remoteIP(r))
	if l.Tokens() >= 1 {
		return false
	}
	w.Header().Set("Retry-After", "60")
	deny(w, http.StatusTooManyRequests, "too many failed logins from this address; wait a minute")
	return true
}

// failed spends one try of r's address and answers 401.
func (g *guard) failed(w http.ResponseWriter, r *http.Request) {
	g.limiter(remoteIP(r)).Allow()
	g.log.Warn("api: authentication failed", "remote", remoteIP(r), "route", r.Method+" "+r.URL.Path)
	deny(w, http.StatusUnauthorized, "login required: the admin token (cloud-keys.json under --data) as Authorization: Bearer …, or log in on /console")
}

// authed lets a request through only when it is authenticated; a
// state-changing request on the session cookie must also carry Origin or
// Sec-Fetch-Site (a browser always does; CrossOriginProtection checked
// them), so that a request whose origin cannot be judged never rides on
// the cookie.
func (g *guard) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if g.blocked(w, r) {
			return
		}
		who, how := g.who(r)
		if who == "" {
			g.failed(w, r)
			return
		}
		if how == "session" && !safeMethod(r.Method) && r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "" {
			deny(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		if !safeMethod(r.Method) {
			g.log.Info("audit", "who", who, "via", how, "route", r.Pattern, "what", "change "+r.URL.Path, "remote", remoteIP(r))
		}
		h(w, r.WithContext(withWho(r.Context(), who, how)))
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// personal is authed for a route that returns personal data: the read is
// logged with what was read.
func (g *guard) personal(what func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return g.authed(func(w http.ResponseWriter, r *http.Request) {
		who, how := whoFrom(r.Context())
		g.log.Info("audit", "who", who, "via", how, "route", r.Pattern, "what", what(r), "remote", remoteIP(r))
		h(w, r)
	})
}

// session is POST /api/v1/session (log in with the token), GET (am I
// logged in?) and DELETE (log out).
func (g *guard) session(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		who := g.sessions.GetString(r.Context(), "who")
		writeJSON(w, map[string]any{"logged_in": who != "", "who": who})
	case http.MethodDelete:
		g.sessions.Destroy(r.Context())
		writeJSON(w, map[string]any{"logged_in": false})
	case http.MethodPost:
		if g.blocked(w, r) {
			return
		}
		var req struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || !g.tokenOK(req.Token) {
			g.failed(w, r)
			return
		}
		// A new session ID at login: a cookie planted before cannot
		// become a logged-in session (fixation).
		if err := g.sessions.RenewToken(r.Context()); err != nil {
			deny(w, http.StatusInternalServerError, "cannot start a session")
			return
		}
		g.sessions.Put(r.Context(), "who", "admin")
		g.log.Info("audit", "who", "admin", "via", "token", "route", r.Pattern, "what", "console login", "remote", remoteIP(r))
		writeJSON(w, map[string]any{"logged_in": true, "who": "admin", "expires": time.Now().Add(g.sessions.Lifetime).UTC()})
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		deny(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
	}
}

func deny(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

type whoKey struct{}

type whoVal struct{ who, how string }

func withWho(ctx context.Context, who, how string) context.Context {
	return context.WithValue(ctx, whoKey{}, whoVal{who, how})
}

func whoFrom(ctx context.Context) (who, how string) {
	v, _ := ctx.Value(whoKey{}).(whoVal)
	return v.who, v.how
}

// What a personal-data route reads, for the audit line.
func allStations(*http.Request) string { return "all stations" }

func stationParam(r *http.Request) string { return "station " + r.URL.Query().Get("station") }

func stationPath(r *http.Request) string { return "station " + r.PathValue("id") }

func volunteerPath(r *http.Request) string { return "volunteer " + r.PathValue("id") }

func configWhat(r *http.Request) string {
	if s := r.URL.Query().Get("station"); s != "" {
		return "config of station " + s
	}
	return "fleet config"
}
