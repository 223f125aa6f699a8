package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/broker"
	"leifeng/cloud/cards"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// testCloud is the cloud of `serve` in one test: SQLite in a temporary
// directory, the embedded broker with the stations' credentials, the
// gateway on it, and the API on httptest.
type testCloud struct {
	t     *testing.T
	db    *store.Store
	svc   *fleet.Service
	cards *cards.Service
	keys  *fleet.Keys
	// token is the API token of "admin", a city administrator whose
	// password is adminPassword.
	token   string
	srv     *httptest.Server
	broker  string
	bundles map[string]*wire.Bundle
}

func newTestCloud(t *testing.T, opts ...api.Option) *testCloud {
	t.Helper()
	return newTestCloudOn(t, "", opts...)
}

// newTestCloudOn is newTestCloud on the database dsn ("" for SQLite in a
// temporary directory).
func newTestCloudOn(t *testing.T, dsn string, opts ...api.Option) *testCloud {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(dir, "leifeng.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fleet.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Log: log, Auth: &broker.Auth{CloudUser: fleet.GatewayUser, CloudPassword: keys.GatewayPassword,
		Creds: fleet.Creds{Store: db}}})
	if err != nil {
		t.Fatal(err)
	}
	gw := ingest.New(db, nil, ingest.Options{Logger: log, Metrics: ingest.NewMetrics(prometheus.NewRegistry())})
	var wg sync.WaitGroup
	wg.Go(func() { gw.Run(ctx) })
	cl, err := ingest.Connect(ctx, gw, ingest.ClientConfig{Broker: br.URL(), ClientID: "gw-test",
		Username: fleet.GatewayUser, Password: keys.GatewayPassword})
	if err != nil {
		t.Fatal(err)
	}
	svc := fleet.NewService(db, keys, cl, log)
	token := api.SeedUser(t, db, "admin", access.City, "", adminPassword, false)
	issuer, _, err := cards.LoadKey(dir, cards.DefaultKeyID)
	if err != nil {
		t.Fatal(err)
	}
	desk := cards.NewService(db, issuer, svc, log)
	srv := httptest.NewServer(api.New(db, prometheus.NewRegistry(), log,
		&api.Fleet{Service: svc, Store: db, Cards: desk, Volunteers: &api.Volunteers{Store: db, Vault: testVault(t)}}, opts...))
	t.Cleanup(func() {
		srv.Close()
		cl.Close()
		cancel()
		wg.Wait()
		br.Close()
		db.Close()
	})
	return &testCloud{t: t, db: db, svc: svc, cards: desk, keys: keys, token: token, srv: srv, broker: br.URL(), bundles: map[string]*wire.Bundle{}}
}

func (c *testCloud) addStation(id, county string) {
	c.t.Helper()
	b, err := c.svc.AddStation(context.Background(), id, "", county, c.broker)
	if err != nil {
		c.t.Fatal(err)
	}
	c.bundles[id] = b
}

// call sends a request with the admin token (every /api/v1 route needs
// it) and returns the status and body.
func (c *testCloud) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// push pushes doc (JSON text) to a target ("station", id), ("county",
// name) or ("all", "") and returns the status and body.
func (c *testCloud) push(kind, target, doc string) (int, []byte) {
	c.t.Helper()
	req := api.PushRequest{Doc: json.RawMessage(doc)}
	switch kind {
	case "station":
		req.Station = target
	case "county":
		req.County = target
	case "all":
		req.All = true
	}
	return c.call(http.MethodPost, "/api/v1/config", req)
}

func (c *testCloud) mustPush(kind, target, doc string) {
	c.t.Helper()
	if code, body := c.push(kind, target, doc); code != http.StatusOK {
		c.t.Fatalf("push to %s %s: %d %s", kind, target, code, body)
	}
}

func (c *testCloud) effective(station string) *wire.Config {
	c.t.Helper()
	code, body := c.call(http.MethodGet, "/api/v1/config?station="+station, nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET config of %s: %d %s", station, code, body)
	}
	cfg := new(wire.Config)
	if err := json.Unmarshal(body, cfg); err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

// adminPassword is the password of the test cloud's "admin".
const adminPassword = "correct horse battery"

const setup = `{"profile":{"name":"思茅区南屏街道学雷锋志愿服务站","checklist":[{"item":"统一标识","done":true}]},
	"menu":[{"id":"elderly","name":"关爱空巢老人","items":[{"id":"visit","name":"上门探访"}]}],
	"board":{"workflow":["登记","派单"],"contact_person":"王丽（站长）","phone":"0879-2123456"},
	"announcements":[{"title":"端午节包粽子活动"}],
	"rules":{"max_session_minutes":600}}`

// Pushing only a new contact board (the console's old way wiped the
// menu, name, workflow and checklist) changes the board and keeps the
// rest; null removes a part; the fleet defaults show through in the
// effective config the console loads.
func TestPartialPushKeepsTheRest(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	// Before anything is pushed the console still gets a whole document
	// to edit: the built-in defaults.
	if cfg := c.effective("pe-simao-001"); cfg.Rules == nil || len(cfg.Stars) != 5 {
		t.Fatalf("effective config of a new station: %+v", cfg)
	}
	c.mustPush("station", "pe-simao-001", setup)
	c.mustPush("station", "pe-simao-001", `{"board":{"contact_person":"李华（站长）","phone":"0879-2999999"}}`)
	cfg := c.effective("pe-simao-001")
	if cfg.Profile == nil || cfg.Profile.Name != "思茅区南屏街道学雷锋志愿服务站" || len(cfg.Profile.Checklist) != 1 {
		t.Fatalf("profile lost: %+v", cfg.Profile)
	}
	if len(cfg.Menu) != 1 || len(cfg.Menu[0].Items) != 1 || len(cfg.Announcements) != 1 || cfg.Rules.MaxSessionMinutes != 600 {
		t.Fatalf("menu, announcements or rules lost: %+v %+v %+v", cfg.Menu, cfg.Announcements, cfg.Rules)
	}
	// Board fields merge one by one; the manager's name is a public
	// contact, not a volunteer's, and is not masked.
	if b := cfg.Board; b.Phone != "0879-2999999" || b.ContactPerson != "李华（站长）" || len(b.Workflow) != 2 {
		t.Fatalf("board %+v", b)
	}
	c.mustPush("station", "pe-simao-001", `{"announcements":null,"profile":{"address":"南屏街道"}}`)
	cfg = c.effective("pe-simao-001")
	if len(cfg.Announcements) != 0 || cfg.Profile.Address != "南屏街道" || cfg.Profile.Name == "" {
		t.Fatalf("null did not remove, or the profile lost its name: %+v %+v", cfg.Announcements, cfg.Profile)
	}
	// The fleet defaults merge under the station's own document.
	c.mustPush("all", "", `{"ui":{"large_text":true},"honor_roll":[{"volunteer":"V1","name":"王小明","hours":42.5,"stars":1}]}`)
	cfg = c.effective("pe-simao-001")
	if cfg.UI == nil || !cfg.UI.LargeTextOn() || cfg.UI.IdleTimeoutSeconds == 0 || len(cfg.Menu) != 1 {
		t.Fatalf("fleet defaults not merged: %+v", cfg.UI)
	}
	if len(cfg.HonorRoll) != 1 || cfg.HonorRoll[0].Name != "王*明" {
		t.Fatalf("honor roll %+v: want the name masked", cfg.HonorRoll)
	}
	// A field no config has is refused rather than dropped in silence.
	code, body := c.push("station", "pe-simao-001", `{"menus":[]}`)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "menus") {
		t.Fatalf("unknown field: %d %s", code, body)
	}
}

func TestPushRefusesEmptyingRequiredParts(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.mustPush("station", "pe-simao-001", setup)
	before := c.effective("pe-simao-001").Version
	for _, tc := range []struct{ name, doc, zh string }{
		{"empty menu", `{"menu":[]}`, "服务菜单"},
		{"menu removed", `{"menu":null}`, "服务菜单"},
		{"empty name", `{"profile":{"name":" "}}`, "站点名称"},
		{"profile removed", `{"profile":null}`, "站点名称"},
	} {
		code, body := c.push("station", "pe-simao-001", tc.doc)
		var e struct {
			Error     string `json:"error"`
			MessageZh string `json:"message_zh"`
		}
		json.Unmarshal(body, &e)
		if code != http.StatusUnprocessableEntity || !strings.Contains(e.MessageZh, tc.zh) || !strings.Contains(e.Error, "empty") {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	// A replacing push without a menu is refused too, and so is a fleet
	// push that takes away a menu a station relied on.
	req := api.PushRequest{Station: "pe-simao-001", Doc: json.RawMessage(`{"profile":{"name":"新站"}}`), Replace: true}
	if code, body := c.call(http.MethodPost, "/api/v1/config", req); code != http.StatusUnprocessableEntity {
		t.Errorf("replace without menu: %d %s", code, body)
	}
	c.addStation("pe-ninger-001", "宁洱县")
	c.mustPush("all", "", `{"menu":[{"id":"law","name":"法律","items":[{"id":"advice","name":"法律咨询"}]}]}`)
	c.mustPush("station", "pe-ninger-001", `{"profile":{"name":"宁洱县学雷锋志愿服务站"}}`)
	if code, body := c.push("all", "", `{"menu":null}`); code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "pe-ninger-001") {
		t.Errorf("fleet push emptying a station's menu: %d %s", code, body)
	}
	if v := c.effective("pe-simao-001").Version; v != before {
		t.Fatalf("a refused push changed the document: version %d, was %d", v, before)
	}
}

// Pushes, config reads and commands for a station never registered are
// refused with 404 and a message, and nothing is published.
func TestUnknownStationRefused(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/config", api.PushRequest{Station: "pe-nowhere-001", Doc: json.RawMessage(`{"board":{"phone":"1"}}`)}},
		{http.MethodPost, "/api/v1/config", api.PushRequest{County: "无此县", Doc: json.RawMessage(`{"board":{"phone":"1"}}`)}},
		{http.MethodGet, "/api/v1/config?station=pe-nowhere-001", nil},
		{http.MethodPost, "/api/v1/stations/pe-nowhere-001/commands", api.CommandRequest{Name: wire.CmdResync}},
		{http.MethodGet, "/api/v1/stations/pe-nowhere-001/commands", nil},
	} {
		code, body := c.call(tc.method, tc.path, tc.body)
		var e struct {
			Error     string `json:"error"`
			MessageZh string `json:"message_zh"`
		}
		json.Unmarshal(body, &e)
		if code != http.StatusNotFound || !strings.Contains(e.Error, "not registered") || !strings.Contains(e.MessageZh, "尚未登记") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, code, body)
		}
	}
	if cs, err := c.db.Configs(context.Background()); err != nil || len(cs) != 0 {
		t.Fatalf("configs stored: %v %v", cs, err)
	}
}

// stationView listens as a station would, with its own broker account,
// to everything the cloud sends it: the fleet defaults and its config.
type stationView struct {
	mu   sync.Mutex
	msgs map[string][]byte // topic → last payload (the envelope)
}

func (c *testCloud) listen(station string) *stationView {
	c.t.Helper()
	b := c.bundles[station]
	v := &stationView{msgs: map[string][]byte{}}
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(c.broker).SetClientID(station).
		SetUsername(b.Username).SetPassword(b.Password).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		c.t.Fatalf("%s connects: %v", station, tok.Error())
	}
	c.t.Cleanup(func() { cl.Disconnect(50) })
	for _, topic := range []string{wire.FleetConfigTopic, wire.StationTopic(station, wire.LeafConfig)} {
		tok := cl.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
			v.mu.Lock()
			v.msgs[m.Topic()] = m.Payload()
			v.mu.Unlock()
		})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			c.t.Fatal(tok.Error())
		}
	}
	return v
}

// config waits for the config of version on topic and returns it as the
// kiosk decodes it.
func (v *stationView) config(t *testing.T, c *testCloud, topic string, version uint64) (*wire.Config, []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v.mu.Lock()
		env := v.msgs[topic]
		v.mu.Unlock()
		if env != nil {
			trusted := map[string]ed25519.PublicKey{c.keys.KeyID: c.keys.ConfigKey.Public().(ed25519.PublicKey)}
			payload, _, err := wire.Open(env, trusted)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := wire.DecodeConfig(payload)
			if err != nil {
				t.Fatalf("%s: the kiosk would refuse it: %v", topic, err)
			}
			if cfg.Version >= version {
				return cfg, env
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: version %d not received", topic, version)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *testCloud) version(scope string) uint64 {
	c.t.Helper()
	d, err := c.db.Config(context.Background(), scope)
	if err != nil {
		c.t.Fatal(err)
	}
	return d.Version
}

// session stores a closed session of volunteer at station, of length d.
func (c *testCloud) session(station, volunteer string, seq uint64, d time.Duration) {
	c.t.Helper()
	in, _ := wire.NewRecordID()
	out, _ := wire.NewRecordID()
	at := time.Now().Add(-d - time.Minute).UTC()
	es := []ingest.Entry{
		{Record: wire.Record{ID: in, Station: station, Kind: wire.KindCheckIn, Volunteer: volunteer, Card: "C" + volunteer,
			At: at, Mono: 1, Boot: "b", ClockSynced: true, Seq: seq}, Time: at, Received: at},
		{Record: wire.Record{ID: out, Station: station, Kind: wire.KindCheckOut, Volunteer: volunteer, Card: "C" + volunteer, Ref: in,
			At: at.Add(d), Mono: 1 + int64(d), Boot: "b", ClockSynced: true, Seq: seq + 1}, Time: at.Add(d), Received: at.Add(d)},
	}
	if _, err := c.db.Ingest(context.Background(), es); err != nil {
		c.t.Fatal(err)
	}
}

// finalRecord stores a final card record of cents counted hours for
// volunteer at station: what the hours pass and the public notice make of
// a session, and what a kiosk's roster shows.
func (c *testCloud) finalRecord(id, volunteer, station string, cents int64) {
	c.t.Helper()
	at := time.Now().Add(-2 * time.Hour)
	if _, err := c.db.PutServiceRecords(context.Background(), []store.ServiceRecord{{ID: id, Ledger: store.LedgerCard,
		Volunteer: volunteer, Station: station, ActivityName: "社区助老", Day: at.Format(time.DateOnly), Start: at, End: at.Add(time.Hour),
		CountedCents: cents, Status: store.StatusFinal}}, "test", time.Now()); err != nil {
		c.t.Fatal(err)
	}
}

// The unmasked-name attack and the whole roster on fleet/config: names
// pushed in full (王小明) leave the cloud masked, the fleet defaults carry
// no roster, and each station receives only its own volunteers, with the
// cloud's hours (their final service records' counted hours) and when
// they were counted.
func TestRosterMaskedAndPerStation(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.addStation("pe-ninger-001", "宁洱县")
	simao, ninger := c.listen("pe-simao-001"), c.listen("pe-ninger-001")
	c.session("pe-simao-001", "V1", 1, 90*time.Minute)
	c.finalRecord("tap:v1", "V1", "pe-simao-001", 150)

	c.mustPush("station", "pe-simao-001", `{"volunteers":[{"id":"V1","name":"王小明"},{"id":"V2","name":"欧阳娜娜"}]}`)
	c.mustPush("all", "", `{"volunteers":[{"id":"V3","name":"张三"}],"board":{"contact_person":"王丽（站长）"}}`)

	fleetCfg, fleetEnv := simao.config(t, c, wire.FleetConfigTopic, c.version(fleet.FleetScope))
	if len(fleetCfg.Volunteers) != 0 || bytes.Contains(fleetEnv, []byte("张三")) {
		t.Fatalf("the roster went out on fleet/config: %s", fleetEnv)
	}
	if fleetCfg.Board.ContactPerson != "王丽（站长）" {
		t.Fatalf("the station manager's contact name was changed: %q", fleetCfg.Board.ContactPerson)
	}
	cfg, env := simao.config(t, c, wire.StationTopic("pe-simao-001", wire.LeafConfig), c.version(fleet.StationScope("pe-simao-001")))
	for _, full := range []string{"王小明", "欧阳娜娜", "张三"} {
		if bytes.Contains(env, []byte(full)) {
			t.Fatalf("%s left the cloud unmasked: %s", full, env)
		}
	}
	want := map[string]string{"V1": "王*明", "V2": "欧**娜"}
	if len(cfg.Volunteers) != 2 {
		t.Fatalf("roster of pe-simao-001: %+v", cfg.Volunteers)
	}
	for _, v := range cfg.Volunteers {
		if v.Name != want[v.ID] || v.HoursAsOf.IsZero() {
			t.Errorf("roster entry %+v: want name %q and hours_as_of", v, want[v.ID])
		}
		if v.ID == "V1" && v.Hours != 1.5 {
			t.Errorf("V1 has %g hours, the cloud counts 1.5", v.Hours)
		}
	}

	// V3 serves at 宁洱: the next refresh gives 宁洱 V3 and nothing of 思茅's.
	c.session("pe-ninger-001", "V3", 1, 30*time.Minute)
	c.finalRecord("tap:v3", "V3", "pe-ninger-001", 50)
	if err := c.svc.RefreshRosters(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, env = ninger.config(t, c, wire.StationTopic("pe-ninger-001", wire.LeafConfig), c.version(fleet.StationScope("pe-ninger-001")))
	if len(cfg.Volunteers) != 1 || cfg.Volunteers[0].ID != "V3" || cfg.Volunteers[0].Name != "张*" || cfg.Volunteers[0].Hours != 0.5 {
		t.Fatalf("roster of pe-ninger-001: %+v", cfg.Volunteers)
	}
	ninger.mu.Lock()
	for topic, m := range ninger.msgs {
		for _, other := range []string{`"V1"`, `"V2"`, "王*明", "欧**娜"} {
			if bytes.Contains(m, []byte(other)) {
				t.Errorf("pe-ninger-001 received %s of pe-simao-001 on %s", other, topic)
			}
		}
	}
	ninger.mu.Unlock()

	// Nothing changed: no new version. Hours changed: one new version.
	v := c.version(fleet.StationScope("pe-simao-001"))
	if err := c.svc.RefreshRosters(context.Background()); err != nil {
		t.Fatal(err)
	}
	if nv := c.version(fleet.StationScope("pe-simao-001")); nv != v {
		t.Fatalf("a refresh without changes pushed version %d", nv)
	}
	// A session alone changes nothing the kiosk shows: not counted until
	// its record is final.
	c.session("pe-simao-001", "V2", 10, time.Hour)
	if err := c.svc.RefreshRosters(context.Background()); err != nil {
		t.Fatal(err)
	}
	if nv := c.version(fleet.StationScope("pe-simao-001")); nv != v {
		t.Fatalf("a session not yet final pushed version %d", nv)
	}
	c.finalRecord("tap:v2", "V2", "pe-simao-001", 100)
	if err := c.svc.RefreshRosters(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, _ = simao.config(t, c, wire.StationTopic("pe-simao-001", wire.LeafConfig), v+1)
	for _, e := range cfg.Volunteers {
		if e.ID == "V2" && e.Hours != 1 {
			t.Fatalf("V2 after an hour's service: %+v", e)
		}
	}
}

// Times meant for a person come out in China Standard Time.
func TestTimesInCST(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.session("pe-simao-001", "V1", 1, time.Hour)
	for _, path := range []string{"/api/v1/records?station=pe-simao-001", "/api/v1/volunteers/V1/hours", "/api/v1/fleet"} {
		code, body := c.call(http.MethodGet, path, nil)
		if code != http.StatusOK || !strings.Contains(string(body), "+08:00\"") || strings.Contains(string(body), "Z\"") {
			t.Errorf("%s: %d, want every time with +08:00: %s", path, code, body)
		}
	}
}
