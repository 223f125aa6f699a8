package people_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

// database is a fresh store of one dialect and a way to read every byte
// it keeps at rest.
type database struct {
	dsn string
	// atRest returns the bytes of the database's files on disk, after
	// everything committed has reached them.
	atRest func(t *testing.T) []byte
}

// backends runs fn against SQLite and PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, db database)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "leifeng.db")
		fn(t, database{dsn: "sqlite:" + path, atRest: func(t *testing.T) []byte {
			var all []byte
			for _, p := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(p)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		dsn := pgtest.NewDatabase(t, srv)
		fn(t, database{dsn: dsn, atRest: func(t *testing.T) []byte {
			ctx := context.Background()
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			// Table pages reach the files at a checkpoint; the WAL
			// (pg_wal) has them already.
			if _, err := c.Exec(ctx, "CHECKPOINT"); err != nil {
				t.Fatal(err)
			}
			var all []byte
			err = filepath.WalkDir(filepath.Join(srv.Dir(), "data"), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				all = append(all, b...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return all
		}})
	})
}

func openStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// idFor makes a valid 身份证 number of someone born on birth (YYYYMMDD).
func idFor(birth, seq string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	body := "530802" + birth + seq
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

var (
	now  = time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	id1  = idFor("19900307", "123")
	id2  = idFor("19850612", "224")
	id3  = idFor("20120101", "335") // a minor
	id4  = idFor("19700101", "441")
	id5  = idFor("19991231", "552")
	opts = func(v *people.Vault) people.Options {
		return people.Options{Vault: v, Now: func() time.Time { return now }, Batch: 3}
	}
)

const areasCSV = "\ufeffcode,name,parent,level,population\n" +
	"5308,普洱市,,city,2404954\n" +
	"530802,思茅区,5308,county,\"300,000\"\n" +
	"530802001,思茅街道,530802,township,80000\n" +
	"530802001001,茶源社区,530802001,community,12000\n" +
	"530802001002,,530802001,community,5000\n" +
	"530802001003,石屏社区,999,community,3000\n" +
	"530802001004,倚象社区,530802,community,100\n" +
	"530802001005,南屏社区,530802001,村,-1\n" +
	"530802001006,北部社区,530802001,村,7000\n"

const orgsCSV = "编号,名称,类型,县（区）,结对社区,上级组织\n" +
	"O1,思茅区志愿服务联合会,联合会,530802,,\n" +
	"O2,茶源社区志愿服务队,服务队,530802,530802001001,O1\n" +
	"O3,无名队,服务队,530802,530802999,O1\n" +
	"O4,,服务队,530802,,\n" +
	"O5,南屏队,服务队,530802001,,\n"

func volunteersCSV() string {
	return "id,name,gender,birth_date,id_number,community,phone,skills,service_types,group,orgs,national_id,guardian_consent,registered_on\n" +
		"V1,王小明,男,1990-03-07," + id1 + ",530802001001,13987912345,理发;量血压,助老;文明交通,party_member,O1;O2,53000012345,,2025-01-02\n" +
		"V2,,女,1985-06-12," + id2 + ",530802001001,13987912346,,,other,,,,\n" +
		"V3,李四,,,530802199003071234,530802001001,13987912347,,,other,,,,\n" +
		"V4,张三,,," + strings.ToLower(id1) + ",530802001001,13987912348,,,teacher,,,,\n" +
		"V5,赵六,,," + id2 + ",530802999,13987912349,,,other,,,,\n" +
		"V6,孙七,,," + id2 + ",530802001001,12345,,,other,,,,\n" +
		"V7,周八,,," + id3 + ",530802001001,13987912350,,,school_student,,,,\n" +
		"V8,吴九,女,," + id2 + ",530802001001,0879-2123456,,,civil_servant,O9,,,\n" +
		"V9,郑十,,," + id4 + ",530802001001,13987912351,,,other,O2,,是,\n"
}

// wantProblems compares a report's problem lines with the wanted line
// numbers and reasons.
func wantProblems(t *testing.T, rep *people.Report, want map[int]*people.Reason) {
	t.Helper()
	got := map[int]*people.Reason{}
	for _, p := range rep.Problems {
		got[p.Line] = p.Reason
		if s := p.String(); !strings.HasPrefix(s, fmt.Sprintf("第 %d 行：", p.Line)) || !strings.Contains(s, fmt.Sprintf("/ line %d: ", p.Line)) {
			t.Errorf("problem line %q is not in Chinese and English", s)
		}
	}
	for line, r := range want {
		if got[line] != r {
			t.Errorf("line %d: got %v, want %v", line, got[line], r)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems on lines %v, want %d problems", slices.Sorted(maps.Keys(got)), len(want))
	}
}

func mustImport(t testing.TB, s *store.Store, v *people.Vault, kind people.Kind, format people.Format, data []byte) *people.Report {
	t.Helper()
	rep, err := people.Import(context.Background(), s, kind, format, bytes.NewReader(data), opts(v))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestImportCSV(t *testing.T) {
	backends(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openStore(t, db.dsn)
		vault, err := people.LoadVault(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var progress []int
		o := opts(vault)
		o.Progress = func(n int) { progress = append(progress, n) }
		rep, err := people.Import(ctx, s, people.KindAreas, people.CSV, strings.NewReader(areasCSV), o)
		if err != nil {
			t.Fatal(err)
		}
		wantProblems(t, rep, map[int]*people.Reason{6: people.ErrMissingName, 7: people.ErrUnknownArea,
			8: people.ErrBadParent, 9: people.ErrBadPopulation})
		if rep.Added != 5 || rep.Rows != 9 || len(progress) < 2 || progress[len(progress)-1] != 9 || !slices.IsSorted(progress) {
			t.Errorf("areas: %s, progress %v", rep.Summary(), progress)
		}
		if a, err := s.Area(ctx, "530802"); err != nil || a.Population != 300000 || a.Level != people.LevelCounty {
			t.Errorf("Area(530802) = %+v, %v", a, err)
		}
		rep = mustImport(t, s, vault, people.KindOrgs, people.CSV, []byte(orgsCSV))
		wantProblems(t, rep, map[int]*people.Reason{4: people.ErrUnknownCommunity, 5: people.ErrMissingName, 6: people.ErrBadCounty})
		if o, err := s.Organisation(ctx, "O2"); err != nil || o.Parent != "O1" || o.Community != "530802001001" {
			t.Errorf("Organisation(O2) = %+v, %v", o, err)
		}

		want := map[int]*people.Reason{3: people.ErrMissingName, 4: people.ErrBadIDNumber, 5: people.ErrDuplicatePerson,
			6: people.ErrUnknownCommunity, 7: people.ErrBadPhone, 8: people.ErrNoConsent, 9: people.ErrUnknownOrg}
		rep = mustImport(t, s, vault, people.KindVolunteers, people.CSV, []byte(volunteersCSV()))
		wantProblems(t, rep, want)
		if rep.Added != 2 {
			t.Errorf("volunteers: %s", rep.Summary())
		}
		v, err := s.Volunteer(ctx, "V1")
		if err != nil {
			t.Fatal(err)
		}
		if v.Name != "王小明" || v.Gender != people.Male || v.Sealed.Masked != "5308**********"+id1[14:] ||
			!slices.Equal(v.Orgs, []string{"O1", "O2"}) || !slices.Equal(v.Skills, []string{"理发", "量血压"}) ||
			v.Group != people.GroupPartyMember || v.NationalID != "53000012345" || v.RegisteredOn.Format(time.DateOnly) != "2025-01-02" ||
			v.MaskedName() != "王*明" {
			t.Errorf("V1 = %+v", v)
		}
		if got, err := vault.Open("V1", v.Sealed.Cipher); err != nil || string(got) != id1 {
			t.Errorf("the stored number opens to %q, %v", got, err)
		}
		if v9, err := s.Volunteer(ctx, "V9"); err != nil || !v9.GuardianConsent || !v9.RegisteredOn.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("V9 = %+v, %v (registered today when the row gives no date)", v9, err)
		}

		// The same files again change nothing and report the same rows.
		rep = mustImport(t, s, vault, people.KindAreas, people.CSV, []byte(areasCSV))
		if rep.Unchanged != 5 || rep.Added+rep.Updated != 0 || len(rep.Problems) != 4 {
			t.Errorf("areas again: %s", rep.Summary())
		}
		rep = mustImport(t, s, vault, people.KindOrgs, people.CSV, []byte(orgsCSV))
		if rep.Unchanged != 2 || rep.Added+rep.Updated != 0 {
			t.Errorf("orgs again: %s", rep.Summary())
		}
		rep = mustImport(t, s, vault, people.KindVolunteers, people.CSV, []byte(volunteersCSV()))
		wantProblems(t, rep, want)
		if rep.Unchanged != 2 || rep.Added+rep.Updated != 0 {
			t.Errorf("volunteers again: %s", rep.Summary())
		}
		if n, err := s.CountVolunteers(ctx); err != nil || n != 2 {
			t.Errorf("CountVolunteers = %d, %v", n, err)
		}

		// The ID numbers are nowhere in the database's files in clear,
		// while a phone number, stored in clear, is found: the search
		// does see the rows.
		raw := db.atRest(t)
		if !bytes.Contains(raw, []byte("13987912345")) {
			t.Fatal("the phone number is not in the files either: the check reads the wrong bytes")
		}
		for _, id := range []string{id1, id2, id4} {
			if bytes.Contains(raw, []byte(id)) || bytes.Contains(raw, []byte(id[:17])) {
				t.Errorf("ID number %s is in the database files in clear", id)
			}
		}
	})
}

// writeXLSX writes rows as a workbook, streamed as a large file would be.
func writeXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportXLSX(t *testing.T) {
	backends(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openStore(t, db.dsn)
		vault, err := people.LoadVault(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		mustImport(t, s, vault, people.KindAreas, people.CSV, []byte(areasCSV))
		mustImport(t, s, vault, people.KindOrgs, people.CSV, []byte(orgsCSV))
		// Chinese headers, in another order, with a column the importer
		// does not know and an empty row.
		book := writeXLSX(t, [][]any{
			{"姓名", "编号", "身份证件号码", "居住区域", "联系方式", "人员类别", "所属组织", "备注", "监护人同意", "出生日期"},
			{"欧阳娜娜", "X1", id5, "530802001001", "13987912360", "大学生", "O2", "新登记", "", "1999-12-31"},
			{"钱多多", "X2", id1, "530802001001", "13987912361", "教师", "", "", "", ""},
			{},
			{"孙小小", "X3", id3, "530802001001", "13987912362", "中小学生", "", "", "是", "2012年1月1日"},
			{"冯五", "X4", id4, "530802001002", "13987912363", "其他", "", "", "", ""},
			{"陈六", "X5", id2, "530802001001", "139879", "其他", "", "", "", ""},
			{"褚七", "X6", id4, "530802001001", "13987912364", "工人", "", "", "", ""},
			{"卫八", "X7", id4, "530802001001", "13987912365", "其他", "", "", "", "1970-01-02"},
		})
		// X2 is the person of id1 again; first register them as V1.
		one := "id,name,id_number,community,phone\nV1,王小明," + id1 + ",530802001001,13987912345\n"
		mustImport(t, s, vault, people.KindVolunteers, people.CSV, []byte(one))
		want := map[int]*people.Reason{3: people.ErrDuplicatePerson, 6: people.ErrUnknownCommunity,
			7: people.ErrBadPhone, 8: people.ErrBadGroup, 9: people.ErrBirthMismatch}
		rep := mustImport(t, s, vault, people.KindVolunteers, people.XLSX, book)
		wantProblems(t, rep, want)
		if rep.Added != 2 {
			t.Errorf("%s", rep.Summary())
		}
		if v, err := s.Volunteer(ctx, "X3"); err != nil || v.Group != people.GroupSchoolStudent || !v.GuardianConsent || v.Gender != people.Male {
			t.Errorf("X3 = %+v, %v", v, err)
		}
		rep = mustImport(t, s, vault, people.KindVolunteers, people.XLSX, book)
		wantProblems(t, rep, want)
		if rep.Unchanged != 2 || rep.Added != 0 {
			t.Errorf("again: %s", rep.Summary())
		}
		raw := db.atRest(t)
		for _, id := range []string{id1, id3, id5} {
			if bytes.Contains(raw, []byte(id)) {
				t.Errorf("ID number %s is in the database files in clear", id)
			}
		}
	})
}

// A file whose header lacks a required column is refused whole.
func TestImportBadHeader(t *testing.T) {
	vault, _ := people.NewVault(make([]byte, 32))
	_, err := people.Import(context.Background(), nil, people.KindVolunteers, people.CSV,
		strings.NewReader("id,name,phone\nV1,王小明,13987912345\n"), opts(vault))
	if !errors.Is(err, people.ErrFile) || !strings.Contains(err.Error(), "id_number") {
		t.Errorf("got %v", err)
	}
	_, err = people.Import(context.Background(), nil, people.KindAreas, people.XLSX, strings.NewReader("not a zip"), opts(vault))
	if !errors.Is(err, people.ErrFile) {
		t.Errorf("not an XLSX: %v", err)
	}
}

// Excel in Chinese saves "CSV" as GB18030.
func TestImportGB18030(t *testing.T) {
	s := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"))
	enc, err := gb18030("代码,名称,上级,层级,常住人口\n5308,普洱市,,市,2404954\n")
	if err != nil {
		t.Fatal(err)
	}
	rep := mustImport(t, s, nil, people.KindAreas, people.CSV, enc)
	if rep.Added != 1 || len(rep.Problems) != 0 {
		t.Fatalf("%s %v", rep.Summary(), rep.Problems)
	}
	if a, err := s.Area(context.Background(), "5308"); err != nil || a.Name != "普洱市" {
		t.Errorf("Area = %+v, %v", a, err)
	}
}
