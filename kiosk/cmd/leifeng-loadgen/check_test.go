package main

import (
	"context"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// --db checks in PostgreSQL itself, as --api does through the cloud: a
// confirmed record not stored is lost; a station's seq stored under a
// second ID is a duplicate.
func TestCheckDB(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, pgtest.Start(t))
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)
	entry := func(station string, seq uint64) ingest.Entry {
		id, err := wire.NewRecordID()
		if err != nil {
			t.Fatal(err)
		}
		return ingest.Entry{Record: wire.Record{ID: id, Station: station, Kind: wire.KindCheckIn, Volunteer: "V1", Card: "C1",
			At: at, Mono: int64(seq), Boot: "b1", ClockSynced: true, Seq: seq}, Time: at, Received: at}
	}
	a1, a2, again := entry("lg-a", 1), entry("lg-a", 2), entry("lg-a", 2)
	b1 := entry("lg-b", 1)
	if _, err := st.Ingest(ctx, []ingest.Entry{a1, a2, again, b1}); err != nil {
		t.Fatal(err)
	}
	notStored := entry("lg-b", 2)
	f := &fleet{o: &options{db: dsn}, sims: []*sim{
		{id: "lg-a", ids: []string{a1.ID, a2.ID, again.ID}},
		{id: "lg-b", ids: []string{b1.ID, notStored.ID}},
	}}
	rep := &report{}
	if err := f.checkDB(ctx, rep); err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 1 || rep.Duplicates != 1 {
		t.Fatalf("lost %d, duplicated %d; want 1 and 1 (%s)", rep.Lost, rep.Duplicates, rep.Check)
	}

	f.o.db = "postgres://127.0.0.1:1/nothing?connect_timeout=1"
	if err := f.checkDB(ctx, &report{}); err == nil {
		t.Fatal("a database that does not answer: no error")
	}
}
