package fleet

import "time"

// CST is China Standard Time (UTC+8, no daylight saving), in which every
// time meant for a person is shown. Times are stored and computed in UTC;
// only their display is local.
var CST = time.FixedZone("CST", 8*3600)

// LocalTime formats t for a person in China Standard Time, as
// "2006-01-02 15:04:05 (北京时间)"; "" for the zero time.
func LocalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(CST).Format("2006-01-02 15:04:05") + " (北京时间)"
}
