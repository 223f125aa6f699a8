package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/people"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// idNumber makes a valid ID number of a 17-digit body (GB 11643 check
// character).
func idNumber(body string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

// atRest is a store of one backend and a reader of the bytes its tables
// keep on disk.
type atRest struct {
	s     *Store
	bytes func(t *testing.T) []byte
}

// withTables runs fn on SQLite (the database file and its write-ahead
// log) and on PostgreSQL (every table's and index's file of the database;
// the server's own write-ahead log is left out: see Purge).
func withTables(t *testing.T, fn func(t *testing.T, db atRest)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "leifeng.db")
		s := open(t, "sqlite:"+path)
		fn(t, atRest{s, func(t *testing.T) []byte {
			var all []byte
			for _, p := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(p)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		s := open(t, pgtest.NewDatabase(t, srv))
		fn(t, atRest{s, func(t *testing.T) []byte {
			ctx := context.Background()
			// Shared buffers reach the files at a checkpoint.
			if _, err := s.b.exec(ctx, `CHECKPOINT`); err != nil {
				t.Fatal(err)
			}
			var files []string
			if err := s.b.query(ctx, `SELECT pg_relation_filepath(oid) FROM pg_class
				WHERE relkind IN ('r', 'i', 't') AND pg_relation_filepath(oid) IS NOT NULL`, nil,
				func(r rows) error { var f string; err := r.Scan(&f); files = append(files, f); return err }); err != nil {
				t.Fatal(err)
			}
			var all []byte
			for _, f := range files {
				// A relation has segments: FILE, FILE.1, ...
				segs, _ := filepath.Glob(filepath.Join(srv.Dir(), "data", f) + "*")
				for _, p := range segs {
					b, err := os.ReadFile(p)
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					all = append(all, b...)
				}
			}
			return all
		}})
	})
}

func TestVolunteerOperations(t *testing.T) {
	withTables(t, testVolunteerOperations)
}

// Search by name, phone, card and ID number within a scope; one
// registration refused as a duplicate; edits with history; the export;
// deregistration keeping the records and removing the rest, from the
// files too; the ID number never in clear.
func testVolunteerOperations(t *testing.T, db atRest) {
	ctx := context.Background()
	s := db.s
	vault, err := people.NewVault([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
		{Code: "530802001002", Name: "南屏社区", Parent: "530802001", Level: people.LevelCommunity},
	}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveOrganisations(ctx, []people.Organisation{{ID: "O1", Name: "茶源社区志愿服务队"}}, t0); err != nil {
		t.Fatal(err)
	}
	idA, idB, idC := idNumber("53080219900307123"), idNumber("53080219851111002"), idNumber("53080220010505004")
	register := func(id, name, number, community, phone string, orgs ...string) error {
		v := people.Volunteer{ID: id, Name: name, IDNumber: number, Community: community, Phone: phone,
			Skills: []string{"手语翻译"}, Orgs: orgs}
		if err := v.Check(vault, t0); err != nil {
			t.Fatal(err)
		}
		return s.RegisterVolunteer(ctx, &v, "city-admin", t0)
	}
	for _, err := range []error{
		register("A", "王小明", idA, "530802001001", "13987912345", "O1"),
		register("B", "王小红", idB, "530802001002", "13987900002"),
		register("C", "李四", idC, "530802001002", "0879-2123456"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The same person again, under another ID or the same, is refused
	// with a message that says so.
	for _, id := range []string{"A2", "A"} {
		err := register(id, "王小明", idA, "530802001001", "13987912345")
		if r := people.Explain(err); r != people.ErrDuplicatePerson || !strings.Contains(err.Error(), "registered as A") {
			t.Errorf("register %s again: %v", id, err)
		}
	}
	if _, err := s.b.exec(ctx, `INSERT INTO cards (serial, volunteer, uid, media, issued_ns, issued_by, expires, state)
		VALUES ('C2026-000123', 'B', '04A23B1C558091', 'ntag215', 1, 'test', '2029-03-01', 'active')`); err != nil {
		t.Fatal(err)
	}

	all := VolunteerScope{All: true}
	search := func(sc VolunteerScope, text string, mod ...func(*VolunteerQuery)) []string {
		t.Helper()
		q := VolunteerQuery{Scope: sc, Terms: people.ParseSearch(text, vault)}
		for _, m := range mod {
			m(&q)
		}
		p, err := s.SearchVolunteers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range p.Volunteers {
			ids = append(ids, v.ID+":"+v.Name+":"+v.Phone)
		}
		return ids
	}
	for _, c := range []struct {
		sc   VolunteerScope
		text string
		want []string
	}{
		{all, "王", []string{"A:王*明:139****2345", "B:王*红:139****0002"}},
		{all, "王小明", []string{"A:王*明:139****2345"}},
		{all, "139 8791 2345", []string{"A:王*明:139****2345"}},
		{all, "0879-2123456", []string{"C:李*:087*****3456"}},
		{all, "C2026-000123", []string{"B:王*红:139****0002"}},
		{all, strings.ToLower(idA), []string{"A:王*明:139****2345"}},
		{all, "", []string{"C:李*:087*****3456", "A:王*明:139****2345", "B:王*红:139****0002"}},
		{all, "张", nil},
		{VolunteerScope{Communities: []string{"530802001002"}}, "王", []string{"B:王*红:139****0002"}},
		{VolunteerScope{Orgs: []string{"O1"}}, "", []string{"A:王*明:139****2345"}},
		{VolunteerScope{Communities: []string{"530802001002"}}, "C2026-000123", []string{"B:王*红:139****0002"}},
		{VolunteerScope{Communities: []string{"530802001001"}}, "C2026-000123", nil},
		{VolunteerScope{}, "", nil},
	} {
		if got := search(c.sc, c.text); !slices.Equal(got, c.want) {
			t.Errorf("search %+v %q = %v, want %v", c.sc, c.text, got, c.want)
		}
	}
	if err := s.SaveVolunteers(ctx, "pe-b", []RosterEntry{{"C", "李*"}}, t0); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, []ingest.Entry{rec("pe-c", 1, wire.KindCheckIn, "B", "", 0)})
	if got := search(VolunteerScope{Stations: []string{"pe-b", "pe-c"}}, ""); !slices.Equal(got, []string{"C:李*:087*****3456", "B:王*红:139****0002"}) {
		t.Errorf("a station manager's volunteers (listed, served): %v", got)
	}
	if got := search(all, "", func(q *VolunteerQuery) { q.Org = "O1" }); !slices.Equal(got, []string{"A:王*明:139****2345"}) {
		t.Errorf("org filter: %v", got)
	}
	if got := search(all, "", func(q *VolunteerQuery) { q.Community = "530802001002"; q.PageSize = 1; q.Page = 2 }); !slices.Equal(got, []string{"B:王*红:139****0002"}) {
		t.Errorf("community filter, page 2: %v", got)
	}

	// An edit: the new values stored, the history masked, the full
	// values sealed; an ID number of another volunteer refused.
	edit := func(p people.Patch) ([]people.FieldChange, error) {
		return s.EditVolunteer(ctx, "A", "county-admin", t0.Add(time.Hour), func(v *people.Volunteer) ([]people.FieldChange, error) {
			return v.Apply(p, vault, t0)
		})
	}
	name, phone, skills := "王晓明", "13987954321", []string{"急救", "手语翻译"}
	ch, err := edit(people.Patch{Name: &name, Phone: &phone, Skills: &skills})
	if err != nil || len(ch) != 3 {
		t.Fatalf("edit: %+v, %v", ch, err)
	}
	other := idB
	if _, err := edit(people.Patch{IDNumber: &other}); people.Explain(err) != people.ErrDuplicatePerson {
		t.Errorf("edit to another's ID number: %v", err)
	}
	// C's ID number corrected (Art. 13): resealed, gender and birth
	// date following it, the history sealing both numbers.
	idC2 := idNumber("53080220010606005")
	if ch, err := s.EditVolunteer(ctx, "C", "county-admin", t0, func(v *people.Volunteer) ([]people.FieldChange, error) {
		return v.Apply(people.Patch{IDNumber: &idC2}, vault, t0)
	}); err != nil || len(ch) != 3 || ch[0].Field != "id_number" || ch[0].After != people.MaskIDNumber(idC2) {
		t.Errorf("ID number edit: %+v, %v", ch, err)
	} else if got, err := vault.OpenText("C", "history:id_number", ch[0].SealedBefore); err != nil || got != idC {
		t.Errorf("the old number sealed in the history opens to %q, %v", got, err)
	}
	if got := search(all, idC2); !slices.Equal(got, []string{"C:李*:087*****3456"}) {
		t.Errorf("search by the corrected ID number: %v", got)
	}
	if v, _ := s.Volunteer(ctx, "A"); v.Name != name || v.Phone != phone || !slices.Equal(v.Skills, []string{"急救", "手语翻译"}) {
		t.Errorf("after the edit: %+v", v)
	}
	hist, err := s.VolunteerHistory(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, h := range hist {
		lines = append(lines, h.Actor+" "+h.Action+" "+h.Field+" "+h.Before+" → "+h.After)
		if h.Field == "phone" {
			if got, err := vault.OpenText("A", "history:phone", h.SealedBefore); err != nil || got != "13987912345" {
				t.Errorf("sealed phone before opens to %q, %v", got, err)
			}
		}
	}
	want := []string{"city-admin register   → ", "county-admin edit name 王*明 → 王*明",
		"county-admin edit phone 139****2345 → 139****4321", "county-admin edit skills 手语翻译 → 急救;手语翻译"}
	if !slices.Equal(lines, want) {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// Service records of A, then the export.
	in := rec("pe-a", 1, wire.KindCheckIn, "A", "", 0)
	mustIngest(t, s, []ingest.Entry{in, rec("pe-a", 2, wire.KindCheckOut, "A", in.ID, 90)})
	if err := s.SaveVolunteers(ctx, "pe-a", []RosterEntry{{"A", "王*明"}}, t0); err != nil {
		t.Fatal(err)
	}
	d, err := s.VolunteerData(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if d.Volunteer.Name != name || len(d.Records) != 2 || d.Hours.Hours != 1.5 || len(d.History) != 4 ||
		len(d.Organisations) != 1 || !slices.Equal(d.Stations, []string{"pe-a"}) {
		t.Errorf("export: %+v", d)
	}
	if d, _ := s.VolunteerData(ctx, "B"); !slices.Equal(d.Cards, []string{"C2026-000123"}) {
		t.Errorf("export of B: cards %v", d.Cards)
	}

	// Deregistration keeps the records and what they need, removes the rest.
	if err := s.DeregisterVolunteer(ctx, "A", "county-admin", "本人申请注销", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeregisterVolunteer(ctx, "A", "county-admin", "again", t0); people.Explain(err) != ErrDeregistered {
		t.Errorf("deregister twice: %v", err)
	}
	if _, err := edit(people.Patch{Name: &name}); people.Explain(err) != ErrDeregistered {
		t.Errorf("edit after deregistration: %v", err)
	}
	v, err := s.Volunteer(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "王*明" || v.Phone != "" || v.Sealed != (people.Sealed{}) || v.Community != "" || len(v.Skills) != 0 ||
		len(v.Orgs) != 0 || !v.BirthDate.IsZero() || v.Deregistered.IsZero() || v.DeregisterReason != "本人申请注销" {
		t.Errorf("deregistered: %+v", v)
	}
	if h, err := s.VolunteerHours(ctx, "A"); err != nil || h.Hours != 1.5 {
		t.Errorf("hours after deregistration: %+v, %v", h, err)
	}
	wantCount(t, s, "pe-a", 2)
	if n, _ := s.CountVolunteers(ctx); n != 2 {
		t.Errorf("CountVolunteers = %d", n)
	}
	if got := search(all, "王"); !slices.Equal(got, []string{"B:王*红:139****0002"}) {
		t.Errorf("search after deregistration: %v", got)
	}
	if got := search(all, "王", func(q *VolunteerQuery) { q.Deregistered = true }); len(got) != 2 {
		t.Errorf("search with deregistered: %v", got)
	}
	hist, _ = s.VolunteerHistory(ctx, "A")
	for _, h := range hist {
		if h.Before != "" || h.After != "" || h.SealedBefore != "" || h.SealedAfter != "" {
			t.Errorf("history keeps a value after deregistration: %+v", h)
		}
	}
	if hist[len(hist)-1].Action != "deregister" {
		t.Errorf("last history line %+v", hist[len(hist)-1])
	}
	// The person may register again, as a new volunteer.
	if err := register("A3", "王晓明", idA, "530802001001", "13987954321"); err != nil {
		t.Errorf("registering again after deregistration: %v", err)
	}
	if err := s.DeregisterVolunteer(ctx, "A3", "county-admin", "test", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}

	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	raw := db.bytes(t)
	if !bytes.Contains(raw, []byte("13987900002")) {
		t.Fatal("B's phone is not in the files: the check reads the wrong bytes")
	}
	for _, gone := range []string{"王小明", "王晓明", "13987912345", "13987954321", "急救"} {
		if bytes.Contains(raw, []byte(gone)) {
			t.Errorf("%q is still in the database's files after deregistration", gone)
		}
	}
	for _, id := range []string{idA, idB, idC, idC2} {
		if bytes.Contains(raw, []byte(id)) || bytes.Contains(raw, []byte(id[:17])) {
			t.Errorf("ID number %s is in the database's files in clear", id)
		}
	}
}
