package console

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/cards"
	"leifeng/cloud/fleet"
	"leifeng/cloud/people"
	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Sessions signs people in and out and holds each session's CSRF token;
// the cloud's access control provides it.
type Sessions interface {
	// Login checks name and password and starts a session on w. It
	// returns ErrLoginRefused or ErrLoginThrottled (or another error for
	// a fault of the cloud).
	Login(w http.ResponseWriter, r *http.Request, name, password string) error
	// Logout ends r's session.
	Logout(w http.ResponseWriter, r *http.Request)
	// CSRFToken is the token r's session must send back with every change.
	CSRFToken(r *http.Request) string
	// ChangePassword changes the signed-in user's password from old to
	// new (and clears MustChangePassword).
	ChangePassword(r *http.Request, old, new string) error
}

// The errors of Sessions.Login the login page explains.
var (
	ErrLoginRefused   = errors.New("console: wrong name or password")
	ErrLoginThrottled = errors.New("console: too many failed logins")
)

// Refusal is a login or password change that Sessions refused, with the
// status to answer and the reason in Chinese, shown as it is.
type Refusal struct {
	Status int
	Zh     string
}

func (r *Refusal) Error() string { return "console: refused: " + r.Zh }

// Console is the web console. Store and Fleet are required; the rest adds
// pages when set.
type Console struct {
	Store    *store.Store
	Fleet    *fleet.Service
	Sessions Sessions
	// Rollouts adds the rollout page; Upload its release upload form
	// (bounded by UploadMax, rollout.DefaultUploadMax when zero).
	Rollouts  *rollout.Service
	Upload    *rollout.Uploader
	UploadMax int64
	// Volunteers adds search, edit with history, export and
	// deregistration to the volunteer pages.
	Volunteers Register
	// Cards adds the card desk to the volunteer page.
	Cards *cards.Service
	// Vault seals ID numbers: registering and importing volunteers need it.
	Vault      *people.Vault
	Thresholds fleet.Thresholds
	// AcceptWithin is the target time for an organisation to accept a
	// dispatched order, counted on the supply and demand page
	// (orders.DefaultPolicy's when zero).
	AcceptWithin time.Duration
	// Audit records a change made on a page (who is the request's user):
	// the action, its target and the state before and after; nil writes
	// it to Log. The volunteer register audits its own.
	Audit func(r *http.Request, action, target string, before, after any) error
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	Log *slog.Logger

	pages map[string]*template.Template
}

//go:embed templates/*.html
var templateFS embed.FS

// Handler serves the console under Prefix.
func (c *Console) Handler() http.Handler {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.pages = parsePages()
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix+"static/", staticHandler())
	mux.HandleFunc("GET "+Prefix+"login", c.loginPage)
	mux.HandleFunc("POST "+Prefix+"login", c.login)
	mux.HandleFunc("POST "+Prefix+"logout", c.signedIn(c.logout))
	mux.HandleFunc("GET "+Prefix+"password", c.signedIn(c.passwordPage))
	mux.HandleFunc("POST "+Prefix+"password", c.signedIn(c.changePassword))
	c.stationRoutes(mux)
	c.peopleRoutes(mux)
	c.reviewRoutes(mux)
	c.hoursRoutes(mux)
	c.orderRoutes(mux)
	c.userRoutes(mux)
	c.auditRoutes(mux)
	c.activityRoutes(mux)
	c.certificateRoutes(mux)
	c.noticeRoutes(mux)
	c.targetRoutes(mux)
	if c.Cards != nil {
		c.cardRoutes(mux)
	}
	if c.Volunteers != nil {
		c.registerRoutes(mux)
	}
	if c.Rollouts != nil {
		c.rolloutRoutes(mux)
	}
	mux.HandleFunc(Prefix, c.signedIn(func(w http.ResponseWriter, r *http.Request) { c.notFound(w, r) }))
	return securityHeaders(mux)
}

// securityHeaders allows scripts and styles from the console's own files
// only, and no framing.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// parsePages parses each page template with the layout and the shared
// parts, so every page defines its own "content".
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t := template.New(base).Funcs(funcs)
		pages[base] = template.Must(t.ParseFS(templateFS, "templates/layout.html", n))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title  string
	User   *access.User
	CSRF   string
	Nav    []navItem
	Active string
	Static staticURLs
	// Flash is a success message, Error a refusal, both in Chinese.
	Flash, Error string
	Data         any
	// Office is the name of the office that leads the city's volunteer
	// work, as the city administrator set it (never a fixed name: it
	// differs from city to city and changed in 2024).
	Office string
}

type navItem struct {
	Key, Label, Href string
}

// nav is the menu of u's role: only the pages the role may open.
func (c *Console) nav(u *access.User) []navItem {
	var out []navItem
	add := func(key, label string, roles ...access.Role) {
		for _, r := range roles {
			if u.Role == r {
				out = append(out, navItem{key, label, Prefix + key})
				return
			}
		}
	}
	const city, county, station, org, auditor = access.City, access.County, access.Station, access.Org, access.Auditor
	add("stations", "站点", city, county, station, auditor)
	add("targets", "目标看板", city, county, auditor)
	add("config", "配置推送", city, county, station)
	add("review", "待审核", city, county, station, auditor)
	add("hours/review", "时长审核", city, county, station, org)
	add("notice", "公示", city, county, station, org, auditor)
	add("objections", "公示异议", city, county, station, org, auditor)
	add("stars", "星级认定", city, county, auditor)
	add("orders", "需求", city, county, station, org, auditor)
	add("supply", "供需", city, county, station, auditor)
	add("activities", "活动预告", city, county, station, org, auditor)
	if c.Rollouts != nil {
		add("rollouts", "固件发布", city, auditor)
	}
	add("areas", "区域", city, county, auditor)
	add("orgs", "志愿服务组织", city, county, org, auditor)
	add("volunteers", "志愿者", city, county, org, auditor)
	add("import", "导入", city)
	if u.Role == city || u.Role == auditor && u.Scope == "" {
		add("users", "用户", city, auditor)
	}
	add("audit", "审计日志", city, auditor)
	add("holidays", "节假日", city, county, station, auditor)
	add("settings", "设置", city)
	return out
}

// allowed says whether u's role may open the page key (the nav's keys).
func (c *Console) allowed(u *access.User, key string) bool {
	for _, n := range c.nav(u) {
		if n.Key == key {
			return true
		}
	}
	return false
}

// render writes the page name with the layout; a request from htmx gets
// only the block it asked for (fragment), or the page's "content".
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, p *page) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	p.User = access.UserFrom(r.Context())
	if p.User != nil {
		p.Nav = c.nav(p.User)
		if c.Sessions != nil {
			p.CSRF = c.Sessions.CSRFToken(r)
		}
	}
	p.Static = static
	if office, err := c.Store.LeadingOffice(r.Context()); err == nil {
		p.Office = office
	} else {
		c.Log.Warn("console: leading office", "err", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.Log.Error("console: render", "page", name, "err", err)
		http.Error(w, "页面出错了，请刷新重试；如仍出错，请联系系统管理员查看云端日志。", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// fragment writes one named block of page name, for htmx to swap in.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, name, block string, p *page) {
	p.User = access.UserFrom(r.Context())
	if p.User != nil && c.Sessions != nil {
		p.CSRF = c.Sessions.CSRFToken(r)
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, block, p); err != nil {
		c.Log.Error("console: render", "page", name, "block", block, "err", err)
		http.Error(w, "页面出错了，请刷新重试。", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func htmx(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// signedIn lets a request through only for a signed-in user; without one
// it answers 401 with the login form. A user who must change the password
// first gets nothing else. A change (any method but GET and HEAD) must
// carry the session's CSRF token.
func (c *Console) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := access.UserFrom(r.Context())
		if u == nil {
			c.renderLogin(w, r, http.StatusUnauthorized, "请先登录。")
			return
		}
		// The initial password, which whoever made the user knows, is
		// replaced before anything else.
		if u.MustChangePassword && r.URL.Path != Prefix+"password" && r.URL.Path != Prefix+"logout" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"password", http.StatusSeeOther)
			} else {
				c.failPage(w, r, http.StatusForbidden, "请先修改初始密码，修改后才能进行其他操作。")
			}
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			var ok bool
			if r, ok = c.csrfOK(w, r); !ok {
				c.failPage(w, r, http.StatusForbidden, "页面已过期或请求不是从控制台发出的，没有执行。请刷新页面后再试。")
				return
			}
		}
		h(w, r)
	}
}

// page wraps a page handler: signed in, and the user's role may open key
// (else 404).
func (c *Console) page(key string, h http.HandlerFunc) http.HandlerFunc {
	return c.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if !c.allowed(access.UserFrom(r.Context()), key) {
			c.notFound(w, r)
			return
		}
		h(w, r)
	})
}

// change wraps a handler that changes something: page, and the user is
// not an auditor.
func (c *Console) change(key string, h http.HandlerFunc) http.HandlerFunc {
	return c.page(key, func(w http.ResponseWriter, r *http.Request) {
		if !access.UserFrom(r.Context()).CanChange() {
			c.failPage(w, r, http.StatusForbidden, "审计员只能查看，不能修改。如需修改，请联系市级管理员。")
			return
		}
		h(w, r)
	})
}

// csrfField is the form field of the CSRF token (htmx sends the
// X-CSRF-Token header instead); the names are the cloud's (access-api.md).
const csrfField = "csrf_token"

// csrfOK checks r's CSRF token: the X-CSRF-Token header (htmx sends it),
// else the form's csrf field. A multipart form (a file upload) must have
// it as its first field, so that the files after it stream to the
// handler: r then carries the rest of the form (formParts).
func (c *Console) csrfOK(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if c.Sessions == nil {
		return r, false
	}
	want := c.Sessions.CSRFToken(r)
	got := r.Header.Get("X-CSRF-Token")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, c.maxUpload())
		mr, err := r.MultipartReader()
		if err != nil {
			return r, false
		}
		if got == "" {
			part, err := mr.NextPart()
			if err != nil || part.FormName() != csrfField {
				return r, false
			}
			b, _ := io.ReadAll(io.LimitReader(part, 256))
			got = string(b)
		}
		r = r.WithContext(context.WithValue(r.Context(), partsKey{}, mr))
	} else if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return r, want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// maxUpload bounds a file upload: a release or an import.
func (c *Console) maxUpload() int64 {
	n := c.UploadMax
	if n <= 0 {
		n = rollout.DefaultUploadMax
	}
	return max(n, maxImport)
}

type partsKey struct{}

// formParts is the rest of r's multipart form after its CSRF token; nil
// if r is not multipart.
func formParts(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(partsKey{}).(*multipart.Reader)
	return mr
}

// notFound is the 404 page: out of scope looks the same as missing.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.failPage(w, r, http.StatusNotFound, "找不到这个页面或这条记录：它不存在，或不在您的管理范围内。请从菜单重新进入。")
}

// failPage answers with msg: a page, or for htmx the message alone.
func (c *Console) failPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if htmx(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// htmx swaps only 2xx answers unless told; the message goes
		// where the form's result goes.
		w.Header().Set("HX-Reswap", "innerHTML")
		w.WriteHeader(http.StatusOK)
		template.Must(template.New("").Parse(`<p class="error" role="alert">{{.}}</p>`)).Execute(w, msg)
		return
	}
	c.render(w, r, code, "error", &page{Title: "出错了", Error: msg})
}

// fault logs err and answers with a message that says what to do.
func (c *Console) fault(w http.ResponseWriter, r *http.Request, what string, err error) {
	c.Log.Error("console: "+what, "err", err, "path", r.URL.Path)
	c.failPage(w, r, http.StatusInternalServerError, "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。")
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if access.UserFrom(r.Context()) != nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	c.render(w, r, code, "login", &page{Title: "登录", Error: msg})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.Sessions == nil {
		c.renderLogin(w, r, http.StatusServiceUnavailable, "控制台没有配置登录，请联系系统管理员。")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	err := c.Sessions.Login(w, r, strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password"))
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		c.renderLogin(w, r, refusal.Status, refusal.Zh)
	case err == nil:
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
	case errors.Is(err, ErrLoginThrottled):
		c.renderLogin(w, r, http.StatusTooManyRequests, "登录失败次数太多，请一分钟后再试。")
	case errors.Is(err, ErrLoginRefused):
		c.renderLogin(w, r, http.StatusUnauthorized, "用户名或密码不对，请核对后再试。")
	default:
		c.Log.Error("console: login", "err", err)
		c.renderLogin(w, r, http.StatusInternalServerError, "暂时无法登录，请稍后重试；如仍失败，请联系系统管理员。")
	}
}

func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "password", &page{Title: "修改密码"})
}

// changePassword changes the signed-in user's password; a new user does
// this first.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	p := &page{Title: "修改密码"}
	old, new := r.PostFormValue("old"), r.PostFormValue("new")
	if new != r.PostFormValue("again") {
		p.Error = "两次输入的新密码不一样，请重新输入。"
		c.render(w, r, http.StatusBadRequest, "password", p)
		return
	}
	err := c.Sessions.ChangePassword(r, old, new)
	var refusal *Refusal
	switch {
	case err == nil:
		c.Log.Info("console: password changed", "who", user(r).Name)
		if u := user(r); u.MustChangePassword {
			// This request's copy of the user still says so.
			nu := *u
			nu.MustChangePassword = false
			r = r.WithContext(access.WithUser(r.Context(), &nu))
		}
		p.Flash = "密码已修改。下次登录请使用新密码。"
		c.render(w, r, http.StatusOK, "password", p)
	case errors.As(err, &refusal):
		p.Error = refusal.Zh
		c.render(w, r, refusal.Status, "password", p)
	default:
		c.fault(w, r, "change password", err)
	}
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.Sessions.Logout(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// audit records a change done on a page.
func (c *Console) audit(r *http.Request, action, target string, before, after any) {
	if c.Audit == nil {
		c.Log.Info("audit", "who", user(r).Name, "role", user(r).Role, "via", "console", "action", action, "target", target)
		return
	}
	if err := c.Audit(r, action, target, before, after); err != nil {
		c.Log.Error("console: audit", "action", action, "target", target, "err", err)
	}
}

// user is the request's user (set: handlers run behind signedIn).
func user(r *http.Request) *access.User { return access.UserFrom(r.Context()) }

// ctxUser is the user of ctx.
func ctxUser(ctx context.Context) *access.User { return access.UserFrom(ctx) }
