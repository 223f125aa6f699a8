package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// testServiceRecords: records are inserted once by ID, change in one
// transaction with an event each, and the rollup hooks see every change.
func testServiceRecords(t *testing.T, newDB newDSN) {
	ctx := context.Background()
	s := open(t, newDB(t))
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	rec := ServiceRecord{ID: "imp:A1", Ledger: LedgerImported, Volunteer: "V1", Org: "O1", Community: "530802001001",
		ActivityName: "敬老院慰问", Day: "2026-11-01", Start: now.Add(-26 * time.Hour), End: now.Add(-24 * time.Hour),
		RawSeconds: 7200, CountedCents: 200, Status: StatusFinal, Reasons: []string{}}
	n, err := s.PutServiceRecords(ctx, []ServiceRecord{rec, rec}, "import", now)
	if err != nil || n != 1 {
		t.Fatalf("put twice: %d, %v; want 1 inserted", n, err)
	}
	if n, err := s.PutServiceRecords(ctx, []ServiceRecord{rec}, "import", now); err != nil || n != 0 {
		t.Fatalf("put again: %d, %v; want 0", n, err)
	}
	got, err := s.ServiceRecord(ctx, "imp:A1")
	if err != nil || got.CountedCents != 200 || got.ActivityName != "敬老院慰问" || !got.Start.Equal(rec.Start) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	rev := rec
	rev.ID, rev.Ledger, rev.Status, rev.Reasons, rev.Reviewer = "tap:R1", LedgerCard, StatusReview, []string{"auto_check_out"}, "station"
	if _, err := s.PutServiceRecords(ctx, []ServiceRecord{rev}, "hours", now); err != nil {
		t.Fatal(err)
	}
	list, err := s.ServiceRecords(ctx, ServiceRecordFilter{Statuses: []string{StatusReview}})
	if err != nil || len(list) != 1 || list[0].ID != "tap:R1" || list[0].Reasons[0] != "auto_check_out" {
		t.Fatalf("review list %+v, %v", list, err)
	}
	bad := errors.New("refused")
	if _, err := s.ChangeServiceRecord(ctx, "tap:R1", now, func(r *ServiceRecord) (ServiceRecordEvent, error) {
		r.Status = StatusFinal
		return ServiceRecordEvent{}, bad
	}); !errors.Is(err, bad) {
		t.Fatalf("refused change: %v", err)
	}
	after, err := s.ChangeServiceRecord(ctx, "tap:R1", now.Add(time.Hour), func(r *ServiceRecord) (ServiceRecordEvent, error) {
		r.Status, r.ApprovedBy, r.CountedCents = StatusNotice, "zhang", 150
		return ServiceRecordEvent{Who: "zhang", Action: "adjust", Reason: "签退时间据签到表更正"}, nil
	})
	if err != nil || after.Status != StatusNotice || after.CountedCents != 150 {
		t.Fatalf("change: %+v, %v", after, err)
	}
	ev, err := s.ServiceRecordEvents(ctx, "tap:R1")
	if err != nil || len(ev) != 2 || ev[1].From != StatusReview || ev[1].To != StatusNotice || ev[1].Reason != "签退时间据签到表更正" {
		t.Fatalf("events %+v, %v", ev, err)
	}
	if _, err := s.ChangeServiceRecord(ctx, "nope", now, func(*ServiceRecord) (ServiceRecordEvent, error) {
		return ServiceRecordEvent{}, nil
	}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if err := s.DeleteServiceRecord(ctx, "imp:A1"); err == nil {
		t.Fatal("a final record was deleted")
	}
	if err := s.DeleteServiceRecord(ctx, "tap:R1"); err != nil {
		t.Fatal(err)
	}
}
