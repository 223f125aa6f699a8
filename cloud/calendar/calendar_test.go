package calendar

import (
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The 2026 National Day holiday (国办发明电〔2025〕7号): 1–7 October off,
// Sunday 20 September and Saturday 10 October worked.
var national2026 = []store.Holiday{
	{Day: "2026-09-20", Kind: store.HolidayWorkday, Name: "国庆节调休上班"},
	{Day: "2026-10-01", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-02", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-05", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-06", Kind: store.HolidayOff, Name: "国庆节"},
	{Day: "2026-10-07", Kind: store.HolidayOff, Name: "国庆节"},
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
		{"2026-09-30", 3, "2026-10-11"}, // before the holiday: Thu 8th, Fri 9th, Sat 10th (worked) → Sun 11th
		{"2026-09-18", 1, "2026-09-21"}, // Friday: Sunday 20th is worked → Monday 21st
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
	if n := c.WorkingDaysBetween(at("2026-09-30", 9), at("2026-10-12", 9)); n != 4 {
		t.Errorf("30 Sep to 12 Oct: %d working days, want 4 (8th, 9th, 10th, 12th)", n)
	}
	if n := c.WorkingDaysBetween(at("2026-11-02", 9), at("2026-11-02", 20)); n != 0 {
		t.Errorf("same day: %d", n)
	}
}
