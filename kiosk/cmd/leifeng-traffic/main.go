// Command leifeng-traffic plays a morning at Lei Feng stations against
// their kiosks' simulated readers (`leifeng-kiosk --reader sim:ADDR`):
// volunteers arrive between eight and half past nine, serve one to four
// hours at a service of the station's menu, and tap out. Time runs --speed
// times faster than the wall clock, so a morning takes a few minutes; run
// the kiosks with the same --demo-clock-speed so their screens show the
// morning's time. Hours are real time: a demo hour lasts 30 s at 120×.
//
// Each line shows two times: the moment of the tap in China Standard Time
// (what the console and the API show for the record), and where the played
// morning stands (演示, from 07:30 at --speed).
//
//	leifeng-traffic --station pe-simao-001=127.0.0.1:7101 --station pe-ninger-001=127.0.0.1:7102
//	leifeng-traffic --station pe-simao-001=127.0.0.1:7101 --tap V0001
//
// Exit status: 0 when the morning was played (or stopped by SIGINT or
// SIGTERM) or the --tap answered; 1 when a --tap could not reach the
// kiosk; 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
	"leifeng/kiosk/simreader"
)

type stationFlag []string

func (s *stationFlag) String() string     { return strings.Join(*s, ",") }
func (s *stationFlag) Set(v string) error { *s = append(*s, v); return nil }

// cst is China Standard Time, in which the times are printed.
var cst = time.FixedZone("CST", 8*3600)

var services = []string{"关爱空巢老人", "邻里互助", "文明交通", "医疗卫生", "法律", "关爱留守儿童", "环保宣传"}

type visit struct {
	station, addr, volunteer, service string
	in, out                           time.Duration // since 07:30, simulated
}

func main() { cli.Main("leifeng-traffic", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var stations stationFlag
	fs := flag.NewFlagSet("leifeng-traffic", flag.ContinueOnError)
	fs.Var(&stations, "station", "ID=ADDR of a kiosk's simulated reader (repeat for each station)")
	perStation := fs.Int("volunteers", 12, "volunteers per station")
	speed := fs.Float64("speed", 120, "how many times faster than real time the morning plays")
	seed := fs.Uint64("seed", 2019, "random seed, for a repeatable morning")
	tap := fs.String("tap", "", "tap this volunteer's card once at the first --station, print the kiosk's answer and exit")
	version := fs.Bool("version", false, "print the version and exit")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-traffic"))
		return nil
	}
	if len(stations) == 0 || *speed <= 0 {
		return cli.Usagef("give at least one --station ID=ADDR and a positive --speed")
	}
	if *tap != "" {
		_, addr, _ := strings.Cut(stations[0], "=")
		rep, err := (&conn{addr: addr}).tap(*tap, "")
		if err != nil {
			return err
		}
		out, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(out))
		return nil
	}
	rng := rand.New(rand.NewPCG(*seed, 1))
	var visits []visit
	for si, s := range stations {
		id, addr, ok := strings.Cut(s, "=")
		if !ok {
			return cli.Usagef("--station %q: want ID=ADDR", s)
		}
		for v := range *perStation {
			in := 30*time.Minute + time.Duration(rng.Float64()*90*float64(time.Minute))
			stay := time.Hour + time.Duration(rng.Float64()*3*float64(time.Hour))
			visits = append(visits, visit{
				station: id, addr: addr,
				volunteer: fmt.Sprintf("V%d%03d", si+1, v+1),
				service:   services[rng.IntN(len(services))],
				in:        in, out: in + stay,
			})
		}
	}
	type event struct {
		at   time.Duration
		v    *visit
		kind string
	}
	var events []event
	for i := range visits {
		events = append(events, event{visits[i].in, &visits[i], "签到"}, event{visits[i].out, &visits[i], "签退"})
	}
	sort.Slice(events, func(i, j int) bool { return events[i].at < events[j].at })

	conns := map[string]*conn{}
	var mu sync.Mutex
	start := time.Now()
	morning := time.Date(2026, 1, 1, 7, 30, 0, 0, cst)
	ok, failed := 0, 0
	fmt.Fprintln(stdout, "时间为北京时间 (UTC+8)；「演示」是按 --speed 快放的上午时刻。")
	for _, e := range events {
		wait := time.Duration(float64(e.at)/(*speed)) - time.Since(start)
		select {
		case <-ctx.Done():
			fmt.Fprintf(stdout, "stopped: %d taps confirmed, %d failed\n", ok, failed)
			return nil
		case <-time.After(wait):
		}
		mu.Lock()
		c := conns[e.v.station]
		if c == nil {
			c = &conn{addr: e.v.addr}
			conns[e.v.station] = c
		}
		mu.Unlock()
		reply, err := c.tap(e.v.volunteer, e.v.service)
		clock := time.Now().In(cst).Format("15:04:05") + "  演示 " + morning.Add(e.at).Format("15:04")
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "%s  %-14s %s  %s  失败: %v\n", clock, e.v.station, e.v.volunteer, e.kind, err)
		case !reply.OK:
			failed++
			fmt.Fprintf(stdout, "%s  %-14s %s  %s  未记录: %s\n", clock, e.v.station, e.v.volunteer, e.kind, reply.Message)
		default:
			ok++
			extra := ""
			if reply.Seconds > 0 {
				// Real time at the kiosk: the demo plays the morning fast, so
				// a session lasts seconds, not hours.
				extra = "  本次服务 " + serviceTime(reply.Seconds)
			}
			fmt.Fprintf(stdout, "%s  %-14s %s  %s ✓ (%s)%s\n", clock, e.v.station, e.v.volunteer, e.kind, e.v.service, extra)
		}
	}
	fmt.Fprintf(stdout, "morning done: %d taps confirmed, %d failed\n", ok, failed)
	return nil
}

// conn is one kiosk's simulated reader. Its client dials again after a
// kiosk restart, and never sends again a tap whose answer was lost: the
// kiosk may have recorded it, and a second tap would check out.
type conn struct {
	addr string
	c    *simreader.Client
}

func (c *conn) tap(volunteer, service string) (simreader.Reply, error) {
	if c.c == nil {
		c.c = simreader.NewClient(c.addr)
	}
	return c.c.Tap(context.Background(), volunteer, service)
}

// serviceTime is a session's length as a person reads it: seconds under a
// minute, minutes under an hour, else hours and minutes.
func serviceTime(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d 秒", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d 分 %d 秒", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d 小时 %d 分", int(d.Hours()), int(d.Minutes())%60)
}
