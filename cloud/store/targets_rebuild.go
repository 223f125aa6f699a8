package store

import (
	"context"
	"fmt"
	"strings"
)

// TargetDiff is one rollup table's difference from a full recount:
// Missing rows the recount has and the table lacks (or has with other
// values), Extra rows the table has and the recount does not; Examples
// shows a few of them.
type TargetDiff struct {
	Table          string
	Missing, Extra int64
	Examples       []string
}

// targetTables: each rollup table, its columns, and the condition a row
// must meet to mean something (rows that fell to zero are not
// differences).
var targetTables = []struct{ name, cols, keep string }{
	{"target_members", "volunteer, community, college, reg_month, dereg_month", "1 = 1"},
	{"target_volunteer_months", "volunteer, month, cents, records", "records <> 0 OR cents <> 0"},
	{"target_registered", "community, college, reg_month, dereg_month, n", "n <> 0"},
	{"target_cells", "community, month, cents, records, first_active", "cents <> 0 OR records <> 0 OR first_active <> 0"},
	{"target_college_done", "community, school_year, n", "n <> 0"},
	{"target_org_months", "org, community, month, records", "records <> 0"},
}

// RebuildTargets recounts every rollup from the service records, the
// volunteers and the stations (in one transaction, serialised against
// every service-record change) and reports how the stored rollups differ
// from the recount; unless check, it then replaces them with it. Pending
// volunteer changes are applied first (SyncTargets), as every read does
// (and on a database migrated with volunteers in it, not yet built, that
// builds them, check or not).
// A deregistered volunteer's community is known only from the rollups
// (deregistration empties it): the recount keeps the one stored.
func (s *Store) RebuildTargets(ctx context.Context, check bool) ([]TargetDiff, error) {
	if err := s.SyncTargets(ctx); err != nil {
		return nil, err
	}
	return s.rebuildTargets(ctx, check)
}

func (s *Store) rebuildTargets(ctx context.Context, check bool) ([]TargetDiff, error) {
	pg := s.b.dialect() == "postgres"
	monthNs := func(col string) string {
		if pg {
			return `CAST(to_char(to_timestamp(` + col + ` / 1000000000 + 28800) AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)`
		}
		return `CAST(strftime('%Y%m', ` + col + ` / 1000000000 + 28800, 'unixepoch') AS INTEGER)`
	}
	monthDay := func(col string) string {
		return `CAST(substr(` + col + `, 1, 4) || substr(` + col + `, 6, 2) AS INTEGER)`
	}
	// The same rules as volunteerRow.member and memberContrib.
	build := []string{
		`CREATE TEMP TABLE x_members AS SELECT v.id AS volunteer,
			CASE WHEN v.community <> '' THEN v.community WHEN v.deregistered_ns > 0 THEN COALESCE(m.community, '') ELSE '' END AS community,
			CASE WHEN v.grp = 'college_student' THEN 1 ELSE 0 END AS college,
			CASE WHEN v.registered_ns = 0 THEN 0 WHEN v.registered_on <> '' THEN ` + monthDay("v.registered_on") + `
				ELSE ` + monthNs("v.registered_ns") + ` END AS reg_month,
			CASE WHEN v.deregistered_ns > 0 THEN ` + monthNs("v.deregistered_ns") + ` ELSE 0 END AS dereg_month
		FROM volunteers v LEFT JOIN target_members m ON m.volunteer = v.id`,
		`CREATE TEMP TABLE x_volunteer_months AS SELECT volunteer, ` + monthDay("day") + ` AS month,
			CAST(SUM(counted_cents) AS BIGINT) AS cents, CAST(COUNT(*) AS BIGINT) AS records
		FROM service_records WHERE status = 'final' AND length(day) >= 7 GROUP BY volunteer, ` + monthDay("day"),
		`CREATE TEMP TABLE x_org_months AS SELECT r.org AS org,
			CASE WHEN r.community <> '' THEN r.community ELSE COALESCE(st.community, '') END AS community,
			` + monthDay("r.day") + ` AS month, CAST(COUNT(*) AS BIGINT) AS records
		FROM service_records r LEFT JOIN stations st ON st.id = r.station
		WHERE r.status = 'final' AND r.org <> '' AND length(r.day) >= 7
		GROUP BY r.org, CASE WHEN r.community <> '' THEN r.community ELSE COALESCE(st.community, '') END, ` + monthDay("r.day"),
		`CREATE TEMP TABLE x_registered AS SELECT community, college, reg_month, dereg_month, CAST(COUNT(*) AS BIGINT) AS n
		FROM x_members WHERE community <> '' AND reg_month > 0 GROUP BY community, college, reg_month, dereg_month`,
		`CREATE TEMP TABLE x_first AS SELECT volunteer, month / 100 AS y, MIN(month) AS fm
		FROM x_volunteer_months WHERE records > 0 GROUP BY volunteer, month / 100`,
		`CREATE TEMP TABLE x_cells AS SELECT m.community AS community, vm.month AS month,
			CAST(SUM(vm.cents) AS BIGINT) AS cents, CAST(SUM(vm.records) AS BIGINT) AS records,
			CAST(SUM(CASE WHEN vm.month = f.fm THEN 1 ELSE 0 END) AS BIGINT) AS first_active
		FROM x_volunteer_months vm JOIN x_members m ON m.volunteer = vm.volunteer
			JOIN x_first f ON f.volunteer = vm.volunteer AND f.y = vm.month / 100
		WHERE m.community <> '' AND m.reg_month > 0 AND m.reg_month <= (vm.month / 100) * 100 + 12
			AND (m.dereg_month = 0 OR m.dereg_month > (vm.month / 100) * 100 + 12)
		GROUP BY m.community, vm.month`,
		`CREATE TEMP TABLE x_college_done AS SELECT m.community AS community, s.sy AS school_year, CAST(COUNT(*) AS BIGINT) AS n
		FROM (SELECT volunteer, CASE WHEN month % 100 >= 9 THEN month / 100 + 1 ELSE month / 100 END AS sy,
				SUM(cents) AS c
			FROM x_volunteer_months GROUP BY volunteer, CASE WHEN month % 100 >= 9 THEN month / 100 + 1 ELSE month / 100 END) s
			JOIN x_members m ON m.volunteer = s.volunteer
		WHERE m.college = 1 AND s.c >= 10000 AND m.community <> '' AND m.reg_month > 0 AND m.reg_month <= s.sy * 100 + 8
			AND (m.dereg_month = 0 OR m.dereg_month > s.sy * 100 + 8)
		GROUP BY m.community, s.sy`,
	}
	var diffs []TargetDiff
	err := s.b.inTx(ctx, func(q querier) error {
		if pg {
			// The recount groups tens of millions of rows: sorts and
			// hashes in memory rather than in temporary files.
			if _, err := q.exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
				return err
			}
		}
		for _, t := range targetTables {
			if _, err := q.exec(ctx, `DROP TABLE IF EXISTS x_`+strings.TrimPrefix(t.name, "target_")); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `DROP TABLE IF EXISTS x_first`); err != nil {
			return err
		}
		for _, stmt := range build {
			if _, err := q.exec(ctx, stmt); err != nil {
				return fmt.Errorf("%w: %s", err, stmt[:min(len(stmt), 60)])
			}
		}
		diffs = diffs[:0]
		for _, t := range targetTables {
			x := "x_" + strings.TrimPrefix(t.name, "target_")
			d := TargetDiff{Table: t.name}
			// An empty side (a first build) needs no comparison.
			empty := map[string]bool{}
			for _, tb := range []string{x, t.name} {
				n := 0
				if err := q.query(ctx, `SELECT 1 FROM `+tb+` WHERE `+t.keep+` LIMIT 1`, nil, func(rows) error { n++; return nil }); err != nil {
					return err
				}
				empty[tb] = n == 0
			}
			for _, dir := range []struct {
				from, to string
				n        *int64
				label    string
			}{{x, t.name, &d.Missing, "缺少"}, {t.name, x, &d.Extra, "多出"}} {
				sel := `SELECT ` + t.cols + ` FROM ` + dir.from + ` WHERE ` + t.keep + ` EXCEPT SELECT ` + t.cols + ` FROM ` + dir.to + ` WHERE ` + t.keep
				switch {
				case empty[dir.from]:
					continue
				case empty[dir.to]:
					sel = `SELECT ` + t.cols + ` FROM ` + dir.from + ` WHERE ` + t.keep
				}
				if err := q.query(ctx, `SELECT COUNT(*) FROM (`+sel+`) d`, nil, func(r rows) error { return r.Scan(dir.n) }); err != nil {
					return err
				}
				if *dir.n == 0 {
					continue
				}
				if err := q.query(ctx, `SELECT * FROM (`+sel+`) d LIMIT 3`, nil, func(r rows) error {
					n := len(strings.Split(t.cols, ","))
					vals := make([]any, n)
					ptrs := make([]any, n)
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := r.Scan(ptrs...); err != nil {
						return err
					}
					d.Examples = append(d.Examples, dir.label+" "+fmt.Sprint(vals...))
					return nil
				}); err != nil {
					return err
				}
			}
			diffs = append(diffs, d)
		}
		if !check {
			for _, t := range targetTables {
				x := "x_" + strings.TrimPrefix(t.name, "target_")
				if _, err := q.exec(ctx, `DELETE FROM `+t.name); err != nil {
					return err
				}
				if _, err := q.exec(ctx, `INSERT INTO `+t.name+` (`+t.cols+`) SELECT `+t.cols+` FROM `+x+` WHERE `+t.keep); err != nil {
					return err
				}
			}
			for _, g := range []string{genRegistered, genOrgMonths} {
				if err := bumpGeneration(ctx, q, g); err != nil {
					return err
				}
			}
			if _, err := q.exec(ctx, `DELETE FROM target_state WHERE key = 'needs_rebuild'`); err != nil {
				return err
			}
			if _, err := q.exec(ctx, `INSERT INTO target_state (key, value) SELECT 'volunteers_ns', COALESCE(MAX(updated_ns), 0) FROM volunteers WHERE 1 = 1
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`); err != nil {
				return err
			}
		}
		for _, t := range targetTables {
			if _, err := q.exec(ctx, `DROP TABLE x_`+strings.TrimPrefix(t.name, "target_")); err != nil {
				return err
			}
		}
		_, err := q.exec(ctx, `DROP TABLE x_first`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: rebuild targets: %w", err)
	}
	return diffs, nil
}
