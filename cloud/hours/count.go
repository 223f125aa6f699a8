package hours

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Session is what Count needs of one tap session of a volunteer's day.
type Session struct {
	// Start orders the day's sessions.
	Start time.Time
	// Seconds is the session's raw length (the taps' monotonic clock).
	Seconds int64
	// Kind is the activity's kind ('service', 'meeting', 'duty', ...).
	Kind string
	// Planned is the activity's planned length (its start to its end);
	// 0 for a station's default activity, which has none.
	Planned time.Duration
}

// Counted is what Count makes of one session.
type Counted struct {
	// Cents is the counted hours in hundredths (0.5 h = 50).
	Cents int64
	// Note says, in Chinese, which rule of which version counted it.
	Note string
	// Reasons are the review reasons the counting itself raises:
	// too_many_sessions, over_org_cap, over_county_cap.
	Reasons []string
}

// Count counts one volunteer's sessions of one day (China Standard Time)
// under rules r of the given version. The result is in the order of
// sessions; the sessions are taken in order of start:
//
//   - an excluded kind counts 0;
//   - the minutes are rounded by the bands, or beyond the last band down
//     to Step (exactly, Step 0);
//   - a session shorter than MinShare of its activity's planned length
//     counts 0;
//   - the sessions after the first MaxSessions go to review;
//   - the session that takes the day's total above OrgCap, and those
//     after it, go to the organisation's review; above CountyCap, the
//     county's.
func Count(r Rules, version int64, sessions []Session) []Counted {
	out := make([]Counted, len(sessions))
	order := make([]int, len(sessions))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return sessions[a].Start.Compare(sessions[b].Start) })
	prefix := fmt.Sprintf("规则第%d版：", version)
	var total int64 // the day's counted cents so far
	for n, i := range order {
		s := sessions[i]
		c := &out[i]
		var notes []string
		switch {
		case slices.Contains(r.Excluded, s.Kind):
			notes = append(notes, fmt.Sprintf("%s类活动不计时长", kindName(s.Kind)))
		case r.MinShare > 0 && s.Planned > 0 && float64(s.Seconds) < r.MinShare*s.Planned.Seconds():
			notes = append(notes, fmt.Sprintf("服务%d分钟，不足活动时长%d分钟的%s，不计时长",
				s.Seconds/60, int64(s.Planned/time.Minute), percent(r.MinShare)))
		default:
			cents, note := round(r, s.Seconds/60)
			c.Cents = cents
			notes = append(notes, note)
		}
		if r.MaxSessions > 0 && n >= r.MaxSessions {
			c.Reasons = append(c.Reasons, ReasonTooManySession)
			notes = append(notes, fmt.Sprintf("当日第%d次服务，超过每日%d次，需站点审核", n+1, r.MaxSessions))
		}
		total += c.Cents
		switch {
		case c.Cents > 0 && r.CountyCap > 0 && total > cents(r.CountyCap):
			c.Reasons = append(c.Reasons, ReasonOverCountyCap)
			notes = append(notes, fmt.Sprintf("当日累计%s小时，超过%s小时，需县（区）审核", hours(total), num(r.CountyCap)))
		case c.Cents > 0 && r.OrgCap > 0 && total > cents(r.OrgCap):
			c.Reasons = append(c.Reasons, ReasonOverOrgCap)
			notes = append(notes, fmt.Sprintf("当日累计%s小时，超过%s小时，需组织审核", hours(total), num(r.OrgCap)))
		}
		c.Note = prefix + strings.Join(notes, "；")
	}
	return out
}

// round applies the bands to a session of min minutes.
func round(r Rules, min int64) (int64, string) {
	from := 0
	for _, b := range r.Bands {
		if min < int64(b.UpTo) {
			h := cents(b.Hours)
			var span string
			if from == 0 {
				span = fmt.Sprintf("不足%d分钟", b.UpTo)
			} else {
				span = fmt.Sprintf("%d–%d分钟", from, b.UpTo)
			}
			if h == 0 {
				return 0, span + "不计时长"
			}
			return h, fmt.Sprintf("%s计%s小时", span, hours(h))
		}
		from = b.UpTo
	}
	// Beyond the bands: hours rounded down to Step (or to the minute).
	exact := min * 100 / 60
	if r.Step <= 0 {
		return exact, fmt.Sprintf("%d分钟以上按实际分钟计：%d分钟计%s小时", from, min, hours(exact))
	}
	step := cents(r.Step)
	h := min * 100 / 60 / step * step
	return h, fmt.Sprintf("%d分钟以上按%s小时向下取整：%d分钟计%s小时", from, num(r.Step), min, hours(h))
}

func kindName(k string) string {
	switch k {
	case "meeting":
		return "会议"
	case "duty":
		return "日常值班"
	}
	return k
}

// cents is hours in hundredths, rounded to the nearest.
func cents(h float64) int64 { return int64(math.Round(h * 100)) }

// hours writes hundredths of hours as a number: 150 → "1.5".
func hours(c int64) string { return num(float64(c) / 100) }

func num(h float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", h), "0"), ".")
}

func percent(x float64) string { return num(x*100) + "%" }

// Level is the reviewer level of a record with reasons: the highest
// level among them (” for none). 'deadline' does not change the level.
func Level(reasons []string) string {
	rank := map[string]int{ReviewStation: 1, ReviewOrg: 2, ReviewCounty: 3, ReviewCity: 4}
	best := ""
	for _, r := range reasons {
		l := LevelOf(r)
		if rank[l] > rank[best] {
			best = l
		}
	}
	return best
}

// LevelOf is the level that decides a record held for reason r.
func LevelOf(r string) string {
	switch r {
	case ReasonOverOrgCap:
		return ReviewOrg
	case ReasonOverCountyCap, ReasonManual:
		return ReviewCounty
	case ReasonDeadline:
		return ""
	}
	return ReviewStation
}
