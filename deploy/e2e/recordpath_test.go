package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/cloud/fleet"
	"leifeng/gateway/wire"
)

// hoursReply is GET /api/v1/volunteers/{id}/hours.
type hoursReply struct {
	Volunteer string  `json:"volunteer"`
	Hours     float64 `json:"hours"`
	Sessions  int     `json:"sessions"`
	Open      int     `json:"open"`
	List      []struct {
		CheckIn  string  `json:"check_in"`
		CheckOut string  `json:"check_out"`
		Seconds  float64 `json:"seconds"`
		Review   bool    `json:"review"`
	} `json:"list"`
}

// checkExactlyOnce checks that the database holds each of station's
// records once, that their seqs run 1..n without a gap (nothing the kiosk
// committed is missing) and that every confirmed ID is among them.
func checkExactlyOnce(t *testing.T, rs []apiRecord, confirmed []string) {
	t.Helper()
	ids := map[string]bool{}
	for i, r := range rs {
		if ids[r.ID] {
			t.Fatalf("record %s stored twice", r.ID)
		}
		ids[r.ID] = true
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: a gap or a duplicate in the station's sequence", i, r.Seq)
		}
	}
	for _, id := range confirmed {
		if !ids[id] {
			t.Fatalf("confirmed record %s is not in the database", id)
		}
	}
}

// Two kiosks, N taps: exactly N records, sessions paired, hours right; on
// each broker and each database.
func TestEndToEnd(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := startEnv(t, b)
			kiosks := []*kiosk{
				startKiosk(t, "pe-simao-001", e.cloud.mqtt),
				startKiosk(t, "pe-ninger-002", e.cloud.mqtt),
			}
			const volunteers = 5
			seconds := map[string]float64{}
			for _, k := range kiosks {
				for v := range volunteers {
					r := k.mustTap(t, fmt.Sprintf("V-%s-%d", k.station, v))
					if r.Kind != "check_in" {
						t.Fatalf("first tap: %+v", r)
					}
				}
			}
			// Past the debounce window, the second tap checks out.
			time.Sleep(3100 * time.Millisecond)
			for _, k := range kiosks {
				for v := range volunteers {
					vol := fmt.Sprintf("V-%s-%d", k.station, v)
					r := k.mustTap(t, vol)
					if r.Kind != "check_out" || r.Seconds < 3 {
						t.Fatalf("second tap: %+v", r)
					}
					seconds[vol] = r.Seconds
				}
			}
			for _, k := range kiosks {
				rs := e.cloud.waitRecords(t, k.station, 2*volunteers, 20*time.Second)
				checkExactlyOnce(t, rs, nil)
				if len(rs) != 2*volunteers {
					t.Fatalf("%s: %d records", k.station, len(rs))
				}
			}
			for vol, want := range seconds {
				var h hoursReply
				e.cloud.get(t, "/api/v1/volunteers/"+vol+"/hours", &h)
				if h.Sessions != 1 || h.Open != 0 || len(h.List) != 1 {
					t.Fatalf("%s: %+v", vol, h)
				}
				// The kiosk and the cloud both take the duration from the
				// monotonic clock: they agree to the millisecond.
				if math.Abs(h.List[0].Seconds-want) > 0.001 || math.Abs(h.Hours-want/3600) > 1e-6 {
					t.Fatalf("%s: cloud says %v s (%v h), kiosk said %v s", vol, h.List[0].Seconds, h.Hours, want)
				}
			}
			var stations struct {
				Stations []struct {
					ID      string `json:"id"`
					Online  bool   `json:"online"`
					Records int    `json:"records"`
				} `json:"stations"`
			}
			e.cloud.get(t, "/api/v1/stations", &stations)
			if len(stations.Stations) != 2 {
				t.Fatalf("stations: %+v", stations)
			}
			for _, s := range stations.Stations {
				if !s.Online || s.Records != 2*volunteers {
					t.Fatalf("station %+v", s)
				}
			}
		})
	}
}

// tapBurst taps from a goroutine until stop closes, giving each volunteer
// a check-in, and returns the IDs the kiosk confirmed.
func tapBurst(k *kiosk, prefix string, stop <-chan struct{}) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var confirmed []string
		for i := 0; ; i++ {
			select {
			case <-stop:
				out <- confirmed
				return
			default:
			}
			r, err := k.tap(fmt.Sprintf("%s-%d", prefix, i))
			if err != nil {
				// The kiosk is down; this tap was never confirmed.
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if r.OK {
				confirmed = append(confirmed, r.ID)
			}
		}
	}()
	return out
}

// Power cut: the kiosk is killed with SIGKILL at random moments of a burst
// of taps, 20 times, and restarted on the same data directory each time.
// Every tap it confirmed reaches the database exactly once, and the
// station's sequence has no gap.
func TestPowerCut(t *testing.T) {
	e := startEnv(t, backends[0])
	k := startKiosk(t, "pe-simao-001", e.cloud.mqtt)
	rng := rand.New(rand.NewPCG(1, 2))
	var confirmed []string
	const trials = 20
	for trial := range trials {
		stop := make(chan struct{})
		got := tapBurst(k, fmt.Sprintf("T%02d", trial), stop)
		time.Sleep(time.Duration(20+rng.IntN(250)) * time.Millisecond)
		k.kill()
		close(stop)
		confirmed = append(confirmed, <-got...)
		k.restartKiosk(t)
	}
	if len(confirmed) < trials {
		t.Fatalf("only %d taps confirmed in %d trials: the burst did not run", len(confirmed), trials)
	}
	// Records committed but not confirmed before a kill arrive too, so the
	// count alone says nothing: wait for every confirmed ID. The outbox
	// drains in seq order, so what is stored is always a gapless prefix.
	rs := e.cloud.waitIDs(t, k.station, confirmed, 60*time.Second)
	checkExactlyOnce(t, rs, confirmed)
	t.Logf("%d trials: %d taps confirmed, %d records stored", trials, len(confirmed), len(rs))
}

// checkOrder checks that a station's records reached the database in the
// order the kiosk made them.
func checkOrder(t *testing.T, rs []apiRecord) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		if rs[i].Received.Before(rs[i-1].Received) {
			t.Fatalf("record seq %d received at %v, before seq %d at %v", rs[i].Seq, rs[i].Received, rs[i-1].Seq, rs[i-1].Received)
		}
	}
}

// The broker is down for the first half of a burst: the kiosks confirm
// taps offline, and when the broker returns everything arrives, in order.
func TestBrokerDown(t *testing.T) {
	e := startEnv(t, backend{"mosquitto-sqlite", "mosquitto", "sqlite"})
	a := startKiosk(t, "st-a", e.cloud.mqtt)
	b := startKiosk(t, "st-b", e.cloud.mqtt)
	a.mustTap(t, "warmup-a")
	b.mustTap(t, "warmup-b")
	e.cloud.waitRecords(t, "st-a", 1, 10*time.Second)
	e.mq.Stop()
	var confirmed []string
	for i := range 40 {
		confirmed = append(confirmed, a.mustTap(t, fmt.Sprintf("A%d", i)).ID, b.mustTap(t, fmt.Sprintf("B%d", i)).ID)
	}
	time.Sleep(time.Second)
	e.mq.Start()
	for i := 40; i < 80; i++ {
		confirmed = append(confirmed, a.mustTap(t, fmt.Sprintf("A%d", i)).ID, b.mustTap(t, fmt.Sprintf("B%d", i)).ID)
	}
	for _, k := range []*kiosk{a, b} {
		rs := e.cloud.waitRecords(t, k.station, 81, 60*time.Second)
		checkExactlyOnce(t, rs, nil)
		checkOrder(t, rs)
	}
	all := map[string]bool{}
	for _, st := range []string{"st-a", "st-b"} {
		for _, r := range e.cloud.records(t, st) {
			all[r.ID] = true
		}
	}
	for _, id := range confirmed {
		if !all[id] {
			t.Fatalf("confirmed %s lost", id)
		}
	}
}

// The gateway (the whole cloud process) is killed and restarted in the
// middle of a stream; then the database server is restarted in the middle
// of a stream. Nothing is lost and nothing is stored twice.
func TestGatewayAndDatabaseRestart(t *testing.T) {
	e := startEnv(t, backend{"mosquitto-postgres", "mosquitto", "postgres"})
	k := startKiosk(t, "st-a", e.cloud.mqtt)
	var confirmed []string
	for round, fault := range []func(){
		func() { e.cloud.kill(); time.Sleep(500 * time.Millisecond); e.cloud.start() },
		func() {
			if err := e.pg.Restart(); err != nil {
				t.Fatal(err)
			}
		},
	} {
		stop := make(chan struct{})
		got := tapBurst(k, fmt.Sprintf("R%d", round), stop)
		time.Sleep(300 * time.Millisecond)
		fault()
		time.Sleep(300 * time.Millisecond)
		close(stop)
		confirmed = append(confirmed, <-got...)
	}
	waitDial(t, strings.TrimPrefix(e.cloud.http, "http://"), e.cloud.proc)
	rs := e.cloud.waitIDs(t, k.station, confirmed, 60*time.Second)
	checkExactlyOnce(t, rs, confirmed)
	if len(rs) != len(confirmed) {
		t.Fatalf("%d records stored, %d confirmed", len(rs), len(confirmed))
	}
	checkOrder(t, rs)
}

// Bad input straight to the broker: each kind is refused with a reason and
// counted, and a real kiosk is served meanwhile.
func TestBadInput(t *testing.T) {
	e := startEnv(t, backends[0])
	k := startKiosk(t, "st-good", e.cloud.mqtt)
	// The vandal holds the cloud's own broker account (a leaked secret):
	// the gateway's checks, not the broker's ACL, must stop it.
	keys, err := fleet.LoadKeys(e.cloud.data)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(e.cloud.mqtt).SetClientID("vandal").
		SetUsername(fleet.GatewayUser).SetPassword(keys.GatewayPassword))
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	pub := func(station string, payload []byte) {
		c.Publish(wire.StationTopic(station, wire.LeafRecords), 1, false, payload).Wait()
	}
	id, _ := wire.NewRecordID()
	rec := fmt.Sprintf(`{"id":%q,"station":"st-bad","kind":"check_in","volunteer":"V1","at":"2026-11-28T09:00:00Z","mono":1,"boot":"b","clock_synced":true,"seq":1}`, id)
	pub("st-bad", []byte("garbage \x00\xff"))
	pub("st-bad", []byte(`{"v":7,"station":"st-bad","sent":{"boot":"b"},"records":[`+rec+`]}`))
	pub("st-bad", []byte(`{"v":1,"station":"st-good","sent":{"boot":"b"},"records":[`+rec+`]}`))
	pub("st-bad", []byte(`{"v":1,"station":"st-bad","sent":{"boot":"b"},"records":[`+rec+`,`+rec+`]}`))
	pub("st-bad", append([]byte(`{"v":1,"pad":"`), append(make([]byte, wire.MaxMessageBytes), '"', '}')...))
	floodID, _ := wire.NewRecordID()
	flood := strings.ReplaceAll(strings.ReplaceAll(rec, "st-bad", "st-flood"), id, floodID)
	for range 300 {
		pub("st-flood", []byte(`{"v":1,"station":"st-flood","sent":{"boot":"b"},"records":[`+flood+`]}`))
	}
	for i := range 5 {
		k.mustTap(t, fmt.Sprintf("V%d", i))
	}
	e.cloud.waitRecords(t, "st-good", 5, 20*time.Second)
	reasons := []string{"malformed", "version", "station_mismatch", "too_large", "rate_limited"}
	deadline := time.Now().Add(10 * time.Second)
	for _, reason := range reasons {
		for !strings.Contains(e.cloud.metrics(t), fmt.Sprintf(`leifeng_batches_rejected_total{reason=%q}`, reason)) {
			if time.Now().After(deadline) {
				t.Fatalf("no rejection counted for %s", reason)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The repeated ID was stored once; the flood stored its one record once.
	if rs := e.cloud.waitRecords(t, "st-bad", 1, 10*time.Second); len(rs) != 1 {
		t.Errorf("st-bad: %d records", len(rs))
	}
	if rs := e.cloud.waitRecords(t, "st-flood", 1, 10*time.Second); len(rs) != 1 {
		t.Errorf("st-flood: %d records", len(rs))
	}
	// The cloud is still up and answering.
	e.cloud.get(t, "/healthz", nil)
}

// A kiosk whose clock is years off and unsynced: its records land with
// corrected times and a flag.
func TestClockYearsOff(t *testing.T) {
	e := startEnv(t, backends[0])
	k := startKiosk(t, "st-norc", e.cloud.mqtt, "--fake-clock-offset", "-61320h") // seven years back
	before := time.Now()
	in := k.mustTap(t, "V1")
	time.Sleep(3100 * time.Millisecond)
	k.mustTap(t, "V1")
	rs := e.cloud.waitRecords(t, "st-norc", 2, 20*time.Second)
	for _, r := range rs {
		if r.ClockFlag != "corrected" {
			t.Fatalf("record %s: clock flag %q", r.ID, r.ClockFlag)
		}
		if r.At.After(before.AddDate(-6, 0, 0)) {
			t.Fatalf("record %s: kiosk time %v is not the wrong one", r.ID, r.At)
		}
		if d := r.Time.Sub(time.Now()); d > time.Minute || d < -time.Minute {
			t.Fatalf("record %s: corrected time %v is not now", r.ID, r.Time)
		}
	}
	if rs[0].ID != in.ID || !rs[1].Time.After(rs[0].Time) {
		t.Fatalf("order or correction wrong: %+v", rs)
	}
	var h hoursReply
	e.cloud.get(t, "/api/v1/volunteers/V1/hours", &h)
	if h.Sessions != 1 || h.List[0].Seconds < 3 || h.List[0].Seconds > 10 {
		t.Fatalf("hours with a wrong clock: %+v", h)
	}
}

var _ = sort.Strings
