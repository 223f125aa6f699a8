package calendar

import (
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The 2026 National Day holiday as the State Council announced it:
// 1–8 October off, Sunday 27 September and Saturday 10 October worked.
var national2026 = []store.Holiday{
	{Day: "2026-09-27", Kind: store.HolidayWorkday, Name: "国庆节调休上班"},
	{Day: "2026-10-01", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-02", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-05", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-06", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-07", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-08", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-10", Kind: store.HolidayWorkday, Name: "国庆节调休上班"},
}

func at(day string, hour int) time.Time {
	t, err := time.ParseInLocation(Layout, day, CST)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(hour) * time.Hour)
}

func TestAfter(t *testing.T) {
	c := New(national2026)
	for _, tc := range []struct {
		from string
		n    int
		want string // the day that starts when the period is over
	}{
		{"2026-11-06", 3, "2026-11-12"}, // Friday: Mon, Tue, Wed → Thursday
		{"2026-11-02", 3, "2026-11-06"}, // Monday: Tue, Wed, Thu → Friday
		{"2026-09-30", 3, "2026-10-13"}, // before the holiday: Fri 9th, Sat 10th (worked), Mon 12th → Tue 13th
		{"2026-09-25", 1, "2026-09-28"}, // Friday: Sunday 27th is worked → Monday 28th
		{"2026-11-06", 10, "2026-11-21"},
		{"2026-11-06", 0, "2026-11-07"},
	} {
		got := c.After(at(tc.from, 15), tc.n)
		if want := at(tc.want, 0); !got.Equal(want) {
			t.Errorf("%d working days after %s: %s, want %s", tc.n, tc.from, got, want)
		}
	}
	if New(nil).After(at("2026-09-30", 9), 3) != at("2026-10-06", 0) {
		t.Error("without the calendar entered, only weekends are off")
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := New(national2026)
	if n := c.WorkingDaysBetween(at("2026-09-30", 9), at("2026-10-12", 9)); n != 3 {
		t.Errorf("30 Sep to 12 Oct: %d working days, want 3 (9th, 10th, 12th)", n)
	}
	if n := c.WorkingDaysBetween(at("2026-11-02", 9), at("2026-11-02", 20)); n != 0 {
		t.Errorf("same day: %d", n)
	}
}
