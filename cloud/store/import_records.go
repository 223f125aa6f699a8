package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The import of service records the city holds in other systems
// (`leifeng-cloud import records`, issue 12 point 8): a lookup of what a
// batch names, and a bulk insert that skips stored IDs and runs the
// rollup hooks for each record it inserts, as PutServiceRecords does.

// ImportRefs is what the database holds of the references a batch of
// imported records makes: the volunteers stored, the organisations' names,
// the communities' names (areas of level community only) and the
// stations' names and communities.
type ImportRefs struct {
	Volunteers  map[string]bool
	Orgs        map[string]string
	Communities map[string]string
	Stations    map[string]ImportStation
}

// ImportStation is a station as an imported record names it.
type ImportStation struct {
	Name      string
	Community string
}

// LookupImportRefs reads which of the volunteers, organisations,
// communities and stations given are stored. Each list is looked up in
// one query (of up to 1000 keys), so a batch of the import costs four.
func (s *Store) LookupImportRefs(ctx context.Context, volunteers, orgs, communities, stations []string) (*ImportRefs, error) {
	refs := &ImportRefs{Volunteers: map[string]bool{}, Orgs: map[string]string{}, Communities: map[string]string{},
		Stations: map[string]ImportStation{}}
	lookups := []struct {
		keys  []string
		query string
		each  func(rows) error
	}{
		{volunteers, `SELECT id FROM volunteers WHERE id`, func(r rows) error {
			var id string
			err := r.Scan(&id)
			refs.Volunteers[id] = true
			return err
		}},
		{orgs, `SELECT id, name FROM organisations WHERE id`, func(r rows) error {
			var id, name string
			err := r.Scan(&id, &name)
			refs.Orgs[id] = name
			return err
		}},
		{communities, `SELECT code, name FROM areas WHERE level = 'community' AND code`, func(r rows) error {
			var code, name string
			err := r.Scan(&code, &name)
			refs.Communities[code] = name
			return err
		}},
		{stations, `SELECT id, name, community FROM stations WHERE id`, func(r rows) error {
			var id string
			var st ImportStation
			err := r.Scan(&id, &st.Name, &st.Community)
			refs.Stations[id] = st
			return err
		}},
	}
	for _, l := range lookups {
		// In chunks: SQLite takes at most 32,766 parameters a statement,
		// and --batch may be larger.
		for chunk := range slices.Chunk(l.keys, 1000) {
			q, args := s.inKeys(l.query, chunk)
			if err := s.b.query(ctx, q, args, l.each); err != nil {
				return nil, fmt.Errorf("store: import lookup: %w", err)
			}
		}
	}
	return refs, nil
}

// inKeys completes query, which ends with a column, with "= ANY($1)" on
// PostgreSQL (one array, one plan) or "IN ($1, ...)" on SQLite.
func (s *Store) inKeys(query string, keys []string) (string, []any) {
	if s.b.dialect() == "postgres" {
		return query + ` = ANY($1)`, []any{keys}
	}
	return query + ` IN (` + marks(1, len(keys)) + `)`, anys(keys)
}

// ImportServiceRecords stores recs, records of the imported ledger, in one
// transaction and says of each whether it was inserted: a record whose ID
// is stored already (or given earlier in recs) is left as it is, so
// importing a file twice changes nothing. Each inserted record gets an
// 'import' event by who and runs the rollup hooks, in the transaction.
//
// It is PutServiceRecords for a million rows: on PostgreSQL the batch is
// one INSERT of column arrays (unnest) instead of a statement a row; on
// SQLite each row is one prepared statement, which this driver runs
// faster than multi-row INSERTs.
func (s *Store) ImportServiceRecords(ctx context.Context, recs []ServiceRecord, who string, now time.Time) ([]bool, error) {
	for i := range recs {
		r := &recs[i]
		if r.Ledger != LedgerImported || r.Status != StatusFinal {
			return nil, fmt.Errorf("store: import service records: %s is %s in ledger %q, not final and imported", r.ID, r.Status, r.Ledger)
		}
		if r.Created.IsZero() {
			r.Created = now
		}
		if r.Updated.IsZero() {
			r.Updated = now
		}
	}
	var inserted []bool
	err := s.b.inTx(ctx, func(q querier) error {
		var err error
		if s.b.dialect() == "postgres" {
			inserted, err = pgImportRecords(ctx, q, recs)
		} else {
			inserted, err = eachImportRecord(ctx, q, recs)
		}
		if err != nil {
			return err
		}
		var ids []string
		for i := range recs {
			if !inserted[i] {
				continue
			}
			ids = append(ids, recs[i].ID)
			if err := s.runHooks(ctx, q, nil, &recs[i]); err != nil {
				return err
			}
		}
		return addImportEvents(ctx, q, s.b.dialect(), ids, who, now)
	})
	if err != nil {
		return nil, fmt.Errorf("store: import %d service records: %w", len(recs), err)
	}
	return inserted, nil
}

func eachImportRecord(ctx context.Context, q querier, recs []ServiceRecord) ([]bool, error) {
	inserted := make([]bool, len(recs))
	for i := range recs {
		n, err := q.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)
			ON CONFLICT (id) DO NOTHING`, serviceRecordArgs(&recs[i])...)
		if err != nil {
			return nil, err
		}
		inserted[i] = n > 0
	}
	return inserted, nil
}

// pgImportRecords inserts recs as one statement of column arrays, in ID
// order (two imports of overlapping files then take the keys' locks in
// one order and cannot deadlock), and reads back the IDs it inserted.
func pgImportRecords(ctx context.Context, q querier, recs []ServiceRecord) ([]bool, error) {
	inserted := make([]bool, len(recs))
	if len(recs) == 0 {
		return inserted, nil
	}
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(recs[a].ID, recs[b].ID) })
	first := make(map[string]int, len(recs))
	cols := make([]any, 36)
	casts := make([]string, 36)
	for k, i := range order {
		if _, dup := first[recs[i].ID]; !dup {
			first[recs[i].ID] = i
		}
		for j, v := range serviceRecordArgs(&recs[i]) {
			switch v := v.(type) {
			case string:
				if k == 0 {
					cols[j], casts[j] = make([]string, 0, len(recs)), fmt.Sprintf("$%d::text[]", j+1)
				}
				cols[j] = append(cols[j].([]string), v)
			case int64:
				if k == 0 {
					cols[j], casts[j] = make([]int64, 0, len(recs)), fmt.Sprintf("$%d::bigint[]", j+1)
				}
				cols[j] = append(cols[j].([]int64), v)
			default:
				return nil, fmt.Errorf("column %d: unexpected %T", j, v)
			}
		}
	}
	err := q.query(ctx, `INSERT INTO service_records (`+serviceRecordCols+`)
		SELECT * FROM unnest(`+strings.Join(casts, ", ")+`) ON CONFLICT (id) DO NOTHING RETURNING id`, cols,
		func(r rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			inserted[first[id]] = true
			return nil
		})
	return inserted, err
}

// addImportEvents writes the 'import' event of each record of ids, which
// were inserted in this transaction.
func addImportEvents(ctx context.Context, q querier, dialect string, ids []string, who string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if dialect == "postgres" {
		_, err := q.exec(ctx, `INSERT INTO service_record_events (record, seq, at_ns, who, action, from_status, to_status, reason, detail)
			SELECT r, COALESCE((SELECT MAX(seq) FROM service_record_events e WHERE e.record = r), 0) + 1, $2, $3, 'import', '', $4, '', ''
			FROM unnest($1::text[]) AS r`, ids, nanos(now), who, StatusFinal)
		return err
	}
	for _, id := range ids {
		if err := addServiceEvent(ctx, q, ServiceRecordEvent{Record: id, At: now, Who: who, Action: "import", To: StatusFinal}); err != nil {
			return err
		}
	}
	return nil
}
