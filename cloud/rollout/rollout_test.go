package rollout_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/broker"
	"leifeng/cloud/fleet"
	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// kit is the cloud around a rollout: a real database, the embedded broker
// with the stations registered, the fleet service sending signed commands
// through it, and a listener that opens every command the way a kiosk
// does and keeps the update offers.
type kit struct {
	t    *testing.T
	db   *store.Store
	fl   *fleet.Service
	svc  *rollout.Service
	keys *fleet.Keys

	mu     sync.Mutex
	offers map[string][]wire.UpdateOffer
}

func newKit(t *testing.T, dsn string) *kit {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fleet.LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	br, err := broker.StartOptions(broker.Options{Addr: "127.0.0.1:0", Auth: &broker.Auth{CloudUser: fleet.GatewayUser,
		CloudPassword: keys.GatewayPassword, Creds: fleet.Creds{Store: db}}, Log: log})
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
	k := &kit{t: t, db: db, keys: keys, offers: map[string][]wire.UpdateOffer{}}
	k.fl = fleet.NewService(db, keys, cl, log)
	k.svc = rollout.NewService(db, k.fl, "https://cloud.example/firmware", log)

	trusted := map[string]ed25519.PublicKey{keys.KeyID: keys.ConfigKey.Public().(ed25519.PublicKey)}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("listener").
		SetUsername(fleet.GatewayUser).SetPassword(keys.GatewayPassword).SetAutoReconnect(false))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("listener connects: %v", tok.Error())
	}
	tok := sub.Subscribe(wire.Prefix+"/stations/+/"+wire.LeafCommands, 1, func(_ paho.Client, m paho.Message) {
		station := strings.Split(m.Topic(), "/")[len(strings.Split(wire.Prefix, "/"))+1]
		payload, _, err := wire.Open(m.Payload(), trusted)
		if err != nil {
			t.Errorf("command to %s does not verify: %v", station, err)
			return
		}
		c, err := wire.DecodeCommand(payload, station, time.Now())
		if err != nil {
			t.Errorf("the kiosk %s would refuse its command: %v", station, err)
			return
		}
		var o wire.UpdateOffer
		if c.Name != wire.CmdUpdateOffer || json.Unmarshal(c.Args, &o) != nil {
			t.Errorf("%s got %s %s", station, c.Name, c.Args)
			return
		}
		k.mu.Lock()
		k.offers[station] = append(k.offers[station], o)
		k.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() {
		sub.Disconnect(50)
		cl.Close()
		cancel()
		wg.Wait()
		br.Close()
		db.Close()
	})
	return k
}

func (k *kit) add(id, county string) {
	k.t.Helper()
	if _, err := k.fl.AddStation(context.Background(), id, "", county, "tcp://127.0.0.1:1"); err != nil {
		k.t.Fatal(err)
	}
}

// waitOffers waits until exactly the stations want have been offered
// (sorted), each once, and fails on any other.
func (k *kit) waitOffers(want []string) {
	k.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		k.mu.Lock()
		var got []string
		for s, os := range k.offers {
			for range os {
				got = append(got, s)
			}
		}
		k.mu.Unlock()
		sort.Strings(got)
		if slices.Equal(got, want) {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			k.t.Fatalf("offers went to %v\nwant %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// report feeds the state a kiosk publishes while it updates, through the
// store as the gateway does.
// Reports are seen by the cloud's clock, after the offers it made.
var seen time.Time

func next() time.Time {
	seen = seen.Add(time.Millisecond)
	if now := time.Now(); now.After(seen) {
		seen = now
	}
	return seen
}

func (k *kit) report(station, version, step, reason string) {
	k.t.Helper()
	next()
	st := &wire.State{V: wire.Version, Station: station, Online: true, Firmware: "1.0.0",
		Update: &wire.UpdateStatus{Version: version, Step: step, Reason: reason, At: seen}}
	if err := k.db.SaveState(context.Background(), st, seen); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kit) rollout(id int64) *rollout.View {
	k.t.Helper()
	v, err := k.svc.View(context.Background(), id)
	if err != nil {
		k.t.Fatal(err)
	}
	return v
}

func dialects() []struct {
	name string
	dsn  func(t *testing.T) string
} {
	return []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	}
}

// A staged rollout on both databases: the canary first, then the stations
// of each percentage; a held county and a held station never get an
// offer; the phase advances once its stations committed; the second
// failure of a phase whose threshold is one pauses it there and then (no
// more offers), with the reason; resume, an admin's advance, letting the
// county back, and abort.
func TestStagedRollout(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKit(t, d.dsn(t))
			var all []string
			county := map[string]string{}
			for i := range 20 {
				for _, c := range []struct{ prefix, county string }{{"pe-sm", "思茅区"}, {"pe-ne", "宁洱县"}} {
					id := fmt.Sprintf("%s-%02d", c.prefix, i)
					k.add(id, c.county)
					all = append(all, id)
					county[id] = c.county
				}
			}
			sort.Strings(all)
			const target, version = "kiosk-1.2.0-rpi4-arm64.tar", "1.2.0"
			one := 1
			r, err := k.svc.Create(ctx, rollout.Spec{Target: target, Version: version,
				Canary: []string{"pe-sm-00", "pe-ne-00"}, Percents: []float64{30, 100}, MaxFailed: &one,
				Holds: []store.RolloutHold{{Kind: "county", Value: "宁洱县"}, {Kind: "station", Value: "pe-sm-03"}}})
			if err != nil {
				t.Fatal(err)
			}
			// The canary of the held county is held too.
			k.waitOffers([]string{"pe-sm-00"})
			k.mu.Lock()
			o := k.offers["pe-sm-00"][0]
			k.mu.Unlock()
			if o != (wire.UpdateOffer{Version: version, URL: "https://cloud.example/firmware", Target: target}) {
				t.Fatalf("offer %+v", o)
			}
			if v := k.rollout(r.ID); v.Phase != 0 || v.State != store.RolloutActive || len(v.Stations) != 1 || v.Stations[0].Text != "已提供" {
				t.Fatalf("after create: %+v", v)
			}

			// Progress is recorded as reported; the phase completes.
			k.report("pe-sm-00", version, wire.UpdateDownloading, "")
			if v := k.rollout(r.ID); v.Stations[0].Step != wire.UpdateDownloading {
				t.Fatalf("downloading not recorded: %+v", v.Stations)
			}
			k.report("pe-sm-00", version, wire.UpdateCommitted, "")
			if err := k.svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			phase1 := []string{"pe-sm-00"}
			for _, s := range all {
				if s != "pe-sm-00" && s != "pe-sm-03" && county[s] != "宁洱县" && rollout.Selected(s, target, 30) {
					phase1 = append(phase1, s)
				}
			}
			sort.Strings(phase1)
			if len(phase1) < 3 {
				t.Fatalf("30%% of the fleet took only %v: pick other station names", phase1)
			}
			k.waitOffers(phase1)
			v := k.rollout(r.ID)
			if v.Phase != 1 || v.Stations[0].Text != "已生效" {
				t.Fatalf("after the canary committed: phase %d, %+v", v.Phase, v.Stations)
			}

			// One failure is within the threshold; the second pauses.
			var fresh []string
			for _, s := range phase1 {
				if s != "pe-sm-00" {
					fresh = append(fresh, s)
				}
			}
			k.report(fresh[0], version, wire.UpdateRolledBack, "读卡器没有回应")
			k.report(fresh[0], version, wire.UpdateRolledBack, "读卡器没有回应")
			if v := k.rollout(r.ID); v.State != store.RolloutActive {
				t.Fatalf("paused after one failure with max_failed 1: %s %s", v.State, v.Reason)
			}
			k.report(fresh[1], version, wire.UpdateFailed, "下载的文件校验不符")
			v = k.rollout(r.ID)
			if v.State != store.RolloutPaused || !strings.Contains(v.Reason, "自动暂停") || v.StateText != "已暂停" {
				t.Fatalf("not paused at the threshold: %s %q", v.State, v.Reason)
			}
			texts := map[string]string{}
			for _, s := range v.Stations {
				texts[s.Station] = s.Text
			}
			if texts[fresh[0]] != "已回滚（读卡器没有回应）" || texts[fresh[1]] != "失败（下载的文件校验不符）" {
				t.Fatalf("per-station status: %v", texts)
			}
			// Paused: committing everything else neither advances nor offers.
			for _, s := range fresh[2:] {
				k.report(s, version, wire.UpdateCommitted, "")
			}
			if err := k.svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if v := k.rollout(r.ID); v.Phase != 1 || v.State != store.RolloutPaused {
				t.Fatalf("a paused rollout moved: phase %d %s", v.Phase, v.State)
			}
			if err := k.svc.Advance(ctx, r.ID); !errors.Is(err, store.ErrRolloutState) {
				t.Fatalf("advance of a paused rollout: %v", err)
			}

			// Resumed, the repeated reports of the old failures do not
			// pause it again; the admin advances to 100%.
			if err := k.svc.Resume(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			k.report(fresh[1], version, wire.UpdateFailed, "下载的文件校验不符")
			if v := k.rollout(r.ID); v.State != store.RolloutActive {
				t.Fatalf("a repeated report paused it again: %q", v.Reason)
			}
			if err := k.svc.Advance(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			var phase2 []string
			for _, s := range all {
				if s != "pe-sm-03" && county[s] != "宁洱县" {
					phase2 = append(phase2, s)
				}
			}
			k.waitOffers(phase2)

			// The county let back in gets its offers; the held station
			// still none.
			if err := k.svc.Hold(ctx, r.ID, store.RolloutHold{Kind: "county", Value: "宁洱县"}, false); err != nil {
				t.Fatal(err)
			}
			var phase2all []string
			for _, s := range all {
				if s != "pe-sm-03" {
					phase2all = append(phase2all, s)
				}
			}
			k.waitOffers(phase2all)

			if err := k.svc.Abort(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			if err := k.svc.Resume(ctx, r.ID); !errors.Is(err, store.ErrRolloutState) {
				t.Fatalf("resume of an aborted rollout: %v", err)
			}
			// An aborted rollout no longer follows reports.
			k.report("pe-ne-05", version, wire.UpdateFailed, "x")
			for _, s := range k.rollout(r.ID).Stations {
				if s.Station == "pe-ne-05" && s.Step == wire.UpdateFailed {
					t.Fatal("an aborted rollout recorded a report")
				}
			}
		})
	}
}

// A rollout whose stations all commit advances through every phase by
// itself and is done; a station already on the version is counted as
// committed without an offer; a percentage threshold pauses when more
// than that share of a phase fails.
func TestRolloutCompletesAndPercentThreshold(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKit(t, d.dsn(t))
			for _, id := range []string{"pe-a", "pe-b", "pe-c", "pe-d"} {
				k.add(id, "思茅区")
			}
			if err := k.db.SaveState(ctx, &wire.State{V: wire.Version, Station: "pe-d", Online: true, Firmware: "2.0.0"}, next()); err != nil {
				t.Fatal(err)
			}
			r, err := k.svc.Create(ctx, rollout.Spec{Target: "t-2.0.0", Version: "2.0.0", Canary: []string{"pe-a"}, Percents: []float64{100}})
			if err != nil {
				t.Fatal(err)
			}
			k.waitOffers([]string{"pe-a"})
			k.report("pe-a", "2.0.0", wire.UpdateCommitted, "")
			if err := k.svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			k.waitOffers([]string{"pe-a", "pe-b", "pe-c"})
			k.report("pe-b", "2.0.0", wire.UpdateCommitted, "")
			k.report("pe-c", "2.0.0", wire.UpdateCommitted, "")
			if err := k.svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if v := k.rollout(r.ID); v.State != store.RolloutDone || len(v.Stations) != 4 {
				t.Fatalf("not done: %s, %+v", v.State, v.Stations)
			}

			// 50%: one failure of two offered is not over it, two are.
			for _, id := range []string{"pe-e", "pe-f"} {
				k.add(id, "思茅区")
			}
			noCount := -1
			r2, err := k.svc.Create(ctx, rollout.Spec{Target: "t-2.1.0", Version: "2.1.0", Percents: []float64{100},
				MaxFailed: &noCount, MaxFailedPct: 50})
			if err != nil {
				t.Fatal(err)
			}
			k.report("pe-e", "2.1.0", wire.UpdateFailed, "空间不足")
			if v := k.rollout(r2.ID); v.State != store.RolloutActive {
				t.Fatalf("1 of 6 failed paused at 50%%: %q", v.Reason)
			}
			for _, id := range []string{"pe-a", "pe-b", "pe-c"} {
				k.report(id, "2.1.0", wire.UpdateRolledBack, "健康检查未通过")
			}
			if v := k.rollout(r2.ID); v.State != store.RolloutPaused || !strings.Contains(v.Reason, "超过 50%") {
				t.Fatalf("4 of 6 failed: %s %q", v.State, v.Reason)
			}
		})
	}
}

// What Create refuses.
func TestCreateRefuses(t *testing.T) {
	k := newKit(t, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"))
	for _, s := range []rollout.Spec{
		{Version: "1.0.0", Percents: []float64{10}},
		{Target: "t", Percents: []float64{10}},
		{Target: "t", Version: "1.0.0"},
		{Target: "t", Version: "1.0.0", Percents: []float64{0}},
		{Target: "t", Version: "1.0.0", Percents: []float64{101}},
		{Target: "t", Version: "1.0.0", Canary: []string{"bad id!"}},
		{Target: "t", Version: "1.0.0", Percents: []float64{10}, Holds: []store.RolloutHold{{Kind: "city", Value: "普洱"}}},
	} {
		if _, err := k.svc.Create(context.Background(), s); !errors.Is(err, rollout.ErrInvalid) {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

// An offer the station never answered within OfferTTL (it was offline
// all along) is made again, with a new signed command; one answered is
// not.
func TestExpiredOfferSentAgain(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"))
	k.add("pe-a", "思茅区")
	k.add("pe-b", "思茅区")
	k.svc.OfferTTL = time.Hour
	if _, err := k.svc.Create(ctx, rollout.Spec{Target: "t-3.0.0", Version: "3.0.0", Canary: []string{"pe-a", "pe-b"}, Percents: []float64{100}}); err != nil {
		t.Fatal(err)
	}
	k.waitOffers([]string{"pe-a", "pe-b"})
	k.report("pe-b", "3.0.0", wire.UpdateDownloading, "")
	if err := k.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	k.waitOffers([]string{"pe-a", "pe-b"})
	k.svc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := k.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	k.waitOffers([]string{"pe-a", "pe-a", "pe-b"})
}
