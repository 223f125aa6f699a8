package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
	"leifeng/kiosk/simreader"
)

// orderFixture is the people of the order flow, imported with
// `leifeng-cloud import`: two counties, the community of station st-a and
// of st-b in 思茅区, a community in 宁洱县; the community's volunteer team
// O2 with its volunteer V1, and 宁洱's team O3 with V2.
func orderFixture(t *testing.T, c *cloud) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct{ kind, body string }{
		{"areas", "code,name,parent,level,population\n5308,普洱市,,city,2404954\n530802,思茅区,5308,county,300000\n" +
			"530821,宁洱哈尼族彝族自治县,5308,county,180000\n530802001,思茅街道,530802,township,90000\n" +
			"530821001,宁洱镇,530821,township,60000\n530802001001,茶源社区,530802001,community,8000\n" +
			"530802001002,南屏社区,530802001,community,7000\n530821001001,西门社区,530821001,community,5000\n"},
		{"orgs", "id,name,county,community\nO2,茶源社区志愿服务队,530802,530802001001\nO3,宁洱县志愿服务队,530821,530821001001\n"},
		{"volunteers", "id,name,id_number,community,phone,orgs\nV1,王小明,530802199003071236,530802001001,13987912345,O2\n" +
			"V2,李四,530821198506151232,530821001001,13987912346,O3\n"},
	} {
		file := filepath.Join(dir, f.kind+".csv")
		if err := os.WriteFile(file, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cloudCmd(t, append(append([]string{"import", f.kind}, c.dbArgs()...), file)...)
	}
}

// user adds a user of role and scope to c (the harness's city
// administrator first) and returns an API token for them.
func (c *cloud) user(t testing.TB, name, role, scope string) string {
	t.Helper()
	c.token(t)
	add := exec.Command(filepath.Join(bin, "leifeng-cloud"), append([]string{"admin", "add", "--user", name, "--role", role, "--scope", scope}, c.dbArgs()...)...)
	add.Stdin = strings.NewReader("e2e initial password 2026\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("leifeng-cloud admin add %s: %v\n%s", name, err, out)
	}
	tok, err := exec.Command(filepath.Join(bin, "leifeng-cloud"), append([]string{"token", "create", "--user", name}, c.dbArgs()...)...).Output()
	if err != nil {
		t.Fatalf("leifeng-cloud token create --user %s: %v", name, err)
	}
	return strings.TrimSpace(string(tok))
}

// as calls the API with token; body, when not empty, is sent as JSON.
func (c *cloud) as(t testing.TB, token, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.http+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// apiOrder is an order as the API shows it.
type apiOrder struct {
	ID         int64    `json:"id"`
	Ref        string   `json:"ref"`
	Station    string   `json:"station"`
	Community  string   `json:"community"`
	Category   string   `json:"category"`
	Phone      string   `json:"phone"`
	State      string   `json:"state"`
	Org        string   `json:"org"`
	Volunteers []string `json:"volunteers"`
	Reason     string   `json:"reason"`
	Rating     int      `json:"rating"`
	Comment    string   `json:"comment"`
	History    []struct {
		Who    string `json:"who"`
		Action string `json:"action"`
		From   string `json:"from"`
		To     string `json:"to"`
		Reason string `json:"reason"`
	} `json:"history"`
}

func (c *cloud) orderList(t testing.TB, token, query string) []apiOrder {
	t.Helper()
	code, body := c.as(t, token, http.MethodGet, "/api/v1/orders"+query, "")
	var l struct {
		Orders []apiOrder `json:"orders"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &l) != nil {
		t.Fatalf("GET /api/v1/orders%s: %d %s", query, code, body)
	}
	return l.Orders
}

func (c *cloud) order(t testing.TB, token string, id int64) apiOrder {
	t.Helper()
	code, body := c.as(t, token, http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", id), "")
	var o apiOrder
	if code != http.StatusOK || json.Unmarshal(body, &o) != nil {
		t.Fatalf("GET order %d: %d %s", id, code, body)
	}
	return o
}

// waitOrder waits until the order (seen by token) satisfies cond.
func (c *cloud) waitOrder(t testing.TB, token string, id int64, what string, cond func(apiOrder) bool) apiOrder {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o := c.order(t, token, id)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d: %s not seen within 20s; last %+v", id, what, o)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cloud) act(t testing.TB, token string, id int64, action, body string, want int) {
	t.Helper()
	code, out := c.as(t, token, http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/%s", id, action), body)
	if code != want {
		t.Fatalf("%s order %d: %d %s, want %d", action, id, code, out, want)
	}
}

func hasOrder(list []apiOrder, id int64) bool {
	return slices.ContainsFunc(list, func(o apiOrder) bool { return o.ID == id })
}

// stationDocs follows the station documents the cloud publishes retained
// on the broker (what the kiosks receive), verified with the cloud's
// config key.
type stationDocs struct {
	mu   sync.Mutex
	last map[string]*wire.Config
}

func (c *cloud) followDocs(t testing.TB, stations ...string) *stationDocs {
	t.Helper()
	keys := c.keys(t)
	trusted := map[string]ed25519.PublicKey{keys.KeyID: keys.ConfigKey.Public().(ed25519.PublicKey)}
	d := &stationDocs{last: map[string]*wire.Config{}}
	cl := c.asCloud(t, c.mqtt)
	for _, st := range stations {
		tok := cl.Subscribe(wire.StationTopic(st, wire.LeafConfig), 1, func(_ paho.Client, m paho.Message) {
			payload, _, err := wire.Open(m.Payload(), trusted)
			if err != nil {
				return
			}
			var doc wire.Config
			if json.Unmarshal(payload, &doc) != nil {
				return
			}
			d.mu.Lock()
			if prev := d.last[st]; prev == nil || doc.Version > prev.Version {
				d.last[st] = &doc
			}
			d.mu.Unlock()
		})
		if tok.Wait(); tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	return d
}

// waitApplied waits until station's document satisfies cond and the
// station's kiosk reports running that version (or a later one), and
// returns the document.
func (d *stationDocs) waitApplied(t testing.TB, c *cloud, station, what string, cond func(*wire.Config) bool) *wire.Config {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.mu.Lock()
		doc := d.last[station]
		d.mu.Unlock()
		if doc != nil && cond(doc) {
			c.waitStation(t, station, fmt.Sprintf("document %d (%s) applied", doc.Version, what), 20*time.Second, func(s stationView) bool {
				return s.ConfigVersion >= doc.Version && s.ConfigError == ""
			})
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("station %s: no document with %s within 30s; last %+v", station, what, doc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func docOrder(doc *wire.Config, ref string) (wire.OrderStatus, bool) {
	for _, o := range doc.Orders {
		if o.Ref == ref {
			return o, true
		}
	}
	return wire.OrderStatus{}, false
}

// TestOrderFlow, on SQLite and on PostgreSQL, is issue 13's "Show it" for the order flow, with the real
// binaries: a resident registers a need at kiosk st-a while the cloud
// (and its broker) is down, so the record waits in the kiosk's outbox;
// when the cloud returns it syncs and the orders pass takes it in. The
// station manager of st-a dispatches it to the community's team O2, whose
// administrator accepts and assigns V1. The station's document, applied
// by the kiosk, carries the order's state for the resident's lookup and
// V1's task. V1 taps in at st-a, starts the order against the check-in
// (order_start) and taps out: the order is completed. The resident rates
// it at kiosk st-b with the reference and the phone's last four digits:
// rated. Every step is in the order's history with who took it; the order
// is in the queues of the station manager, the organisation's
// administrator and the city, and not in another county's or another
// organisation's (404 for the single order). A second need is rejected
// with a reason, which reaches st-a's document for the resident's lookup.
func TestOrderFlow(t *testing.T) {
	for _, b := range []backend{{"sqlite", "embedded", "sqlite"}, {"postgres", "embedded", "postgres"}} {
		t.Run(b.name, func(t *testing.T) {
			o := cloudOpt{extra: []string{"--orders-every", "200ms"}}
			if b.db == "postgres" {
				o.db = pgtest.NewDatabase(t, pgtest.Start(t))
			}
			orderFlow(t, startCloud(t, o))
		})
	}
}

func orderFlow(t *testing.T, c *cloud) {
	orderFixture(t, c)
	bundleA := c.addStation(t, "st-a", "530802", "--community", "530802001001")
	bundleB := c.addStation(t, "st-b", "530802", "--community", "530802001002")
	city := c.token(t)
	manager := c.user(t, "manager-a", "station", "st-a")
	orgAdmin := c.user(t, "org-o2", "org", "O2")
	ninger := c.user(t, "county-ninger", "county", "530821")
	otherOrg := c.user(t, "org-o3", "org", "O3")

	ka := startKiosk(t, "st-a", c.mqtt, "--bundle", bundleA)
	kb := startKiosk(t, "st-b", c.mqtt, "--bundle", bundleB)
	c.waitStation(t, "st-a", "online", 20*time.Second, func(s stationView) bool { return s.Online })
	c.waitStation(t, "st-b", "online", 20*time.Second, func(s stationView) bool { return s.Online })

	// Offline: the cloud and its broker are down; the kiosk keeps the
	// needs in its outbox.
	c.stop()
	ctx := context.Background()
	need := func(service, phone, note string) string {
		r, err := ka.rc.Send(ctx, simreader.Request{Kind: "service_request", Service: service, Phone: phone, Note: note})
		if err != nil || !r.OK || r.Kind != string(wire.KindServiceRequest) {
			t.Fatalf("service request at st-a: %v %+v", err, r)
		}
		return fmt.Sprintf("XQ-%04d", r.Seq)
	}
	ref := need("家政", "13800005678", "每周二上午")
	refRejected := need("法律", "13900001111", "")
	c.start()
	waitDial(t, strings.TrimPrefix(c.http, "http://"), c.proc)
	// The cloud is back: the outbox syncs, the orders pass takes both in.
	docs := c.followDocs(t, "st-a", "st-b")

	var id, idRejected int64
	deadline := time.Now().Add(30 * time.Second)
	for id == 0 || idRejected == 0 {
		for _, o := range c.orderList(t, city, "?state=submitted") {
			switch o.Ref {
			case ref:
				id = o.ID
			case refRejected:
				idRejected = o.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the needs %s and %s did not become orders within 30s", ref, refRejected)
		}
		time.Sleep(100 * time.Millisecond)
	}
	o := c.order(t, manager, id)
	if o.Station != "st-a" || o.Community != "530802001001" || o.Category != "家政" || o.Phone != "13800005678" {
		t.Fatalf("order from the kiosk: %+v", o)
	}
	doc := docs.waitApplied(t, c, "st-a", "the new order", func(d *wire.Config) bool {
		s, ok := docOrder(d, ref)
		return ok && s.State == "submitted"
	})
	// The kiosk's lookup (kiosk/ui lookupOrder) compares
	// wire.OrderCheck(its config's station, the reference typed, the
	// digits typed) with the order's check: the document must name the
	// station and carry the check made from the phone's last four digits.
	if doc.Station != "st-a" {
		t.Fatalf("st-a's document names station %q", doc.Station)
	}
	if s, _ := docOrder(doc, ref); s.Check != wire.OrderCheck(doc.Station, ref, "5678") || s.Check == wire.OrderCheck(doc.Station, ref, "5679") {
		t.Fatalf("the kiosk's lookup check for %s: %+v", ref, s)
	}

	// Queues: the station manager, the city; not the other county, not
	// an organisation before dispatch.
	for _, q := range []struct {
		who, token string
		want       bool
	}{{"station manager", manager, true}, {"city", city, true}, {"宁洱 county", ninger, false}, {"O2 before dispatch", orgAdmin, false}, {"O3", otherOrg, false}} {
		if got := hasOrder(c.orderList(t, q.token, ""), id); got != q.want {
			t.Fatalf("%s's list has the order: %v, want %v", q.who, got, q.want)
		}
	}

	// 派单 by the station manager; 接单 and assignment by O2's
	// administrator. O3 and 宁洱 cannot see it, let alone act.
	c.act(t, orgAdmin, id, "accept", "", http.StatusNotFound)
	c.act(t, manager, id, "dispatch", `{"org":"O2"}`, http.StatusOK)
	c.act(t, otherOrg, id, "accept", "", http.StatusNotFound)
	c.act(t, orgAdmin, id, "accept", "", http.StatusOK)
	c.act(t, orgAdmin, id, "assign", `{"volunteers":["V2"]}`, http.StatusUnprocessableEntity)
	c.act(t, orgAdmin, id, "assign", `{"volunteers":["V1"]}`, http.StatusOK)
	for _, q := range []struct {
		who, token string
		want       bool
	}{{"station manager", manager, true}, {"O2", orgAdmin, true}, {"city", city, true}, {"宁洱 county", ninger, false}, {"O3", otherOrg, false}} {
		if got := hasOrder(c.orderList(t, q.token, ""), id); got != q.want {
			t.Fatalf("after assignment, %s's list has the order: %v, want %v", q.who, got, q.want)
		}
	}
	for who, token := range map[string]string{"宁洱 county": ninger, "O3": otherOrg} {
		if code, body := c.as(t, token, http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", id), ""); code != http.StatusNotFound ||
			strings.Contains(string(body), "13800005678") {
			t.Fatalf("%s reads the order: %d %s", who, code, body)
		}
	}

	// The kiosk's document: the order accepted, V1's task.
	docs.waitApplied(t, c, "st-a", "the order accepted and V1's task", func(d *wire.Config) bool {
		s, ok := docOrder(d, ref)
		if !ok || s.State != "accepted" {
			return false
		}
		for _, v := range d.Volunteers {
			if v.ID == "V1" && slices.Contains(v.Tasks, wire.Task{Ref: ref, Category: "家政"}) && wire.NameMasked(v.Name) {
				return true
			}
		}
		return false
	})

	// 服务: V1 taps in at st-a, starts the order against the check-in,
	// taps out.
	in := ka.mustTap(t, "V1")
	tappedIn := time.Now()
	if in.Kind != string(wire.KindCheckIn) {
		t.Fatalf("first tap: %+v", in)
	}
	if r, err := ka.rc.Send(ctx, simreader.Request{Kind: "order_start", Order: ref, Volunteer: "V1", CheckIn: in.ID}); err != nil || !r.OK {
		t.Fatalf("order_start: %v %+v", err, r)
	}
	c.waitOrder(t, orgAdmin, id, "in service", func(o apiOrder) bool { return o.State == "in_service" })
	// The same card within the debounce window (3 s in the documents the
	// kiosk applied) is the same tap.
	time.Sleep(time.Until(tappedIn.Add(3200 * time.Millisecond)))
	if out := ka.mustTap(t, "V1"); out.Kind != string(wire.KindCheckOut) || out.CheckIn != in.ID {
		t.Fatalf("second tap: %+v", out)
	}
	c.waitOrder(t, orgAdmin, id, "completed", func(o apiOrder) bool { return o.State == "completed" })

	// 评单 at another station's kiosk: wrong digits change nothing, the
	// right ones rate.
	for _, r := range []simreader.Request{
		{Kind: "order_rating", Order: ref, Phone: "0000", Rating: 1},
		{Kind: "order_rating", Order: ref, Phone: "5678", Rating: 5, Note: "准时到达"},
	} {
		if rep, err := kb.rc.Send(ctx, r); err != nil || !rep.OK {
			t.Fatalf("order_rating at st-b: %v %+v", err, rep)
		}
	}
	o = c.waitOrder(t, manager, id, "rated", func(o apiOrder) bool { return o.State == "rated" })
	if o.Rating != 5 || o.Comment != "准时到达" {
		t.Fatalf("rated order: %+v", o)
	}
	var steps []string
	for _, ev := range o.History {
		steps = append(steps, ev.Action+"/"+ev.To+"/"+ev.Who)
	}
	want := []string{
		"submit/submitted/站点 st-a",
		"dispatch/dispatched/manager-a",
		"accept/accepted/org-o2",
		"assign/accepted/org-o2",
		"start/in_service/站点 st-a · 志愿者 V1",
		"complete/completed/站点 st-a · 志愿者 V1",
		"rate/rated/居民",
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("history\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	docs.waitApplied(t, c, "st-a", "the order rated, the task gone, the served count", func(d *wire.Config) bool {
		s, ok := docOrder(d, ref)
		if !ok || s.State != "rated" || d.Served == nil {
			return false
		}
		for _, v := range d.Volunteers {
			if v.ID == "V1" && len(v.Tasks) != 0 {
				return false
			}
		}
		return slices.Contains(d.Served.Counts, wire.ServedCount{Category: "家政", Count: 1})
	})

	// Rejection with a reason reaches the resident's lookup at st-a.
	const reason = "不在服务范围，已转介司法所"
	c.act(t, manager, idRejected, "reject", `{}`, http.StatusUnprocessableEntity)
	c.act(t, manager, idRejected, "reject", fmt.Sprintf(`{"reason":%q}`, reason), http.StatusOK)
	doc = docs.waitApplied(t, c, "st-a", "the rejection and its reason", func(d *wire.Config) bool {
		s, ok := docOrder(d, refRejected)
		return ok && s.State == "rejected" && s.Reason == reason
	})
	// What kiosk/ui TestOrderRejectedAndWrongDigits shows from such an
	// entry: 已拒绝 and 原因：<reason>.
	if s, _ := docOrder(doc, refRejected); doc.Station != "st-a" || s.Check != wire.OrderCheck(doc.Station, refRejected, "1111") {
		t.Fatalf("rejected order's lookup check: %+v", s)
	}
	if r := c.order(t, city, idRejected); len(r.History) != 2 || r.History[1].Who != "manager-a" || r.History[1].Reason != reason {
		t.Fatalf("rejected order's history: %+v", r.History)
	}
	// Nothing of st-a's orders in st-b's document.
	docs.mu.Lock()
	b := docs.last["st-b"]
	docs.mu.Unlock()
	if b != nil {
		if _, ok := docOrder(b, ref); ok {
			t.Fatalf("st-b's document carries st-a's order")
		}
	}
}
