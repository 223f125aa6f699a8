package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// Volunteers is the volunteer register behind the console and the JSON
// API: search, register, edit with history, a volunteer's own data
// exported, deregistration. Its methods are what the routes call, and
// what the console's pages call directly; each takes the scope the
// caller resolved for its user and treats a volunteer out of it as not
// found.
type Volunteers struct {
	Store *store.Store
	// Vault seals and hashes ID numbers (people.LoadVault of --data).
	Vault *people.Vault
	// Scope resolves the volunteers the request's user may see (the
	// scope helper's resolution in cloud/access). nil: DefaultScope.
	Scope func(ctx context.Context) (store.VolunteerScope, error)
	// Audit records a change to a volunteer or an export of their data;
	// nil writes it to the API's log. An error from it stops an export
	// before any data is sent.
	Audit func(ctx context.Context, e VolunteerAudit) error
	// OnDeregister, if set, is called after a deregistration commits
	// (the cards helper revokes the volunteer's cards there).
	OnDeregister func(ctx context.Context, volunteer string) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the default audit lines; nil is slog.Default().
	Log *slog.Logger
}

// VolunteerAudit is one change to a volunteer, or one export of their
// data, for the audit log: who, what, and the changes with personal
// values masked.
type VolunteerAudit struct {
	Actor     string
	Action    string // "register", "edit", "export", "deregister"
	Volunteer string
	Changes   []people.FieldChange
	// Detail: the export's format, the deregistration's reason.
	Detail string
}

// DefaultScope is the scope used until the scope helper's resolution is
// set: a request without a user (the old admin token) and a city
// administrator see every volunteer; an auditor of the whole city too;
// anyone else nobody.
func DefaultScope(ctx context.Context) (store.VolunteerScope, error) {
	u := access.UserFrom(ctx)
	if u == nil || u.Role == access.City || u.Role == access.Auditor && u.Scope == "" {
		return store.VolunteerScope{All: true}, nil
	}
	return store.VolunteerScope{}, nil
}

// Actor names the user a request acts for, for histories and the audit.
func Actor(ctx context.Context) string {
	if u := access.UserFrom(ctx); u != nil {
		return u.Name
	}
	if who, _ := whoFrom(ctx); who != "" {
		return who
	}
	return "unknown"
}

func (v *Volunteers) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Volunteers) scope(ctx context.Context) (store.VolunteerScope, error) {
	if v.Scope != nil {
		return v.Scope(ctx)
	}
	return DefaultScope(ctx)
}

func (v *Volunteers) audit(ctx context.Context, e VolunteerAudit) error {
	if v.Audit != nil {
		return v.Audit(ctx, e)
	}
	var ch []string
	for _, c := range e.Changes {
		ch = append(ch, c.Field+": "+c.Before+" → "+c.After)
	}
	log := v.Log
	if log == nil {
		log = slog.Default()
	}
	log.Info("audit", "who", e.Actor, "what", e.Action+" volunteer "+e.Volunteer, "changes", strings.Join(ch, "; "), "detail", e.Detail)
	return nil
}

// errNotInScope is a volunteer the user may not see, answered as unknown.
var errNotInScope = fmt.Errorf("%w: volunteer", store.ErrNotFound)

// inScope fails with store.ErrNotFound unless volunteer id is registered
// and in sc.
func (v *Volunteers) inScope(ctx context.Context, sc store.VolunteerScope, id string) error {
	ok, err := v.Store.VolunteerInScope(ctx, id, sc)
	if err != nil {
		return err
	}
	if !ok {
		return errNotInScope
	}
	return nil
}

// communityInScope refuses a community (and organisations) the user
// cannot register volunteers in, as if unknown.
func communityInScope(sc store.VolunteerScope, community string, orgs []string) error {
	if sc.All || slices.Contains(sc.Communities, community) {
		return nil
	}
	for _, o := range orgs {
		if slices.Contains(sc.Orgs, o) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", people.ErrUnknownCommunity, community)
}

// Search finds volunteers in sc by text (a name prefix, a phone number, a
// card serial, a volunteer ID or an ID number), narrowed to a community
// and an organisation when not "", a page at a time (from 1).
func (v *Volunteers) Search(ctx context.Context, sc store.VolunteerScope, text, community, org string, page int) (*store.VolunteerPage, error) {
	return v.Store.SearchVolunteers(ctx, store.VolunteerQuery{Scope: sc, Terms: people.ParseSearch(text, v.Vault),
		Community: community, Org: org, Page: page})
}

// Register checks and registers one volunteer in sc, under actor; a
// refusal wraps its people.Reason (the same person registered already is
// people.ErrDuplicatePerson).
func (v *Volunteers) Register(ctx context.Context, sc store.VolunteerScope, actor string, f people.Form) (*people.Volunteer, error) {
	vol, err := f.Volunteer()
	if err != nil {
		return nil, err
	}
	if err := vol.Check(v.Vault, v.now()); err != nil {
		return nil, err
	}
	if err := communityInScope(sc, vol.Community, vol.Orgs); err != nil {
		return nil, err
	}
	if err := v.Store.RegisterVolunteer(ctx, &vol, actor, v.now()); err != nil {
		return nil, err
	}
	return &vol, v.audit(ctx, VolunteerAudit{Actor: actor, Action: "register", Volunteer: vol.ID})
}

// Edit applies p to volunteer id in sc, under actor, and returns the
// changes as the history keeps them (personal values masked).
func (v *Volunteers) Edit(ctx context.Context, sc store.VolunteerScope, actor, id string, p people.Patch) ([]people.FieldChange, error) {
	if err := v.inScope(ctx, sc, id); err != nil {
		return nil, err
	}
	ch, err := v.Store.EditVolunteer(ctx, id, actor, v.now(), func(vol *people.Volunteer) ([]people.FieldChange, error) {
		ch, err := vol.Apply(p, v.Vault, v.now())
		if err == nil && len(ch) > 0 {
			err = communityInScope(sc, vol.Community, vol.Orgs)
		}
		return ch, err
	})
	if err != nil || len(ch) == 0 {
		return ch, err
	}
	return ch, v.audit(ctx, VolunteerAudit{Actor: actor, Action: "edit", Volunteer: id, Changes: ch})
}

// History is volunteer id's history, oldest first.
func (v *Volunteers) History(ctx context.Context, sc store.VolunteerScope, id string) ([]store.HistoryEntry, error) {
	if err := v.inScope(ctx, sc, id); err != nil {
		return nil, err
	}
	return v.Store.VolunteerHistory(ctx, id)
}

// ExportFormats are the formats of Export.
var ExportFormats = []string{"json", "csv"}

// Export writes everything the cloud holds on volunteer id to w, as JSON
// or CSV: the registration with the ID number in full (it is the
// volunteer's own copy, PIPL Art. 45), organisations, stations, cards,
// service records, hours, history and the orders served with their
// ratings. The export is audited before a byte
// is written.
func (v *Volunteers) Export(ctx context.Context, sc store.VolunteerScope, actor, id, format string, w io.Writer) error {
	if !slices.Contains(ExportFormats, format) {
		return fmt.Errorf("api: export format %q: json or csv", format)
	}
	if err := v.inScope(ctx, sc, id); err != nil {
		return err
	}
	d, err := v.Store.VolunteerData(ctx, id)
	if err != nil {
		return err
	}
	x, err := v.exportOf(d)
	if err != nil {
		return err
	}
	if err := v.audit(ctx, VolunteerAudit{Actor: actor, Action: "export", Volunteer: id, Detail: format}); err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	}
	return x.writeCSV(w)
}

// VolunteerExport is the document Export writes.
type VolunteerExport struct {
	Exported  time.Time         `json:"exported"`
	Volunteer volunteerInExport `json:"volunteer"`
	*store.VolunteerData
}

// volunteerInExport is the registration with the personal fields shown
// in full.
type volunteerInExport struct {
	*people.Volunteer
	Name     string `json:"name"`
	IDNumber string `json:"id_number,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

func (v *Volunteers) exportOf(d *store.VolunteerData) (*VolunteerExport, error) {
	x := &VolunteerExport{Exported: local(v.now()), VolunteerData: d,
		Volunteer: volunteerInExport{Volunteer: d.Volunteer, Name: d.Volunteer.Name, Phone: d.Volunteer.Phone}}
	if c := d.Volunteer.Sealed.Cipher; c != "" {
		id, err := v.Vault.Open(d.Volunteer.ID, c)
		if err != nil {
			return nil, err
		}
		x.Volunteer.IDNumber = string(id)
	}
	localEntries(d.Records)
	localHours(d.Hours)
	for i := range d.History {
		d.History[i].At = local(d.History[i].At)
	}
	for i := range d.Orders {
		d.Orders[i].Since = local(d.Orders[i].Since)
	}
	return x, nil
}

// writeCSV writes the export as rows of section, item, field, value: one
// row per value, so one file holds every part.
func (x *VolunteerExport) writeCSV(w io.Writer) error {
	// A byte-order mark, so that Excel reads the file as UTF-8.
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "item", "field", "value"})
	// Each part goes through its JSON form, so the CSV has exactly the
	// fields and names of the JSON export.
	var flat func(section, item, prefix string, v any)
	flat = func(section, item, prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				flat(section, item, strings.TrimPrefix(prefix+"."+k, "."), v[k])
			}
		case []any:
			for i, e := range v {
				flat(section, item, prefix+"["+strconv.Itoa(i)+"]", e)
			}
		case nil:
		default:
			s := fmt.Sprint(v)
			if f, ok := v.(float64); ok {
				s = strconv.FormatFloat(f, 'f', -1, 64)
			}
			cw.Write([]string{section, item, prefix, s})
		}
	}
	part := func(section string, v any, list bool) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var g any
		if err := json.Unmarshal(b, &g); err != nil {
			return err
		}
		if items, ok := g.([]any); ok && list {
			for i, e := range items {
				flat(section, strconv.Itoa(i+1), "", e)
			}
			return nil
		}
		flat(section, "", "", g)
		return nil
	}
	for _, p := range []struct {
		section string
		v       any
		list    bool
	}{
		{"export", map[string]any{"exported": x.Exported}, false},
		{"volunteer", x.Volunteer, false},
		{"organisation", x.Organisations, true},
		{"station", x.Stations, true},
		{"card", x.Cards, true},
		{"hours", map[string]any{"hours": x.Hours.Hours, "sessions": x.Hours.Sessions, "open": x.Hours.Open, "flagged": x.Hours.Flagged}, false},
		{"session", x.Hours.List, true},
		{"record", x.Records, true},
		{"history", x.History, true},
		{"order", x.Orders, true},
	} {
		if err := part(p.section, p.v, p.list); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Deregister deregisters (注销) volunteer id in sc under actor, for
// reason (store.Store.DeregisterVolunteer says what is kept and what
// removed), purges the removed values from the database's files, and
// calls OnDeregister.
func (v *Volunteers) Deregister(ctx context.Context, sc store.VolunteerScope, actor, id, reason string) error {
	if err := v.inScope(ctx, sc, id); err != nil {
		return err
	}
	if err := v.Store.DeregisterVolunteer(ctx, id, actor, reason, v.now()); err != nil {
		return err
	}
	if err := v.audit(ctx, VolunteerAudit{Actor: actor, Action: "deregister", Volunteer: id, Detail: reason}); err != nil {
		return err
	}
	if err := v.Store.Purge(ctx); err != nil {
		return err
	}
	if v.OnDeregister != nil {
		return v.OnDeregister(ctx, id)
	}
	return nil
}

// The routes.

func (a *api) volunteerRoutes(mux *router, v *Volunteers) {
	h := &volunteerHandlers{a: a, v: v}
	mux.HandleFunc("GET /api/v1/volunteers", a.g.personal(volunteerSearchWhat, h.search))
	mux.HandleFunc("POST /api/v1/volunteers", a.admin(h.register))
	mux.HandleFunc("PATCH /api/v1/volunteers/{id}", a.admin(h.edit))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/history", a.g.personal(volunteerPath, h.history))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/export", a.g.personal(volunteerPath, h.export))
	mux.HandleFunc("POST /api/v1/volunteers/{id}/deregister", a.admin(h.deregister))
}

func volunteerSearchWhat(r *http.Request) string {
	q := r.URL.Query()
	return fmt.Sprintf("volunteer search community=%q org=%q page=%q", q.Get("community"), q.Get("org"), q.Get("page"))
}

type volunteerHandlers struct {
	a *api
	v *Volunteers
}

// scope answers 500 and false when the user's scope cannot be resolved.
func (h *volunteerHandlers) scope(w http.ResponseWriter, r *http.Request) (store.VolunteerScope, bool) {
	sc, err := h.v.scope(r.Context())
	if err != nil {
		h.fail(w, "resolve scope", err)
		return sc, false
	}
	return sc, true
}

func (h *volunteerHandlers) search(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			h.fail(w, "search", errBadRequest("page: want a page number from 1", "页码应为从 1 开始的整数"))
			return
		}
		page = n
	}
	p, err := h.v.Search(r.Context(), sc, q.Get("q"), q.Get("community"), q.Get("org"), page)
	if err != nil {
		h.fail(w, "search volunteers", err)
		return
	}
	writeJSON(w, p)
}

func (h *volunteerHandlers) register(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	var f people.Form
	if !h.decode(w, r, &f) {
		return
	}
	vol, err := h.v.Register(r.Context(), sc, Actor(r.Context()), f)
	if err != nil {
		h.fail(w, "register volunteer", err)
		return
	}
	w.Header().Set("Location", "/api/v1/volunteers/"+vol.ID)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"id": vol.ID, "name": vol.MaskedName(), "id_number_masked": vol.Sealed.Masked})
}

func (h *volunteerHandlers) edit(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	var p people.Patch
	if !h.decode(w, r, &p) {
		return
	}
	ch, err := h.v.Edit(r.Context(), sc, Actor(r.Context()), r.PathValue("id"), p)
	if err != nil {
		h.fail(w, "edit volunteer", err)
		return
	}
	if ch == nil {
		ch = []people.FieldChange{}
	}
	writeJSON(w, map[string]any{"id": r.PathValue("id"), "changes": ch})
}

func (h *volunteerHandlers) history(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	hs, err := h.v.History(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		h.fail(w, "volunteer history", err)
		return
	}
	for i := range hs {
		hs[i].At = local(hs[i].At)
	}
	writeJSON(w, map[string]any{"id": r.PathValue("id"), "history": hs})
}

func (h *volunteerHandlers) export(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if !slices.Contains(ExportFormats, format) {
		h.fail(w, "export", errBadRequest("format: json or csv", "导出格式应为 json 或 csv"))
		return
	}
	// The export is built whole before the status is written, so an
	// error is still answered as one.
	var buf strings.Builder
	id := r.PathValue("id")
	if err := h.v.Export(r.Context(), sc, Actor(r.Context()), id, format, &buf); err != nil {
		h.fail(w, "export volunteer", err)
		return
	}
	ct := "application/json; charset=utf-8"
	if format == "csv" {
		ct = "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="volunteer-%s.%s"`, safeFileName(id), format))
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, buf.String())
}

// safeFileName keeps the letters, digits and dashes of s.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

func (h *volunteerHandlers) deregister(w http.ResponseWriter, r *http.Request) {
	sc, ok := h.scope(w, r)
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Reason = strings.TrimSpace(req.Reason); req.Reason == "" || len(req.Reason) > 500 {
		h.fail(w, "deregister", errBadRequest("reason: say why (at most 500 bytes)", "请填写注销原因（不超过 500 字节）"))
		return
	}
	if err := h.v.Deregister(r.Context(), sc, Actor(r.Context()), r.PathValue("id"), req.Reason); err != nil {
		h.fail(w, "deregister volunteer", err)
		return
	}
	writeJSON(w, map[string]any{"id": r.PathValue("id"), "deregistered": true})
}

// decode reads a JSON body of at most 64 KiB into dst, answering 400 when
// it cannot.
func (h *volunteerHandlers) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		h.fail(w, "read request", errBadRequest("request body: "+err.Error(), "请求内容不是有效的 JSON，或含有未知字段，请核对后再试"))
		return false
	}
	return true
}

// badRequest is a request the API cannot read, with the words to say so.
type badRequest struct{ en, zh string }

func (e *badRequest) Error() string { return e.en }

func errBadRequest(en, zh string) error { return &badRequest{en, zh} }

// fail answers a volunteer request that went wrong: unknown or out of
// scope 404; the same person twice or an ID taken 409; other refusals
// 422 with their reason; all with the reason in English (error), in
// Chinese (message_zh) and as a code.
func (h *volunteerHandlers) fail(w http.ResponseWriter, what string, err error) {
	code, zh, reason := http.StatusInternalServerError, "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。", ""
	var bad *badRequest
	if r := people.Explain(err); r != nil {
		code, zh, reason = http.StatusUnprocessableEntity, r.Zh, r.Code
		if r == people.ErrDuplicatePerson || r == people.ErrIDTaken || r == store.ErrDeregistered {
			code = http.StatusConflict
		}
	} else if errors.As(err, &bad) {
		code, zh = http.StatusBadRequest, bad.zh
	} else if errors.Is(err, store.ErrNotFound) {
		code, zh = http.StatusNotFound, "找不到这名志愿者：编号不对，或不在您的管理范围内。"
		err = errNotInScope
	}
	msg := what + ": " + err.Error()
	if code >= 500 {
		h.a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	body := map[string]string{"error": msg, "message_zh": zh}
	if reason != "" {
		body["reason"] = reason
	}
	json.NewEncoder(w).Encode(body)
}
