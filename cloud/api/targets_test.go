package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/store"
	"leifeng/cloud/targets/targetstest"
	"leifeng/internal/pgtest"
)

// want is one figure as worked out by hand from the fixture's story
// (targetstest's package comment); target and status "" mean null.
type want struct {
	num, den float64 // den < 0: no denominator (organisations)
	target   float64 // < 0: no target
	status   string
}

// TestTargetsFixture asks GET /api/v1/targets for the fixture's city, one
// county and one community, and compares every figure and status with
// the answers written here by hand; then the children, the trend, a past
// year, scope and the target settings.
func TestTargetsFixture(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(db.name, func(t *testing.T) { testTargetsFixture(t, db.dsn(t)) })
	}
}

func testTargetsFixture(t *testing.T, dsn string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := targetstest.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	city := api.SeedUser(t, db, "admin", access.City, "", "pw-目标-1234567", false)
	county := api.SeedUser(t, db, "simao", access.County, targetstest.County, "pw-目标-1234567", false)
	other := api.SeedUser(t, db, "ninger", access.County, targetstest.County2, "pw-目标-1234567", false)
	station := api.SeedUser(t, db, "zhenxing", access.Station, "pe-st-b", "pw-目标-1234567", false)
	org := api.SeedUser(t, db, "nanping", access.Org, "O1", "pw-目标-1234567", false)
	srv := httptest.NewServer(api.New(db, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		&api.Fleet{Store: db, Now: func() time.Time { return targetstest.Now }}))
	defer srv.Close()
	call := func(token, method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	check := func(token, area string, year int, wants map[string]want) {
		t.Helper()
		code, body := call(token, "GET", "/api/v1/targets?area="+area+"&year="+itoa(year), "")
		if code != 200 {
			t.Fatalf("%s %d: %d %s", area, year, code, body)
		}
		var got struct {
			Area    string                                `json:"area"`
			Year    int                                   `json:"year"`
			Figures map[string]map[string]json.RawMessage `json:"figures"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Area != area || got.Year != year || len(got.Figures) != 6 {
			t.Fatalf("%s %d: %s", area, year, body)
		}
		for key, w := range wants {
			f := got.Figures[key]
			num := number(t, f["numerator"])
			val := number(t, f["value"])
			wantVal := w.num
			if w.den >= 0 {
				if string(f["denominator"]) == "" {
					t.Errorf("%s %d %s: no denominator: %s", area, year, key, body)
				}
				if den := number(t, f["denominator"]); den != w.den {
					t.Errorf("%s %d %s: denominator %v, want %v", area, year, key, den, w.den)
				}
				wantVal = 0
				if w.den != 0 {
					wantVal = w.num / w.den
				}
			} else if _, has := f["denominator"]; has {
				t.Errorf("%s %d %s: a count has a denominator: %s", area, year, key, body)
			}
			if math.Abs(num-w.num) > 1e-9 || math.Abs(val-wantVal) > 1e-9 {
				t.Errorf("%s %d %s: %v/%s = %v, want %v/%v = %v", area, year, key, num, f["denominator"], val, w.num, w.den, wantVal)
			}
			if w.target < 0 {
				if string(f["target"]) != "null" || string(f["status"]) != "null" {
					t.Errorf("%s %d %s: target %s status %s, want null", area, year, key, f["target"], f["status"])
				}
				continue
			}
			if tg := number(t, f["target"]); math.Abs(tg-w.target) > 1e-12 || string(f["status"]) != `"`+w.status+`"` {
				t.Errorf("%s %d %s: target %v status %s, want %v %q", area, year, key, tg, f["status"], w.target, w.status)
			}
		}
	}
	const none = -1.0
	// 2026, the current year (today: 20 November 2026).
	check(city, targetstest.Community, 2026, map[string]want{
		// VA1 VA2 VA3 VA4 VA5 VA8 (VA6 deregistered in October) of 46 people.
		"registered_share": {6, 46, 0.13, "met"},
		// VA1, VA2, VA4, VA5 served in 2026 (VA8's record was rejected).
		"active_share": {4, 6, 0.75, "missed"},
		// 55 + 10 + 50 + 40 hours (VA5's 30 in review do not count, nor VA6's 20).
		"hours_per_volunteer": {155, 6, 50, "missed"},
		// O1, in A every month January to November.
		"org_monthly_visits": {1, 1, 1.0, "met"},
		// VA4 (60 + 50 h in school year 2026) of VA4, VA5.
		"college_student_hours": {1, 2, 1.0, "missed"},
		"organisations":         {0, none, none, ""},
	})
	check(city, targetstest.County, 2026, map[string]want{
		// A's 6, B's VB1 VB2 VB3 VR, C's VC2 (VC1 moved to D): 11 of 75, 0.1467 ≥ 0.9 × 0.15.
		"registered_share": {11, 75, 0.15, "at_risk"},
		// A's 4, VB1, VB2.
		"active_share": {6, 11, 0.75, "missed"},
		// 155 + 100 (VB1) + 100 + 5 (VB2).
		"hours_per_volunteer": {360, 11, 50, "missed"},
		// O1 of O1, O2 (no November), O5 (nothing).
		"org_monthly_visits": {1, 3, 1.0, "missed"},
		// VA4 and VB2 (exactly 100 h in July) of VA4, VA5, VB2.
		"college_student_hours": {2, 3, 1.0, "missed"},
		// O1, O2.
		"organisations": {2, none, none, ""},
	})
	check(city, targetstest.City, 2026, map[string]want{
		// The county's 11, D's VD1 and VC1.
		"registered_share": {13, 100, 0.20, "missed"},
		"active_share":     {8, 13, 0.75, "missed"},
		// 360 + 20 + 1.5 (VD1) + 4 (VC1, counted in D where they live now).
		"hours_per_volunteer": {385.5, 13, 50, "missed"},
		// O1 of O1, O2, O3 (June in A), O5; O4 is linked to no community.
		"org_monthly_visits":    {1, 4, 1.0, "missed"},
		"college_student_hours": {2, 3, 1.0, "missed"},
		// O1 to O4 (O5 has no county) against 5,000.
		"organisations": {4, none, 5000, "missed"},
	})
	// 2025, a past year: VA6 was registered at its end; VA2 and VA8 not yet.
	check(city, targetstest.Community, 2025, map[string]want{
		"registered_share": {5, 46, 0.13, "missed"},
		// VA3 (December), VA4 (October), VA6 (July).
		"active_share":        {3, 5, 0.75, "missed"},
		"hours_per_volunteer": {73, 5, 50, "missed"},
		// O1 served in no month of 2025.
		"org_monthly_visits": {0, 1, 1.0, "missed"},
		// School year 2025: VA5 only (VA4 registered in September 2025), no hours.
		"college_student_hours": {0, 1, 1.0, "missed"},
		"organisations":         {0, none, none, ""},
	})

	// The year's statistics file says what the figures say, for a past
	// year too (a volunteer deregistered since still counts where they
	// lived): community A's line of its township's file in 2025.
	code, body := call(city, "GET", "/api/v1/exports/statistics.csv?area="+targetstest.Township+"&year=2025", "")
	if code != 200 {
		t.Fatalf("statistics 2025: %d %s", code, body)
	}
	var lineA string
	for _, l := range strings.Split(strings.TrimPrefix(string(body), "\ufeff"), "\n") {
		if strings.HasPrefix(l, targetstest.Community+",") {
			lineA = strings.TrimSpace(l)
		}
	}
	// 区域代码, 区域, 注册志愿者 5, 活跃志愿者 3, 服务人次, 服务时长 73 (hours as the figures count them).
	if f := strings.Split(lineA, ","); len(f) < 6 || f[2] != "5" || f[3] != "3" || f[5] != "73" {
		t.Errorf("community A in the 2025 statistics: %q, want 5 registered, 3 active, 73 h", lineA)
	}

	// The areas below the county, and the trend of community A.
	code, body = call(city, "GET", "/api/v1/targets/children?area="+targetstest.County+"&year=2026", "")
	var ch struct {
		Children []struct {
			Code    string `json:"code"`
			Figures map[string]struct {
				Numerator   float64 `json:"numerator"`
				Denominator float64 `json:"denominator"`
			} `json:"figures"`
		} `json:"children"`
	}
	if code != 200 || json.Unmarshal(body, &ch) != nil || len(ch.Children) != 2 || ch.Children[0].Code != targetstest.Township ||
		ch.Children[0].Figures["registered_share"].Numerator != 10 || ch.Children[0].Figures["registered_share"].Denominator != 96 ||
		ch.Children[1].Figures["registered_share"].Numerator != 1 || ch.Children[1].Figures["hours_per_volunteer"].Numerator != 0 {
		t.Fatalf("children: %d %s", code, body)
	}
	code, body = call(city, "GET", "/api/v1/targets/trend?area="+targetstest.Community+"&year=2026", "")
	var tr struct {
		Months []struct {
			Month       int     `json:"month"`
			Hours       float64 `json:"hours"`
			PersonTimes int64   `json:"person_times"`
			Active      int64   `json:"active"`
			Registered  int64   `json:"registered"`
		} `json:"months"`
	}
	if code != 200 || json.Unmarshal(body, &tr) != nil || len(tr.Months) != 11 {
		t.Fatalf("trend: %d %s", code, body)
	}
	//              Jan Feb Mar May Jun: hours 0 10 80 0 40 25; registered 6 (Jan), 7 (Feb–Sep), 6 (Oct, Nov).
	hours := []float64{0, 10, 80, 0, 40, 25, 0, 0, 0, 0, 0}
	times := []int64{0, 1, 2, 0, 1, 1, 0, 0, 0, 0, 0}
	active := []int64{0, 1, 3, 3, 4, 4, 4, 4, 4, 4, 4}
	registered := []int64{6, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6}
	for i, m := range tr.Months {
		if m.Month != i+1 || m.Hours != hours[i] || m.PersonTimes != times[i] || m.Active != active[i] || m.Registered != registered[i] {
			t.Errorf("trend month %d: %+v, want %v h %d times %d active %d registered", i+1, m, hours[i], times[i], active[i], registered[i])
		}
	}

	// Scope: the county sees itself and below, not the city nor the other
	// county (404 like an unknown area); bad input is 400 in Chinese.
	for _, c := range []struct {
		token, path string
		code        int
	}{
		{county, "/api/v1/targets?area=" + targetstest.County + "&year=2026", 200},
		{county, "/api/v1/targets?area=" + targetstest.Community + "&year=2026", 200},
		{county, "/api/v1/targets/trend?area=" + targetstest.Community + "&year=2026", 200},
		{county, "/api/v1/targets?area=" + targetstest.City + "&year=2026", 404},
		{county, "/api/v1/targets/children?area=" + targetstest.CommunityD + "&year=2026", 404},
		{other, "/api/v1/targets?area=" + targetstest.Community + "&year=2026", 404},
		{city, "/api/v1/targets?area=999999&year=2026", 404},
		{city, "/api/v1/targets?area=" + targetstest.City + "&year=2027", 400},
		{city, "/api/v1/targets?area=" + targetstest.City + "&year=abc", 400},
		{city, "/api/v1/targets?year=2026", 400},
		{"", "/api/v1/targets?area=" + targetstest.City + "&year=2026", 401},
		{county, "/api/v1/target-settings", 200},
		// A station manager sees their station's community, an
		// organisation administrator its linked community.
		{station, "/api/v1/targets?area=" + targetstest.CommunityB + "&year=2026", 200},
		{station, "/api/v1/targets?area=" + targetstest.Community + "&year=2026", 404},
		{station, "/api/v1/targets?area=" + targetstest.County + "&year=2026", 404},
		{org, "/api/v1/targets/trend?area=" + targetstest.Community + "&year=2026", 200},
		{org, "/api/v1/targets?area=" + targetstest.CommunityB + "&year=2026", 404},
	} {
		code, body := call(c.token, "GET", c.path, "")
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, code, body, c.code)
		}
		if code >= 400 && code != 401 && !strings.Contains(string(body), "message_zh") {
			t.Errorf("%s: no Chinese message: %s", c.path, body)
		}
	}

	// The targets are the city's: a county may not set them; the city sets
	// the county's active_share to 0.6 (6/11 ≥ 0.54: at risk) and gives
	// counties an organisations target of 2 (met).
	if code, body := call(county, "PUT", "/api/v1/target-settings", `{"county": {"active_share": 0.6}}`); code != 403 {
		t.Fatalf("county sets targets: %d %s", code, body)
	}
	for _, bad := range []string{`{"province": {"active_share": 1}}`, `{"county": {"happiness": 1}}`, `{"county": {"active_share": -1}}`, `[`} {
		if code, body := call(city, "PUT", "/api/v1/target-settings", bad); code != 400 || !strings.Contains(string(body), "message_zh") {
			t.Fatalf("bad settings %s: %d %s", bad, code, body)
		}
	}
	if code, body := call(city, "PUT", "/api/v1/target-settings", `{"county": {"active_share": 0.6, "organisations": 2}}`); code != 200 {
		t.Fatalf("settings: %d %s", code, body)
	}
	check(county, targetstest.County, 2026, map[string]want{
		"active_share":     {6, 11, 0.6, "at_risk"},
		"organisations":    {2, none, 2, "met"},
		"registered_share": {11, 75, 0.15, "at_risk"},
	})
	// A null target removes it again.
	if code, body := call(city, "PUT", "/api/v1/target-settings", `{"county": {"organisations": null}}`); code != 200 {
		t.Fatalf("settings: %d %s", code, body)
	}
	check(county, targetstest.County, 2026, map[string]want{
		"active_share":  {6, 11, 0.6, "at_risk"},
		"organisations": {2, none, none, ""},
	})
}

func number(t *testing.T, raw json.RawMessage) float64 {
	t.Helper()
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("not a number: %s", raw)
	}
	return f
}

func itoa(n int) string { return strconv.Itoa(n) }
