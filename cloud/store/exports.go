package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// What the exports (cloud/export) read: service records with their
// volunteer's number and name, streamed, and the year's counts per
// community for the statistics county offices file upward.

// ExportFilter selects the service records of an export. A nil list or
// an empty day selects all; an empty list that is not nil selects
// nothing (a scope that holds none).
type ExportFilter struct {
	// Communities: the record's community (where the service took place)
	// is one of these.
	Communities []string
	// Orgs: the record's organisation is one of these.
	Orgs []string
	// Stations: the record's station is one of these.
	Stations []string
	// From and To are days, YYYY-MM-DD, both included.
	From, To string
}

// ExportRecord is a service record with what an export says of its
// volunteer: Registered is false when the volunteer is not in the
// register (no row, or a roster row never registered); Name is in full,
// for the exporter to mask.
type ExportRecord struct {
	ServiceRecord
	Registered bool
	Name       string
	NationalID string
}

// EachExportRecord calls fn with every record f selects, whatever its
// status, ordered by volunteer, start and ID (so that a volunteer's
// overlapping records are next to each other and the exporter needs no
// memory for them). Rows are read as fn takes them: fn must not use the
// store.
func (s *Store) EachExportRecord(ctx context.Context, f ExportFilter, fn func(*ExportRecord) error) error {
	var (
		where []string
		args  []any
	)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			where = append(where, "1 = 0")
			return
		}
		list, a := inList(vals, len(args)+1)
		where = append(where, col+" IN ("+list+")")
		args = append(args, a...)
	}
	if f.Communities != nil {
		in("sr.community", f.Communities)
	}
	if f.Orgs != nil {
		in("sr.org", f.Orgs)
	}
	if f.Stations != nil {
		in("sr.station", f.Stations)
	}
	if f.From != "" {
		args = append(args, f.From)
		where = append(where, fmt.Sprintf("sr.day >= $%d", len(args)))
	}
	if f.To != "" {
		args = append(args, f.To)
		where = append(where, fmt.Sprintf("sr.day <= $%d", len(args)))
	}
	cols := strings.Split(strings.Join(strings.Fields(serviceRecordCols), ""), ",")
	for i := range cols {
		cols[i] = "sr." + cols[i]
	}
	q := `SELECT ` + strings.Join(cols, ", ") + `, COALESCE(v.registered_ns, 0) > 0, COALESCE(v.name, ''), COALESCE(v.national_id, '')
		FROM service_records sr LEFT JOIN volunteers v ON v.id = sr.volunteer`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY sr.volunteer, sr.start_ns, sr.id"
	err := s.b.query(ctx, q, args, func(r rows) error {
		var x ExportRecord
		tail := &exportTail{x: &x}
		sr, err := scanServiceRecord(tail.wrap(r))
		if err != nil {
			return err
		}
		x.ServiceRecord = sr
		return fn(&x)
	})
	if err != nil {
		return fmt.Errorf("store: export records: %w", err)
	}
	return nil
}

// exportTail scans the columns after the service record's into x.
type exportTail struct {
	x *ExportRecord
	r rows
}

func (t *exportTail) wrap(r rows) rows { t.r = r; return t }

func (t *exportTail) Scan(dest ...any) error {
	return t.r.Scan(append(dest, &t.x.Registered, &t.x.Name, &t.x.NationalID)...)
}

// SharedNationalIDs is the national volunteer numbers (志愿者统一编号)
// that more than one volunteer holds: the national system knows a
// volunteer by it, so their records cannot go out until it is corrected.
func (s *Store) SharedNationalIDs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.b.query(ctx, `SELECT national_id FROM volunteers WHERE national_id <> ''
		GROUP BY national_id HAVING COUNT(*) > 1`, nil, func(r rows) error {
		var id string
		err := r.Scan(&id)
		out[id] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: shared national ids: %w", err)
	}
	return out, nil
}

// CommunityYear is what the statistics count in one community for a
// year: volunteers are counted by where they live, organisations by
// their linked community (or, without one, their county), stations by
// theirs.
type CommunityYear struct {
	Registered   int64
	Active       int64
	PersonTimes  int64
	CountedCents int64
	Orgs         int64
	Stations     int64
}

// YearCounts counts, per area code, for the days from..to (YYYY-MM-DD,
// both included) with registration as it stood at end (the end of to's
// day, or now for the current year; registered_on up to to): the volunteers registered and not
// deregistered then, those of them with at least one final service
// record in the period, their final records (person-times) and counted
// hours, the organisations and the stations.
func (s *Store) YearCounts(ctx context.Context, from, to string, end time.Time) (map[string]*CommunityYear, error) {
	out := map[string]*CommunityYear{}
	at := func(code string) *CommunityYear {
		c := out[code]
		if c == nil {
			c = &CommunityYear{}
			out[code] = c
		}
		return c
	}
	// Registered, active, person-times and hours come from the plan's
	// rollups, so that the file says what the figures say: volunteers by
	// the home community they had (a deregistered one keeps it there),
	// final records of those registered at the end (of the year, or up
	// to end in the current one).
	year, err := strconv.Atoi(from[:min(4, len(from))])
	if err != nil {
		return nil, fmt.Errorf("store: year counts: bad day %q", from)
	}
	lastMonth := 12
	if e := end.In(cst); e.Year() == year {
		lastMonth = int(e.Month())
	}
	if _, err := s.SyncTargetsQuick(ctx); err != nil {
		return nil, fmt.Errorf("store: year counts: %w", err)
	}
	figures, _, err := s.TargetFigures(ctx, nil, year, lastMonth)
	if err != nil {
		return nil, fmt.Errorf("store: year counts: %w", err)
	}
	for code, f := range figures {
		c := at(code)
		c.Registered, c.Active, c.PersonTimes, c.CountedCents = f.Registered, f.Active, f.Records, f.Cents
	}
	if err == nil {
		err = s.b.query(ctx, `SELECT CASE WHEN community <> '' THEN community ELSE county END, COUNT(*)
			FROM organisations GROUP BY CASE WHEN community <> '' THEN community ELSE county END`, nil, func(r rows) error {
			var (
				code string
				n    int64
			)
			err := r.Scan(&code, &n)
			at(code).Orgs += n
			return err
		})
	}
	if err == nil {
		err = s.b.query(ctx, `SELECT community, COUNT(*) FROM stations WHERE community <> '' GROUP BY community`, nil,
			func(r rows) error {
				var (
					code string
					n    int64
				)
				err := r.Scan(&code, &n)
				at(code).Stations = n
				return err
			})
	}
	if err != nil {
		return nil, fmt.Errorf("store: year counts: %w", err)
	}
	return out, nil
}
