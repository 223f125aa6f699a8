package review

import (
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
)

func TestParseHours(t *testing.T) {
	for in, want := range map[string]int64{"1.5": 150, "2": 200, "0.25": 25, " 8.50 ": 850, ".5": 50, "24": 2400, "0": 0} {
		if got, err := ParseHours(in); err != nil || got != want {
			t.Errorf("ParseHours(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "24.01", "1.505", "abc", "1,5", ".", "1e2"} {
		if got, err := ParseHours(in); err == nil {
			t.Errorf("ParseHours(%q) = %d, want an error", in, got)
		}
	}
	for cents, want := range map[int64]string{150: "1.5", 200: "2", 25: "0.25", 0: "0", 850: "8.5"} {
		if got := Hours(cents); got != want {
			t.Errorf("Hours(%d) = %q, want %q", cents, got, want)
		}
	}
}

// The outcome the volunteer reads, written out by hand: approved on
// Friday 2026-10-30 with three working days of notice ends on Wednesday
// 4 November (the notice ends at the midnight that starts 5 November).
func TestOutcome(t *testing.T) {
	cal := calendar.New(nil)
	now := time.Date(2026, 10, 30, 15, 0, 0, 0, calendar.CST)
	r := &store.ServiceRecord{Day: "2026-11-02", ActivityName: "社区助老", CountedCents: 150, NoticeUntil: cal.After(now, 3)}
	if got, want := Outcome(r, ActionApprove, 150, ""), "11月2日 社区助老：1.5小时，审核通过，公示至11月4日"; got != want {
		t.Errorf("approve: %q, want %q", got, want)
	}
	if got, want := Outcome(r, ActionAdjust, 200, "中途离开"), "11月2日 社区助老：由2小时调整为1.5小时（中途离开），公示至11月4日"; got != want {
		t.Errorf("adjust: %q, want %q", got, want)
	}
	if got, want := Outcome(r, ActionReject, 150, "无签到记录"), "11月2日 社区助老：1.5小时，未通过审核（无签到记录），不计入时长"; got != want {
		t.Errorf("reject: %q, want %q", got, want)
	}
}

func TestRouted(t *testing.T) {
	station := &access.Scope{Role: access.Station, Stations: map[string]bool{"s1": true}, Areas: map[string]bool{"c1": true}}
	org := &access.Scope{Role: access.Org, Orgs: map[string]bool{"O1": true, "O2": true}, Areas: map[string]bool{"c1": true}}
	county := &access.Scope{Role: access.County, Areas: map[string]bool{"k": true, "c1": true}}
	users := map[string]struct {
		u  *access.User
		sc *access.Scope
	}{
		"station": {&access.User{Name: "s", Role: access.Station}, station},
		"org":     {&access.User{Name: "o", Role: access.Org}, org},
		"county":  {&access.User{Name: "k", Role: access.County}, county},
		"auditor": {&access.User{Name: "a", Role: access.Auditor}, county},
	}
	for _, c := range []struct {
		rec  store.ServiceRecord
		want string // the one user it is routed to ("" none of these)
	}{
		{store.ServiceRecord{Reviewer: "station", Station: "s1", Community: "c1"}, "station"},
		{store.ServiceRecord{Reviewer: "station", Station: "s2", Community: "c1"}, ""},
		{store.ServiceRecord{Reviewer: "org", Org: "O2", Community: "c9"}, "org"},
		{store.ServiceRecord{Reviewer: "org", Org: "", Community: "c1"}, "county"},
		{store.ServiceRecord{Reviewer: "county", Station: "s1", Org: "O1", Community: "c1"}, "county"},
		{store.ServiceRecord{Reviewer: "county", Community: "c9"}, ""},
		{store.ServiceRecord{Reviewer: "city", Station: "s1", Org: "O1", Community: "c1"}, ""},
	} {
		for name, x := range users {
			if got := Routed(x.u, x.sc, &c.rec); got != (name == c.want) {
				t.Errorf("%+v routed to %s: %v", c.rec, name, got)
			}
		}
	}
}
