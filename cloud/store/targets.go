package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The rollups of the plan's figures (issue 14; the tables are migration
// 16, schema_targets.go). They are kept up to date two ways:
//
//   - every change of a service record runs targetsHook in its own
//     transaction (RegisterRollupHook): the volunteer's counted hours and
//     records of the record's month, and the sums of their home
//     community, move by the difference between the record before and
//     after (only final records count);
//   - a change of a volunteer (registration, a move to another community,
//     a change of group, deregistration) is seen by its updated_ns and
//     applied by SyncTargets, which every read of the figures runs first:
//     the volunteer's counts move from what the rollups counted them as
//     (target_members) to what they are now.
//
// What neither sees, and `leifeng-cloud targets rebuild` puts right: a
// station moved to another community after its records became final
// (their organisation visits stay where the service took place at the
// time), and a volunteer change committed more than targetSyncSlack
// after the clock time it was stamped with. RebuildTargets recounts
// everything from the tables and reports the differences.

// cst (China Standard Time) is hours_pass.go's.

// targetSyncMax is how many volunteer changes SyncTargets applies one by
// one; more, and it recounts everything (RebuildTargets).
const targetSyncMax = 5000

// targetSyncSlack is how far back SyncTargets looks before the last
// updated_ns it applied, for changes stamped earlier but committed later.
const targetSyncSlack = int64(10 * time.Minute)

func init() { RegisterRollupHook(targetsHook) }

// targetMember is what the rollups count a volunteer as.
type targetMember struct {
	Community  string
	College    bool
	Reg, Dereg int // YYYYMM; 0: not registered, not deregistered
}

// registeredAt reports whether m is a registered volunteer of their
// community at the end of month (YYYYMM).
func (m targetMember) registeredAt(month int) bool {
	return m.Community != "" && m.Reg > 0 && m.Reg <= month && (m.Dereg == 0 || m.Dereg > month)
}

// monthOfDay is YYYYMM of a day written YYYY-MM-DD (0 when it is not).
func monthOfDay(day string) int {
	if len(day) < 7 {
		return 0
	}
	n, err := strconv.Atoi(day[:4] + day[5:7])
	if err != nil {
		return 0
	}
	return n
}

// monthOfNanos is YYYYMM of a time in China Standard Time.
func monthOfNanos(ns int64) int {
	t := time.Unix(ns/1e9, 0).In(cst)
	return t.Year()*100 + int(t.Month())
}

// schoolYearOf is the school year month lies in, named by the year it
// ends in (September 2025 to August 2026 is 2026).
func schoolYearOf(month int) int {
	if month%100 >= 9 {
		return month/100 + 1
	}
	return month / 100
}

// tkey names one row of a rollup table: kind 'r' target_registered
// (community, a college, b reg_month, c dereg_month), 'c' target_cells
// (community, a month), 'd' target_college_done (community, a school
// year), 'o' target_org_months (org, community, a month).
type tkey struct {
	kind      byte
	org       string
	community string
	a, b, c   int
}

type tval struct{ cents, records, first, n int64 }

func (v tval) zero() bool { return v == tval{} }

type contrib map[tkey]tval

func (c contrib) add(k tkey, v tval, sign int64) {
	x := c[k]
	x.cents += sign * v.cents
	x.records += sign * v.records
	x.first += sign * v.first
	x.n += sign * v.n
	c[k] = x
}

type vmonth struct{ cents, records int64 }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// memberContrib adds (sign 1) or takes away (sign -1) what m with the
// given months counts for in the rollups; withRegistered includes their
// row of target_registered. Figures of a year or school year are only
// right when months holds all of it: callers diff two calls over the
// same months, so a partial year contributes nothing to the difference.
func memberContrib(c contrib, m targetMember, months map[int]vmonth, sign int64, withRegistered bool) {
	if m.Community == "" {
		return
	}
	if withRegistered && m.Reg > 0 {
		c.add(tkey{kind: 'r', community: m.Community, a: b2i(m.College), b: m.Reg, c: m.Dereg}, tval{n: 1}, sign)
	}
	first := map[int]int{} // year → first month with a record
	school := map[int]int64{}
	for mo, v := range months {
		if v.records > 0 {
			y := mo / 100
			if f, ok := first[y]; !ok || mo < f {
				first[y] = mo
			}
		}
		school[schoolYearOf(mo)] += v.cents
	}
	for mo, v := range months {
		y := mo / 100
		if !m.registeredAt(y*100 + 12) {
			continue
		}
		t := tval{cents: v.cents, records: v.records}
		if first[y] == mo && v.records > 0 {
			t.first = 1
		}
		c.add(tkey{kind: 'c', community: m.Community, a: mo}, t, sign)
	}
	if m.College {
		for sy, cents := range school {
			if cents >= 10000 && m.registeredAt(sy*100+8) {
				c.add(tkey{kind: 'd', community: m.Community, a: sy}, tval{n: 1}, sign)
			}
		}
	}
}

// applyContrib writes c's non-zero differences, in key order (one order
// for every writer), and removes rows that fall to zero.
func applyContrib(ctx context.Context, q querier, c contrib) error {
	keys := make([]tkey, 0, len(c))
	for k, v := range c {
		if !v.zero() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y tkey) int {
		if x.kind != y.kind {
			return int(x.kind) - int(y.kind)
		}
		if s := strings.Compare(x.org, y.org); s != 0 {
			return s
		}
		if s := strings.Compare(x.community, y.community); s != 0 {
			return s
		}
		if x.a != y.a {
			return x.a - y.a
		}
		if x.b != y.b {
			return x.b - y.b
		}
		return x.c - y.c
	})
	bumpReg, bumpOrg := false, false
	for _, k := range keys {
		v := c[k]
		var err error
		switch k.kind {
		case 'r':
			bumpReg = true
			_, err = q.exec(ctx, `INSERT INTO target_registered (community, college, reg_month, dereg_month, n) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (community, college, reg_month, dereg_month) DO UPDATE SET n = target_registered.n + excluded.n`,
				k.community, k.a, k.b, k.c, v.n)
			if err == nil && v.n < 0 {
				_, err = q.exec(ctx, `DELETE FROM target_registered WHERE community = $1 AND college = $2 AND reg_month = $3
					AND dereg_month = $4 AND n = 0`, k.community, k.a, k.b, k.c)
			}
		case 'c':
			_, err = q.exec(ctx, `INSERT INTO target_cells (community, month, cents, records, first_active) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (community, month) DO UPDATE SET cents = target_cells.cents + excluded.cents,
					records = target_cells.records + excluded.records,
					first_active = target_cells.first_active + excluded.first_active`,
				k.community, k.a, v.cents, v.records, v.first)
			if err == nil && (v.cents < 0 || v.records < 0 || v.first < 0) {
				_, err = q.exec(ctx, `DELETE FROM target_cells WHERE community = $1 AND month = $2
					AND cents = 0 AND records = 0 AND first_active = 0`, k.community, k.a)
			}
		case 'd':
			_, err = q.exec(ctx, `INSERT INTO target_college_done (community, school_year, n) VALUES ($1, $2, $3)
				ON CONFLICT (community, school_year) DO UPDATE SET n = target_college_done.n + excluded.n`,
				k.community, k.a, v.n)
			if err == nil && v.n < 0 {
				_, err = q.exec(ctx, `DELETE FROM target_college_done WHERE community = $1 AND school_year = $2 AND n = 0`,
					k.community, k.a)
			}
		case 'o':
			// Only a row coming or going changes the visits' months.
			var changed int64
			changed, err = q.exec(ctx, `UPDATE target_org_months SET records = records + $4 WHERE org = $1 AND community = $2 AND month = $3`,
				k.org, k.community, k.a, v.records)
			if err == nil && changed == 0 {
				_, err = q.exec(ctx, `INSERT INTO target_org_months (org, community, month, records) VALUES ($1, $2, $3, $4)`,
					k.org, k.community, k.a, v.records)
				bumpOrg = true
			}
			if err == nil && v.records < 0 {
				changed, err = q.exec(ctx, `DELETE FROM target_org_months WHERE org = $1 AND community = $2 AND month = $3 AND records = 0`,
					k.org, k.community, k.a)
				bumpOrg = bumpOrg || changed > 0
			}
		}
		if err != nil {
			return fmt.Errorf("targets rollup %c: %w", k.kind, err)
		}
	}
	if bumpReg {
		if err := bumpGeneration(ctx, q, genRegistered); err != nil {
			return err
		}
	}
	if bumpOrg {
		return bumpGeneration(ctx, q, genOrgMonths)
	}
	return nil
}

// Generations: target_state counters that rise, in the transaction of the
// change, whenever target_registered changes or a row of
// target_org_months comes or goes, so that a process may keep what it
// read of those tables until the counter moves (targetCache).
const (
	genRegistered = "registered_gen"
	genOrgMonths  = "org_gen"
)

func bumpGeneration(ctx context.Context, q querier, key string) error {
	_, err := q.exec(ctx, `INSERT INTO target_state (key, value) VALUES ($1, 1)
		ON CONFLICT (key) DO UPDATE SET value = target_state.value + 1`, key)
	return err
}

// targetsHook is the rollups' RegisterRollupHook.
func targetsHook(ctx context.Context, eq Querier, before, after *ServiceRecord) error {
	e, ok := eq.(exported)
	if !ok {
		return fmt.Errorf("targets rollup: unexpected querier %T", eq)
	}
	q := e.q
	counts := func(r *ServiceRecord) bool { return r != nil && r.Status == StatusFinal && monthOfDay(r.Day) > 0 }
	if !counts(before) && !counts(after) {
		return nil
	}
	type vkey struct {
		volunteer string
		month     int
	}
	deltas := map[vkey]vmonth{}
	orgs := contrib{}
	for _, x := range []struct {
		r    *ServiceRecord
		sign int64
	}{{before, -1}, {after, 1}} {
		if !counts(x.r) {
			continue
		}
		mo := monthOfDay(x.r.Day)
		k := vkey{x.r.Volunteer, mo}
		d := deltas[k]
		d.cents += x.sign * x.r.CountedCents
		d.records += x.sign
		deltas[k] = d
		if x.r.Org != "" {
			place, err := recordPlace(ctx, q, x.r)
			if err != nil {
				return err
			}
			orgs.add(tkey{kind: 'o', org: x.r.Org, community: place, a: mo}, tval{records: 1}, x.sign)
		}
	}
	byVolunteer := map[string]map[int]vmonth{}
	for k, d := range deltas {
		if d == (vmonth{}) {
			continue
		}
		if byVolunteer[k.volunteer] == nil {
			byVolunteer[k.volunteer] = map[int]vmonth{}
		}
		byVolunteer[k.volunteer][k.month] = d
	}
	for _, v := range slices.Sorted(mapKeys(byVolunteer)) {
		if err := applyVolunteerMonths(ctx, q, v, byVolunteer[v]); err != nil {
			return err
		}
	}
	return applyContrib(ctx, q, orgs)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// recordPlace is the community where r's service took place: the
// record's, or its station's.
func recordPlace(ctx context.Context, q querier, r *ServiceRecord) (string, error) {
	if r.Community != "" || r.Station == "" {
		return r.Community, nil
	}
	var c string
	err := q.query(ctx, `SELECT community FROM stations WHERE id = $1`, []any{r.Station}, func(x rows) error { return x.Scan(&c) })
	return c, err
}

// applyVolunteerMonths adds deltas (month → change) to volunteer's months
// and moves their community's sums by the difference.
func applyVolunteerMonths(ctx context.Context, q querier, volunteer string, deltas map[int]vmonth) error {
	m, found, err := loadMember(ctx, q, volunteer)
	if err != nil {
		return err
	}
	if !found {
		var exists bool
		if m, exists, err = memberOfVolunteer(ctx, q, volunteer, nil); err != nil {
			return err
		}
		if exists {
			if err := syncMember(ctx, q, volunteer, targetMember{}, false, m); err != nil {
				return err
			}
		}
	}
	lo, hi := 0, 0
	for mo := range deltas {
		y, sy := mo/100, schoolYearOf(mo)
		for _, b := range []int{y*100 + 1, (sy-1)*100 + 9} {
			if lo == 0 || b < lo {
				lo = b
			}
		}
		for _, b := range []int{y*100 + 12, sy*100 + 8} {
			if b > hi {
				hi = b
			}
		}
	}
	months, err := loadMonths(ctx, q, volunteer, lo, hi)
	if err != nil {
		return err
	}
	c := contrib{}
	memberContrib(c, m, months, -1, false)
	for mo, d := range deltas {
		v := months[mo]
		v.cents += d.cents
		v.records += d.records
		if v.records < 0 || v.cents < 0 {
			// The rollups were off before this change (a database not
			// built yet, or edited by hand): the change goes through, and
			// the rebuild (or the first read, for a database not built
			// yet) puts them right; `targets rebuild --check` says so.
			v = vmonth{max(v.cents, 0), max(v.records, 0)}
		}
		if v.records == 0 {
			delete(months, mo)
			_, err = q.exec(ctx, `DELETE FROM target_volunteer_months WHERE volunteer = $1 AND month = $2`, volunteer, mo)
		} else {
			months[mo] = v
			_, err = q.exec(ctx, `INSERT INTO target_volunteer_months (volunteer, month, cents, records) VALUES ($1, $2, $3, $4)
				ON CONFLICT (volunteer, month) DO UPDATE SET cents = excluded.cents, records = excluded.records`,
				volunteer, mo, v.cents, v.records)
		}
		if err != nil {
			return err
		}
	}
	memberContrib(c, m, months, 1, false)
	return applyContrib(ctx, q, c)
}

func loadMember(ctx context.Context, q querier, volunteer string) (targetMember, bool, error) {
	var (
		m       targetMember
		college int
		found   bool
	)
	err := q.query(ctx, `SELECT community, college, reg_month, dereg_month FROM target_members WHERE volunteer = $1`,
		[]any{volunteer}, func(r rows) error {
			found = true
			return r.Scan(&m.Community, &college, &m.Reg, &m.Dereg)
		})
	m.College = college == 1
	return m, found, err
}

// memberOfVolunteer reads what volunteer is now (exists false when the
// volunteers table does not know them); old is what the rollups counted
// them as, whose community a deregistered volunteer keeps.
func memberOfVolunteer(ctx context.Context, q querier, volunteer string, old *targetMember) (targetMember, bool, error) {
	var (
		r      volunteerRow
		exists bool
	)
	err := q.query(ctx, `SELECT community, grp, registered_on, registered_ns, deregistered_ns FROM volunteers WHERE id = $1`,
		[]any{volunteer}, func(x rows) error {
			exists = true
			return x.Scan(&r.community, &r.grp, &r.registeredOn, &r.registeredNs, &r.deregisteredNs)
		})
	if err != nil || !exists {
		return targetMember{}, exists, err
	}
	return r.member(old), true, nil
}

type volunteerRow struct {
	community, grp, registeredOn string
	registeredNs, deregisteredNs int64
}

// member is what the rollups count the volunteer as; the SQL of
// RebuildTargets (rebuildMembers) says the same.
func (r volunteerRow) member(old *targetMember) targetMember {
	m := targetMember{Community: r.community, College: r.grp == "college_student"}
	if m.Community == "" && r.deregisteredNs > 0 && old != nil {
		m.Community = old.Community
	}
	switch {
	case r.registeredNs == 0:
	case r.registeredOn != "":
		m.Reg = monthOfDay(r.registeredOn)
	default:
		m.Reg = monthOfNanos(r.registeredNs)
	}
	if r.deregisteredNs > 0 {
		m.Dereg = monthOfNanos(r.deregisteredNs)
	}
	return m
}

func loadMonths(ctx context.Context, q querier, volunteer string, lo, hi int) (map[int]vmonth, error) {
	months := map[int]vmonth{}
	err := q.query(ctx, `SELECT month, cents, records FROM target_volunteer_months WHERE volunteer = $1 AND month BETWEEN $2 AND $3`,
		[]any{volunteer, lo, hi}, func(r rows) error {
			var (
				mo int
				v  vmonth
			)
			err := r.Scan(&mo, &v.cents, &v.records)
			months[mo] = v
			return err
		})
	return months, err
}

// syncMember moves volunteer's counts from old (found: counted as old;
// else counted nowhere) to now.
func syncMember(ctx context.Context, q querier, volunteer string, old targetMember, found bool, now targetMember) error {
	if found && old == now {
		return nil
	}
	months, err := loadMonths(ctx, q, volunteer, 0, 999912)
	if err != nil {
		return err
	}
	c := contrib{}
	if found {
		memberContrib(c, old, months, -1, true)
	}
	memberContrib(c, now, months, 1, true)
	if _, err := q.exec(ctx, `INSERT INTO target_members (volunteer, community, college, reg_month, dereg_month) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (volunteer) DO UPDATE SET community = excluded.community, college = excluded.college,
			reg_month = excluded.reg_month, dereg_month = excluded.dereg_month`,
		volunteer, now.Community, b2i(now.College), now.Reg, now.Dereg); err != nil {
		return err
	}
	return applyContrib(ctx, q, c)
}

// SyncTargets applies the changes of volunteers since it last did to the
// rollups (see the top of this file). It writes only when something
// changed. Many changes at once (a bulk import), or a database migrated
// with volunteers already in it, are a full recount (rebuildTargets):
// the background pass (serve's --targets-every) and `leifeng-cloud
// targets rebuild` call this; a read of the figures calls
// SyncTargetsQuick, which never recounts.
func (s *Store) SyncTargets(ctx context.Context) error {
	_, err := s.syncTargets(ctx, true)
	return err
}

// SyncTargetsQuick is SyncTargets for a read of the figures: it applies
// a few volunteers' changes (at most targetSyncMax) and otherwise leaves
// the rollups as they are for the background pass, reporting stale; a
// read never waits on a recount of every record.
func (s *Store) SyncTargetsQuick(ctx context.Context) (stale bool, err error) {
	return s.syncTargets(ctx, false)
}

func (s *Store) syncTargets(ctx context.Context, full bool) (stale bool, err error) {
	var pending bool
	if err := s.b.query(ctx, `SELECT 1 FROM target_state WHERE key = 'needs_rebuild'`, nil,
		func(rows) error { pending = true; return nil }); err != nil {
		return false, fmt.Errorf("store: sync targets: %w", err)
	}
	if pending {
		if !full {
			return true, nil
		}
		_, err := s.rebuildTargets(ctx, false)
		return false, err
	}
	type change struct {
		id        string
		old, now  targetMember
		found     bool
		updatedNs int64
	}
	scan := func(q querier) ([]change, int64, int64, error) {
		var mark int64
		if err := q.query(ctx, `SELECT value FROM target_state WHERE key = 'volunteers_ns'`, nil,
			func(r rows) error { return r.Scan(&mark) }); err != nil {
			return nil, 0, 0, err
		}
		from := int64(-1)
		if mark > 0 {
			from = mark - targetSyncSlack
		}
		var (
			out  []change
			last = mark
		)
		err := q.query(ctx, `SELECT v.id, v.community, v.grp, v.registered_on, v.registered_ns, v.deregistered_ns, v.updated_ns,
				m.volunteer, m.community, m.college, m.reg_month, m.dereg_month
			FROM volunteers v LEFT JOIN target_members m ON m.volunteer = v.id
			WHERE v.updated_ns > $1 ORDER BY v.updated_ns, v.id`, []any{from},
			func(r rows) error {
				var (
					c        change
					vr       volunteerRow
					mid, mc  *string
					col      *int64
					reg, der *int64
				)
				if err := r.Scan(&c.id, &vr.community, &vr.grp, &vr.registeredOn, &vr.registeredNs, &vr.deregisteredNs,
					&c.updatedNs, &mid, &mc, &col, &reg, &der); err != nil {
					return err
				}
				if mid != nil {
					c.found = true
					c.old = targetMember{Community: *mc, College: *col == 1, Reg: int(*reg), Dereg: int(*der)}
				}
				if c.found {
					c.now = vr.member(&c.old)
				} else {
					c.now = vr.member(nil)
				}
				last = max(last, c.updatedNs)
				if !c.found || c.old != c.now {
					out = append(out, c)
				}
				return nil
			})
		return out, mark, last, err
	}
	changes, mark, last, err := scan(s.b)
	if err != nil {
		return false, fmt.Errorf("store: sync targets: %w", err)
	}
	if len(changes) == 0 && last == mark {
		return false, nil
	}
	if len(changes) > targetSyncMax {
		// Many volunteers at once (a bulk import, volunteers written by
		// hand): a recount is quicker than moving them one at a time,
		// and is the background pass's to make.
		if !full {
			return true, nil
		}
		_, err := s.rebuildTargets(ctx, false)
		return false, err
	}
	err = s.b.inTx(ctx, func(q querier) error {
		changes, _, last, err := scan(q)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if err := syncMember(ctx, q, c.id, c.old, c.found, c.now); err != nil {
				return err
			}
		}
		_, err = q.exec(ctx, `INSERT INTO target_state (key, value) VALUES ('volunteers_ns', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, last)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: sync targets: %w", err)
	}
	return false, nil
}

// TargetCommunity is one home community's part of a year's figures.
type TargetCommunity struct {
	// Registered at the end of the year (or today); CollegeRegistered
	// college students registered at the end of the school year.
	Registered, CollegeRegistered int64
	// Active volunteers, final records and counted hundredths of hours in
	// the year, of the volunteers registered at its end.
	Active, Records, Cents int64
	// CollegeDone: college students registered at the end of the school
	// year with at least 100 counted hours in it.
	CollegeDone int64
}

// TargetOrg is an organisation with the months in which it served in
// its linked community.
type TargetOrg struct {
	ID, County, Community string
	Months                int
}

// inAreas is the condition "col is one of areas" (true when areas is
// nil: the whole city) with its arguments, numbered from first.
func inAreas(col string, areas []string, first int) (string, []any) {
	if areas == nil {
		return "1 = 1", nil
	}
	if len(areas) == 0 {
		return "1 = 0", nil
	}
	list, args := inList(areas, first)
	return col + " IN (" + list + ")", args
}

// TargetFigures reads the rollups of year for the home communities among
// areas (the codes of an area's subtree, nil for the whole city), and
// the organisations whose county or linked community is among them, with
// the months from January to lastMonth (1–12) in which they have a final
// record in their linked community.
func (s *Store) TargetFigures(ctx context.Context, areas []string, year, lastMonth int) (map[string]*TargetCommunity, []TargetOrg, error) {
	out := map[string]*TargetCommunity{}
	get := func(c string) *TargetCommunity {
		if out[c] == nil {
			out[c] = &TargetCommunity{}
		}
		return out[c]
	}
	end, school := year*100+12, year*100+8
	in, inArgs := inAreas("t.community", areas, 3)
	var inSet map[string]bool
	if areas != nil {
		inSet = map[string]bool{}
		for _, a := range areas {
			inSet[a] = true
		}
	}
	gens := map[string]int64{}
	err := s.b.query(ctx, `SELECT key, value FROM target_state WHERE key IN ($1, $2)`, []any{genRegistered, genOrgMonths},
		func(r rows) error {
			var k string
			var v int64
			err := r.Scan(&k, &v)
			gens[k] = v
			return err
		})
	c := s.targetCache(year)
	c.mu.Lock()
	reg, regOK := c.reg, c.regOK && c.regGen == gens[genRegistered]
	months, orgOK := c.orgMonths, c.orgOK && c.orgGen == gens[genOrgMonths] && c.orgLast == lastMonth
	c.mu.Unlock()
	if err == nil && !regOK {
		// The whole city's, kept until target_registered changes.
		reg = map[string][2]int64{}
		err = s.b.query(ctx, `SELECT t.community,
				CAST(SUM(CASE WHEN t.dereg_month = 0 OR t.dereg_month > $1 THEN t.n ELSE 0 END) AS BIGINT),
				CAST(SUM(CASE WHEN t.college = 1 AND t.reg_month <= $2 AND (t.dereg_month = 0 OR t.dereg_month > $2) THEN t.n ELSE 0 END) AS BIGINT)
			FROM target_registered t
			WHERE t.reg_month <= $1 GROUP BY t.community`, []any{end, school},
			func(r rows) error {
				var c string
				var x [2]int64
				err := r.Scan(&c, &x[0], &x[1])
				reg[c] = x
				return err
			})
		if err == nil {
			c.mu.Lock()
			c.reg, c.regGen, c.regOK = reg, gens[genRegistered], true
			c.mu.Unlock()
		}
	}
	for cm, x := range reg {
		if inSet == nil || inSet[cm] {
			t := get(cm)
			t.Registered, t.CollegeRegistered = x[0], x[1]
		}
	}
	if err == nil {
		err = s.b.query(ctx, `SELECT t.community, CAST(SUM(t.cents) AS BIGINT), CAST(SUM(t.records) AS BIGINT),
				CAST(SUM(t.first_active) AS BIGINT)
			FROM target_cells t
			WHERE t.month BETWEEN $1 AND $2 AND `+in+` GROUP BY t.community`, append([]any{year*100 + 1, end}, inArgs...),
			func(r rows) error {
				var c string
				var cents, recs, act int64
				if err := r.Scan(&c, &cents, &recs, &act); err != nil {
					return err
				}
				x := get(c)
				x.Cents, x.Records, x.Active = cents, recs, act
				return nil
			})
	}
	if err == nil {
		in2, args2 := inAreas("t.community", areas, 2)
		err = s.b.query(ctx, `SELECT t.community, t.n FROM target_college_done t
			WHERE t.school_year = $1 AND `+in2, append([]any{year}, args2...),
			func(r rows) error {
				var c string
				var n int64
				if err := r.Scan(&c, &n); err != nil {
					return err
				}
				get(c).CollegeDone = n
				return nil
			})
	}
	var orgs []TargetOrg
	if err == nil {
		cond := "1 = 1"
		var args []any
		if areas != nil {
			c1, a1 := inAreas("county", areas, 1)
			c2, a2 := inAreas("community", areas, 1+len(a1))
			cond, args = "("+c1+" OR "+c2+")", append(a1, a2...)
		}
		err = s.b.query(ctx, `SELECT id, county, community FROM organisations WHERE `+cond+` ORDER BY id`, args,
			func(r rows) error {
				var o TargetOrg
				err := r.Scan(&o.ID, &o.County, &o.Community)
				orgs = append(orgs, o)
				return err
			})
		if err == nil && !orgOK {
			// The whole city's, kept until a row of target_org_months
			// comes or goes.
			months = map[[2]string]int{}
			err = s.b.query(ctx, `SELECT t.org, t.community, COUNT(*) FROM target_org_months t
				WHERE t.month BETWEEN $1 AND $2 AND t.records > 0 GROUP BY t.org, t.community`,
				[]any{year*100 + 1, year*100 + lastMonth},
				func(r rows) error {
					var o, cm string
					var n int64
					err := r.Scan(&o, &cm, &n)
					months[[2]string{o, cm}] = int(n)
					return err
				})
			if err == nil {
				c.mu.Lock()
				c.orgMonths, c.orgGen, c.orgLast, c.orgOK = months, gens[genOrgMonths], lastMonth, true
				c.mu.Unlock()
			}
		}
		for i, o := range orgs {
			if o.Community != "" {
				orgs[i].Months = months[[2]string{o.ID, o.Community}]
			}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: target figures of %d: %w", year, err)
	}
	return out, orgs, nil
}

// TargetMonth is one month of a year's trend under an area.
type TargetMonth struct {
	Month int // 1–12
	// Cents and Records: counted hours (hundredths) and final records in
	// the month of the volunteers registered at the end of the year (or
	// today); FirstActive those whose first final record of the year is
	// in the month.
	Cents, Records, FirstActive int64
	// Registered at the end of the month.
	Registered int64
}

// TargetTrend reads year's twelve months for the home communities among
// areas (nil: the whole city).
func (s *Store) TargetTrend(ctx context.Context, areas []string, year int) ([]TargetMonth, error) {
	out := make([]TargetMonth, 12)
	for i := range out {
		out[i].Month = i + 1
	}
	type regRow struct {
		reg, dereg int
		n          int64
	}
	var regs []regRow
	in, inArgs := inAreas("t.community", areas, 2)
	err := s.b.query(ctx, `SELECT t.reg_month, t.dereg_month, CAST(SUM(t.n) AS BIGINT)
		FROM target_registered t
		WHERE t.reg_month <= $1 AND `+in+` GROUP BY t.reg_month, t.dereg_month`, append([]any{year*100 + 12}, inArgs...),
		func(r rows) error {
			var x regRow
			err := r.Scan(&x.reg, &x.dereg, &x.n)
			regs = append(regs, x)
			return err
		})
	if err == nil {
		in3, args3 := inAreas("t.community", areas, 3)
		err = s.b.query(ctx, `SELECT t.month, CAST(SUM(t.cents) AS BIGINT), CAST(SUM(t.records) AS BIGINT),
				CAST(SUM(t.first_active) AS BIGINT)
			FROM target_cells t
			WHERE t.month BETWEEN $1 AND $2 AND `+in3+` GROUP BY t.month`, append([]any{year*100 + 1, year*100 + 12}, args3...),
			func(r rows) error {
				var mo int
				var cents, recs, act int64
				if err := r.Scan(&mo, &cents, &recs, &act); err != nil {
					return err
				}
				if i := mo%100 - 1; i >= 0 && i < 12 {
					out[i].Cents, out[i].Records, out[i].FirstActive = cents, recs, act
				}
				return nil
			})
	}
	if err != nil {
		return nil, fmt.Errorf("store: target trend of %d: %w", year, err)
	}
	for i := range out {
		m := year*100 + i + 1
		for _, x := range regs {
			if x.reg <= m && (x.dereg == 0 || x.dereg > m) {
				out[i].Registered += x.n
			}
		}
	}
	return out, nil
}

// settingTargets keeps the targets per area level (cloud/targets'
// Settings as JSON).
const settingTargets = "targets"

// TargetSettings is the stored targets document ("" when none is).
func (s *Store) TargetSettings(ctx context.Context) (string, error) {
	v, _, err := s.setting(ctx, settingTargets)
	return v, err
}

// SetTargetSettings stores the targets document.
func (s *Store) SetTargetSettings(ctx context.Context, doc string, now time.Time) error {
	if _, err := s.b.exec(ctx, `INSERT INTO settings (key, value, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ns = excluded.updated_ns`,
		settingTargets, doc, nanos(now)); err != nil {
		return fmt.Errorf("store: set targets: %w", err)
	}
	return nil
}

// targetYearCache is what TargetFigures keeps of one year between calls,
// with the generations it was read at.
type targetYearCache struct {
	mu        sync.Mutex
	regOK     bool
	regGen    int64
	reg       map[string][2]int64
	orgOK     bool
	orgGen    int64
	orgLast   int
	orgMonths map[[2]string]int
}

var targetCaches sync.Map // *Store → *sync.Map of year → *targetYearCache

func (s *Store) targetCache(year int) *targetYearCache {
	m, _ := targetCaches.LoadOrStore(s, &sync.Map{})
	c, _ := m.(*sync.Map).LoadOrStore(year, &targetYearCache{})
	return c.(*targetYearCache)
}
