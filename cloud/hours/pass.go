package hours

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Who the pass writes in a record's events.
const PassActor = "hours-pass"

// CurrentRules is the rules in force (the highest stored version). On a
// cloud that has none yet it stores Default() as version 1 first.
func CurrentRules(ctx context.Context, st *store.Store, now time.Time) (Rules, int64, error) {
	d, err := st.CurrentHourRules(ctx)
	if errors.Is(err, store.ErrNotFound) {
		doc, _ := json.Marshal(Default())
		if _, err := st.AddHourRules(ctx, string(doc), "system", now, true); err != nil {
			return Rules{}, 0, err
		}
		d, err = st.CurrentHourRules(ctx)
	}
	if err != nil {
		return Rules{}, 0, err
	}
	var r Rules
	if err := json.Unmarshal([]byte(d.Doc), &r); err != nil {
		return Rules{}, 0, fmt.Errorf("hours: rules version %d: %w", d.Version, err)
	}
	return r, d.Version, nil
}

// SetRules validates r and stores it as a new version, which is in force
// from then on; records already counted keep theirs.
func SetRules(ctx context.Context, st *store.Store, r Rules, by string, now time.Time) (int64, error) {
	if err := Validate(r); err != nil {
		return 0, err
	}
	if _, _, err := CurrentRules(ctx, st, now); err != nil {
		return 0, err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return st.AddHourRules(ctx, string(doc), by, now, false)
}

// Result is what a pass or a recount did.
type Result struct {
	Days      int                 `json:"days"`
	Created   int                 `json:"created"`
	Recounted int                 `json:"recounted"`
	Deleted   int                 `json:"deleted"`
	Deadline  int                 `json:"deadline"`
	Changes   []store.HoursChange `json:"-"`
}

func (r *Result) add(ch []store.HoursChange) {
	for _, c := range ch {
		switch c.Action {
		case "create":
			r.Created++
		case "recount":
			r.Recounted++
		case "delete":
			r.Deleted++
		}
	}
	r.Changes = append(r.Changes, ch...)
}

// PassBatch is how many volunteers a pass counts per transaction.
var PassBatch = 200

// Stations lists the stations of the records a pass or recount created,
// changed or deleted, once each, in order: those whose kiosks' documents
// (notice list, notes, roster hours) may have changed.
func (r *Result) Stations() []string {
	var out []string
	for _, c := range r.Changes {
		for _, x := range []*store.ServiceRecord{c.Before, c.After} {
			if x != nil && x.Station != "" {
				out = append(out, x.Station)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Run runs Pass every interval until ctx ends (the serve command's
// --hours-every). After each pass that changed records, changed (if not
// nil) is called with their stations (Result.Stations) — serve sends
// them their documents again (fleet's RefreshStations); its error is
// logged.
func Run(ctx context.Context, st *store.Store, every time.Duration, now func() time.Time, log *slog.Logger,
	changed func(ctx context.Context, stations []string) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := Pass(ctx, st, now())
		if err != nil && ctx.Err() == nil {
			log.Error("hours", "err", err)
		}
		if ids := res.Stations(); changed != nil && len(ids) > 0 && ctx.Err() == nil {
			if err := changed(ctx, ids); err != nil {
				log.Error("hours: cannot send the stations their documents", "stations", ids, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass turns the dirty volunteer-days into service records under the
// rules in force, then marks the records in review that near their
// deadline. A batch that fails is given back to hours_dirty.
func Pass(ctx context.Context, st *store.Store, now time.Time) (Result, error) {
	var (
		res Result
		w   *world
	)
	for {
		claim, err := st.ClaimDirty(ctx, PassBatch)
		if err != nil {
			return res, err
		}
		if len(claim) == 0 {
			break
		}
		if w == nil {
			if w, err = load(ctx, st, now); err != nil {
				return res, errors.Join(err, st.MarkDirty(context.WithoutCancel(ctx), claim))
			}
		}
		dirty := map[string][]string{}
		for _, d := range claim {
			dirty[d.Volunteer] = append(dirty[d.Volunteer], d.Day)
		}
		ch, n, err := w.count(ctx, st, dirty, true, now)
		if err != nil {
			return res, errors.Join(err, st.MarkDirty(context.WithoutCancel(ctx), claim))
		}
		res.Days += n
		res.add(ch)
	}
	if w == nil {
		r, _, err := CurrentRules(ctx, st, now)
		if err != nil {
			return res, err
		}
		cal, err := calendar.Load(ctx, st)
		if err != nil {
			return res, err
		}
		w = &world{rules: r, cal: cal}
	}
	n, err := w.markDeadlines(ctx, st, now)
	res.Deadline = n
	return res, err
}

// Recount re-derives the records of volunteers (every day they have
// sessions) under the rules in force: records in review or notice on
// which nobody has decided change, and move to the version in force;
// final, objected, rejected and decided ones do not. It is the only way a
// record moves to another rule version (`leifeng-cloud hours recount`);
// Pass keeps each stored record's version. It returns what changed.
func Recount(ctx context.Context, st *store.Store, volunteers []string, now time.Time) (Result, error) {
	var res Result
	w, err := load(ctx, st, now)
	if err != nil {
		return res, err
	}
	for chunk := range slices.Chunk(volunteers, PassBatch) {
		all := map[string][]string{}
		for _, v := range chunk {
			all[v] = nil // every day
		}
		ch, n, err := w.count(ctx, st, all, false, now)
		if err != nil {
			return res, err
		}
		res.Days += n
		res.add(ch)
	}
	return res, nil
}

// world is what the pass reads once: rules, calendar, stations,
// organisations, configs.
type world struct {
	rules   Rules
	version int64
	// versions is every stored version of the rules (a record counted
	// under an older one is counted again under it).
	versions map[int64]Rules
	cal      *calendar.Calendar
	stations map[string]store.Station
	county   map[string]string // station → its community's county code (none without a community)
	orgs     map[string]string // id → name
	orgOf    map[string]string // community → the organisation linked to it
	open     map[string][]span // station → opening hours ("" key: the fleet's)
	contact  map[string]string // station → its board's contact person (its own config)
	manager  map[string]string // station → the first enabled station manager's user name
	menu     map[string]map[string][2]string
}

func load(ctx context.Context, st *store.Store, now time.Time) (*world, error) {
	w := &world{stations: map[string]store.Station{}, county: map[string]string{}, orgs: map[string]string{}, orgOf: map[string]string{},
		open: map[string][]span{}, menu: map[string]map[string][2]string{},
		contact: map[string]string{}, manager: map[string]string{}}
	var err error
	if w.rules, w.version, err = CurrentRules(ctx, st, now); err != nil {
		return nil, err
	}
	if w.cal, err = calendar.Load(ctx, st); err != nil {
		return nil, err
	}
	docs, err := st.HourRules(ctx)
	if err != nil {
		return nil, err
	}
	w.versions = map[int64]Rules{w.version: w.rules}
	for _, d := range docs {
		var r Rules
		if json.Unmarshal([]byte(d.Doc), &r) == nil {
			w.versions[d.Version] = r
		}
	}
	if w.stations, err = st.HoursStations(ctx); err != nil {
		return nil, err
	}
	// A station's county code, from its community's areas: the stations
	// table's county may be empty (a station registered with its
	// community only) or a name, and the travel check compares counties.
	codes := map[string]string{}
	for id, s := range w.stations {
		if s.Community == "" {
			continue
		}
		c, ok := codes[s.Community]
		if !ok {
			if c, err = countyOf(ctx, st, s.Community); err != nil {
				return nil, err
			}
			codes[s.Community] = c
		}
		if c != "" {
			w.county[id] = c
		}
	}
	orgs, err := st.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(orgs, func(i, j int) bool { return orgs[i].ID < orgs[j].ID })
	for _, o := range orgs {
		w.orgs[o.ID] = o.Name
		if _, ok := w.orgOf[o.Community]; !ok && o.Community != "" {
			w.orgOf[o.Community] = o.ID
		}
	}
	users, err := st.Users(ctx) // by name
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if !u.Disabled.IsZero() {
			continue
		}
		for _, id := range u.Stations() {
			if _, ok := w.manager[id]; !ok {
				w.manager[id] = u.Name
			}
		}
	}
	cfgs, err := st.Configs(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cfgs {
		var doc wire.Config
		if json.Unmarshal(c.Doc, &doc) != nil {
			continue
		}
		key := ""
		if c.Scope != "fleet" {
			key = c.Scope[len("station:"):]
		}
		if doc.Board != nil && key != "" && strings.TrimSpace(doc.Board.ContactPerson) != "" {
			w.contact[key] = strings.TrimSpace(doc.Board.ContactPerson)
		}
		if doc.Board != nil {
			if sp := parseOpening(doc.Board.OpeningHours); len(sp) > 0 {
				w.open[key] = sp
			}
		}
		if len(doc.Menu) > 0 {
			m := map[string][2]string{}
			for _, cat := range doc.Menu {
				for _, it := range cat.Items {
					m[it.ID] = [2]string{it.Name, cat.Name}
				}
			}
			w.menu[key] = m
		}
	}
	return w, nil
}

// countyOf is the county-level area above (or at) code, "" if none.
func countyOf(ctx context.Context, st *store.Store, code string) (string, error) {
	path, err := st.AreaPath(ctx, code)
	if err != nil {
		return "", err
	}
	for _, c := range path {
		a, err := st.Area(ctx, c)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if a.Level == people.LevelCounty {
			return c, nil
		}
	}
	return "", nil
}

// count derives and writes the records of dirty (volunteer → days; nil:
// every day with sessions) and returns the changes and the number of
// days counted. With keep, a session whose record is stored is counted
// under that record's rule version (the pass); without, every session
// under the version in force (a recount).
func (w *world) count(ctx context.Context, st *store.Store, dirty map[string][]string, keep bool, now time.Time) ([]store.HoursChange, int, error) {
	vols := make([]string, 0, len(dirty))
	for v := range dirty {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	sessions, err := st.PassSessions(ctx, vols)
	if err != nil {
		return nil, 0, err
	}
	var kept map[string]int64
	if keep {
		if kept, err = st.CardRuleVersions(ctx, vols); err != nil {
			return nil, 0, err
		}
	}
	var ids []int64
	for _, list := range sessions {
		for _, s := range list {
			if s.Activity != 0 {
				ids = append(ids, s.Activity)
			}
		}
	}
	slices.Sort(ids)
	acts, err := st.HoursActivities(ctx, slices.Compact(ids))
	if err != nil {
		return nil, 0, err
	}
	var days []store.HoursDay
	for _, v := range vols {
		list := sessions[v]
		want := map[string]bool{}
		if dirty[v] == nil {
			for _, s := range list {
				want[calendar.Day(s.Start)] = true
			}
		}
		for _, d := range dirty[v] {
			want[d] = true
			// A check-out marks its own day: count the day its
			// session started too.
			for _, s := range list {
				if s.Closed && calendar.Day(s.End) == d {
					want[calendar.Day(s.Start)] = true
				}
			}
		}
		days = append(days, w.derive(v, list, want, acts, kept, now)...)
	}
	ch, err := st.ApplyHours(ctx, days, PassActor, now)
	return ch, len(days), err
}

// at is w under rule version v (w itself for the version in force, or
// for a version no longer readable).
func (w *world) at(v int64) *world {
	r, ok := w.versions[v]
	if v == w.version || !ok {
		return w
	}
	x := *w
	x.rules, x.version = r, v
	return &x
}

// derive makes the records of volunteer v's days want from all of v's
// sessions (the checks across sessions — travel, bursts — look at all).
//
// Rule versions: a session whose record is stored (kept: record id →
// version) is counted under that record's version; a new one under the
// version in force. Each session is counted within its whole day under
// its own version: its hours, and the session limit and daily caps it
// meets, are what its version makes of all the day's sessions (Count of
// the day under that version). So a later tap never recounts a record
// under a newer version, and on a day of two versions each record's caps
// are its own version's caps against the day's total as that version
// counts it. The checks the rules set (travel, bursts, deadline, notice
// days) are each version's too.
func (w *world) derive(v string, list []store.PassSession, want map[string]bool, acts map[int64]store.HoursActivity,
	kept map[string]int64, now time.Time) []store.HoursDay {
	worlds := map[int64]*world{}
	travels, bursts := map[int64]map[int]bool{}, map[int64]map[int]bool{}
	ruled := func(s store.PassSession) *world {
		ver := w.version
		if k, ok := kept["tap:"+s.CheckIn]; ok && k > 0 {
			ver = k
		}
		x, ok := worlds[ver]
		if !ok {
			x = w.at(ver)
			worlds[ver] = x
			travels[ver], bursts[ver] = x.travel(list), x.bursts(list)
		}
		return x
	}
	byDay := map[string][]int{}
	for i, s := range list {
		if d := calendar.Day(s.Start); want[d] && s.Closed {
			byDay[d] = append(byDay[d], i)
		}
	}
	var out []store.HoursDay
	dayKeys := make([]string, 0, len(want))
	for d := range want {
		dayKeys = append(dayKeys, d)
	}
	sort.Strings(dayKeys)
	for _, d := range dayKeys {
		idx := byDay[d]
		in := make([]Session, len(idx))
		recs := make([]store.ServiceRecord, len(idx))
		for k, i := range idx {
			s := list[i]
			a, chosen := w.activity(s, acts)
			in[k] = Session{Start: s.Start, Seconds: s.RawSeconds, Kind: a.Kind}
			if chosen && !a.Start.IsZero() && a.End.After(a.Start) {
				in[k].Planned = a.End.Sub(a.Start)
			}
			recs[k] = w.record(v, s, a)
		}
		counted := map[int64][]Counted{}
		for k, i := range idx {
			s, r := list[i], &recs[k]
			w := ruled(s)
			travel, burst := travels[w.version], bursts[w.version]
			if counted[w.version] == nil {
				counted[w.version] = Count(w.rules, w.version, in)
			}
			c := counted[w.version][k]
			r.CountedCents, r.RuleNote, r.RuleVersion = c.Cents, c.Note, w.version
			var reasons []string
			if s.Auto {
				reasons = append(reasons, ReasonAutoCheckOut)
			}
			if len(s.Flags) > 0 && !s.Approved {
				reasons = append(reasons, ReasonFlagged)
			}
			if travel[i] {
				reasons = append(reasons, ReasonTravel)
			}
			if burst[i] {
				reasons = append(reasons, ReasonBurst)
			}
			if w.outside(s) {
				reasons = append(reasons, ReasonOutsideHours)
			}
			reasons = append(reasons, c.Reasons...)
			r.Deadline = w.cal.After(s.Start, w.rules.DeadlineDays)
			if s.Rejected {
				// A person rejected the flagged session in the older
				// queue (store.ReviewSession): the record is rejected
				// too, with the outcome the volunteer is shown, and being
				// decided, no later pass rewrites it.
				r.Status, r.Reviewer, r.Reasons = store.StatusRejected, ReviewStation, reasons
				r.Outcome = fmt.Sprintf("%d月%d日 %s：未通过审核（异常记录审核不予认定）",
					s.Start.In(calendar.CST).Month(), s.Start.In(calendar.CST).Day(), r.ActivityName)
				continue
			}
			if len(reasons) > 0 {
				r.Status = store.StatusReview
				r.Reviewer = Level(reasons)
				if r.Reviewer == ReviewOrg && r.Org == "" {
					r.Reviewer = ReviewCounty // no organisation: the county decides
				}
				if w.nearDeadline(r.Deadline, now) {
					reasons = append(reasons, ReasonDeadline)
				}
			} else {
				r.Status = store.StatusNotice
				r.NoticeUntil = w.cal.After(now, w.rules.NoticeDays)
			}
			r.Reasons = reasons
		}
		out = append(out, store.HoursDay{Volunteer: v, Day: d, Records: recs})
	}
	return out
}

// activity is the session's activity: the one chosen at check-in, else
// the station's default activity (is_default: one listing the station,
// else one listing its community or county, else one for the whole
// city; the lowest ID first), else a synthetic default (chosen false for
// the last two: no planned length).
func (w *world) activity(s store.PassSession, acts map[int64]store.HoursActivity) (store.HoursActivity, bool) {
	if a, ok := acts[s.Activity]; ok && s.Activity != 0 {
		return a, true
	}
	st := w.stations[s.Station]
	var best *store.HoursActivity
	rank := 0
	ids := make([]int64, 0, len(acts))
	for id := range acts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := acts[id]
		r := 0
		switch {
		case !a.IsDefault:
		case slices.Contains(a.Stations, s.Station):
			r = 3
		case len(a.Stations) == 0 && st.Community != "" && slices.Contains(a.Areas, st.Community),
			len(a.Stations) == 0 && st.County != "" && slices.Contains(a.Areas, st.County):
			r = 2
		case len(a.Stations) == 0 && len(a.Areas) == 0:
			r = 1
		}
		if r > rank {
			best, rank = &a, r
		}
	}
	if best != nil {
		return *best, false
	}
	name := st.Name
	if name == "" {
		name = s.Station
	}
	a := store.HoursActivity{Title: name + "日常服务", Place: name, Kind: "service"}
	a.Content, a.Category = s.Service, ""
	if m, ok := w.menu[s.Station]; ok {
		if it, ok := m[s.Service]; ok {
			a.Content, a.Category = it[0], it[1]
		}
	} else if it, ok := w.menu[""][s.Service]; ok {
		a.Content, a.Category = it[0], it[1]
	}
	return a, false
}

// record is the national fields of session s of volunteer v.
//
// Every national field is filled, from the activity when it says, else
// truthfully from the station (a card tap at a bare station):
//   - 活动组织单位: the activity's organisation, else the one linked to
//     the station's community, else the station itself as organiser (its
//     name; the record has no organisation ID and the county reviews);
//   - 活动负责人: the activity's lead, else the contact person of the
//     station's board (its own config), else the station manager (the
//     first enabled station user, by name, whose scope lists it: the
//     user name), else the station's name;
//   - 记录人: the activity's recorder, else the kiosk that recorded the
//     taps: "‹站点名›刷卡终端";
//   - 服务内容: the activity's, else the tap's service, else the
//     activity's name.
func (w *world) record(v string, s store.PassSession, a store.HoursActivity) store.ServiceRecord {
	st := w.stations[s.Station]
	name := st.Name
	if name == "" {
		name = s.Station
	}
	org := a.Org
	if org == "" {
		// The rule for a record without an organisation of its own:
		// the organisation linked to the station's community (the
		// lowest ID if several), else none (the county reviews).
		org = w.orgOf[st.Community]
	}
	orgName := w.orgs[org]
	if orgName == "" {
		orgName = name
	}
	place := a.Place
	if place == "" {
		place = name
	}
	content := a.Content
	if content == "" {
		content = s.Service
	}
	if content == "" {
		content = a.Title
	}
	lead := a.Lead
	if lead == "" {
		lead = w.contact[s.Station]
	}
	if lead == "" {
		lead = w.manager[s.Station]
	}
	if lead == "" {
		lead = name
	}
	recorder := a.Recorder
	if recorder == "" {
		recorder = name + "刷卡终端"
	}
	return store.ServiceRecord{
		ID: "tap:" + s.CheckIn, Ledger: store.LedgerCard, Volunteer: v,
		Org: org, OrgName: orgName, Community: st.Community, Station: s.Station,
		Activity: a.ID, ActivityName: a.Title, Place: place, Content: content, Category: a.Category,
		Lead: lead, Recorder: recorder, Day: calendar.Day(s.Start), Start: s.Start, End: s.End,
		RawSeconds: s.RawSeconds, CheckIn: s.CheckIn, CheckOut: s.CheckOut,
	}
}

// nearDeadline reports whether a record due at deadline is within the
// warning days of it (or past it) at now.
func (w *world) nearDeadline(deadline, now time.Time) bool {
	return !deadline.After(w.cal.After(now, w.rules.WarnDays))
}

// errMarked says a record needs no deadline mark any more (decided or
// marked since it was listed): markDeadlines leaves it.
var errMarked = errors.New("hours: no deadline mark needed")

// markDeadlines adds 'deadline' to the records in review within the
// warning days of their deadline (the level does not change). Each record
// is checked again inside its transaction, as stored then: one a person
// decided, or a concurrent pass marked, since the listing is left as it
// is (no second mark, no event).
func (w *world) markDeadlines(ctx context.Context, st *store.Store, now time.Time) (int, error) {
	until := w.cal.After(now, w.rules.WarnDays).Add(time.Nanosecond)
	recs, err := st.ReviewNearDeadline(ctx, until)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if slices.Contains(r.Reasons, ReasonDeadline) {
			continue
		}
		_, err := st.ChangeServiceRecord(ctx, r.ID, now, func(x *store.ServiceRecord) (store.ServiceRecordEvent, error) {
			if x.Status != store.StatusReview || slices.Contains(x.Reasons, ReasonDeadline) ||
				x.Deadline.IsZero() || !x.Deadline.Before(until) {
				return store.ServiceRecordEvent{}, errMarked
			}
			x.Reasons = append(x.Reasons, ReasonDeadline)
			return store.ServiceRecordEvent{Who: PassActor, Action: "deadline",
				Reason: fmt.Sprintf("将于%s到期（%d个工作日录入时限）", calendar.Day(x.Deadline.Add(-time.Nanosecond)), w.rules.DeadlineDays)}, nil
		})
		if errors.Is(err, errMarked) || errors.Is(err, store.ErrNotFound) {
			continue // decided, marked or recounted away meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Travel: stations have no coordinates, so the distance between two is
// judged from where they are: the same station or community, no check;
// different communities of one county (or an unknown county), at least
// NearKm; different counties, at least FarKm. Two sessions of one card at
// different stations closer in time than that distance at
// Rules.TravelKmh raise 'travel' on the later one.
const (
	NearKm = 3.0
	FarKm  = 30.0
)

// distanceKm is the least distance between stations a and b.
func (w *world) distanceKm(a, b string) float64 {
	if a == b {
		return 0
	}
	sa, sb := w.stations[a], w.stations[b]
	if sa.Community != "" && sa.Community == sb.Community {
		return 0
	}
	// Counties by their codes when both stations have a community, else
	// by the stations' own county fields.
	ca, cb := w.county[a], w.county[b]
	if ca == "" || cb == "" {
		ca, cb = sa.County, sb.County
	}
	if ca != "" && cb != "" && ca != cb {
		return FarKm
	}
	return NearKm
}

func (w *world) travel(list []store.PassSession) map[int]bool {
	out := map[int]bool{}
	if w.rules.TravelKmh <= 0 {
		return out
	}
	for i := 1; i < len(list); i++ {
		prev, cur := list[i-1], list[i]
		km := w.distanceKm(prev.Station, cur.Station)
		if km == 0 {
			continue
		}
		left := prev.Start
		if prev.Closed {
			left = prev.End
		}
		need := time.Duration(km / w.rules.TravelKmh * float64(time.Hour))
		if cur.Start.Sub(left) < need {
			out[i] = true
		}
	}
	return out
}

// bursts marks the sessions with a tap (check-in, or a check-out the
// volunteer made) among BurstTaps taps within BurstMinutes.
func (w *world) bursts(list []store.PassSession) map[int]bool {
	out := map[int]bool{}
	if w.rules.BurstTaps < 2 || w.rules.BurstMinutes <= 0 {
		return out
	}
	type tap struct {
		at  time.Time
		ses int
	}
	var taps []tap
	for i, s := range list {
		taps = append(taps, tap{s.Start, i})
		if s.Closed && !s.Auto {
			taps = append(taps, tap{s.End, i})
		}
	}
	sort.SliceStable(taps, func(a, b int) bool { return taps[a].at.Before(taps[b].at) })
	win := time.Duration(w.rules.BurstMinutes) * time.Minute
	j := 0
	for i := range taps {
		if j < i {
			j = i
		}
		for j < len(taps) && taps[j].at.Sub(taps[i].at) < win {
			j++
		}
		if j-i >= w.rules.BurstTaps {
			for k := i; k < j; k++ {
				out[taps[k].ses] = true
			}
		}
	}
	return out
}

// span is an opening period within a day, minutes from midnight, on the
// days it names.
type span struct {
	from, to int
	days     days
}

// days is the days an opening period holds on: weekdays (bit 0 Sunday …
// bit 6 Saturday), or the calendar's working days (工作日) or days off
// (节假日, 休息日) — those follow the public-holiday calendar, adjusted
// working weekends included.
type days struct {
	week    uint8
	working bool
	off     bool
}

var everyDay = days{week: 0x7f}

// on reports whether t's day (China Standard Time) is one of d's.
func (d days) on(t time.Time, cal *calendar.Calendar) bool {
	c := t.In(calendar.CST)
	if d.week&(1<<uint(c.Weekday())) != 0 {
		return true
	}
	if cal != nil && (d.working || d.off) {
		w := cal.Working(c)
		return (d.working && w) || (d.off && !w)
	}
	return false
}

var (
	openingTimeRe = `(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})`
	openingDay    = `(?:周|星期|礼拜)[一二三四五六日天]`
	// A token: a time range, a range of weekdays, one weekday, or a
	// named set of days.
	openingRe = regexp.MustCompile(openingTimeRe + `|(` + openingDay + `)\s*[-–—~～至到]\s*(` + openingDay + `)|(` + openingDay +
		`)|(每天|每日|天天|全周|全年|周末|双休日|工作日|节假日|法定节假日|休息日)|(休息|闭馆|闭站|不开放|关闭)`)
)

// weekday is the weekday a day name ends in (周一 … 周日/天).
func weekday(name string) int {
	r := []rune(name)
	return map[rune]int{'日': 0, '天': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6}[r[len(r)-1]]
}

// parseOpening reads a board's opening hours text into the periods the
// station is open. The forms read (any punctuation between them):
//
//   - time ranges "8:30-12:00", "09：00 至 21：00" (–, —, ~, 至, 到);
//   - days before their times: a weekday range "周一至周五" (also 星期,
//     礼拜; 至, 到, -; "周五至周一" wraps), single days "周六、周日"
//     (listed with 、，和 及 or nothing), and 每天/每日/天天/全周/全年
//     (every day), 周末/双休日 (Saturday and Sunday), 工作日 (the
//     calendar's working days), 节假日/法定节假日/休息日 (its days off);
//   - days named together share the times that follow them, up to the
//     next days named: "周一至周五 8:30-12:00，14:30-17:30；周六、周日
//     9:00-12:00";
//   - days followed by 休息/闭馆/闭站/不开放/关闭 are closed ("周二休息"),
//     and times after them with no days named hold on no day.
//
// Times before any day is named hold on every day ("8:00-18:00" alone is
// every day, as before). Once days are named, a day no group names, or
// named without times ("周日休息"), is closed. A text with no time range
// sets no opening hours, and no tap is outside them.
func parseOpening(text string) []span {
	var (
		out   []span
		cur   = everyDay
		named bool // the days of cur are being named (no times yet)
	)
	add := func(d days) {
		if !named {
			cur, named = days{}, true
		}
		cur.week |= d.week
		cur.working = cur.working || d.working
		cur.off = cur.off || d.off
	}
	for _, m := range openingRe.FindAllStringSubmatch(text, -1) {
		switch {
		case m[1] != "":
			n := make([]int, 4)
			for i := range n {
				n[i], _ = strconv.Atoi(m[i+1])
			}
			named = false
			from, to := n[0]*60+n[1], n[2]*60+n[3]
			if n[0] > 24 || n[2] > 24 || n[1] > 59 || n[3] > 59 || to <= from {
				continue
			}
			out = append(out, span{from, to, cur})
		case m[5] != "":
			a, b := weekday(m[5]), weekday(m[6])
			var w uint8
			for d := a; ; d = (d + 1) % 7 {
				w |= 1 << uint(d)
				if d == b {
					break
				}
			}
			add(days{week: w})
		case m[7] != "":
			add(days{week: 1 << uint(weekday(m[7]))})
		case m[8] != "":
			switch m[8] {
			case "周末", "双休日":
				add(days{week: 1<<0 | 1<<6})
			case "工作日":
				add(days{working: true})
			case "节假日", "法定节假日", "休息日":
				add(days{off: true})
			default:
				add(everyDay)
			}
		case m[9] != "":
			cur, named = days{}, false
		}
	}
	return out
}

// outside reports whether a tap of s (the check-in, or a check-out the
// volunteer made) falls outside its station's opening hours (the
// station's config, else the fleet's).
func (w *world) outside(s store.PassSession) bool {
	spans, ok := w.open[s.Station]
	if !ok {
		spans = w.open[""]
	}
	if len(spans) == 0 {
		return false
	}
	in := func(t time.Time) bool {
		c := t.In(calendar.CST)
		m := c.Hour()*60 + c.Minute()
		for _, sp := range spans {
			if m >= sp.from && m <= sp.to && sp.days.on(t, w.cal) {
				return true
			}
		}
		return false
	}
	return !in(s.Start) || (s.Closed && !s.Auto && !in(s.End))
}
