package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"leifeng/cloud/access"
	"leifeng/cloud/store"
)

// Access control of the API. Every request that reads personal data or
// changes anything acts for a user (cloud/access): a script sends one of
// its user's API tokens as "Authorization: Bearer TOKEN" (leifeng-cloud
// token create); the console signs in with a name and password at POST
// /api/v1/session and from then on holds only an HttpOnly,
// SameSite=Strict session cookie (Secure over TLS). Sessions are
// alexedwards/scs sessions kept in the database (store.Sessions), so a
// restart logs nobody out; only hashes of tokens and session IDs, and
// argon2id hashes of passwords, are stored.
//
// Around every route:
//   - the Host header must be an IP literal, localhost, or a configured
//     name, so that a page on another domain resolved to this address (DNS
//     rebinding) gets 421 instead of data;
//   - a state-changing request from a browser must come from this origin
//     (net/http's CrossOriginProtection on Sec-Fetch-Site and Origin), and
//     one that rides on the session cookie must carry the session's CSRF
//     token (header X-CSRF-Token, or form field csrf_token);
//   - wrong passwords and tokens are counted per remote address and, for
//     passwords, per user name: after FailLimit failures in FailWindow the
//     next try is refused (429 with Retry-After) even with the right
//     password, until the oldest failure leaves the window. Behind a
//     reverse proxy the address is the proxy's: rate limit there too;
//   - a user signed in with the initial password can do nothing but
//     change it (403), and an auditor changes nothing (403);
//   - every change and every read of personal data is logged: who, route,
//     what.
//
// /healthz (no data) and /metrics (counters without personal data) stay
// open; the console's pages (cloud/console, mounted in console.go) answer
// 401 with the login form without a session.

// Defaults of the access options.
const (
	DefaultSessionLifetime = 8 * time.Hour
	// DefaultFailLimit failures in DefaultFailWindow: the tenth try in a
	// minute after nine wrong ones is refused even when right.
	DefaultFailLimit  = 9
	DefaultFailWindow = time.Minute
	sessionCookie     = "leifeng_session"
)

// CSRFHeader and CSRFField carry a session's CSRF token on a change: the
// header from scripts and htmx, the field from a plain HTML form.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// LoginPage is where a browser asking for a page without a login is sent.
var LoginPage = "/console/login"

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
// address and of one user name: after limit failures within window, tries
// are refused until the oldest failure is older than window.
func WithFailureLimit(limit int, window time.Duration) Option {
	return func(g *guard) { g.failLimit, g.failWindow = limit, window }
}

// withClock sets the guard's clock (tests).
func withClock(now func() time.Time) Option { return func(g *guard) { g.now = now } }

// guard is the API's access control.
type guard struct {
	users    *store.Store // nil: nobody can sign in
	hosts    map[string]bool
	sessions *scs.SessionManager
	csrf     *http.CrossOriginProtection
	log      *slog.Logger
	now      func() time.Time

	failLimit  int
	failWindow time.Duration
	mu         sync.Mutex
	fails      map[string][]time.Time // key: "addr:IP" or "user:NAME"
}

func newGuard(users *store.Store, log *slog.Logger, opts []Option) *guard {
	sm := scs.New()
	sm.Lifetime = DefaultSessionLifetime
	sm.Cookie.Name = sessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteStrictMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	g := &guard{users: users, hosts: map[string]bool{"localhost": true}, sessions: sm,
		csrf: http.NewCrossOriginProtection(), log: log, now: time.Now,
		failLimit: DefaultFailLimit, failWindow: DefaultFailWindow, fails: map[string][]time.Time{}}
	for _, o := range opts {
		o(g)
	}
	if users != nil {
		sm.Store = store.Sessions{S: users, Now: g.now}
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Error("api: session store", "err", err)
		(&AuthError{Status: http.StatusInternalServerError, Msg: "session store unavailable",
			Zh: "登录状态暂时无法读取，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"}).Write(w)
	}
	g.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(&AuthError{Status: http.StatusForbidden, Msg: "cross-origin request refused",
			Zh: "拒绝来自其他网站的请求。请直接在本系统的页面上操作。"}).Write(w)
	}))
	return g
}

type guardKey struct{}

// wrap puts the checks every request passes around h.
func (g *guard) wrap(h http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), guardKey{}, g)))
	})
	return g.checkHost(g.csrf.Handler(g.sessions.LoadAndSave(inner)))
}

func guardFrom(r *http.Request) *guard {
	g, _ := r.Context().Value(guardKey{}).(*guard)
	return g
}

func (g *guard) checkHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normHost(r.Host)
		if net.ParseIP(host) == nil && !g.hosts[host] {
			(&AuthError{Status: http.StatusMisdirectedRequest,
				Msg: "unknown host name " + r.Host + "; the cloud answers only the names given with --public-name",
				Zh:  "未知的主机名：请使用系统管理员提供的地址访问。"}).Write(w)
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

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// AuthError is a refused sign-in or request: the status, the reason in
// English (error) and in Chinese (message_zh, what the console shows).
type AuthError struct {
	Status int
	Msg    string
	Zh     string
	// RetryAfter is set on 429: when the next try may succeed.
	RetryAfter time.Duration
}

func (e *AuthError) Error() string { return e.Msg }

// Write answers the request with e as JSON.
func (e *AuthError) Write(w http.ResponseWriter) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"error": e.Msg, "message_zh": e.Zh})
}

var (
	errLoginRequired = &AuthError{Status: http.StatusUnauthorized,
		Msg: "login required: sign in on /console, or send an API token (leifeng-cloud token create) as Authorization: Bearer …",
		Zh:  "请先登录。脚本请使用 API 令牌（leifeng-cloud token create）。"}
	errBadLogin = &AuthError{Status: http.StatusUnauthorized, Msg: "wrong user name or password",
		Zh: "用户名或密码错误，请重新输入。连续输错多次将被暂停登录一分钟。"}
	errBadToken = &AuthError{Status: http.StatusUnauthorized, Msg: "login required: the API token is wrong, revoked, or its user disabled",
		Zh: "API 令牌无效：可能已被吊销或其用户已停用。请向市级管理员申请新的令牌。"}
	errCSRF = &AuthError{Status: http.StatusForbidden, Msg: "CSRF token missing or wrong: send the session's csrf_token as X-CSRF-Token",
		Zh: "页面已过期或请求缺少安全令牌，请刷新页面后重试。"}
	errMustChange = &AuthError{Status: http.StatusForbidden, Msg: "change the initial password first (POST /api/v1/session/password)",
		Zh: "请先修改初始密码，修改后才能进行其他操作。"}
	errAuditor = &AuthError{Status: http.StatusForbidden, Msg: "an auditor reads only",
		Zh: "审计员只能查看，不能修改。"}
)

// limited reports, for each key over its failure budget, how long until
// its oldest failure leaves the window; 0 when none is.
func (g *guard) limited(keys ...string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var wait time.Duration
	for _, k := range keys {
		fs := g.recent(k, now)
		if len(fs) >= g.failLimit {
			if d := fs[len(fs)-g.failLimit].Add(g.failWindow).Sub(now); d > wait {
				wait = d
			}
		}
	}
	return wait
}

// recent drops k's failures older than the window and returns the rest.
// Called with mu held.
func (g *guard) recent(k string, now time.Time) []time.Time {
	fs := g.fails[k]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= g.failWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(g.fails, k)
		return nil
	}
	g.fails[k] = fs
	return fs
}

// fail counts one failure against each key.
func (g *guard) fail(keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.fails) > 100000 {
		for k := range g.fails {
			g.recent(k, now)
		}
	}
	for _, k := range keys {
		fs := g.recent(k, now)
		if len(fs) >= g.failLimit+1 { // enough to stay limited
			fs = fs[1:]
		}
		g.fails[k] = append(fs, now)
	}
}

func tooMany(wait time.Duration) *AuthError {
	return &AuthError{Status: http.StatusTooManyRequests, RetryAfter: wait,
		Msg: fmt.Sprintf("too many failed logins; try again in %d seconds", int(wait.Seconds()+0.999)),
		Zh:  fmt.Sprintf("登录失败次数过多，已暂停登录。请 %d 秒后再试；忘记密码请联系市级管理员重置。", int(wait.Seconds()+0.999))}
}

func addrKey(r *http.Request) string { return "addr:" + remoteIP(r) }

func userKey(name string) string { return "user:" + name }

// authenticate says who r acts for: the user of its bearer token or of
// its session; nil without either. A wrong token is an error.
func (g *guard) authenticate(r *http.Request) (*access.User, *AuthError) {
	if g.users == nil {
		return nil, nil
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		u, err := g.users.TokenUser(r.Context(), store.TokenHash(strings.TrimSpace(tok)), g.now())
		if errors.Is(err, store.ErrNotFound) {
			return nil, errBadToken
		}
		if err != nil {
			g.log.Error("api: token lookup", "err", err)
			return nil, &AuthError{Status: http.StatusInternalServerError, Msg: "cannot check the token", Zh: "暂时无法验证令牌，请稍后重试。"}
		}
		au := u.User
		au.Via = "token"
		return &au, nil
	}
	id := g.sessions.GetInt64(r.Context(), "uid")
	if id == 0 {
		return nil, nil
	}
	u, err := g.users.UserByID(r.Context(), id)
	// A session ends with its user, and with the password it was opened
	// with: a reset (admin password) or a change elsewhere ends it.
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!u.Disabled.IsZero() ||
		g.sessions.GetInt64(r.Context(), "pwset") != stamp(u.PasswordSet))) {
		g.sessions.Destroy(r.Context())
		return nil, nil
	}
	if err != nil {
		g.log.Error("api: session user", "err", err)
		return nil, &AuthError{Status: http.StatusInternalServerError, Msg: "cannot read the session's user", Zh: "暂时无法读取登录状态，请稍后重试。"}
	}
	au := u.User
	au.Via = "session"
	return &au, nil
}

// csrfOK checks a request on the session cookie carries the session's
// CSRF token.
func (g *guard) csrfOK(r *http.Request) bool {
	want := g.sessions.GetString(r.Context(), "csrf")
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
			got = r.FormValue(CSRFField)
		}
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// check is the guard of a route: strict refuses a user who must change
// the password and an auditor's changes.
func (g *guard) check(strict bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A session is not held back by others' failures at the same
		// address (an office behind one NAT); a token is.
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			if wait := g.limited(addrKey(r)); wait > 0 {
				tooMany(wait).Write(w)
				return
			}
		}
		u, aerr := g.authenticate(r)
		switch {
		case aerr != nil:
			if aerr.Status == http.StatusUnauthorized {
				g.fail(addrKey(r))
				g.log.Warn("api: authentication failed", "remote", remoteIP(r), "route", r.Method+" "+r.URL.Path)
			}
			aerr.Write(w)
			return
		case u == nil:
			g.loginRequired(w, r)
			return
		}
		change := !safeMethod(r.Method)
		switch {
		case u.Via == "session" && change && !g.csrfOK(r):
			errCSRF.Write(w)
			return
		// The initial password, which whoever ran admin add knows, must
		// be replaced before it serves; an API token is not a password
		// (made on the server by an operator) and works meanwhile.
		case strict && u.MustChangePassword && u.Via == "session":
			errMustChange.Write(w)
			return
		case strict && change && !u.CanChange():
			errAuditor.Write(w)
			return
		}
		if change {
			g.log.Info("audit", "who", u.Name, "role", u.Role, "via", u.Via, "route", r.Pattern, "what", "change "+r.URL.Path, "remote", remoteIP(r))
		}
		h(w, r.WithContext(access.WithUser(r.Context(), u)))
	}
}

var loginHTML = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={{.}}">
<title>请先登录</title></head><body><p>请先<a href="{{.}}">登录</a>。</p></body></html>
`))

// loginRequired answers 401: JSON for scripts, a link to the login page
// for a browser asking for a page.
func (g *guard) loginRequired(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		loginHTML.Execute(w, LoginPage+"?next="+url.QueryEscape(r.URL.RequestURI()))
		return
	}
	errLoginRequired.Write(w)
}

// authed lets a request through only for a user who may use the cloud:
// signed in or holding a token, the initial password changed, and, for a
// change, not an auditor and (on a session) carrying the CSRF token.
func (g *guard) authed(h http.HandlerFunc) http.HandlerFunc { return g.check(true, h) }

// signedIn is authed for the few routes a user who must change the
// password, or an auditor, may change: the password itself.
func (g *guard) signedIn(h http.HandlerFunc) http.HandlerFunc { return g.check(false, h) }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// personal is authed for a route that returns personal data: the read is
// logged with what was read.
func (g *guard) personal(what func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return g.authed(func(w http.ResponseWriter, r *http.Request) {
		u := access.UserFrom(r.Context())
		g.log.Info("audit", "who", u.Name, "role", u.Role, "via", u.Via, "route", r.Pattern, "what", what(r), "remote", remoteIP(r))
		h(w, r)
	})
}

// Authed, SignedIn and Personal are the guard's authed, signedIn and
// personal for handlers outside this package (the console's pages): they
// act with the guard of the API that serves the request.
func Authed(h http.HandlerFunc) http.HandlerFunc {
	return viaGuard(func(g *guard) http.HandlerFunc { return g.authed(h) })
}

// SignedIn is the exported signedIn; see Authed.
func SignedIn(h http.HandlerFunc) http.HandlerFunc {
	return viaGuard(func(g *guard) http.HandlerFunc { return g.signedIn(h) })
}

// Personal is the exported personal; see Authed.
func Personal(what func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return viaGuard(func(g *guard) http.HandlerFunc { return g.personal(what, h) })
}

func viaGuard(mk func(*guard) http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g := guardFrom(r)
		if g == nil {
			(&AuthError{Status: http.StatusInternalServerError, Msg: "handler outside the API's guard", Zh: "系统配置错误，请联系系统管理员。"}).Write(w)
			return
		}
		mk(g)(w, r)
	}
}

// Login signs r's session in as the user called name if password is
// theirs and neither r's address nor the name has spent its failure
// budget. The session gets a new ID (a cookie planted before cannot
// become a signed-in session) and a new CSRF token; the guard's
// middleware writes the cookie. Errors are *AuthError.
func Login(r *http.Request, name, password string) (*access.User, error) {
	g := guardFrom(r)
	if g == nil || g.users == nil {
		return nil, errBadLogin
	}
	keys := []string{addrKey(r), userKey(name)}
	if wait := g.limited(keys...); wait > 0 {
		g.log.Warn("api: login refused, too many failures", "user", name, "remote", remoteIP(r))
		return nil, tooMany(wait)
	}
	u, err := g.users.UserByName(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		access.WasteVerify(password)
	case err != nil:
		g.log.Error("api: login", "err", err)
		return nil, &AuthError{Status: http.StatusInternalServerError, Msg: "cannot check the login", Zh: "暂时无法登录，请稍后重试。"}
	}
	if u == nil || !access.VerifyPassword(u.PasswordHash, password) || !u.Disabled.IsZero() {
		g.fail(keys...)
		g.log.Warn("api: login failed", "user", name, "remote", remoteIP(r))
		return nil, errBadLogin
	}
	if err := g.sessions.RenewToken(r.Context()); err != nil {
		return nil, &AuthError{Status: http.StatusInternalServerError, Msg: "cannot start a session", Zh: "暂时无法登录，请稍后重试。"}
	}
	g.sessions.Put(r.Context(), "uid", u.ID)
	g.sessions.Put(r.Context(), "pwset", stamp(u.PasswordSet))
	g.sessions.Put(r.Context(), "csrf", newSecret())
	au := u.User
	au.Via = "session"
	g.log.Info("audit", "who", u.Name, "role", u.Role, "via", "password", "route", r.Pattern, "what", "console login", "remote", remoteIP(r))
	return &au, nil
}

// Logout ends r's session.
func Logout(r *http.Request) error {
	g := guardFrom(r)
	if g == nil {
		return errors.New("api: Logout outside the guard")
	}
	if u := access.UserFrom(r.Context()); u != nil {
		g.log.Info("audit", "who", u.Name, "via", u.Via, "route", r.Pattern, "what", "console logout", "remote", remoteIP(r))
	}
	return g.sessions.Destroy(r.Context())
}

// ChangePassword changes the password of the user r acts for, from old to
// new, which must meet access.CheckNewPassword; must_change_password is
// cleared and the session gets a new ID. A wrong old password counts as a
// failed login. Errors are *AuthError.
func ChangePassword(r *http.Request, old, new string) error {
	g := guardFrom(r)
	au := access.UserFrom(r.Context())
	if g == nil || g.users == nil || au == nil {
		return errLoginRequired
	}
	keys := []string{addrKey(r), userKey(au.Name)}
	if wait := g.limited(keys...); wait > 0 {
		return tooMany(wait)
	}
	u, err := g.users.UserByID(r.Context(), au.ID)
	if err != nil {
		return &AuthError{Status: http.StatusInternalServerError, Msg: "cannot read the user", Zh: "暂时无法修改密码，请稍后重试。"}
	}
	if !access.VerifyPassword(u.PasswordHash, old) {
		g.fail(keys...)
		return &AuthError{Status: http.StatusForbidden, Msg: "the current password is wrong", Zh: "当前密码不正确，请重新输入。"}
	}
	if err := access.CheckNewPassword(u.Name, new); err != nil {
		var pe *access.PasswordError
		errors.As(err, &pe)
		return &AuthError{Status: http.StatusBadRequest, Msg: pe.En, Zh: pe.Zh}
	}
	if new == old {
		return &AuthError{Status: http.StatusBadRequest, Msg: "the new password must differ from the current one", Zh: "新密码不能与当前密码相同，请换一个。"}
	}
	hash, err := access.HashPassword(new)
	now := g.now()
	if err == nil {
		err = g.users.SetPassword(r.Context(), u.ID, hash, false, now)
	}
	if err != nil {
		g.log.Error("api: change password", "err", err)
		return &AuthError{Status: http.StatusInternalServerError, Msg: "cannot store the password", Zh: "暂时无法修改密码，请稍后重试。"}
	}
	if au.Via == "session" {
		// This session goes on with the new password; the user's
		// others end.
		if err := g.sessions.RenewToken(r.Context()); err != nil {
			return &AuthError{Status: http.StatusInternalServerError, Msg: "cannot renew the session", Zh: "密码已修改，请重新登录。"}
		}
		g.sessions.Put(r.Context(), "pwset", stamp(now))
	}
	g.log.Info("audit", "who", u.Name, "via", au.Via, "route", r.Pattern, "what", "password change", "remote", remoteIP(r))
	return nil
}

// CSRFToken is the CSRF token of r's session, "" without a signed-in
// session: every form and change of the console carries it (CSRFField,
// CSRFHeader).
func CSRFToken(r *http.Request) string {
	g := guardFrom(r)
	if g == nil || g.sessions.GetInt64(r.Context(), "uid") == 0 {
		return ""
	}
	return g.sessions.GetString(r.Context(), "csrf")
}

// stamp is when a password was set, as a session keeps it.
func stamp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionView is what GET and POST /api/v1/session answer.
func (g *guard) sessionView(r *http.Request, u *access.User) map[string]any {
	if u == nil {
		return map[string]any{"logged_in": false}
	}
	return map[string]any{"logged_in": true, "user": u.Name, "who": u.Name, "role": u.Role, "role_zh": u.Role.Zh(),
		"scope": u.Scope, "must_change_password": u.MustChangePassword, "csrf_token": CSRFToken(r),
		"expires": g.sessions.Deadline(r.Context()).UTC()}
}

// session is POST /api/v1/session (sign in with {"user","password"}), GET
// (who am I?) and DELETE (log out).
func (g *guard) session(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		u, _ := g.authenticate(r)
		if u != nil && u.Via != "session" {
			u = nil
		}
		writeJSON(w, g.sessionView(r, u))
	case http.MethodDelete:
		if u, _ := g.authenticate(r); u != nil && u.Via == "session" {
			if !g.csrfOK(r) {
				errCSRF.Write(w)
				return
			}
			r = r.WithContext(access.WithUser(r.Context(), u))
		}
		if err := Logout(r); err != nil {
			deny(w, http.StatusInternalServerError, "cannot end the session")
			return
		}
		writeJSON(w, map[string]any{"logged_in": false})
	case http.MethodPost:
		var req struct {
			User     string `json:"user"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.User == "" {
			if wait := g.limited(addrKey(r)); wait > 0 {
				tooMany(wait).Write(w)
				return
			}
			(&AuthError{Status: http.StatusUnauthorized, Msg: `login required: send {"user": NAME, "password": PASSWORD}`,
				Zh: "请输入用户名和密码。"}).Write(w)
			return
		}
		u, err := Login(r, req.User, req.Password)
		if err != nil {
			writeAuthError(w, err)
			return
		}
		writeJSON(w, g.sessionView(r, u))
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		deny(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
	}
}

// changePassword is POST /api/v1/session/password {"old","new"}.
func (g *guard) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		(&AuthError{Status: http.StatusBadRequest, Msg: `send {"old": CURRENT, "new": NEW}`, Zh: "请填写当前密码和新密码。"}).Write(w)
		return
	}
	if err := ChangePassword(r, req.Old, req.New); err != nil {
		writeAuthError(w, err)
		return
	}
	if g.users != nil {
		// Who changed their password, and when (never what to).
		u := access.UserFrom(r.Context())
		name := ""
		if u != nil {
			name = u.Name
		}
		if err := g.users.Audit(r.Context(), AuditEntry(r.Context(), time.Now(), "user.password", "user "+name, http.StatusOK, nil, nil)); err != nil {
			g.log.Error("audit log entry of a password change not written", "user", name, "err", err)
		}
	}
	writeJSON(w, map[string]any{"ok": true})
}

func writeAuthError(w http.ResponseWriter, err error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		ae = &AuthError{Status: http.StatusInternalServerError, Msg: err.Error(), Zh: "操作失败，请稍后重试。"}
	}
	ae.Write(w)
}

func deny(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// whoFrom is the name of the user r acts for and how it authenticated.
func whoFrom(ctx context.Context) (who, how string) {
	if u := access.UserFrom(ctx); u != nil {
		return u.Name, u.Via
	}
	return "", ""
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
