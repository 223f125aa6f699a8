package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// saturday is the relative rate of check-ins in each hour of a Saturday,
// 志愿服务日: quiet nights, the volunteers of the service day arriving
// from eight, a peak between nine and ten, a smaller one in the afternoon,
// a few after supper. Index 0 is 00:00–01:00.
var saturday = [24]float64{
	0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.5, 2, // night, dawn
	8, 10, 9, 5, 2, 2, // the morning peak, lunch
	3, 3, 3, 2, 2, 2, 1, 0.5, 0.2, 0.1, // afternoon, evening
}

var services = []string{"关爱空巢老人", "邻里互助", "文明交通", "医疗卫生", "法律", "关爱留守儿童", "环保宣传"}

// event is something a simulated kiosk does at a moment of the played day,
// as an offset from its start in wall time.
type event struct {
	at        time.Duration
	kind      eventKind
	volunteer string
	service   string
}

type eventKind int

const (
	evTap     eventKind = iota
	evOffline           // the kiosk loses the network
	evOnline            // the network comes back
)

// plan is one station's day, compressed into length: visits volunteers
// (between half and one and a half times perStation) who check in by the
// Saturday profile and check out after half an hour to four hours, and,
// with probability offline, one stretch of one to three hours without the
// network. minStay keeps a check-out clear of the kiosk's debounce, which
// is real time.
func plan(rng *rand.Rand, station int, perStation int, offline float64, length, minStay time.Duration) []event {
	hour := length / 24
	var total float64
	for _, w := range saturday {
		total += w
	}
	pick := func() time.Duration {
		x := rng.Float64() * total
		for h, w := range saturday {
			if x < w {
				return time.Duration(h)*hour + time.Duration(rng.Float64()*float64(hour))
			}
			x -= w
		}
		return 23 * hour
	}
	n := int(float64(perStation) * (0.5 + rng.Float64()))
	var evs []event
	for v := range n {
		in := pick()
		stay := max(hour/2+time.Duration(rng.Float64()*float64(hour)*3.5), minStay)
		out := min(in+stay, length-time.Millisecond)
		if out-in < minStay {
			in = out - minStay
		}
		vol := fmt.Sprintf("V%05d%03d", station, v)
		svc := services[rng.IntN(len(services))]
		evs = append(evs, event{at: in, kind: evTap, volunteer: vol, service: svc}, event{at: out, kind: evTap, volunteer: vol})
	}
	if rng.Float64() < offline {
		from := time.Duration(rng.Float64() * float64(length-3*hour))
		evs = append(evs, event{at: from, kind: evOffline}, event{at: from + hour + time.Duration(rng.Float64()*2*float64(hour)), kind: evOnline})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	return evs
}
