package history_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"leifeng/cloud/calendar"
	"leifeng/cloud/history"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/pgtest"
)

// hooked counts the new records the rollup hooks were told of, as the
// targets' rollups are, by the first five characters of their IDs
// ("imp:R"): a count per test's file, in memory that does not grow with
// the benchmark's million records.
var hooked struct {
	sync.Mutex
	n map[string]int
}

func init() {
	hooked.n = map[string]int{}
	store.RegisterRollupHook(func(_ context.Context, _ store.Querier, before, after *store.ServiceRecord) error {
		if before == nil && after != nil && len(after.ID) >= 5 {
			hooked.Lock()
			hooked.n[after.ID[:5]]++
			hooked.Unlock()
		}
		return nil
	})
}

func hookCount(prefix string) int {
	hooked.Lock()
	defer hooked.Unlock()
	return hooked.n[prefix]
}

// backends runs fn on a fresh SQLite and a fresh PostgreSQL store.
func backends(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, "sqlite:"+t.TempDir()+"/leifeng.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, open(t, pgtest.NewDatabase(t, pgtest.Start(t)))) })
}

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	areasCSV = "code,name,parent,level\n5308,普洱市,,city\n530802,思茅区,5308,county\n530802001,思茅街道,530802,township\n" +
		"530802001001,茶源社区,530802001,community\n530802001002,南屏社区,530802001,community\n"
	orgsCSV = "id,name,county\nO1,思茅区青年志愿者协会,530802\n"
)

// places stores the areas, the organisation, volunteers V1 and V2 and
// stations S1 (茶源社区) and S2 (no community yet).
func places(t testing.TB, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, f := range []struct {
		kind people.Kind
		data string
	}{{people.KindAreas, areasCSV}, {people.KindOrgs, orgsCSV}} {
		rep, err := people.Import(ctx, s, f.kind, people.CSV, strings.NewReader(f.data), people.Options{})
		if err != nil || len(rep.Problems) > 0 {
			t.Fatalf("%s: %v %v", f.kind, err, rep.Problems)
		}
	}
	if err := s.SaveVolunteers(ctx, "", []store.RosterEntry{{ID: "V1"}, {ID: "V2"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Registration{
		{ID: "S1", Name: "茶源社区学雷锋志愿服务站", Community: "530802001001", Created: time.Now()},
		{ID: "S2", Name: "南屏站", Created: time.Now()},
	} {
		if err := s.AddStation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// importNow is the day of the imports: 2025-06-01 in China.
var importNow = time.Date(2025, 6, 1, 10, 0, 0, 0, calendar.CST)

func importFile(t *testing.T, s *store.Store, format people.Format, data []byte) *history.Report {
	t.Helper()
	rep, err := history.Import(context.Background(), s, format, bytes.NewReader(data),
		history.Options{Who: "cli:test", Now: func() time.Time { return importNow }, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// recordsCSV has two good rows and one bad row for each reason; the
// expected line and reason code of each bad row are written next to it.
const recordsCSV = "id,volunteer,org,community,station,activity,content,date,start,end,hours,lead,recorder\n" +
	"R1,V1,O1,530802001001,S1,社区助老,陪老人聊天、量血压,2025-05-02,09:00,11:30,2.5,张三,李四\n" + // 2 good
	"R2,V2,O1,530802001002,,环保宣传,,2025/5/3,14:00,15:00,1.5,,\n" + // 3 good: half an hour over the span
	"R3,V9,O1,530802001001,S1,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 4 unknown_volunteer
	"R4,V1,O9,530802001001,S1,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 5 unknown_org
	"R5,V1,O1,530802999999,,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 6 unknown_community
	"R6,V1,O1,530802001001,S9,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 7 unknown_station
	"R7,V1,O1,530802001002,S1,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 8 station_elsewhere
	"R8,V1,O1,530802001001,S1,社区助老,,2025-13-01,09:00,10:00,1,,\n" + // 9 bad_date
	"R9,V1,O1,530802001001,S1,社区助老,,2025-05-02,25:00,10:00,1,,\n" + // 10 bad_time
	"R10,V1,O1,530802001001,S1,社区助老,,2025-05-02,11:00,09:00,1,,\n" + // 11 end_before_start
	"R11,V1,O1,530802001001,S1,社区助老,,2025-05-02,09:00,10:00,-1,,\n" + // 12 bad_hours
	"R12,V1,O1,530802001001,S1,社区助老,,2025-05-02,09:00,10:00,1.51,,\n" + // 13 hours_over_span
	"R1,V2,O1,530802001001,S1,社区助老,,2025-05-04,09:00,10:00,1,,\n" + // 14 duplicate_id (line 2)
	"R13,,O1,530802001001,S1,社区助老,,2025-05-02,09:00,10:00,1,,\n" + // 15 missing_field
	"\n" + // 16 blank: skipped
	"R14,V1,O1,530802001001,S1,社区助老,,2025-06-02,09:00,10:00,1,,\n" // 17 future_date

var wantProblems = []struct {
	line int
	code string
}{
	{4, "unknown_volunteer"}, {5, "unknown_org"}, {6, "unknown_community"}, {7, "unknown_station"},
	{8, "station_elsewhere"}, {9, "bad_date"}, {10, "bad_time"}, {11, "end_before_start"}, {12, "bad_hours"},
	{13, "hours_over_span"}, {14, "duplicate_id"}, {15, "missing_field"}, {17, "future_date"},
}

func checkProblems(t *testing.T, rep *history.Report) {
	t.Helper()
	got := map[int]string{}
	for _, p := range rep.Problems {
		if p.Reason == nil {
			t.Errorf("line %d: no reason: %v", p.Line, p.Err)
			continue
		}
		got[p.Line] = p.Reason.Code
	}
	for _, w := range wantProblems {
		if got[w.line] != w.code {
			t.Errorf("line %d: reason %q, want %q", w.line, got[w.line], w.code)
		}
	}
	if len(rep.Problems) != len(wantProblems) {
		t.Errorf("%d problems, want %d: %v", len(rep.Problems), len(wantProblems), rep.Problems)
	}
}

func TestImportCSV(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		places(t, s)
		before := hookCount("imp:R")
		rep := importFile(t, s, people.CSV, []byte(recordsCSV))
		if rep.Rows != 15 || rep.Added != 2 || rep.Unchanged != 0 {
			t.Errorf("first import: %s", rep.Summary())
		}
		checkProblems(t, rep)
		text := map[int]string{}
		for _, p := range rep.Problems {
			text[p.Line] = p.String()
		}
		for line, want := range map[int]string{
			4:  "第 4 行：找不到该志愿者编号，请先导入志愿者或核对编号（V9） / line 4: unknown volunteer: V9",
			14: "第 14 行：编号与文件中前面一行重复，同一记录只导入一次，请删去重复行或改正编号（line 2） / line 14: id repeats an earlier row of the file: line 2",
			15: "第 15 行：缺少必填项，请填写（volunteer 志愿者编号） / line 15: missing required field: volunteer 志愿者编号",
			8:  `第 8 行：该站点不在所填的社区（村），请核对站点编号或社区代码（S1 in "530802001001"） / line 8: station is not in that community: S1 in "530802001001"`,
		} {
			if text[line] != want {
				t.Errorf("line %d:\n got %s\nwant %s", line, text[line], want)
			}
		}
		if n := hookCount("imp:R") - before; n != 2 {
			t.Errorf("rollup hooks ran for %d records, want 2", n)
		}

		r, err := s.ServiceRecord(ctx, "imp:R1")
		if err != nil {
			t.Fatal(err)
		}
		wantStart := time.Date(2025, 5, 2, 9, 0, 0, 0, calendar.CST)
		if r.Status != store.StatusFinal || r.Ledger != store.LedgerImported || r.RuleVersion != 0 || r.RuleNote != "导入的历史记录" ||
			r.CountedCents != 250 || r.RawSeconds != 9000 || r.Day != "2025-05-02" || !r.Start.Equal(wantStart) ||
			!r.End.Equal(wantStart.Add(150*time.Minute)) || r.Place != "茶源社区学雷锋志愿服务站" || r.OrgName != "思茅区青年志愿者协会" ||
			r.Content != "陪老人聊天、量血压" || r.Lead != "张三" || r.Recorder != "李四" || r.EnteredBy != "cli:test" || r.Final.IsZero() {
			t.Errorf("imp:R1 = %+v", r)
		}
		r2, err := s.ServiceRecord(ctx, "imp:R2")
		if err != nil || r2.Place != "南屏社区" || r2.Station != "" || r2.CountedCents != 150 || r2.RawSeconds != 3600 {
			t.Errorf("imp:R2 = %+v, %v", r2, err)
		}

		// The same file again: nothing changes, the same rows are refused.
		rep = importFile(t, s, people.CSV, []byte(recordsCSV))
		if rep.Added != 0 || rep.Unchanged != 2 {
			t.Errorf("second import: %s", rep.Summary())
		}
		checkProblems(t, rep)
		if n := hookCount("imp:R") - before; n != 2 {
			t.Errorf("after the second import the hooks ran for %d records, want 2", n)
		}
		all, err := s.ServiceRecords(ctx, store.ServiceRecordFilter{})
		if err != nil || len(all) != 2 {
			t.Errorf("%d records stored, %v", len(all), err)
		}
		ev, err := s.ServiceRecordEvents(ctx, "imp:R1")
		if err != nil || len(ev) != 1 || ev[0].Action != "import" || ev[0].Who != "cli:test" || ev[0].To != store.StatusFinal {
			t.Errorf("events of imp:R1: %+v, %v", ev, err)
		}
		if after, err := s.ServiceRecord(ctx, "imp:R1"); err != nil || !after.Updated.Equal(r.Updated) {
			t.Errorf("imp:R1 changed by the second import: %+v, %v", after, err)
		}
	})
}

// An XLSX with Chinese headers (columns in another order, one unknown
// column), hours and a time as numbers, as Excel keeps them.
func TestImportXLSX(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		places(t, s)
		book := writeXLSX(t, [][]any{
			{"记录编号", "志愿者编号", "活动组织单位", "社区（村）", "站点", "活动名称", "服务内容", "服务日期", "开始时间", "结束时间", "服务时长", "活动负责人", "记录人", "备注"},
			{"X1", "V1", "O1", "530802001001", "S1", "文明交通", "路口劝导", "2025-04-30", 0.375, "10:30", 1.5, "王五", "赵六", "ok"},
			{"X2", "V2", "O1", "530802001001", "S2", "文明交通", "", "2025-04-30", "09:00", "10:30", 1.5, "", "", "S2 has no community"},
			{"X3", "V2", "O1", "530802001001", "", "文明交通", "", "2025-04-30", "9时", "10时30分", "1.5小时", "", "", "ok"},
			{"X4", "V2", "O1", "530802001001", "", "文明交通", "", "2025-04-31", "09:00", "10:30", 1.5, "", "", "no such day"},
			// Date-time cells, as Excel keeps them, on the row's day and not.
			{"X5", "V1", "O1", "530802001001", "", "文明交通", "", time.Date(2025, 4, 29, 0, 0, 0, 0, time.UTC),
				time.Date(2025, 4, 29, 14, 0, 0, 0, time.UTC), "2025-04-29 15:00", 1, "", "", "ok"},
			{"X6", "V1", "O1", "530802001001", "", "文明交通", "", "2025-04-28",
				time.Date(2025, 4, 29, 14, 0, 0, 0, time.UTC), "15:00", 1, "", "", "start on another day"},
		})
		rep := importFile(t, s, people.XLSX, book)
		if rep.Rows != 6 || rep.Added != 3 || len(rep.Problems) != 3 {
			t.Fatalf("%s %v", rep.Summary(), rep.Problems)
		}
		if p := rep.Problems[2]; p.Line != 7 || p.Reason.Code != "bad_time" {
			t.Errorf("third problem: %s", p)
		}
		if r, err := s.ServiceRecord(ctx, "imp:X5"); err != nil || r.Day != "2025-04-29" || r.RawSeconds != 3600 || r.Start.In(calendar.CST).Hour() != 14 {
			t.Errorf("imp:X5 = %+v, %v", r, err)
		}
		if p := rep.Problems[0]; p.Line != 3 || p.Reason.Code != "station_elsewhere" {
			t.Errorf("first problem: %s", p)
		}
		if p := rep.Problems[1]; p.Line != 5 || p.Reason.Code != "bad_date" {
			t.Errorf("second problem: %s", p)
		}
		r, err := s.ServiceRecord(ctx, "imp:X1")
		if err != nil || r.RawSeconds != 5400 || r.CountedCents != 150 || r.Start.In(calendar.CST).Hour() != 9 || r.Lead != "王五" {
			t.Errorf("imp:X1 = %+v, %v", r, err)
		}
		if rep := importFile(t, s, people.XLSX, book); rep.Added != 0 || rep.Unchanged != 3 || len(rep.Problems) != 3 {
			t.Errorf("second import: %s", rep.Summary())
		}
	})
}

// A CSV that Excel in Chinese saved (GB18030) reads as the UTF-8 one.
func TestImportGB18030(t *testing.T) {
	s := open(t, "sqlite:"+t.TempDir()+"/leifeng.db")
	places(t, s)
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(recordsCSV)
	if err != nil {
		t.Fatal(err)
	}
	rep := importFile(t, s, people.CSV, []byte(gb))
	if rep.Added != 2 {
		t.Errorf("%s", rep.Summary())
	}
	checkProblems(t, rep)
	if r, err := s.ServiceRecord(context.Background(), "imp:R1"); err != nil || r.ActivityName != "社区助老" || r.Lead != "张三" {
		t.Errorf("imp:R1 = %+v, %v", r, err)
	}
}

// A file without a required column is refused as a whole, with the
// columns it lacks named.
func TestImportMissingColumns(t *testing.T) {
	s := open(t, "sqlite:"+t.TempDir()+"/leifeng.db")
	_, err := history.Import(context.Background(), s, people.CSV, strings.NewReader("id,volunteer,org\nR1,V1,O1\n"), history.Options{})
	if err == nil || !strings.Contains(err.Error(), "missing columns community, activity, date, start, end, hours") {
		t.Errorf("err = %v", err)
	}
}

func writeXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
