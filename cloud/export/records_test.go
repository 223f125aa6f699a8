package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// fakeSource hands out records as the store would, in its order.
type fakeSource struct {
	recs   []store.ExportRecord
	shared map[string]bool
}

func (f fakeSource) EachExportRecord(_ context.Context, _ store.ExportFilter, fn func(*store.ExportRecord) error) error {
	for i := range f.recs {
		if err := fn(&f.recs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeSource) SharedNationalIDs(context.Context) (map[string]bool, error) { return f.shared, nil }

type collect struct {
	rows []string
	left map[string]string
}

func (c *collect) Row(r *Row) error { c.rows = append(c.rows, r.ID); return nil }
func (c *collect) LeftOut(l *LeftOut) error {
	c.left[l.ID] = l.Code + " " + l.Reason
	return nil
}

// Overlaps are judged against the records that went out: a record
// inside another, one that starts before the kept one ends, and one that
// starts exactly when it ends (no overlap), for one volunteer and then
// the next, whose first record is never compared with the last one's.
func TestOverlaps(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	rec := func(id, vol string, from, to time.Time) store.ExportRecord {
		return store.ExportRecord{Registered: true, Name: "王小明", ServiceRecord: store.ServiceRecord{ID: id, Volunteer: vol,
			Status: store.StatusFinal, ActivityName: "a", Day: "2025-03-01", Place: "p", Content: "c", OrgName: "o", Lead: "l",
			Recorder: "r", Start: from, End: to, CountedCents: 100}}
	}
	src := fakeSource{recs: []store.ExportRecord{
		rec("A", "V1", at(1, 0), at(4, 0)),
		rec("B", "V1", at(2, 0), at(3, 0)),
		rec("C", "V1", at(3, 30), at(5, 0)),
		rec("D", "V1", at(4, 0), at(5, 0)),
		rec("E", "V1", at(4, 30), at(6, 0)),
		rec("F", "V2", at(1, 0), at(2, 0)),
	}}
	c := &collect{left: map[string]string{}}
	sum, err := ServiceRecords(context.Background(), src, store.ExportFilter{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.rows; len(got) != 3 || got[0] != "A" || got[1] != "D" || got[2] != "F" || sum.Exported != 3 || sum.LeftOut != 3 || sum.Cents != 300 {
		t.Errorf("rows %q, %+v", got, sum)
	}
	for id, want := range map[string]string{"B": "overlap 与同一志愿者的记录A", "C": "overlap 与同一志愿者的记录A", "E": "overlap 与同一志愿者的记录D"} {
		if got := c.left[id]; len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("%s left out: %q, want %q…", id, got, want)
		}
	}
}

func TestHours(t *testing.T) {
	for cents, want := range map[int64]string{0: "0", 5: "0.05", 50: "0.5", 100: "1", 150: "1.5", 1234: "12.34", 1210: "12.1"} {
		if got := Hours(cents); got != want {
			t.Errorf("Hours(%d) = %q, want %q", cents, got, want)
		}
	}
}

// A CSV field a spreadsheet would run as a formula is written as text.
func TestCSVFormulas(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCSV(&buf, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Row(&Row{ID: "tap:1", Activity: `=HYPERLINK("http://x","点我")`, Place: "+86", Content: "@a", Org: "-1", Lead: "刘队长", Cents: 150}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := rows[1]
	if got[0] != "tap:1" || got[4] != `'=HYPERLINK("http://x","点我")` || got[6] != "'+86" || got[7] != "'@a" || got[9] != "1.5" || got[10] != "'-1" || got[11] != "刘队长" {
		t.Errorf("row %q", got)
	}
}
