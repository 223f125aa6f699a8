package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// thief is a client holding one station's broker credentials, as someone
// who took a kiosk's bundle off its SD card would: it publishes what it
// likes on the station's own topics and reads the station's acks, which it
// checks are sealed with the cloud's key.
type thief struct {
	station string
	c       paho.Client
	trusted map[string]ed25519.PublicKey
	acks    chan *wire.Ack
	boot    string
	seq     uint64
}

func stealStation(t *testing.T, c *cloud, station string) *thief {
	t.Helper()
	bd, err := wire.ReadBundle(c.addStation(t, station, ""))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := connect(c.mqtt, station, station, bd.Password, nil)
	if err != nil {
		t.Fatalf("the stolen credentials of %s do not connect: %v", station, err)
	}
	t.Cleanup(func() { cl.Disconnect(50) })
	th := &thief{station: station, c: cl, trusted: bd.Trusted(), acks: make(chan *wire.Ack, 16), boot: "boot-" + station}
	tok := cl.Subscribe(wire.StationTopic(station, wire.LeafAck), 1, func(_ paho.Client, m paho.Message) {
		a, err := wire.OpenAck(m.Payload(), station, th.trusted)
		if err != nil {
			t.Errorf("%s: an ack that does not verify with the bundle's key: %v", station, err)
			return
		}
		th.acks <- a
	})
	tok.Wait()
	if tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return th
}

// rec makes a record of the thief's station at kiosk time at; mono follows
// at on one boot, so the cloud's durations come from the monotonic clock.
func (th *thief) rec(t *testing.T, kind wire.Kind, volunteer, ref string, at, epoch time.Time) wire.Record {
	t.Helper()
	id, err := wire.NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	th.seq++
	return wire.Record{ID: id, Station: th.station, Kind: kind, Volunteer: volunteer, Ref: ref, Card: "PE-" + volunteer,
		At: at.UTC(), Mono: int64(at.Sub(epoch)), Boot: th.boot, ClockSynced: true, Seq: th.seq}
}

// session makes a check-in at from and its check-out at to.
func (th *thief) session(t *testing.T, volunteer string, from, to, epoch time.Time) []wire.Record {
	in := th.rec(t, wire.KindCheckIn, volunteer, "", from, epoch)
	return []wire.Record{in, th.rec(t, wire.KindCheckOut, volunteer, in.ID, to, epoch)}
}

// send publishes records as one batch, bypassing EncodeBatch's checks, and
// waits for the cloud's sealed ack.
func (th *thief) send(t *testing.T, recs []wire.Record, now, epoch time.Time) *wire.Ack {
	t.Helper()
	b := &wire.Batch{V: wire.Version, Station: th.station, Records: recs,
		Sent: wire.Clock{At: now.UTC(), Mono: int64(now.Sub(epoch)), Boot: th.boot, Synced: true}}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	th.c.Publish(wire.StationTopic(th.station, wire.LeafRecords), 1, false, data).Wait()
	select {
	case a := <-th.acks:
		return a
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no ack", th.station)
		return nil
	}
}

// hoursWithFlags is GET /api/v1/volunteers/{id}/hours with the review
// fields.
type hoursWithFlags struct {
	Hours    float64 `json:"hours"`
	Sessions int     `json:"sessions"`
	Flagged  int     `json:"flagged"`
	List     []struct {
		CheckIn string   `json:"check_in"`
		Seconds float64  `json:"seconds"`
		Flags   []string `json:"flags"`
		Counted bool     `json:"counted"`
	} `json:"list"`
}

// Hours forged with one kiosk's credentials: a 1,000-hour session 41 days
// long, one volunteer in overlapping sessions at two stations, a check-out
// dated hours ahead. All are stored (and acked, sealed), flagged, and none
// counts beyond what the volunteer could have served.
func TestForgedHours(t *testing.T) {
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			e := startEnv(t, b)
			a := stealStation(t, e.cloud, "st-thief")
			o := stealStation(t, e.cloud, "st-other")
			now := time.Now()
			epoch := now.Add(-1100 * time.Hour) // the forged kiosk's boot
			var recs []wire.Record
			// A real hour, then the forged 1,000 hours.
			recs = append(recs, a.session(t, "V-victim", now.Add(-1050*time.Hour), now.Add(-1049*time.Hour), epoch)...)
			forged := a.session(t, "V-victim", now.Add(-1000*time.Hour), now.Add(-time.Minute), epoch)
			recs = append(recs, forged...)
			// Two hours at st-thief; st-other claims an overlapping two.
			recs = append(recs, a.session(t, "V-twice", now.Add(-3*time.Hour), now.Add(-time.Hour), epoch)...)
			twice := o.session(t, "V-twice", now.Add(-150*time.Minute), now.Add(-30*time.Minute), epoch)
			// A check-out three hours ahead of the cloud's clock.
			future := o.session(t, "V-future", now.Add(-time.Hour), now.Add(3*time.Hour), epoch)
			if ack := a.send(t, recs, now, epoch); len(ack.IDs) != len(recs) || len(ack.Rejected) != 0 {
				t.Fatalf("st-thief ack %+v", ack)
			}
			// V-twice is first seen at st-other in this batch: its ack tells
			// no hours of V-twice (a stolen kiosk naming an ID learns nothing).
			ack := o.send(t, append(twice[:1:1], future...), now, epoch)
			isTwice := func(h wire.CountedHours) bool { return h.Volunteer == "V-twice" }
			if len(ack.IDs) != 3 || slices.ContainsFunc(ack.Hours, isTwice) {
				t.Fatalf("st-other ack %+v", ack)
			}
			// The check-out comes after: the ack tells the kiosk what the cloud counts.
			ack = o.send(t, twice[1:], now, epoch)
			i := slices.IndexFunc(ack.Hours, isTwice)
			if i < 0 || ack.Hours[i].Hours != 2 || ack.Hours[i].AsOf.IsZero() {
				t.Fatalf("ack hours %+v: want V-twice at 2 h", ack.Hours)
			}

			check := func(vol string, hours float64, flagged int, flag, checkIn string) {
				t.Helper()
				var h hoursWithFlags
				e.cloud.get(t, "/api/v1/volunteers/"+vol+"/hours", &h)
				if h.Hours != hours || h.Flagged != flagged {
					t.Fatalf("%s: %.3f h counted, %d flagged; want %v h, %d flagged: %+v", vol, h.Hours, h.Flagged, hours, flagged, h)
				}
				j := slices.IndexFunc(h.List, func(s struct {
					CheckIn string   `json:"check_in"`
					Seconds float64  `json:"seconds"`
					Flags   []string `json:"flags"`
					Counted bool     `json:"counted"`
				}) bool {
					return s.CheckIn == checkIn
				})
				if j < 0 || h.List[j].Counted || !slices.Contains(h.List[j].Flags, flag) {
					t.Fatalf("%s: session %s not flagged %s: %+v", vol, checkIn, flag, h.List)
				}
			}
			check("V-victim", 1, 1, "too_long", forged[0].ID)
			check("V-twice", 2, 1, "overlap", twice[0].ID)
			check("V-future", 0, 1, "future", future[0].ID)
			// The forged session is stored, not lost: a reviewer sees it.
			var h hoursWithFlags
			e.cloud.get(t, "/api/v1/volunteers/V-victim/hours", &h)
			if h.Sessions != 2 || h.List[1].Seconds < 999*3600 {
				t.Fatalf("forged session not kept as it came: %+v", h)
			}
		})
	}
}

// The poison batch on PostgreSQL: a record with a NUL in it, and one
// whose seq the database cannot hold, sent again and again with the
// stolen credentials of one station. Each time the rest of the batch is
// stored and the batch acked with the two rejected, the refused one kept
// in rejected_records; a real kiosk at another station keeps flowing.
func TestPoisonBatchPostgres(t *testing.T) {
	e := startEnv(t, backends[1])
	k := startKiosk(t, "st-good", e.cloud.mqtt)
	th := stealStation(t, e.cloud, "st-poison")
	now := time.Now()
	epoch := now.Add(-time.Hour)
	var recs []wire.Record
	for i := range 4 {
		recs = append(recs, th.rec(t, wire.KindCheckIn, fmt.Sprintf("V-ok-%d", i), "", now.Add(-time.Duration(10-i)*time.Minute), epoch))
	}
	nul := th.rec(t, wire.KindCheckIn, "V\x00001", "", now.Add(-5*time.Minute), epoch)
	huge := th.rec(t, wire.KindCheckIn, "V-huge", "", now.Add(-4*time.Minute), epoch)
	huge.Seq = 1<<63 + 5
	recs = append(recs, nul, huge)
	var confirmed []string
	for round := range 5 {
		ack := th.send(t, recs, now, epoch)
		if len(ack.IDs) != 4 || len(ack.Rejected) != 2 {
			t.Fatalf("round %d: ack %+v: want 4 stored, 2 rejected", round, ack)
		}
		reasons := map[string]string{}
		for _, r := range ack.Rejected {
			reasons[r.ID] = r.Reason
		}
		if !strings.Contains(reasons[nul.ID], "control character") || !strings.HasPrefix(reasons[huge.ID], "database_refused") {
			t.Fatalf("round %d: reasons %+v", round, reasons)
		}
		confirmed = append(confirmed, k.mustTap(t, fmt.Sprintf("V-good-%d", round)).ID)
	}
	e.cloud.waitIDs(t, "st-good", confirmed, 20*time.Second)
	if rs := e.cloud.records(t, "st-poison"); len(rs) != 4 {
		t.Fatalf("st-poison: %d records stored, want 4", len(rs))
	}
	s, err := store.Open(context.Background(), e.cloud.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rej, err := s.RejectedRecords(context.Background(), "st-poison")
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].ID != huge.ID || !strings.Contains(string(rej[0].Record), "V-huge") {
		t.Fatalf("rejected_records %+v: want the record the database refused, once", rej)
	}
	// Refused once per delivery, kept once.
	if m := e.cloud.metrics(t); !strings.Contains(m, "leifeng_records_refused_total 5") {
		t.Fatalf("refusals not counted:\n%s", grepLines(m, "refused"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A replayed NTAG 424 DNA read: the SUN message (and its counter) that one
// genuine tap produced shows up again in a later tap at another station.
// The cloud stores both, raises one clone alert and counts it.
func TestReplayedSUNCounter(t *testing.T) {
	e := startEnv(t, backends[1])
	a := stealStation(t, e.cloud, "st-sun-a")
	b := stealStation(t, e.cloud, "st-sun-b")
	now := time.Now()
	epoch := now.Add(-2 * time.Hour)
	genuine := a.rec(t, wire.KindCheckIn, "V-424", "", now.Add(-time.Hour), epoch)
	genuine.Counter, genuine.SUN = 41, "E=0F1E2D3C4B5A69788796A5B4C3D2E1F0&C=1122334455667788"
	next := a.rec(t, wire.KindCheckOut, "V-424", genuine.ID, now.Add(-50*time.Minute), epoch)
	next.Counter, next.SUN = 42, "E=AABBCCDDEEFF00112233445566778899&C=8877665544332211"
	a.send(t, []wire.Record{genuine, next}, now, epoch)
	replay := b.rec(t, wire.KindCheckIn, "V-424", "", now.Add(-10*time.Minute), epoch)
	replay.Counter, replay.SUN = genuine.Counter, genuine.SUN
	replay.Card = genuine.Card
	if ack := b.send(t, []wire.Record{replay}, now, epoch); len(ack.IDs) != 1 {
		t.Fatalf("replay not stored: %+v", ack)
	}
	// Resent (the kiosk missed the ack): no second alert.
	b.send(t, []wire.Record{replay}, now, epoch)
	if m := e.cloud.metrics(t); !strings.Contains(m, "leifeng_clone_alerts_total 2") {
		// The replay repeats counter 41 with the same message (one alert)
		// and steps back from 42, tapped earlier (another).
		t.Fatalf("clone alerts:\n%s", grepLines(m, "clone"))
	}
	s, err := store.Open(context.Background(), e.cloud.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alerts, err := s.CloneAlerts(context.Background(), genuine.Card)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, al := range alerts {
		reasons[al.Reason] = true
	}
	if len(alerts) != 2 || !reasons[store.CloneSUNReplay] || !reasons[store.CloneCounterBack] {
		t.Fatalf("alerts %+v", alerts)
	}
}

// A forged ack through a compromised broker: while the cloud is down, the
// kiosk's confirmed taps wait in its outbox; acks naming them, unsigned
// and signed with a key of the attacker's own, are published straight on
// the broker. The kiosk deletes nothing and says so in its log; when the
// cloud returns, its sealed acks drain the outbox and every tap arrives.
func TestForgedAck(t *testing.T) {
	e := startEnv(t, backend{"mosquitto-sqlite", "mosquitto", "sqlite"})
	k := startKiosk(t, "st-a", e.cloud.mqtt)
	k.mustTap(t, "V-warm")
	e.cloud.waitRecords(t, "st-a", 1, 20*time.Second)
	e.cloud.stop()
	var confirmed []string
	for i := range 5 {
		confirmed = append(confirmed, k.mustTap(t, fmt.Sprintf("V-%d", i)).ID)
	}
	// The broker is the attacker's: anyone may publish on the ack topic.
	forger, err := connect(e.cloud.mqtt, "forger", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Disconnect(50)
	_, attacker, _ := ed25519.GenerateKey(nil)
	bd, err := wire.ReadBundle(k.bundle)
	if err != nil {
		t.Fatal(err)
	}
	var keyID string
	for id := range bd.ConfigKeys {
		keyID = id
	}
	ack := &wire.Ack{Station: "st-a", IDs: confirmed, Server: time.Now()}
	plain, _ := wire.EncodeAck(ack)
	forged, _ := wire.SealAck(attacker, keyID, ack)
	topic := wire.StationTopic("st-a", wire.LeafAck)
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(k.log.String(), "forged ack ignored") < 2 {
		for _, p := range [][]byte{plain, forged} {
			forger.Publish(topic, 1, false, p).Wait()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kiosk did not refuse the forged acks:\n%s", tail(k.log.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.cloud.start()
	waitDial(t, strings.TrimPrefix(e.cloud.http, "http://"), e.cloud.proc)
	rs := e.cloud.waitIDs(t, "st-a", confirmed, 30*time.Second)
	checkExactlyOnce(t, rs, confirmed)
}

// The cloud's SQLite file, its write-ahead log and index, and the kiosk's
// bbolt file are readable by their owner only: they hold residents' phone
// numbers and volunteers' records.
func TestDataFilesPrivate(t *testing.T) {
	e := startEnv(t, backends[0])
	k := startKiosk(t, "st-files", e.cloud.mqtt)
	k.mustTap(t, "V-files")
	e.cloud.waitRecords(t, "st-files", 1, 20*time.Second)
	files := []string{filepath.Join(k.data, "kiosk.db")}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		files = append(files, filepath.Join(e.cloud.data, "leifeng.db"+suffix))
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", f, m)
		}
	}
}
