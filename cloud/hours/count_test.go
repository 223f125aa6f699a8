package hours

import (
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
)

var day = time.Date(2026, 11, 2, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// sess is a session starting h hours after 08:00, of min minutes.
func sess(h float64, min int64) Session {
	return Session{Start: day.Add(time.Duration(h * float64(time.Hour))), Seconds: min * 60, Kind: "service"}
}

func TestCountBands(t *testing.T) {
	r := Default()
	cases := []struct {
		name    string
		minutes int64
		cents   int64
		note    string
	}{
		{"0 min", 0, 0, "规则第3版：不足15分钟不计时长"},
		{"14 min", 14, 0, "规则第3版：不足15分钟不计时长"},
		{"15 min", 15, 50, "规则第3版：15–45分钟计0.5小时"},
		{"44 min", 44, 50, "规则第3版：15–45分钟计0.5小时"},
		{"45 min", 45, 100, "规则第3版：45–60分钟计1小时"},
		{"59 min", 59, 100, "规则第3版：45–60分钟计1小时"},
		{"60 min", 60, 100, "规则第3版：60分钟以上按0.5小时向下取整：60分钟计1小时"},
		{"89 min", 89, 100, "规则第3版：60分钟以上按0.5小时向下取整：89分钟计1小时"},
		{"90 min", 90, 150, "规则第3版：60分钟以上按0.5小时向下取整：90分钟计1.5小时"},
		{"179 min", 179, 250, "规则第3版：60分钟以上按0.5小时向下取整：179分钟计2.5小时"},
		{"4 h", 240, 400, "规则第3版：60分钟以上按0.5小时向下取整：240分钟计4小时"},
	}
	for _, c := range cases {
		got := Count(r, 3, []Session{sess(0, c.minutes)})[0]
		if got.Cents != c.cents || got.Note != c.note || len(got.Reasons) != 0 {
			t.Errorf("%s: got %d %q %v, want %d %q", c.name, got.Cents, got.Note, got.Reasons, c.cents, c.note)
		}
	}
	// 59 seconds of the 15th minute is still under 15 minutes.
	if got := Count(r, 3, []Session{{Start: day, Seconds: 14*60 + 59}})[0]; got.Cents != 0 {
		t.Errorf("14:59: %d cents, want 0", got.Cents)
	}
}

func TestCountStep(t *testing.T) {
	r := Default()
	r.Step = 0.25
	for _, c := range []struct {
		min   int64
		cents int64
	}{{74, 100}, {75, 125}, {100, 150}, {105, 175}} {
		if got := Count(r, 1, []Session{sess(0, c.min)})[0]; got.Cents != c.cents {
			t.Errorf("step 0.25, %d min: %d cents, want %d", c.min, got.Cents, c.cents)
		}
	}
	r.Step = 0 // to the minute, rounded down to the hundredth
	for _, c := range []struct {
		min   int64
		cents int64
	}{{61, 101}, {70, 116}, {120, 200}} {
		got := Count(r, 1, []Session{sess(0, c.min)})[0]
		if got.Cents != c.cents || !strings.Contains(got.Note, "按实际分钟计") {
			t.Errorf("step 0, %d min: %d cents %q, want %d", c.min, got.Cents, got.Note, c.cents)
		}
	}
	// Bands of another version: the note names it.
	r = Default()
	r.Bands = []Band{{UpTo: 30, Hours: 0}, {UpTo: 60, Hours: 0.5}}
	got := Count(r, 7, []Session{sess(0, 45)})[0]
	if got.Cents != 50 || got.Note != "规则第7版：30–60分钟计0.5小时" {
		t.Errorf("version 7: %d %q", got.Cents, got.Note)
	}
}

func TestCountMinShare(t *testing.T) {
	r := Default()
	r.MinShare = 0.6
	planned := 2 * time.Hour // 60% is 72 minutes
	cases := []struct {
		min   int64
		cents int64
	}{{71, 0}, {72, 100}, {90, 150}}
	for _, c := range cases {
		s := sess(0, c.min)
		s.Planned = planned
		got := Count(r, 2, []Session{s})[0]
		if got.Cents != c.cents {
			t.Errorf("min share, %d of 120 min: %d cents, want %d (%s)", c.min, got.Cents, c.cents, got.Note)
		}
	}
	s := sess(0, 71)
	s.Planned = planned
	if got := Count(r, 2, []Session{s})[0]; got.Note != "规则第2版：服务71分钟，不足活动时长120分钟的60%，不计时长" {
		t.Errorf("note %q", got.Note)
	}
	// The default activity has no planned length: the share does not apply.
	if got := Count(r, 2, []Session{sess(0, 30)})[0]; got.Cents != 50 {
		t.Errorf("no planned length: %d cents, want 50", got.Cents)
	}
}

func TestCountExcluded(t *testing.T) {
	r := Default()
	for _, c := range []struct{ kind, note string }{
		{"meeting", "规则第1版：会议类活动不计时长"},
		{"duty", "规则第1版：日常值班类活动不计时长"},
	} {
		s := sess(0, 120)
		s.Kind = c.kind
		got := Count(r, 1, []Session{s})[0]
		if got.Cents != 0 || got.Note != c.note {
			t.Errorf("%s: %d %q", c.kind, got.Cents, got.Note)
		}
	}
}

func TestCountCaps(t *testing.T) {
	r := Default()
	// 5 h + 2.5 h = 7.5 h: within the org cap.
	got := Count(r, 1, []Session{sess(0, 300), sess(6, 150)})
	if got[0].Cents != 500 || got[1].Cents != 250 || len(got[0].Reasons)+len(got[1].Reasons) != 0 {
		t.Fatalf("7.5 h: %+v", got)
	}
	// 5 h + 3 h = 8 h: exactly the cap is not over it.
	got = Count(r, 1, []Session{sess(0, 300), sess(6, 180)})
	if len(got[1].Reasons) != 0 {
		t.Fatalf("8 h: %+v", got)
	}
	// 5 h + 3.5 h = 8.5 h: the second session goes to the organisation.
	got = Count(r, 1, []Session{sess(0, 300), sess(6, 210)})
	if got[1].Cents != 350 || !slices.Equal(got[1].Reasons, []string{ReasonOverOrgCap}) || len(got[0].Reasons) != 0 {
		t.Fatalf("8.5 h: %+v", got)
	}
	if !strings.Contains(got[1].Note, "当日累计8.5小时，超过8小时，需组织审核") || Level(got[1].Reasons) != ReviewOrg {
		t.Errorf("8.5 h note %q level %q", got[1].Note, Level(got[1].Reasons))
	}
	// 6 h + 4 h + 3 h = 13 h: the second over 8 (org), the third over 12 (county).
	got = Count(r, 1, []Session{sess(8, 180), sess(0, 360), sess(6, 240)})
	if got[1].Cents != 600 || len(got[1].Reasons) != 0 ||
		got[2].Cents != 400 || !slices.Equal(got[2].Reasons, []string{ReasonOverOrgCap}) ||
		got[0].Cents != 300 || !slices.Equal(got[0].Reasons, []string{ReasonOverCountyCap}) {
		t.Fatalf("13 h: %+v", got)
	}
	if Level(got[0].Reasons) != ReviewCounty || !strings.Contains(got[0].Note, "当日累计13小时，超过12小时，需县（区）审核") {
		t.Errorf("13 h: level %q note %q", Level(got[0].Reasons), got[0].Note)
	}
	// A session counting 0 after the cap is not sent to review.
	got = Count(r, 1, []Session{sess(0, 540), sess(10, 10)})
	if !slices.Equal(got[0].Reasons, []string{ReasonOverOrgCap}) || len(got[1].Reasons) != 0 || got[0].Cents != 900 {
		t.Fatalf("9 h then 10 min: %+v", got)
	}
}

func TestCountSessionLimit(t *testing.T) {
	r := Default() // 4 a day
	var ss []Session
	for i := range 6 {
		ss = append(ss, sess(float64(i), 30))
	}
	got := Count(r, 1, ss)
	for i, c := range got {
		want := 0
		if i >= 4 {
			want = 1
		}
		if c.Cents != 50 || len(c.Reasons) != want {
			t.Errorf("session %d: %+v", i+1, c)
		}
	}
	if !slices.Equal(got[4].Reasons, []string{ReasonTooManySession}) || Level(got[4].Reasons) != ReviewStation ||
		!strings.Contains(got[5].Note, "当日第6次服务，超过每日4次，需站点审核") {
		t.Errorf("fifth/sixth: %+v", got[4:])
	}
	r.MaxSessions = 0 // no limit
	for _, c := range Count(r, 1, ss) {
		if len(c.Reasons) != 0 {
			t.Errorf("no limit: %+v", c)
		}
	}
}

func TestLevel(t *testing.T) {
	for _, c := range []struct {
		reasons []string
		want    string
	}{
		{nil, ""},
		{[]string{ReasonDeadline}, ""},
		{[]string{ReasonAutoCheckOut}, ReviewStation},
		{[]string{ReasonAutoCheckOut, ReasonOverOrgCap, ReasonDeadline}, ReviewOrg},
		{[]string{ReasonOverOrgCap, ReasonOverCountyCap}, ReviewCounty},
		{[]string{ReasonManual}, ReviewCounty},
	} {
		if got := Level(c.reasons); got != c.want {
			t.Errorf("Level(%v) = %q, want %q", c.reasons, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(Default()); err != nil {
		t.Fatalf("default: %v", err)
	}
	cases := []struct {
		change func(*Rules)
		want   string
	}{
		{func(r *Rules) { r.Bands = nil }, "至少需要一个取整档位"},
		{func(r *Rules) { r.Bands = []Band{{45, 0.5}, {15, 0}} }, "必须大于前一档"},
		{func(r *Rules) { r.Bands = []Band{{15, 0.5}, {45, 0.25}} }, "不能少于前一档"},
		{func(r *Rules) { r.Step = -1 }, "不能为负数"},
		{func(r *Rules) { r.OrgCap, r.CountyCap = 12, 8 }, "必须小于县（区）审核上限"},
		{func(r *Rules) { r.MinShare = 1.5 }, "应在 0 到 1 之间"},
		{func(r *Rules) { r.MaxSessions = -1 }, "每日最多次数"},
		{func(r *Rules) { r.ManualPeriod = "week" }, "month 或 year"},
		{func(r *Rules) { r.NoticeDays = 0 }, "公示期"},
		{func(r *Rules) { r.WarnDays = 10 }, "到期提醒"},
	}
	for _, c := range cases {
		r := Default()
		c.change(&r)
		err := Validate(r)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "工时规则有误") {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}

func TestParseOpening(t *testing.T) {
	wk := func(ds ...int) days {
		var d days
		for _, x := range ds {
			d.week |= 1 << uint(x)
		}
		return d
	}
	weekdays := wk(1, 2, 3, 4, 5)
	for _, c := range []struct {
		text string
		want []span
	}{
		{"周一至周五 8:30-12:00，14:30–17:30", []span{{510, 720, weekdays}, {870, 1050, weekdays}}},
		{"每天 09：00 至 21：00", []span{{540, 1260, everyDay}}},
		{"8:00-18:00", []span{{480, 1080, everyDay}}},
		{"工作日全天开放", nil},
		{"25:00-26:00, 18:00-08:00", nil}, // out of range, or ending before it starts
		{"周一至周五 9:00-17:00；周六、周日 10:00-12:00", []span{{540, 1020, weekdays}, {600, 720, wk(6, 0)}}},
		{"星期五到星期一 9:00-11:00", []span{{540, 660, wk(5, 6, 0, 1)}}},
		{"周一、周三和周五 14:00-16:00", []span{{840, 960, wk(1, 3, 5)}}},
		{"周末 9:00-12:00", []span{{540, 720, wk(6, 0)}}},
		{"工作日 8:30-17:30，节假日 9:00-12:00", []span{{510, 1050, days{working: true}}, {540, 720, days{off: true}}}},
		{"周二闭馆，周一、周三至周日 9:00-17:00", []span{{540, 1020, wk(1, 3, 4, 5, 6, 0)}}},
		{"周一至周五 9:00-17:00，周六、周日休息", []span{{540, 1020, weekdays}}},
	} {
		if got := parseOpening(c.text); !slices.Equal(got, c.want) {
			t.Errorf("parseOpening(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// A tap is outside opening hours on a day the text does not name, and the
// calendar's working days follow the holidays (a weekday off, a weekend
// worked).
func TestOutsideDays(t *testing.T) {
	cal := calendar.New([]store.Holiday{{Day: "2026-10-01", Kind: store.HolidayOff}, {Day: "2026-09-20", Kind: store.HolidayWorkday}})
	w := &world{cal: cal, open: map[string][]span{
		"wk":   parseOpening("周一至周五 9:00-17:00"),
		"work": parseOpening("工作日 9:00-17:00"),
	}}
	tap := func(station, day, hhmm string) bool {
		at, _ := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, calendar.CST)
		return w.outside(store.PassSession{Session: store.Session{Station: station, Start: at}})
	}
	for _, c := range []struct {
		station, day, at string
		outside          bool
	}{
		{"wk", "2026-11-02", "10:00", false}, // Monday
		{"wk", "2026-11-02", "18:00", true},
		{"wk", "2026-11-01", "10:00", true},     // Sunday
		{"work", "2026-10-01", "10:00", true},   // Thursday, National Day off
		{"work", "2026-09-20", "10:00", false},  // Sunday worked
		{"work", "2026-11-01", "10:00", true},   // Sunday
		{"other", "2026-11-01", "03:00", false}, // no opening hours: no check
	} {
		if got := tap(c.station, c.day, c.at); got != c.outside {
			t.Errorf("%s %s %s: outside %v, want %v", c.station, c.day, c.at, got, c.outside)
		}
	}
}
