package console

import (
	"errors"
	"net/http"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

func (c *Console) stationRoutes(mux *http.ServeMux) {
	// The console's address leads to the login form, or to the first
	// page of the user's menu.
	mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		if u := user(r); u == nil {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, Prefix+c.nav(u)[0].Key, http.StatusSeeOther)
		}
	})
	mux.HandleFunc("GET "+Prefix+"stations", c.page("stations", c.stations))
	mux.HandleFunc("GET "+Prefix+"stations/{id}", c.page("stations", c.stationPage))
	mux.HandleFunc("POST "+Prefix+"stations/{id}/commands", c.change("stations", c.sendCommand))
	mux.HandleFunc("GET "+Prefix+"stations/{id}/commands/{nonce}", c.page("stations", c.commandStatus))
	mux.HandleFunc("GET "+Prefix+"config", c.page("config", c.configPage))
	mux.HandleFunc("POST "+Prefix+"config", c.change("config", c.pushConfig))
}

// stationRow is one station as the table shows it.
type stationRow struct {
	store.Station
	Alerts  []fleet.Alert
	Command *fleet.CommandStatus
	// Applied says the station runs the config last pushed to it.
	Applied bool
}

type stationsData struct {
	Rows        []stationRow
	FleetConfig uint64
	Now         time.Time
}

// alertNames are the alerts in Chinese.
var alertNames = map[string]string{
	"offline": "离线", "outbox_growing": "待传记录增多", "reader_failing": "读卡器故障", "clock_unsynced": "时钟未同步",
}

func (c *Console) stationRows(r *http.Request) (*stationsData, error) {
	ctx := r.Context()
	sts, err := c.visibleStations(ctx, user(r))
	if err != nil {
		return nil, err
	}
	d := &stationsData{Now: c.now()}
	for _, st := range sts {
		row := stationRow{Station: st, Alerts: fleet.Alerts(st, d.Now, c.Thresholds),
			Applied: st.DesiredConfig == 0 || st.ConfigVersion >= st.DesiredConfig}
		cs, err := c.Fleet.Commands(ctx, st.ID, 1)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			row.Command = &cs[0]
		}
		d.Rows = append(d.Rows, row)
	}
	if doc, err := c.Store.Config(ctx, fleet.FleetScope); err == nil {
		d.FleetConfig = doc.Version
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return d, nil
}

func (c *Console) stations(w http.ResponseWriter, r *http.Request) {
	d, err := c.stationRows(r)
	if err != nil {
		c.fault(w, r, "stations", err)
		return
	}
	p := &page{Title: "站点", Active: "stations", Data: d}
	if htmx(r) && r.URL.Query().Get("part") == "table" {
		c.fragment(w, r, "stations", "table", p)
		return
	}
	c.render(w, r, http.StatusOK, "stations", p)
}

type stationPageData struct {
	Station *store.Station
	// Community is the station's community as "name（code）"; Move says
	// the user may move the station to another community, Rename that
	// the user may rename it.
	Community    string
	Move, Rename bool
	Alerts       []fleet.Alert
	Presence     []store.PresenceChange
	Commands     []fleet.CommandStatus
	Names        []commandName
}

type commandName struct{ Name, Label string }

// commandNames are the commands a person sends from the console (an
// update offer goes through a rollout).
var commandNames = []commandName{
	{wire.CmdResync, "重传记录"}, {wire.CmdReloadConfig, "重新加载配置"}, {wire.CmdReboot, "重启"},
}

func (c *Console) stationPage(w http.ResponseWriter, r *http.Request) {
	st, ok := c.stationOf(w, r)
	if !ok {
		return
	}
	p := &page{}
	if r.URL.Query().Get("saved") == "1" {
		p.Flash = "已保存。"
	}
	c.showStation(w, r, st, http.StatusOK, p)
}

// showStation renders st's page with p's message.
func (c *Console) showStation(w http.ResponseWriter, r *http.Request, st *store.Station, code int, p *page) {
	ctx, u := r.Context(), user(r)
	d := &stationPageData{Station: st, Alerts: fleet.Alerts(*st, c.now(), c.Thresholds), Names: commandNames,
		Community: st.Community, Rename: u.CanChange(), Move: u.CanChange() && u.Role != access.Station}
	if a, err := c.Store.Area(ctx, st.Community); err == nil {
		d.Community = a.Name + "（" + a.Code + "）"
	}
	var err error
	if d.Presence, err = c.Store.Presence(ctx, st.ID, 20); err != nil {
		c.fault(w, r, "presence", err)
		return
	}
	if d.Commands, err = c.Fleet.Commands(ctx, st.ID, 20); err != nil {
		c.fault(w, r, "commands", err)
		return
	}
	p.Title, p.Active, p.Data = "站点 "+st.ID, "stations", d
	c.render(w, r, code, "station", p)
}

// stationOf is the station the path names, if the user sees it; else it
// answers 404 (or the fault) itself.
func (c *Console) stationOf(w http.ResponseWriter, r *http.Request) (*store.Station, bool) {
	st, err := c.station(r.Context(), user(r), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return nil, false
	}
	if err != nil {
		c.fault(w, r, "station", err)
		return nil, false
	}
	return st, true
}

// sendCommand sends a command to a station and answers with its status,
// which polls itself until the kiosk answers.
func (c *Console) sendCommand(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, ok := c.stationOf(w, r)
	if !ok {
		return
	}
	name := r.PostFormValue("name")
	known := false
	for _, n := range commandNames {
		known = known || n.Name == name
	}
	if !known {
		c.failPage(w, r, http.StatusBadRequest, "请选择要发送的指令：重传记录、重新加载配置或重启。")
		return
	}
	cmd, err := c.Fleet.Command(ctx, st.ID, name, nil, 10*time.Minute)
	if err != nil {
		c.failFleet(w, r, err)
		return
	}
	c.audit(r, "station.command", "station "+st.ID, nil, map[string]string{"command": name, "nonce": cmd.Nonce})
	status, err := c.Fleet.CommandStatus(ctx, st.ID, cmd.Nonce)
	if err != nil {
		c.fault(w, r, "command status", err)
		return
	}
	c.commandResult(w, r, status)
}

func (c *Console) commandStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, ok := c.stationOf(w, r)
	if !ok {
		return
	}
	status, err := c.Fleet.CommandStatus(ctx, st.ID, r.PathValue("nonce"))
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.fault(w, r, "command status", err)
		return
	}
	c.commandResult(w, r, status)
}

// commandResult is the command's status: a fragment for htmx, else the
// station page's way back.
func (c *Console) commandResult(w http.ResponseWriter, r *http.Request, s *fleet.CommandStatus) {
	p := &page{Title: "指令", Active: "stations", Data: s}
	if htmx(r) {
		c.fragment(w, r, "command", "status", p)
		return
	}
	c.render(w, r, http.StatusOK, "command", p)
}

// failFleet answers a refused fleet change with its reason in Chinese.
func (c *Console) failFleet(w http.ResponseWriter, r *http.Request, err error) {
	code, zh := fleet.Refusal(err)
	if code >= 500 {
		c.fault(w, r, "fleet", err)
		return
	}
	c.failPage(w, r, code, zh)
}
