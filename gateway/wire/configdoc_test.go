package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// schemaCase is a config document and whether it is valid.
type schemaCase struct {
	name  string
	doc   string
	valid bool
}

var key32 = `"` + strings.Repeat("A", 43) + `="`

var schemaCases = []schemaCase{
	{"minimal", `{"v":1,"version":1}`, true},
	{"full", `{"v":1,"version":7,"station":"pe-simao-001","profile":{"name":"思茅站","checklist":[{"item":"有场地","done":true}]},
		"menu":[{"id":"c1","name":"助老","items":[{"id":"m1","name":"陪伴"}]}],"board":{"phone":"0879-1234567"},
		"announcements":[{"title":"周末义诊"}],"ui":{"idle_timeout_seconds":120,"language":"en"},
		"reader":{"debounce_ms":1500,"antenna_gain":7},"rules":{"max_session_minutes":600},
		"stars":[100,300],"revoked":["S1"],"key_set":{"v":1,"key":"root-1","payload":"e30=","sig":"` + strings.Repeat("A", 86) + `=="}}`, true},
	{"version zero", `{"v":1,"version":0}`, false},
	{"no version", `{"v":1}`, false},
	{"bad station", `{"v":1,"version":2,"station":"PE_1"}`, false},
	{"menu item without name", `{"v":1,"version":2,"menu":[{"id":"c","name":"n","items":[{"id":"x"}]}]}`, false},
	{"menu id empty", `{"v":1,"version":2,"menu":[{"id":"","name":"n"}]}`, false},
	{"debounce too long", `{"v":1,"version":2,"reader":{"debounce_ms":60001}}`, false},
	{"gain 8", `{"v":1,"version":2,"reader":{"antenna_gain":8}}`, false},
	{"max session negative", `{"v":1,"version":2,"rules":{"max_session_minutes":-1}}`, false},
	{"language fr", `{"v":1,"version":2,"ui":{"language":"fr"}}`, false},
	{"idle too long", `{"v":1,"version":2,"ui":{"idle_timeout_seconds":3601}}`, false},
	{"empty announcement title", `{"v":1,"version":2,"announcements":[{"title":""}]}`, false},
	{"long title", `{"v":1,"version":2,"announcements":[{"title":"` + strings.Repeat("长", 201) + `"}]}`, false},
	{"title 200 chars", `{"v":1,"version":2,"announcements":[{"title":"` + strings.Repeat("长", 200) + `"}]}`, true},
	{"short key", `{"v":1,"version":2,"trusted_keys":[{"id":1,"public_key":"AAAA"}]}`, false},
	{"bare issuer key", `{"v":1,"version":2,"trusted_keys":[{"id":1,"public_key":` + key32 + `}]}`, false},
	{"key set without signature", `{"v":1,"version":2,"key_set":{"v":1,"key":"root-1","payload":"e30=","sig":""}}`, false},
	{"zero star", `{"v":1,"version":2,"stars":[0,100]}`, false},
	{"empty revoked serial", `{"v":1,"version":2,"revoked":[""]}`, false},
	{"honor stars 6", `{"v":1,"version":2,"honor_roll":[{"volunteer":"V1","name":"张*三","hours":1,"stars":6}]}`, false},
	{"negative hours", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"x","hours":-1}]}`, false},
	{"unmasked volunteer", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王小明","hours":1}]}`, false},
	{"masked volunteer", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":1,"hours_as_of":"2026-11-29T10:00:00Z"}]}`, true},
	{"unmasked honor", `{"v":1,"version":2,"honor_roll":[{"volunteer":"V1","name":"张三","hours":1,"stars":1}]}`, false},
	{"orders and served", `{"v":1,"version":2,"orders":[{"ref":"XQ-0042","category":"家政","state":"rejected","reason":"不在服务范围","check":"0123456789abcdef"}],
		"served":{"period":"2026年11月","counts":[{"category":"家政","count":3}]},
		"volunteers":[{"id":"V1","name":"王*明","hours":1,"tasks":[{"ref":"XQ-0042","category":"家政"}]}]}`, true},
	{"order without check", `{"v":1,"version":2,"orders":[{"ref":"XQ-0042","state":"submitted","check":""}]}`, false},
	{"order unknown state", `{"v":1,"version":2,"orders":[{"ref":"XQ-0042","state":"lost","check":"0123456789abcdef"}]}`, false},
	{"served empty category", `{"v":1,"version":2,"served":{"counts":[{"category":"","count":1}]}}`, false},
	{"unknown field ignored", `{"v":1,"version":2,"future":{"x":1}}`, true},
	{"activities, notice and notes", `{"v":1,"version":2,
		"activities":[{"id":7,"name":"社区助老：为独居老人上门送餐","category":"关爱老人","start":"2026-11-29T01:00:00Z","end":"2026-11-29T04:00:00Z"},
			{"id":8,"name":"站点日常服务","start":"2026-01-01T00:00:00Z","end":"2026-12-31T00:00:00Z","default":true}],
		"notice":[{"id":"tap:0192d3c4-0000-7000-8000-000000000001","name":"王*明","day":"2026-11-02","activity":"社区助老","hours":1.5,"until":"2026-11-06T16:00:00Z"},
			{"id":"man:x","name":"李*","day":"2026-11-03","hours":0,"objected":true}],
		"volunteers":[{"id":"V1","name":"王*明","hours":1,"star_eligible":3,"notes":[{"id":"tap:x","text":"11月2日 社区助老：1.5小时，审核通过，公示至11月6日"}]}]}`, true},
	{"activity id zero", `{"v":1,"version":2,"activities":[{"id":0,"name":"a","start":"2026-11-29T01:00:00Z","end":"2026-11-29T04:00:00Z"}]}`, false},
	{"activity without name", `{"v":1,"version":2,"activities":[{"id":1,"name":"","start":"2026-11-29T01:00:00Z","end":"2026-11-29T04:00:00Z"}]}`, false},
	{"activity name too long", `{"v":1,"version":2,"activities":[{"id":1,"name":"` + strings.Repeat("长", 201) + `","start":"2026-11-29T01:00:00Z","end":"2026-11-29T04:00:00Z"}]}`, false},
	{"notice unmasked", `{"v":1,"version":2,"notice":[{"id":"tap:x","name":"王小明","day":"2026-11-02","hours":1}]}`, false},
	{"notice bad day", `{"v":1,"version":2,"notice":[{"id":"tap:x","name":"王*明","day":"11月2日","hours":1}]}`, false},
	{"notice negative hours", `{"v":1,"version":2,"notice":[{"id":"tap:x","name":"王*明","day":"2026-11-02","hours":-1}]}`, false},
	{"notice without id", `{"v":1,"version":2,"notice":[{"id":"","name":"王*明","day":"2026-11-02","hours":1}]}`, false},
	{"notice with star awards", `{"v":1,"version":2,"notice":[{"id":"star:12","kind":"star","level":3,"name":"陈*红","day":"2026-11-20","activity":"星级认定公示：拟认定为三星级志愿者","hours":0,"until":"2026-11-25T16:00:00Z"},
			{"id":"star:13","kind":"star","level":2,"name":"","org":"茶源社区志愿服务队","day":"2026-11-20","hours":0,"objected":true},
			{"id":"tap:x","kind":"record","name":"王*明","day":"2026-11-02","hours":1}]}`, true},
	{"notice unknown kind", `{"v":1,"version":2,"notice":[{"id":"x:1","kind":"medal","name":"王*明","day":"2026-11-02","hours":0}]}`, false},
	{"notice star level 6", `{"v":1,"version":2,"notice":[{"id":"star:1","kind":"star","level":6,"name":"王*明","day":"2026-11-02","hours":0}]}`, false},
	{"notice star unmasked", `{"v":1,"version":2,"notice":[{"id":"star:1","kind":"star","level":1,"name":"王小明","day":"2026-11-02","hours":0}]}`, false},
	{"notice org too long", `{"v":1,"version":2,"notice":[{"id":"star:1","kind":"star","level":1,"org":"` + strings.Repeat("长", 201) + `","day":"2026-11-02","hours":0}]}`, false},
	{"note empty", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":1,"notes":[{"id":"tap:x","text":""}]}]}`, false},
	{"star eligible 6", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":1,"star_eligible":6}]}`, false},
	{"star awarded", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":1,"star":0},{"id":"V2","name":"李*","hours":1,"star":3}]}`, true},
	{"star 6", `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":1,"star":6}]}`, false},
}

// TestSchemaAgreesWithGo runs every example through the committed JSON
// Schema (with the small evaluator below) and through DecodeConfig; both
// must give the expected answer.
func TestSchemaAgreesWithGo(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(ConfigSchema, &schema); err != nil {
		t.Fatalf("config.schema.json: %v", err)
	}
	for _, c := range schemaCases {
		var doc any
		if err := json.Unmarshal([]byte(c.doc), &doc); err != nil {
			t.Fatalf("%s: example is not JSON: %v", c.name, err)
		}
		schemaErr := evalSchema(schema, doc, "$")
		if (schemaErr == nil) != c.valid {
			t.Errorf("%s: schema says %v, want valid=%v", c.name, schemaErr, c.valid)
		}
		_, goErr := DecodeConfig([]byte(c.doc))
		if (goErr == nil) != c.valid {
			t.Errorf("%s: ValidateConfig says %v, want valid=%v", c.name, goErr, c.valid)
		}
	}
}

func TestGoOnlyConstraints(t *testing.T) {
	for _, doc := range []string{
		`{"v":1,"version":2,"stars":[300,100]}`,
		`{"v":1,"version":2,"notice":[{"id":"star:1","kind":"star","name":"王*明","day":"2026-11-02","hours":0}]}`,
		`{"v":1,"version":2,"menu":[{"id":"c","name":"n","items":[{"id":"x","name":"a"},{"id":"x","name":"b"}]}]}`,
	} {
		if _, err := DecodeConfig([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", doc, err)
		}
	}
	if _, err := DecodeConfig([]byte(`{"v":2,"version":2}`)); !errors.Is(err, ErrVersion) {
		t.Errorf("v=2: %v", err)
	}
}

// An activity that ends before it starts is refused by Go alone (a
// schema cannot compare two fields).
func TestActivityWindow(t *testing.T) {
	if _, err := DecodeConfig([]byte(`{"v":1,"version":2,"activities":[{"id":1,"name":"a","start":"2026-11-29T04:00:00Z","end":"2026-11-29T01:00:00Z"}]}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("backwards window: %v", err)
	}
	a := StationActivity{ID: 1, Name: "a", Start: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{a.Start.Add(-ActivityMargin - time.Second), false}, {a.Start.Add(-ActivityMargin), true}, {a.Start, true},
		{a.End.Add(ActivityMargin), true}, {a.End.Add(ActivityMargin + time.Second), false},
	} {
		if got := a.Current(c.at); got != c.want {
			t.Errorf("Current(%s) = %v", c.at, got)
		}
	}
}

// Old and new kiosks and clouds understand each other: a document with
// this version's activities, notice and notes decodes for a kiosk that
// knows none of them (an unknown field is ignored), and a document
// without them decodes here with the lists empty.
func TestActivitiesNoticeCompatible(t *testing.T) {
	c := &Config{Version: 5, Station: "st-a",
		Activities: []StationActivity{{ID: 7, Name: "社区助老", Category: "关爱老人", Start: time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)}},
		Notice: []NoticeRecord{{ID: "tap:1", Name: "王*明", Day: "2026-11-02", Activity: "社区助老", Hours: 1.5, Objected: true},
			{ID: "star:3", Kind: NoticeStar, Level: 3, Name: "陈*红", Day: "2026-11-20", Activity: "星级认定公示：拟认定为三星级志愿者"}},
		Volunteers: []VolunteerSummary{{ID: "V1", Name: "王*明", Hours: 3, StarEligible: 2, Notes: []VolunteerNote{{ID: "tap:1", Text: "审核通过"}}}}}
	data, err := EncodeConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Activities, c.Activities) || !reflect.DeepEqual(back.Notice, c.Notice) || !reflect.DeepEqual(back.Volunteers, c.Volunteers) {
		t.Fatalf("round trip:\n%+v\n%+v", back, c)
	}
	// An older kiosk's view of the document: its Config without the new
	// fields, decoded the way decode does (unknown fields ignored).
	type oldVolunteer struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Hours float64 `json:"hours"`
	}
	var old struct {
		V          int            `json:"v"`
		Version    uint64         `json:"version"`
		Volunteers []oldVolunteer `json:"volunteers"`
	}
	if err := decode(data, &old, &old.V); err != nil || old.Version != 5 || len(old.Volunteers) != 1 {
		t.Fatalf("old kiosk: %v %+v", err, old)
	}
	// And a document of an older cloud decodes here.
	prev, err := DecodeConfig([]byte(`{"v":1,"version":4,"station":"st-a","volunteers":[{"id":"V1","name":"王*明","hours":3}]}`))
	if err != nil || prev.Activities != nil || prev.Notice != nil || prev.Volunteers[0].Notes != nil {
		t.Fatalf("older document: %v %+v", err, prev)
	}
}

func TestMergeStationWins(t *testing.T) {
	fleet := &Config{V: 1, Version: 3, Reader: &ReaderConfig{DebounceMillis: 2000}, Menu: []MenuCategory{{ID: "f", Name: "fleet"}},
		Board: &Board{Phone: "1"}}
	station := &Config{V: 1, Version: 9, Station: "s-1", Reader: &ReaderConfig{AntennaGain: new(6)}, Board: &Board{Phone: "2"}}
	m := MergeConfig(DefaultConfig(), fleet, station)
	if m.Version != 9 || m.Station != "s-1" {
		t.Fatalf("version/station %d %q", m.Version, m.Station)
	}
	if m.Reader.DebounceMillis != 2000 || m.Reader.Gain() != 6 {
		t.Fatalf("reader %+v", m.Reader)
	}
	if m.Board.Phone != "2" || len(m.Menu) != 1 || m.Menu[0].ID != "f" {
		t.Fatalf("board %+v menu %+v", m.Board, m.Menu)
	}
	if m.Rules.MaxSessionMinutes != 720 || len(m.Stars) != 5 {
		t.Fatalf("defaults lost: %+v %v", m.Rules, m.Stars)
	}
	if d := DefaultConfig(); d.Reader.Gain() != 4 {
		t.Fatal("merge wrote through to the defaults")
	}
}

// evalSchema checks doc against the subset of JSON Schema that
// config.schema.json uses.
func evalSchema(s map[string]any, doc any, at string) error {
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(doc) {
		return fmt.Errorf("%s: want %v", at, c)
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || fmt.Sprint(x) == fmt.Sprint(doc)
		}
		if !found {
			return fmt.Errorf("%s: %v not in enum", at, doc)
		}
	}
	switch s["type"] {
	case "object":
		m, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				return fmt.Errorf("%s: %s required", at, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range m {
			if ps, ok := props[k].(map[string]any); ok {
				if err := evalSchema(ps, v, at+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := doc.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", at)
		}
		if mx, ok := s["maxItems"].(float64); ok && float64(len(a)) > mx {
			return fmt.Errorf("%s: too many items", at)
		}
		if is, ok := s["items"].(map[string]any); ok {
			for i, x := range a {
				if err := evalSchema(is, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := doc.(string)
		if !ok {
			return fmt.Errorf("%s: not a string", at)
		}
		n := float64(utf8.RuneCountInString(str))
		if mn, ok := s["minLength"].(float64); ok && n < mn {
			return fmt.Errorf("%s: too short", at)
		}
		if mx, ok := s["maxLength"].(float64); ok && n > mx {
			return fmt.Errorf("%s: too long", at)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: does not match %s", at, p)
		}
	case "integer", "number":
		x, ok := doc.(float64)
		if !ok || (s["type"] == "integer" && x != math.Trunc(x)) {
			return fmt.Errorf("%s: not a %s", at, s["type"])
		}
		if mn, ok := s["minimum"].(float64); ok && x < mn {
			return fmt.Errorf("%s: below minimum", at)
		}
		if mn, ok := s["exclusiveMinimum"].(float64); ok && x <= mn {
			return fmt.Errorf("%s: not above exclusive minimum", at)
		}
		if mx, ok := s["maximum"].(float64); ok && x > mx {
			return fmt.Errorf("%s: above maximum", at)
		}
	case "boolean":
		if _, ok := doc.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", at)
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }
