package broker

import "testing"

func TestStationMay(t *testing.T) {
	for _, c := range []struct {
		topic string
		write bool
		want  bool
	}{
		{"leifeng/v1/stations/st-a/records", true, true},
		{"leifeng/v1/stations/st-a/state", true, true},
		{"leifeng/v1/stations/st-b/records", true, false},
		{"leifeng/v1/stations/st-a/ack", true, false},
		{"leifeng/v1/stations/st-a/config", true, false},
		{"leifeng/v1/fleet/config", true, false},
		{"leifeng/v1/stations/st-a/ack", false, true},
		{"leifeng/v1/stations/st-a/config", false, true},
		{"leifeng/v1/stations/st-a/commands", false, true},
		{"leifeng/v1/fleet/config", false, true},
		{"leifeng/v1/stations/st-b/commands", false, false},
		{"leifeng/v1/stations/+/commands", false, false},
		{"leifeng/v1/#", false, false},
		{"leifeng/v1/stations/st-a/records", false, false},
	} {
		if got := StationMay("st-a", c.topic, c.write); got != c.want {
			t.Errorf("st-a write=%v %s: %v, want %v", c.write, c.topic, got, c.want)
		}
	}
	if StationMay("", "leifeng/v1/fleet/config", false) {
		t.Error("empty user allowed")
	}
}
