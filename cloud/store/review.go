package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The manual ledger (补录) and the review queue of issue 12: a manual
// record goes in with its evidence files and under the volunteer's cap in
// one transaction; the queue reads the records in review that one
// reviewer decides; the summary adds up both ledgers. The tables are
// migrations 15 and 17 (schema_hours.go, schema_review.go).

// EvidenceFile is one file proving a manual entry: a photo, a scan of
// the sign-in sheet. Data is empty when only the description was read.
type EvidenceFile struct {
	ID         string    `json:"id"`
	Record     string    `json:"record"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	UploadedBy string    `json:"uploaded_by"`
	Created    time.Time `json:"created"`
	Data       []byte    `json:"-"`
}

// ErrManualCap is returned by AddManualRecord when the record would take
// the volunteer's manual hours in the period above the cap; the
// *ManualCapError it wraps says by how much.
var ErrManualCap = errors.New("store: manual hours over the cap")

// ManualCapError is ErrManualCap with the figures, in hundredths of an
// hour: what the period already holds, what was asked and the cap.
type ManualCapError struct {
	Have, Want, Cap int64
}

func (e *ManualCapError) Error() string {
	return fmt.Sprintf("store: manual hours over the cap: %d + %d > %d hundredths", e.Have, e.Want, e.Cap)
}

// Unwrap makes errors.Is(err, ErrManualCap) true.
func (e *ManualCapError) Unwrap() error { return ErrManualCap }

// ManualPeriod is the days (YYYY-MM-DD, both included) over which a
// volunteer's manual hours are capped, and the cap in hundredths.
type ManualPeriod struct {
	From, To string
	CapCents int64
}

// AddManualRecord stores a manual record (ledger manual) with its
// evidence files, in one transaction that first adds up the volunteer's
// manual hours in the period (those not rejected): if r's hours would
// take them above the cap, nothing is stored and the error is a
// *ManualCapError. The transaction is serialised against every other
// write, so two entries at once cannot both slip under the cap. r gets a
// 'create' event by who and runs the rollup hooks.
func (s *Store) AddManualRecord(ctx context.Context, r *ServiceRecord, files []EvidenceFile, p ManualPeriod, who string, now time.Time) error {
	if r.Ledger != LedgerManual {
		return fmt.Errorf("store: add manual record %s: ledger %q", r.ID, r.Ledger)
	}
	if r.Created.IsZero() {
		r.Created = now
	}
	if r.Updated.IsZero() {
		r.Updated = now
	}
	err := s.b.inTx(ctx, func(q querier) error {
		var have int64
		err := q.query(ctx, `SELECT COALESCE(SUM(counted_cents), 0) FROM service_records
			WHERE volunteer = $1 AND ledger = 'manual' AND status <> 'rejected' AND day >= $2 AND day <= $3`,
			[]any{r.Volunteer, p.From, p.To}, func(rs rows) error { return rs.Scan(&have) })
		if err != nil {
			return err
		}
		if have+r.CountedCents > p.CapCents {
			return &ManualCapError{Have: have, Want: r.CountedCents, Cap: p.CapCents}
		}
		if _, err := q.exec(ctx, `INSERT INTO service_records (`+serviceRecordCols+`) VALUES (`+marks(1, 36)+`)`,
			serviceRecordArgs(r)...); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := q.exec(ctx, `INSERT INTO manual_evidence (id, record, name, type, size, sha256, data, uploaded_by, created_ns)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				f.ID, r.ID, f.Name, f.Type, int64(len(f.Data)), f.SHA256, f.Data, who, nanos(now)); err != nil {
				return err
			}
		}
		if err := addServiceEvent(ctx, q, ServiceRecordEvent{Record: r.ID, At: now, Who: who, Action: "create", To: r.Status}); err != nil {
			return err
		}
		return s.runHooks(ctx, q, nil, r)
	})
	if err != nil {
		var ce *ManualCapError
		if errors.As(err, &ce) {
			return ce
		}
		return fmt.Errorf("store: add manual record: %w", err)
	}
	return nil
}

// ManualCents is the volunteer's manual hours (not rejected) in the
// period, in hundredths.
func (s *Store) ManualCents(ctx context.Context, volunteer, from, to string) (int64, error) {
	var have int64
	err := s.b.query(ctx, `SELECT COALESCE(SUM(counted_cents), 0) FROM service_records
		WHERE volunteer = $1 AND ledger = 'manual' AND status <> 'rejected' AND day >= $2 AND day <= $3`,
		[]any{volunteer, from, to}, func(r rows) error { return r.Scan(&have) })
	if err != nil {
		return 0, fmt.Errorf("store: manual hours: %w", err)
	}
	return have, nil
}

// EvidenceFiles lists the evidence of record (without the bytes).
func (s *Store) EvidenceFiles(ctx context.Context, record string) ([]EvidenceFile, error) {
	var out []EvidenceFile
	err := s.b.query(ctx, `SELECT id, record, name, type, size, sha256, uploaded_by, created_ns
		FROM manual_evidence WHERE record = $1 ORDER BY created_ns, id`, []any{record}, func(r rows) error {
		var (
			f  EvidenceFile
			at int64
		)
		err := r.Scan(&f.ID, &f.Record, &f.Name, &f.Type, &f.Size, &f.SHA256, &f.UploadedBy, &at)
		f.Created = fromNanos(at)
		out = append(out, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: evidence of %s: %w", record, err)
	}
	return out, nil
}

// EvidenceFile reads evidence file id with its bytes, or ErrNotFound.
func (s *Store) EvidenceFile(ctx context.Context, id string) (*EvidenceFile, error) {
	var (
		f     EvidenceFile
		at    int64
		found bool
	)
	err := s.b.query(ctx, `SELECT id, record, name, type, size, sha256, uploaded_by, created_ns, data
		FROM manual_evidence WHERE id = $1`, []any{id}, func(r rows) error {
		found = true
		return r.Scan(&f.ID, &f.Record, &f.Name, &f.Type, &f.Size, &f.SHA256, &f.UploadedBy, &at, &f.Data)
	})
	if err != nil {
		return nil, fmt.Errorf("store: evidence file: %w", err)
	}
	if !found {
		return nil, ErrNotFound
	}
	f.Created = fromNanos(at)
	return &f, nil
}

// ReviewQuery selects the records in review that one reviewer decides:
// Level is the reviewer level ('station', 'org', 'county', 'city'), and
// the record's station, organisation or community must be among
// Stations, Orgs or Communities for the first three. A record of level
// 'org' without an organisation belongs to the county.
type ReviewQuery struct {
	Level       string
	Stations    []string
	Orgs        []string
	Communities []string
	Limit       int
}

// ReviewQueue lists the records in review q selects, oldest deadline
// first.
func (s *Store) ReviewQueue(ctx context.Context, q ReviewQuery) ([]ServiceRecord, error) {
	in := func(col string, xs []string, args *[]any) string {
		if len(xs) == 0 {
			return "FALSE"
		}
		m := make([]string, len(xs))
		for i, x := range xs {
			*args = append(*args, x)
			m[i] = fmt.Sprintf("$%d", len(*args))
		}
		return col + " IN (" + strings.Join(m, ", ") + ")"
	}
	var (
		args []any
		cond string
	)
	switch q.Level {
	case "station":
		cond = "reviewer = 'station' AND " + in("station", q.Stations, &args)
	case "org":
		cond = "reviewer = 'org' AND org <> '' AND " + in("org", q.Orgs, &args)
	case "county":
		cond = "(reviewer = 'county' OR (reviewer = 'org' AND org = '')) AND " + in("community", q.Communities, &args)
	case "city":
		cond = "reviewer = 'city'"
	default:
		return nil, nil
	}
	query := `SELECT ` + serviceRecordCols + ` FROM service_records WHERE status = 'review' AND ` + cond +
		` ORDER BY deadline_ns, day, id`
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	var out []ServiceRecord
	err := s.b.query(ctx, query, args, func(r rows) error {
		x, err := scanServiceRecord(r)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: review queue: %w", err)
	}
	return out, nil
}

// HoursSummaryFilter selects the records a summary adds up: one of
// Volunteer, Org or Communities, and the days From to To (YYYY-MM-DD,
// both included; empty for no bound).
type HoursSummaryFilter struct {
	Volunteer   string
	Org         string
	Communities []string
	From, To    string
}

// LedgerCents is the hours of one ledger, in hundredths: Final counts,
// Pending is in review, notice or under objection (it may count later).
type LedgerCents struct {
	Final   int64 `json:"final"`
	Pending int64 `json:"pending"`
	Records int64 `json:"records"`
}

// HoursSummary adds up the records f selects per ledger (card, manual,
// imported); rejected records are left out.
func (s *Store) HoursSummary(ctx context.Context, f HoursSummaryFilter) (map[string]LedgerCents, error) {
	var (
		where = []string{"status <> 'rejected'"}
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Volunteer != "" {
		add("volunteer = $%d", f.Volunteer)
	}
	if f.Org != "" {
		add("org = $%d", f.Org)
	}
	if f.From != "" {
		add("day >= $%d", f.From)
	}
	if f.To != "" {
		add("day <= $%d", f.To)
	}
	if f.Communities != nil {
		if len(f.Communities) == 0 {
			where = append(where, "FALSE")
		} else {
			m := make([]string, len(f.Communities))
			for i, c := range f.Communities {
				args = append(args, c)
				m[i] = fmt.Sprintf("$%d", len(args))
			}
			where = append(where, "community IN ("+strings.Join(m, ", ")+")")
		}
	}
	out := map[string]LedgerCents{LedgerCard: {}, LedgerManual: {}, LedgerImported: {}}
	err := s.b.query(ctx, `SELECT ledger, status, COALESCE(SUM(counted_cents), 0), COUNT(*) FROM service_records
		WHERE `+strings.Join(where, " AND ")+` GROUP BY ledger, status`, args, func(r rows) error {
		var (
			ledger, status string
			cents, n       int64
		)
		if err := r.Scan(&ledger, &status, &cents, &n); err != nil {
			return err
		}
		l := out[ledger]
		if status == StatusFinal {
			l.Final += cents
		} else {
			l.Pending += cents
		}
		l.Records += n
		out[ledger] = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: hours summary: %w", err)
	}
	return out, nil
}
