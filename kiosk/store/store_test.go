package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"leifeng/gateway/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const station = "pe-simao-001"

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(t testing.TB, kind wire.Kind, volunteer, ref string) *wire.Record {
	t.Helper()
	id, err := wire.NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	return &wire.Record{
		ID: id, Station: station, Kind: kind, Volunteer: volunteer, Card: "SIM-" + volunteer,
		Ref: ref, At: time.Now(), Mono: 1, Boot: "boot-1", ClockSynced: true,
	}
}

func checkIn(t testing.TB, s *Store, volunteer string) *wire.Record {
	t.Helper()
	r := record(t, wire.KindCheckIn, volunteer, "")
	err := s.Commit(Change{Records: []*wire.Record{r}, Open: &Session{Volunteer: volunteer, CheckIn: r.ID, At: r.At, Mono: r.Mono, Boot: r.Boot}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCommitOneTransaction reopens the file after a Commit: the record and
// the session change are both there, and so is the sequence.
func TestCommitOneTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in := checkIn(t, s, "V0001")
	out := record(t, wire.KindCheckOut, "V0001", in.ID)
	if err := s.Commit(Change{Records: []*wire.Record{out}, Close: []string{"V0001"}}); err != nil {
		t.Fatal(err)
	}
	in2 := checkIn(t, s, "V0002")
	if in.Seq != 1 || out.Seq != 2 || in2.Seq != 3 {
		t.Fatalf("seqs %d %d %d", in.Seq, out.Seq, in2.Seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if s.Depth() != 3 {
		t.Fatalf("depth %d after reopen", s.Depth())
	}
	recs, err := s.Oldest(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].ID != in.ID || recs[1].ID != out.ID || recs[1].Ref != in.ID || recs[2].ID != in2.ID {
		t.Fatalf("outbox after reopen: %+v", recs)
	}
	if _, ok, _ := s.Session("V0001"); ok {
		t.Fatal("V0001's session survived its check-out")
	}
	ses, ok, err := s.Session("V0002")
	if err != nil || !ok || ses.CheckIn != in2.ID {
		t.Fatalf("V0002's session after reopen: %+v %v %v", ses, ok, err)
	}
	// The sequence continues after a reopen, never repeats.
	r := checkIn(t, s, "V0003")
	if r.Seq != 4 {
		t.Fatalf("seq after reopen %d, want 4", r.Seq)
	}
}

func TestCommitRefusesInvalidRecord(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "kiosk.db"))
	r := record(t, wire.KindCheckOut, "V0001", "") // a check-out must name its check-in
	if err := s.Commit(Change{Records: []*wire.Record{r}}); err == nil {
		t.Fatal("invalid record committed")
	}
	if s.Depth() != 0 {
		t.Fatal("outbox changed")
	}
}

func TestOutboxOrderAndAck(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "kiosk.db"))
	var ids []string
	for i := range 10 {
		ids = append(ids, checkIn(t, s, fmt.Sprintf("V%04d", i)).ID)
	}
	select {
	case <-s.Appended():
	default:
		t.Fatal("no Appended signal after commits")
	}
	recs, err := s.Oldest(4)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.ID != ids[i] || r.Seq != uint64(i+1) {
			t.Fatalf("record %d: %s seq %d", i, r.ID, r.Seq)
		}
	}
	unknown, _ := wire.NewRecordID()
	n, err := s.Ack([]string{ids[0], ids[1], unknown, ids[0]})
	if err != nil || n != 2 {
		t.Fatalf("ack: %d %v", n, err)
	}
	if s.Depth() != 8 {
		t.Fatalf("depth %d", s.Depth())
	}
	recs, _ = s.Oldest(100)
	if len(recs) != 8 || recs[0].ID != ids[2] {
		t.Fatalf("after ack: %d records, first %s", len(recs), recs[0].ID)
	}
}

func TestReject(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := checkIn(t, s, "V0001"), checkIn(t, s, "V0002")
	n, err := s.Reject([]wire.Rejection{{ID: a.ID, Reason: "card revoked"}, {ID: "nope", Reason: "x"}}, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("reject: %d %v", n, err)
	}
	s.Close()
	s = open(t, path)
	if s.Depth() != 1 {
		t.Fatalf("depth %d", s.Depth())
	}
	rej, err := s.Rejections()
	if err != nil || len(rej) != 1 || rej[0].Record.ID != a.ID || rej[0].Reason != "card revoked" {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
	recs, _ := s.Oldest(10)
	if len(recs) != 1 || recs[0].ID != b.ID {
		t.Fatalf("outbox: %+v", recs)
	}
	// A rejected record cannot be acked away a second time.
	if n, _ := s.Ack([]string{a.ID}); n != 0 {
		t.Fatal("acked a rejected record")
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	open(t, path)
	if _, err := Open(path); err == nil {
		t.Fatal("second open of a held file succeeded")
	}
}
