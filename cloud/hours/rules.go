// Package hours turns what the kiosks record into service records the
// city can trust (issue 12): the hour rules (rounding bands, the minimum
// share of an activity, the daily caps and their escalation, the session
// limit, the kinds that never count), versioned so that each record names
// the rule that counted it; the checks that send a record to a person
// (review reasons) and which level of person.
package hours

import "leifeng/cloud/store"

// Rules are one version of the hour rules. A version, once stored
// (store hour_rules), never changes: a change is a new version, and a
// record keeps the version that counted it.
type Rules struct {
	// Bands round a session's minutes: the first band whose UpTo (minutes,
	// exclusive) is above the session's length gives its hours; a session
	// longer than every band counts its minutes rounded down to the last
	// band's Step (hours, e.g. 0.5) — or exactly, Step 0.
	Bands []Band  `json:"bands"`
	Step  float64 `json:"step"`
	// MinShare is the share of the activity's planned length (its start
	// to end) a session must reach to count at all (0.6 on Yunnan's youth
	// platform); 0 for none. A station's default activity has no planned
	// length, so it does not apply there.
	MinShare float64 `json:"min_share"`
	// A volunteer's counted hours in one day above OrgCap need the
	// organisation's approval, above CountyCap the county's (hours).
	OrgCap    float64 `json:"org_cap"`
	CountyCap float64 `json:"county_cap"`
	// MaxSessions is how many sessions a day count (0: no limit); those
	// after it go to review.
	MaxSessions int `json:"max_sessions"`
	// Excluded are activity kinds that never count (meeting, duty).
	Excluded []string `json:"excluded"`
	// NoticeDays is the public notice (公示) in working days.
	NoticeDays int `json:"notice_days"`
	// DeadlineDays is the working days within which a record must be
	// entered and reviewed (民政部令第67号 Art. 11: 10); WarnDays before
	// the deadline a record still in review is marked for its reviewer.
	DeadlineDays int `json:"deadline_days"`
	WarnDays     int `json:"warn_days"`
	// ManualCap is the most manual hours (补录) one volunteer may have in
	// one ManualPeriod ("month" or "year").
	ManualCap    float64 `json:"manual_cap"`
	ManualPeriod string  `json:"manual_period"`
	// TravelKmh is the fastest a volunteer can travel between stations
	// (taps at two stations closer in time than this allows are an
	// anomaly); BurstTaps taps of one card within BurstMinutes are a
	// burst.
	TravelKmh    float64 `json:"travel_kmh"`
	BurstTaps    int     `json:"burst_taps"`
	BurstMinutes int     `json:"burst_minutes"`
}

// Band is one rounding band: sessions shorter than UpTo minutes count
// Hours.
type Band struct {
	UpTo  int     `json:"up_to_minutes"`
	Hours float64 `json:"hours"`
}

// Default is the rules a new cloud starts with: the example
// bands (under 15 min → 0, 15–45 → 0.5 h, 45–60 → 1 h, then half hours
// rounded down), no minimum share, 8 h and 12 h daily caps, four sessions
// a day, meetings and routine duty never counting, three working days of
// notice, ten of deadline (warned three before), 20 manual hours a month.
func Default() Rules {
	return Rules{
		Bands:        []Band{{UpTo: 15, Hours: 0}, {UpTo: 45, Hours: 0.5}, {UpTo: 60, Hours: 1}},
		Step:         0.5,
		OrgCap:       8,
		CountyCap:    12,
		MaxSessions:  4,
		Excluded:     []string{"meeting", "duty"},
		NoticeDays:   3,
		DeadlineDays: 10,
		WarnDays:     3,
		ManualCap:    20,
		ManualPeriod: "month",
		TravelKmh:    60,
		BurstTaps:    6,
		BurstMinutes: 10,
	}
}

// Review reasons: why a record waits for a person (store
// ServiceRecord.Reasons).
const (
	ReasonAutoCheckOut   = "auto_check_out"      // the kiosk closed the session, not the volunteer
	ReasonOverOrgCap     = "over_org_cap"        // the day's hours exceed OrgCap
	ReasonOverCountyCap  = "over_county_cap"     // the day's hours exceed CountyCap
	ReasonTooManySession = "too_many_sessions"   // beyond MaxSessions that day
	ReasonTravel         = "travel"              // the card at two stations closer in time than travel allows
	ReasonBurst          = "burst"               // a burst of taps of one card
	ReasonOutsideHours   = "outside_hours"       // a tap outside the station's opening hours
	ReasonDeadline       = "deadline"            // still in review close to the 10-working-day deadline
	ReasonManual         = "manual"              // a manual entry (补录)
	ReasonFlagged        = "flagged"             // the session's own flags: too long, overlapping, dated ahead
	ReasonObjection      = store.ReasonObjection // an objection during 公示 was upheld (cloud/notice, store.ResolveObjection)
)

// Reviewer levels (store ServiceRecord.Reviewer).
const (
	ReviewStation = "station"
	ReviewOrg     = "org"
	ReviewCounty  = "county"
	ReviewCity    = "city"
)
