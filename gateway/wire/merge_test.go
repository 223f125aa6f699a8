package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// fill sets every field reachable from v (structs, pointers, slices) to a
// non-zero value derived from seed and the field's path, so that two
// documents filled with different seeds differ in every leaf. Booleans
// are seed%2==1: the station (even seed) says false where the fleet (odd
// seed) says true, which is what an OR-merge gets wrong.
func fill(t *testing.T, v reflect.Value, seed int, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed, path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 1+seed, 0, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fill(t, v.Field(i), seed, path+"."+f.Name)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0), seed, path+"[0]")
		v.Set(s)
	case reflect.String:
		v.SetString(fmt.Sprintf("%s#%d", path, seed))
	case reflect.Bool:
		v.SetBool(seed%2 == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(seed + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.5)
	case reflect.Map, reflect.Interface:
		t.Fatalf("%s: fill does not know %s; teach it, then MergeConfig", path, v.Kind())
	default:
		t.Fatalf("%s: fill does not know %s", path, v.Kind())
	}
}

// sameLeaves reports every field of want (descending into the nested
// settings structs, which merge field by field) whose value got does not
// carry.
func sameLeaves(got, want reflect.Value, path string) []string {
	if want.Kind() == reflect.Pointer && want.Elem().Kind() == reflect.Struct && want.Type().Elem() != reflect.TypeFor[Envelope]() {
		if got.IsNil() {
			return []string{path + " is nil"}
		}
		got, want = got.Elem(), want.Elem()
	}
	if want.Kind() == reflect.Struct && want.Type() != reflect.TypeFor[time.Time]() {
		var bad []string
		for i := range want.NumField() {
			f := want.Type().Field(i)
			bad = append(bad, sameLeaves(got.Field(i), want.Field(i), path+"."+f.Name)...)
		}
		return bad
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s = %v, want %v", path, show(got), show(want))}
	}
	return nil
}

// TestMergeConfigCarriesEveryField fails when MergeConfig ignores a field
// of Config, including one added later: every field of a station document
// (nested settings included) is set, and must arrive over a fleet
// document that sets every field differently. A new field that is not
// merged fails here until MergeConfig handles it.
func TestMergeConfigCarriesEveryField(t *testing.T) {
	var fleet, station Config
	fill(t, reflect.ValueOf(&fleet).Elem(), 1, "Config")
	fill(t, reflect.ValueOf(&station).Elem(), 2, "Config")
	// V is the schema version the merged document is written in, not a
	// setting.
	fleet.V, station.V = Version, Version
	m := MergeConfig(DefaultConfig(), &fleet, &station)
	// Revocations add up rather than the station's winning
	// (TestRevokedAddsUp): compare the rest.
	if !reflect.DeepEqual(m.Revoked, append(slices.Clone(fleet.Revoked), station.Revoked...)) {
		t.Errorf("revoked %v, want the fleet's and the station's", m.Revoked)
	}
	m.Revoked = station.Revoked
	for _, bad := range sameLeaves(reflect.ValueOf(*m), reflect.ValueOf(station), "Config") {
		t.Error("station field lost in merge: " + bad)
	}
	// And every fleet field arrives where the station sets nothing.
	m = MergeConfig(DefaultConfig(), &fleet, &Config{V: 1, Version: fleet.Version, Station: fleet.Station, Issued: fleet.Issued})
	for _, bad := range sameLeaves(reflect.ValueOf(*m), reflect.ValueOf(fleet), "Config") {
		t.Error("fleet field lost in merge: " + bad)
	}
}

// TestStationSwitchesOffFleetDefault: a fleet that turns large text and
// high contrast on, and a station that turns them off; the station's
// explicit false wins, and a station that says nothing keeps the fleet's.
func TestStationSwitchesOffFleetDefault(t *testing.T) {
	fleet, err := DecodeConfig([]byte(`{"v":1,"version":3,"ui":{"large_text":true,"high_contrast":true},"reader":{"antenna_gain":6}}`))
	if err != nil {
		t.Fatal(err)
	}
	station, err := DecodeConfig([]byte(`{"v":1,"version":9,"station":"s-1","ui":{"large_text":false,"high_contrast":false},"reader":{"antenna_gain":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := MergeConfig(DefaultConfig(), fleet, station)
	if m.UI.LargeTextOn() || m.UI.HighContrastOn() {
		t.Errorf("station's false lost: large_text=%v high_contrast=%v", m.UI.LargeTextOn(), m.UI.HighContrastOn())
	}
	if m.Reader.Gain() != 0 {
		t.Errorf("station's antenna_gain 0 lost: %d", m.Reader.Gain())
	}
	silent := &Config{V: 1, Version: 9, Station: "s-1", UI: &UISettings{Language: "en"}}
	m = MergeConfig(DefaultConfig(), fleet, silent)
	if !m.UI.LargeTextOn() || !m.UI.HighContrastOn() || m.Reader.Gain() != 6 {
		t.Errorf("fleet defaults lost: %+v gain %d", m.UI, m.Reader.Gain())
	}
	// On the wire the switches stay plain booleans, and false is sent.
	b, err := json.Marshal(station.UI)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"large_text":false,"high_contrast":false}` {
		t.Errorf("wire form %s", b)
	}
}

// show prints a pointer's target rather than its address.
func show(v reflect.Value) any {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return v.Elem().Interface()
	}
	return v.Interface()
}

// TestRevokedAddsUp: revocations are the one field that does not let the
// station win. A station document pushed before a card was revoked still
// lists the old revocations; the fleet document pushed after the
// revocation carries the new one, and the merged config refuses both.
func TestRevokedAddsUp(t *testing.T) {
	fleet := &Config{V: Version, Version: 20, Revoked: []string{"C-OLD", "C-NEW"}}
	station := &Config{V: Version, Version: 10, Station: "s-1", Revoked: []string{"C-OLD", "C-LOCAL"}}
	m := MergeConfig(DefaultConfig(), fleet, station)
	if want := []string{"C-OLD", "C-NEW", "C-LOCAL"}; !reflect.DeepEqual(m.Revoked, want) {
		t.Fatalf("merged revoked %v, want %v", m.Revoked, want)
	}
	if len(fleet.Revoked) != 2 || len(station.Revoked) != 2 {
		t.Fatalf("inputs modified: %v %v", fleet.Revoked, station.Revoked)
	}
}
