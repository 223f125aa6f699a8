package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The config page edits the parts a station manager changes most (the
// service menu, the contact board, the announcements) of one station, a
// county's stations or the fleet defaults. It loads what the target runs
// and remembers it in the form (base); a push sends only the parts that
// differ from it, as a JSON Merge Patch, so the rest of each station's
// document stays as it was.

// configForm is the form's state.
type configForm struct {
	Target, Value string
	Menu          string
	Contact       string
	Phone         string
	Hours         string
	Ann           string
	// Base is what was loaded (configBase as JSON), empty for none.
	Base    string
	Version uint64
	// Targets are the choices the user's role has.
	Targets []targetChoice
}

type targetChoice struct{ Value, Label string }

// configBase is what a push is compared with.
type configBase struct {
	Key           string            `json:"key"`
	Menu          json.RawMessage   `json:"menu"`
	Board         map[string]string `json:"board"`
	Announcements []json.RawMessage `json:"announcements"`
}

var boardFields = []struct{ key, form string }{
	{"contact_person", "contact"}, {"phone", "phone"}, {"opening_hours", "hours"},
}

func targetChoices(u *access.User) []targetChoice {
	out := []targetChoice{{"station", "一个站点"}}
	if u.Role == access.City || u.Role == access.County {
		out = append(out, targetChoice{"county", "一个县区的全部站点"})
	}
	if u.Role == access.City {
		out = append(out, targetChoice{"all", "全部站点（默认配置）"})
	}
	return out
}

// checkTarget says whether u may push to the target; out of scope is
// store.ErrNotFound. A county is named by its area code (or, for the
// city administrator, the county name stations were registered with).
func (c *Console) checkTarget(ctx context.Context, u *access.User, target, value string) error {
	switch target {
	case "station":
		_, err := c.station(ctx, u, value)
		return err
	case "county":
		if u.Role == access.City {
			return nil
		}
		if ok, err := c.areaVisible(ctx, u, value); err != nil || ok && u.Role == access.County {
			return err
		}
	case "all":
		if u.Role == access.City {
			return nil
		}
	}
	return store.ErrNotFound
}

func (c *Console) configPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := &configForm{Target: q.Get("target"), Value: strings.TrimSpace(q.Get("value")), Targets: targetChoices(user(r))}
	p := &page{Title: "配置推送", Active: "config", Data: f}
	if f.Target == "" {
		f.Target, f.Menu = "station", "[]"
		c.render(w, r, http.StatusOK, "config", p)
		return
	}
	c.loadInto(w, r, p, f)
}

// loadInto loads f's target into the form and renders it.
func (c *Console) loadInto(w http.ResponseWriter, r *http.Request, p *page, f *configForm) {
	if f.Target == "all" {
		f.Value = ""
	}
	if err := c.load(r, f); err != nil {
		code, msg := c.configRefusal(r, err)
		if code >= 500 {
			c.fault(w, r, "load config", err)
			return
		}
		f.Base = ""
		p.Error = "读取失败：" + msg
		c.render(w, r, code, "config", p)
		return
	}
	p.Flash = fmt.Sprintf("已读取%s，版本 %d。", targetName(f.Target, f.Value), f.Version)
	c.render(w, r, http.StatusOK, "config", p)
}

func targetName(target, value string) string {
	switch target {
	case "station":
		return " " + value
	case "county":
		return "全部站点默认配置（" + value + " 的站点在此之上各有本站设置）"
	}
	return "全部站点默认配置"
}

// load fills f with the effective config of its target: a station's (the
// defaults under its own document) or the fleet defaults (a county has no
// document of its own).
func (c *Console) load(r *http.Request, f *configForm) error {
	if err := c.checkTarget(r.Context(), user(r), f.Target, f.Value); err != nil {
		return err
	}
	station := ""
	if f.Target == "station" {
		station = f.Value
	}
	doc, err := c.Fleet.Effective(r.Context(), station)
	if err != nil {
		return err
	}
	base := configBase{Key: f.Target + ":" + f.Value, Menu: json.RawMessage("[]"), Board: map[string]string{}}
	if doc.Menu != nil {
		if base.Menu, err = json.Marshal(doc.Menu); err != nil {
			return err
		}
	}
	menu, _ := json.MarshalIndent(doc.Menu, "", "  ")
	if doc.Menu == nil {
		menu = []byte("[]")
	}
	f.Menu = string(menu)
	if b := doc.Board; b != nil {
		base.Board = map[string]string{"contact_person": b.ContactPerson, "phone": b.Phone, "opening_hours": b.OpeningHours}
		f.Contact, f.Phone, f.Hours = b.ContactPerson, b.Phone, b.OpeningHours
	}
	var titles []string
	for _, a := range doc.Announcements {
		raw, err := json.Marshal(a)
		if err != nil {
			return err
		}
		base.Announcements = append(base.Announcements, raw)
		titles = append(titles, a.Title)
	}
	f.Ann = strings.Join(titles, "\n")
	b, err := json.Marshal(base)
	if err != nil {
		return err
	}
	f.Base, f.Version = string(b), doc.Version
	return nil
}

func (c *Console) pushConfig(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxMessageBytes)
	f := &configForm{Target: r.PostFormValue("target"), Value: strings.TrimSpace(r.PostFormValue("value")),
		Menu: r.PostFormValue("menu"), Contact: strings.TrimSpace(r.PostFormValue("contact")),
		Phone: strings.TrimSpace(r.PostFormValue("phone")), Hours: strings.TrimSpace(r.PostFormValue("hours")),
		Ann: r.PostFormValue("ann"), Base: r.PostFormValue("base"), Targets: targetChoices(user(r))}
	p := &page{Title: "配置推送", Active: "config", Data: f}
	if r.PostFormValue("op") == "load" {
		c.loadInto(w, r, p, f)
		return
	}
	refuse := func(code int, msg string) {
		p.Error = "未推送：" + msg
		c.render(w, r, code, "config", p)
	}
	ctx := r.Context()
	if f.Target == "all" {
		f.Value = ""
	} else if f.Value == "" {
		refuse(http.StatusBadRequest, "请填写站点编号或县区名称。")
		return
	}
	if err := c.checkTarget(ctx, user(r), f.Target, f.Value); err != nil {
		code, msg := c.configRefusal(r, err)
		if code >= 500 {
			c.fault(w, r, "push", err)
			return
		}
		refuse(code, msg)
		return
	}
	doc, err := changes(f)
	if err != nil {
		refuse(http.StatusBadRequest, err.Error())
		return
	}
	if len(doc) == 0 {
		p.Flash = "没有改动，未推送。"
		c.render(w, r, http.StatusOK, "config", p)
		return
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		c.fault(w, r, "push", err)
		return
	}
	station, county := "", ""
	switch f.Target {
	case "station":
		station = f.Value
	case "county":
		county = f.Value
	}
	targets, err := c.Fleet.Targets(ctx, station, county, f.Target == "all")
	if err == nil && f.Target == "county" {
		targets, err = c.inScope(ctx, user(r), targets)
	}
	if err == nil {
		var pushed []string
		out, aerr := c.Fleet.Apply(ctx, targets, raw, false)
		err = aerr
		for _, p := range out {
			who := p.Station
			if who == "" {
				who = "全部站点默认配置"
			}
			pushed = append(pushed, fmt.Sprintf("%s v%d", who, p.Version))
		}
		if err == nil {
			c.audit(r, "config.push", f.Target+" "+f.Value, nil, json.RawMessage(raw))
			if lerr := c.load(r, f); lerr != nil {
				f.Base = ""
			}
			p.Flash = "已推送：" + strings.Join(pushed, "，")
			c.render(w, r, http.StatusOK, "config", p)
			return
		}
	}
	code, zh := c.configRefusal(r, err)
	if code >= 500 {
		c.fault(w, r, "push", err)
		return
	}
	refuse(code, zh)
}

// configRefusal is the status and Chinese reason of a refused load or
// push; out of scope reads as an unknown station.
func (c *Console) configRefusal(r *http.Request, err error) (int, string) {
	if errors.Is(err, store.ErrNotFound) {
		return http.StatusNotFound, "找不到这个站点或县区，或它不在您的管理范围内。请核对站点编号或县区名称后再试。"
	}
	return fleet.Refusal(err)
}

// changes is the push: the parts of f that differ from its base (or, with
// no base for this target, the parts filled in).
func changes(f *configForm) (map[string]any, error) {
	var base *configBase
	if f.Base != "" {
		var b configBase
		if json.Unmarshal([]byte(f.Base), &b) == nil && b.Key == f.Target+":"+f.Value {
			base = &b
		}
	}
	doc := map[string]any{}
	var menu any
	if strings.TrimSpace(f.Menu) == "" {
		f.Menu = "[]"
	}
	if err := json.Unmarshal([]byte(f.Menu), &menu); err != nil {
		return nil, fmt.Errorf("服务菜单不是有效的 JSON，请检查括号和引号（%v）。", err)
	}
	if _, ok := menu.([]any); !ok {
		return nil, errors.New("服务菜单应是一个列表：以 [ 开头、] 结尾。")
	}
	if base != nil {
		var old any
		if json.Unmarshal(base.Menu, &old) != nil || !reflect.DeepEqual(old, menu) {
			doc["menu"] = menu
		}
	} else if len(menu.([]any)) > 0 {
		doc["menu"] = menu
	}
	board := map[string]string{}
	vals := map[string]string{"contact": f.Contact, "phone": f.Phone, "hours": f.Hours}
	for _, b := range boardFields {
		v := vals[b.form]
		if base != nil && v != base.Board[b.key] || base == nil && v != "" {
			board[b.key] = v
		}
	}
	if len(board) > 0 {
		doc["board"] = board
	}
	var titles []string
	for _, t := range strings.Split(f.Ann, "\n") {
		if t = strings.TrimSpace(t); t != "" {
			titles = append(titles, t)
		}
	}
	var old []json.RawMessage
	var oldTitles []string
	if base != nil {
		old = base.Announcements
		for _, raw := range old {
			var a struct{ Title string }
			json.Unmarshal(raw, &a)
			oldTitles = append(oldTitles, a.Title)
		}
	}
	if base != nil && !slices.Equal(titles, oldTitles) || base == nil && len(titles) > 0 {
		// A title kept keeps its details (time, place, text).
		anns := make([]json.RawMessage, len(titles))
		for i, t := range titles {
			anns[i], _ = json.Marshal(map[string]string{"title": t})
			if j := slices.Index(oldTitles, t); j >= 0 {
				anns[i] = old[j]
			}
		}
		doc["announcements"] = anns
	}
	return doc, nil
}

// inScope keeps the stations of a county push that u sees; none left is
// as if the county had none.
func (c *Console) inScope(ctx context.Context, u *access.User, targets []string) ([]string, error) {
	sts, err := c.visibleStations(ctx, u)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range targets {
		if slices.ContainsFunc(sts, func(st store.Station) bool { return st.ID == id }) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, store.ErrNotFound
	}
	return out, nil
}
