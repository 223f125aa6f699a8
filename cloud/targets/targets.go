// Package targets computes the plan's figures (issue 14) for an area and
// a year, from the rollups the store keeps (cloud/store/targets.go),
// never from a scan of the service records.
//
// The definitions, exactly as the issue writes them. For an area A (the
// city, a county, a township or a community; "in A" means the
// volunteer's home community, volunteers.community, or the
// organisation's linked community, lies in A's subtree of the areas) and
// a calendar year Y; counted hours are the hours of final service
// records (both ledgers and imported ones) dated in Y:
//
//	registered_share       volunteers registered in A at the end of Y (or today,
//	                       for the current year) ÷ A's population
//	active_share           of those, the ones with at least one final record in Y
//	                       ÷ registered volunteers in A
//	hours_per_volunteer    counted hours in Y of the registered volunteers in A
//	                       ÷ registered volunteers in A
//	org_monthly_visits     organisations linked to a community in A with a final
//	                       record in their linked community (the record's
//	                       community, or its station's) in every month of Y up
//	                       to the current month (all twelve for a past year)
//	                       ÷ organisations linked to a community in A
//	college_student_hours  college students (volunteers.grp 'college_student')
//	                       registered in A at the end of school year Y (1 September
//	                       Y−1 to 31 August Y) with at least 100 counted hours in it
//	                       ÷ those college students
//	organisations          organisations whose county lies in A (a count, no
//	                       denominator; 0 below the county level)
//
// Registered means registered (volunteers.registered_ns > 0, dated by
// registered_on) and not deregistered (deregistered_ns) at that moment.
// A figure whose denominator is 0 has value 0.
//
// Status: met when value ≥ target, at_risk when value ≥ 0.9 × target,
// otherwise missed (compared with a tolerance of 1e-9, so that 18 of 100
// is at risk of 0.20, not missed by a rounding error). Targets are
// per area level (Settings; DefaultSettings are the issue's); a figure
// without a target (organisations below the city, unless configured) has
// target and status null.
package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"time"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// The figures' keys, in the order the issue lists them.
const (
	RegisteredShare     = "registered_share"
	ActiveShare         = "active_share"
	HoursPerVolunteer   = "hours_per_volunteer"
	OrgMonthlyVisits    = "org_monthly_visits"
	CollegeStudentHours = "college_student_hours"
	Organisations       = "organisations"
)

// Keys are the figures' keys in the order.
var Keys = []string{RegisteredShare, ActiveShare, HoursPerVolunteer, OrgMonthlyVisits, CollegeStudentHours, Organisations}

// Statuses.
const (
	Met     = "met"
	AtRisk  = "at_risk"
	Missed  = "missed"
	nearing = 0.9
	epsilon = 1e-9
)

// Figure is one figure of an area and year. Target and Status are nil
// when the figure has no target at the area's level; Denominator is nil
// for organisations (a count).
type Figure struct {
	Value       float64  `json:"value"`
	Target      *float64 `json:"target"`
	Status      *string  `json:"status"`
	Numerator   float64  `json:"numerator"`
	Denominator *float64 `json:"denominator,omitempty"`
}

// Report is GET /api/v1/targets's answer.
type Report struct {
	Area    string            `json:"area"`
	Year    int               `json:"year"`
	Figures map[string]Figure `json:"figures"`
}

// Child is one area directly below another, with its figures, for the
// ranking.
type Child struct {
	Code    string            `json:"code"`
	Name    string            `json:"name"`
	Level   string            `json:"level"`
	Figures map[string]Figure `json:"figures"`
}

// Month is one month of a year's trend under an area.
type Month struct {
	Month int `json:"month"` // 1–12
	// Hours: counted hours of final records in the month; PersonTimes
	// their number (人次). Both of the volunteers who count in the year's
	// figures (registered in the area at the end of the year, or today).
	Hours       float64 `json:"hours"`
	PersonTimes int64   `json:"person_times"`
	// Active: those volunteers with a final record in the year up to the
	// end of the month (December's is active_share's numerator).
	Active int64 `json:"active"`
	// Registered: volunteers registered in the area at the end of the
	// month (or today, for the current month).
	Registered int64 `json:"registered"`
}

// Trend is a year's months under an area: all twelve for a past year,
// January to the current month for this one.
type Trend struct {
	Area   string  `json:"area"`
	Year   int     `json:"year"`
	Months []Month `json:"months"`
}

// Errors of the arguments; the API answers them 404 and 400.
var (
	ErrUnknownArea = errors.New("targets: unknown area")
	ErrYear        = errors.New("targets: year out of range")
)

// FirstYear is the first year the figures are asked of.
const FirstYear = 2000

// Service computes the figures.
type Service struct {
	Store *store.Store
	// Now is the clock (the current year and month, China Standard
	// Time); nil is time.Now.
	Now func() time.Time
	// Log, when set, hears that the figures wait for a recount.
	Log *slog.Logger
}

// New is a Service on s.
func New(s *store.Store) *Service { return &Service{Store: s} }

var cst = time.FixedZone("CST", 8*3600)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().In(cst)
	}
	return time.Now().In(cst)
}

// lastMonth is the last month of year the figures look at: December of
// a past year, the current month of this one.
func (s *Service) lastMonth(year int) (int, error) {
	now := s.now()
	switch {
	case year < FirstYear || year > now.Year():
		return 0, fmt.Errorf("%w: %d (want %d to %d)", ErrYear, year, FirstYear, now.Year())
	case year == now.Year():
		return int(now.Month()), nil
	}
	return 12, nil
}

// tree is the city's areas.
type tree struct {
	byCode   map[string]people.Area
	children map[string][]string
}

func (s *Service) tree(ctx context.Context) (*tree, error) {
	as, err := s.Store.AllAreas(ctx)
	if err != nil {
		return nil, err
	}
	t := &tree{byCode: map[string]people.Area{}, children: map[string][]string{}}
	for _, a := range as {
		t.byCode[a.Code] = a
		t.children[a.Parent] = append(t.children[a.Parent], a.Code)
	}
	return t, nil
}

// under is code and every area below it.
func (t *tree) under(code string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(c string) {
		if out[c] {
			return
		}
		out[c] = true
		for _, k := range t.children[c] {
			walk(k)
		}
	}
	walk(code)
	return out
}

// codes are the codes of area's subtree for the store's queries: nil
// (no condition) for the city, the top of the tree.
func (t *tree) codes(area string) []string {
	if t.byCode[area].Parent == "" {
		return nil
	}
	return slices.Sorted(maps.Keys(t.under(area)))
}

// data is what the store read for an area's subtree.
type data struct {
	communities map[string]*store.TargetCommunity
	orgs        []store.TargetOrg
	needMonths  int
}

// sync brings the rollups up to date with a few volunteers' changes;
// more (a bulk import, a fresh migration) wait for the background pass
// (RunSync), and the figures are read as the rollups stand.
func (s *Service) sync(ctx context.Context) error {
	stale, err := s.Store.SyncTargetsQuick(ctx)
	if stale && s.Log != nil {
		s.Log.Info("the plan's figures wait for the targets pass to recount the rollups (serve --targets-every, or leifeng-cloud targets rebuild)")
	}
	return err
}

// RunSync applies volunteers' changes to the rollups every interval,
// recounting them all when many changed at once, until ctx ends.
func RunSync(ctx context.Context, st *store.Store, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := st.SyncTargets(ctx); err != nil && ctx.Err() == nil && log != nil {
			log.Error("targets pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) load(ctx context.Context, area string, year int) (*tree, *data, error) {
	last, err := s.lastMonth(year)
	if err != nil {
		return nil, nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, nil, err
	}
	t, err := s.tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := t.byCode[area]; !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownArea, area)
	}
	cs, orgs, err := s.Store.TargetFigures(ctx, t.codes(area), year, last)
	if err != nil {
		return nil, nil, err
	}
	return t, &data{communities: cs, orgs: orgs, needMonths: last}, nil
}

// read is load with the targets in force.
func (s *Service) read(ctx context.Context, area string, year int) (*tree, *data, Settings, error) {
	t, d, err := s.load(ctx, area, year)
	if err != nil {
		return nil, nil, nil, err
	}
	set, err := s.Settings(ctx)
	return t, d, set, err
}

// Figures are area's figures for year.
func (s *Service) Figures(ctx context.Context, area string, year int) (*Report, error) {
	t, d, set, err := s.read(ctx, area, year)
	if err != nil {
		return nil, err
	}
	return &Report{Area: area, Year: year, Figures: figures(t, d, t.byCode[area], set)}, nil
}

// Children are the areas directly below area, each with its figures for
// year, by code (the caller ranks them by the figure it shows).
func (s *Service) Children(ctx context.Context, area string, year int) ([]Child, error) {
	t, d, set, err := s.read(ctx, area, year)
	if err != nil {
		return nil, err
	}
	out := []Child{}
	for _, c := range slices.Sorted(slices.Values(t.children[area])) {
		a := t.byCode[c]
		out = append(out, Child{Code: a.Code, Name: a.Name, Level: string(a.Level), Figures: figures(t, d, a, set)})
	}
	return out, nil
}

// Trend is area's year month by month.
func (s *Service) Trend(ctx context.Context, area string, year int) (*Trend, error) {
	last, err := s.lastMonth(year)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := t.byCode[area]; !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownArea, area)
	}
	ms, err := s.Store.TargetTrend(ctx, t.codes(area), year)
	if err != nil {
		return nil, err
	}
	out := &Trend{Area: area, Year: year, Months: []Month{}}
	var active int64
	for _, m := range ms[:last] {
		active += m.FirstActive
		out.Months = append(out.Months, Month{Month: m.Month, Hours: float64(m.Cents) / 100, PersonTimes: m.Records,
			Active: active, Registered: m.Registered})
	}
	return out, nil
}

// figures computes a's figures from d (read for a subtree holding a).
func figures(t *tree, d *data, a people.Area, set Settings) map[string]Figure {
	in := t.under(a.Code)
	var sum store.TargetCommunity
	for c, x := range d.communities {
		if in[c] {
			sum.Registered += x.Registered
			sum.CollegeRegistered += x.CollegeRegistered
			sum.Active += x.Active
			sum.Records += x.Records
			sum.Cents += x.Cents
			sum.CollegeDone += x.CollegeDone
		}
	}
	var linked, visiting, counted int64
	for _, o := range d.orgs {
		if o.Community != "" && in[o.Community] {
			linked++
			if o.Months >= d.needMonths {
				visiting++
			}
		}
		if o.County != "" && in[o.County] {
			counted++
		}
	}
	level := string(a.Level)
	share := func(key string, num, den float64) Figure {
		f := Figure{Numerator: num, Denominator: &den}
		if den != 0 {
			f.Value = num / den
		}
		return withStatus(f, set.target(level, key))
	}
	return map[string]Figure{
		RegisteredShare:     share(RegisteredShare, float64(sum.Registered), float64(a.Population)),
		ActiveShare:         share(ActiveShare, float64(sum.Active), float64(sum.Registered)),
		HoursPerVolunteer:   share(HoursPerVolunteer, float64(sum.Cents)/100, float64(sum.Registered)),
		OrgMonthlyVisits:    share(OrgMonthlyVisits, float64(visiting), float64(linked)),
		CollegeStudentHours: share(CollegeStudentHours, float64(sum.CollegeDone), float64(sum.CollegeRegistered)),
		Organisations:       withStatus(Figure{Value: float64(counted), Numerator: float64(counted)}, set.target(level, Organisations)),
	}
}

// withStatus sets f's target and status.
func withStatus(f Figure, target *float64) Figure {
	if target == nil {
		return f
	}
	t := *target
	st := Status(f.Value, t)
	f.Target, f.Status = &t, &st
	return f
}

// Status is met, at_risk or missed for value against target.
func Status(value, target float64) string {
	switch {
	case value >= target-epsilon:
		return Met
	case value >= nearing*target-epsilon:
		return AtRisk
	}
	return Missed
}

// Settings are the targets per area level ("city", "county", "township",
// "community") and figure key; a nil target means none (no status).
type Settings map[string]map[string]*float64

func f(x float64) *float64 { return &x }

// DefaultSettings are the targets. The issue names none for a
// township: it has the county's registered_share (0.15), the plan's
// figure for the county it divides.
func DefaultSettings() Settings {
	common := func(registered float64, orgs *float64) map[string]*float64 {
		return map[string]*float64{RegisteredShare: f(registered), ActiveShare: f(0.75), HoursPerVolunteer: f(50),
			OrgMonthlyVisits: f(1.0), CollegeStudentHours: f(1.0), Organisations: orgs}
	}
	return Settings{
		"city":      common(0.20, f(5000)),
		"county":    common(0.15, nil),
		"township":  common(0.15, nil),
		"community": common(0.13, nil),
	}
}

func (s Settings) target(level, key string) *float64 {
	if t := s[level][key]; t != nil {
		x := *t
		return &x
	}
	return nil
}

// ErrSettings is a settings document that is not valid.
var ErrSettings = errors.New("targets: settings")

// Merge is s with change laid over it: a level or key change names is
// replaced (a null target removes it), others stay. change must name
// only the four levels and the six keys, with targets ≥ 0.
func (s Settings) Merge(change Settings) (Settings, error) {
	out := Settings{}
	for l, ks := range s {
		out[l] = map[string]*float64{}
		for k, v := range ks {
			out[l][k] = v
		}
	}
	for l, ks := range change {
		if _, ok := out[l]; !ok {
			return nil, fmt.Errorf("%w: unknown level %q (want city, county, township or community)", ErrSettings, l)
		}
		for k, v := range ks {
			if !slices.Contains(Keys, k) {
				return nil, fmt.Errorf("%w: unknown figure %q", ErrSettings, k)
			}
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
				return nil, fmt.Errorf("%w: %s %s: a target is a number ≥ 0", ErrSettings, l, k)
			}
			out[l][k] = v
		}
	}
	return out, nil
}

// Settings are the targets in force: the defaults with the stored
// changes laid over them.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	doc, err := s.Store.TargetSettings(ctx)
	if err != nil || doc == "" {
		return DefaultSettings(), err
	}
	var stored Settings
	if err := json.Unmarshal([]byte(doc), &stored); err != nil {
		return nil, fmt.Errorf("targets: stored settings: %w", err)
	}
	return DefaultSettings().Merge(stored)
}

// SetSettings lays change over the targets in force, stores the result
// and returns it.
func (s *Service) SetSettings(ctx context.Context, change Settings) (Settings, error) {
	cur, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	next, err := cur.Merge(change)
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(next)
	return next, s.Store.SetTargetSettings(ctx, string(doc), s.now())
}
