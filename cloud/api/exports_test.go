package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// The records-out exports of issue 14 on SQLite and PostgreSQL, read back
// with excelize and encoding/csv against rows written by hand: only
// final, complete, non-overlapping records of registered volunteers with
// a number of their own go out, every other selected record is in the
// left-out report with its reason; each role gets its scope only (a
// county's export holds its area, another county's area is 404); the
// year's statistics per area for the city, a county and a community.
func TestExports(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			exportFixture(t, c.db)
			t.Run("Records", func(t *testing.T) { testExportRecords(t, c) })
			t.Run("Scope", func(t *testing.T) { testExportScope(t, c) })
			t.Run("Statistics", func(t *testing.T) { testExportStatistics(t, c) })
		})
	}
}

// exportIDNumber makes a valid ID number of a 17-digit body.
func exportIDNumber(body string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

// exportFixture adds, beside peopleFixture's, volunteers registered on
// 2025-01-01 — V4 (茶源社区, number 53080000000004), V5 (南屏社区) and V6
// (西门社区, 宁洱) who share the number 5308SAME — and the service
// records of 2025 whose fate each test below writes by hand.
func exportFixture(t *testing.T, db *store.Store) {
	t.Helper()
	ctx := context.Background()
	vault := testVault(t)
	reg := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var vs []people.Volunteer
	for _, v := range []people.Volunteer{
		{ID: "V4", Name: "赵六六", IDNumber: exportIDNumber("53080219900101123"), Community: "530802001001", Phone: "13987912350", NationalID: "53080000000004", RegisteredOn: reg},
		{ID: "V5", Name: "钱七", IDNumber: exportIDNumber("53080219900101124"), Community: "530802001002", Phone: "13987912351", NationalID: "5308SAME", RegisteredOn: reg},
		{ID: "V6", Name: "孙小八", IDNumber: exportIDNumber("53082119900101125"), Community: "530821001001", Phone: "13987912352", NationalID: "5308SAME", RegisteredOn: reg},
	} {
		if err := v.Check(vault, time.Now()); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	res, err := db.RegisterVolunteers(ctx, vs, time.Now())
	mustResults(t, res, err)

	cst := time.FixedZone("CST", 8*3600)
	at := func(day, hm string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, cst)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	rec := func(id, ledger, vol, status, org, community, station, day, from, to string, cents int64) store.ServiceRecord {
		orgName := map[string]string{"O1": "思茅区志愿服务联合会", "O2": "茶源社区志愿服务队", "O3": "宁洱县志愿服务队"}[org]
		end := at(day, to)
		if to < from {
			end = end.Add(24 * time.Hour)
		}
		return store.ServiceRecord{ID: id, Ledger: ledger, Volunteer: vol, Org: org, OrgName: orgName, Community: community,
			Station: station, ActivityName: "社区助老", Place: "茶源社区服务站", Content: "陪伴老人、打扫卫生", Category: "助老",
			Lead: "刘队长", Recorder: "陈记录", Day: day, Start: at(day, from), End: end, RawSeconds: int64(end.Sub(at(day, from)).Seconds()),
			CountedCents: cents, RuleVersion: 1, RuleNote: "规则第1版", Status: status, Reasons: []string{}}
	}
	const cy, np, xm = "530802001001", "530802001002", "530821001001"
	r7 := rec("imp:r7", "imported", "V4", "final", "O2", cy, "", "2025-04-01", "09:00", "10:00", 100)
	r7.Lead, r7.Recorder = "", " "
	r8 := rec("tap:r8", "card", "V4", "final", "O2", cy, "pe-simao-001", "2025-04-02", "09:00", "09:10", 0)
	r8.RuleNote = "规则第1版：不足15分钟不计"
	r12 := rec("imp:r12", "imported", "V1", "final", "O1", np, "", "2025-06-01", "22:30", "01:00", 200)
	r12.ActivityName, r12.Place, r12.Content = "夜间巡逻", "南屏社区", "平安巡逻"
	recs := []store.ServiceRecord{
		rec("tap:r1", "card", "V4", "final", "O2", cy, "pe-simao-001", "2025-03-01", "09:00", "11:00", 150),
		rec("man:r2", "manual", "V4", "final", "O2", cy, "pe-simao-001", "2025-03-01", "10:00", "12:00", 200),
		rec("tap:r3", "card", "V4", "review", "O2", cy, "pe-simao-001", "2025-03-02", "09:00", "11:00", 200),
		rec("tap:r4", "card", "V4", "notice", "O2", cy, "pe-simao-001", "2025-03-03", "09:00", "11:00", 200),
		rec("tap:r5", "card", "V4", "objected", "O2", cy, "pe-simao-001", "2025-03-04", "09:00", "11:00", 200),
		rec("tap:r6", "card", "V4", "rejected", "O2", cy, "pe-simao-001", "2025-03-05", "09:00", "11:00", 200),
		r7, r8,
		rec("tap:r9", "card", "V5", "final", "O1", np, "pe-simao-002", "2025-05-01", "09:00", "10:00", 100),
		rec("tap:r10", "card", "V6", "final", "O3", xm, "pe-ninger-001", "2025-05-02", "09:00", "10:00", 100),
		rec("tap:r11", "card", "VX", "final", "O2", cy, "pe-simao-001", "2025-05-03", "09:00", "10:00", 100),
		r12,
		rec("tap:r13", "card", "V2", "final", "O3", xm, "pe-ninger-001", "2025-06-05", "14:00", "15:00", 100),
		rec("tap:r14", "card", "V4", "final", "O2", cy, "pe-simao-001", "2024-12-31", "09:00", "10:00", 100),
		rec("man:r15", "manual", "V4", "final", "O2", cy, "pe-simao-001", "2025-07-01", "09:00", "11:00", 200),
	}
	if n, err := db.PutServiceRecords(ctx, recs, "test", time.Now()); err != nil || n != len(recs) {
		t.Fatalf("put service records: %d, %v", n, err)
	}
}

// The rows of the exported records, as written by hand.
var exportRows = map[string][]string{
	"imp:r12": {"imp:r12", "V1", "", "王*明", "夜间巡逻", "2025-06-01", "南屏社区", "平安巡逻", "22:30–2025-06-02 01:00", "2", "思茅区志愿服务联合会", "刘队长", "陈记录", "导入"},
	"tap:r13": {"tap:r13", "V2", "", "李*", "社区助老", "2025-06-05", "茶源社区服务站", "陪伴老人、打扫卫生", "14:00–15:00", "1", "宁洱县志愿服务队", "刘队长", "陈记录", "刷卡"},
	"tap:r1":  {"tap:r1", "V4", "53080000000004", "赵*六", "社区助老", "2025-03-01", "茶源社区服务站", "陪伴老人、打扫卫生", "09:00–11:00", "1.5", "茶源社区志愿服务队", "刘队长", "陈记录", "刷卡"},
	"man:r15": {"man:r15", "V4", "53080000000004", "赵*六", "社区助老", "2025-07-01", "茶源社区服务站", "陪伴老人、打扫卫生", "09:00–11:00", "2", "茶源社区志愿服务队", "刘队长", "陈记录", "补录"},
}

// The left-out records: ID, status in Chinese, reason code, and a part
// of the reason.
var exportLeft = map[string][3]string{
	"man:r2":  {"已生效", "overlap", "与同一志愿者的记录tap:r1服务时间重叠"},
	"tap:r3":  {"审核中", "status", "尚在审核中"},
	"tap:r4":  {"公示中", "status", "尚在公示期内"},
	"tap:r5":  {"有异议", "status", "有异议尚未处理"},
	"tap:r6":  {"已驳回", "status", "已驳回"},
	"imp:r7":  {"已生效", "missing", "缺少活动负责人、记录人"},
	"tap:r8":  {"已生效", "zero_hours", "规则第1版：不足15分钟不计"},
	"tap:r9":  {"已生效", "shared_number", "5308SAME同时登记在两名以上志愿者名下"},
	"tap:r10": {"已生效", "shared_number", "5308SAME同时登记在两名以上志愿者名下"},
	"tap:r11": {"已生效", "unregistered", "不在注册名册中"},
}

var exportHeader = []string{"记录编号", "志愿者编号", "全国志愿者编号", "志愿者姓名", "活动名称", "日期", "地点", "服务内容",
	"服务时间", "服务时长（小时）", "活动组织单位", "活动负责人", "记录人", "记录方式"}

// get fetches path as user, failing unless it answers 200.
func get(t *testing.T, base, user, path string) (http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokens[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", user, path, resp.StatusCode, body)
	}
	return resp.Header, body
}

// xlsxSheets reads every sheet of a workbook as text rows.
func xlsxSheets(t *testing.T, body []byte) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, s := range f.GetSheetList() {
		rows, err := f.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		out[s] = rows
	}
	return out
}

func readCSV(t *testing.T, body []byte, gb bool) [][]string {
	t.Helper()
	if gb {
		var err error
		if body, err = simplifiedchinese.GB18030.NewDecoder().Bytes(body); err != nil {
			t.Fatal(err)
		}
	} else {
		if !bytes.HasPrefix(body, []byte("\uFEFF")) {
			t.Fatalf("UTF-8 CSV without a byte-order mark: %q", body[:min(len(body), 20)])
		}
		body = body[3:]
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// wantRows is the header and the hand-written rows of ids.
func wantRows(ids ...string) [][]string {
	out := [][]string{exportHeader}
	for _, id := range ids {
		out = append(out, exportRows[id])
	}
	return out
}

func checkLeft(t *testing.T, what string, got [][]string, ids ...string) {
	t.Helper()
	if len(got) == 0 || !reflect.DeepEqual(got[0], []string{"记录编号", "志愿者编号", "日期", "活动名称", "状态", "原因代码", "原因"}) {
		t.Fatalf("%s: left-out header %q", what, got)
	}
	got = got[1:]
	if len(got) != len(ids) {
		t.Fatalf("%s: %d left out, want %d: %q", what, len(got), len(ids), got)
	}
	for i, id := range ids {
		w := exportLeft[id]
		if g := got[i]; g[0] != id || g[4] != w[0] || g[5] != w[1] || !strings.Contains(g[6], w[2]) {
			t.Errorf("%s: left out %d: %q, want %s %q", what, i, g, id, w)
		}
	}
}

func testExportRecords(t *testing.T, c *testCloud) {
	base := c.srv.URL
	period := "from=2025-01-01&to=2025-12-31"
	allLeft := []string{"man:r2", "tap:r3", "tap:r4", "tap:r5", "tap:r6", "imp:r7", "tap:r8", "tap:r9", "tap:r10", "tap:r11"}

	h, body := get(t, base, "city", "/api/v1/exports/service-records.xlsx?"+period)
	if !strings.Contains(h.Get("Content-Disposition"), "service-records-2025-01-01-2025-12-31.xlsx") {
		t.Errorf("content disposition %q", h.Get("Content-Disposition"))
	}
	sheets := xlsxSheets(t, body)
	if got, want := sheets["服务记录"], wantRows("imp:r12", "tap:r13", "tap:r1", "man:r15"); !reflect.DeepEqual(got, want) {
		t.Errorf("xlsx rows:\n got %q\nwant %q", got, want)
	}
	checkLeft(t, "xlsx", sheets["未导出记录"], allLeft...)
	// Hours are numbers in the workbook.
	f, _ := excelize.OpenReader(bytes.NewReader(body))
	// (A number cell carries no type; a text cell does.)
	hours, _ := f.GetCellType("服务记录", "J4")
	text, _ := f.GetCellType("服务记录", "A4")
	if (hours != excelize.CellTypeNumber && hours != excelize.CellTypeUnset) || text == excelize.CellTypeUnset {
		t.Errorf("hours cell type %v, id cell type %v: want a number and text", hours, text)
	}
	f.Close()

	_, body = get(t, base, "city", "/api/v1/exports/service-records.csv?"+period)
	if got, want := readCSV(t, body, false), wantRows("imp:r12", "tap:r13", "tap:r1", "man:r15"); !reflect.DeepEqual(got, want) {
		t.Errorf("csv rows:\n got %q\nwant %q", got, want)
	}
	_, body = get(t, base, "city", "/api/v1/exports/service-records.csv?encoding=gb18030&"+period)
	if got, want := readCSV(t, body, true), wantRows("imp:r12", "tap:r13", "tap:r1", "man:r15"); !reflect.DeepEqual(got, want) {
		t.Errorf("gb18030 csv rows:\n got %q\nwant %q", got, want)
	}
	_, body = get(t, base, "city", "/api/v1/exports/service-records.report.json?"+period)
	var rep struct {
		Exported int    `json:"exported"`
		LeftOut  int    `json:"left_out"`
		Hours    string `json:"hours"`
		Left     []struct {
			ID, Status, Code, Reason string
		} `json:"left_out_records"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Exported != 4 || rep.LeftOut != 10 || rep.Hours != "6.5" || len(rep.Left) != 10 {
		t.Errorf("report: %s", body)
	}
	for i, id := range allLeft {
		if i < len(rep.Left) && (rep.Left[i].ID != id || rep.Left[i].Code != exportLeft[id][1]) {
			t.Errorf("report left out %d: %+v, want %s", i, rep.Left[i], id)
		}
	}

	// Without a period the record of 2024 goes out too; one community;
	// one organisation; one day.
	_, body = get(t, base, "city", "/api/v1/exports/service-records.xlsx")
	if rows := xlsxSheets(t, body)["服务记录"]; len(rows) != 6 || rows[3][0] != "tap:r14" {
		t.Errorf("no period: %q", rows)
	}
	_, body = get(t, base, "city", "/api/v1/exports/service-records.xlsx?area=530802001002&"+period)
	sheets = xlsxSheets(t, body)
	if got, want := sheets["服务记录"], wantRows("imp:r12"); !reflect.DeepEqual(got, want) {
		t.Errorf("community rows: %q", got)
	}
	checkLeft(t, "community", sheets["未导出记录"], "tap:r9")
	_, body = get(t, base, "city", "/api/v1/exports/service-records.csv?org=O3&"+period)
	if got, want := readCSV(t, body, false), wantRows("tap:r13"); !reflect.DeepEqual(got, want) {
		t.Errorf("organisation rows: %q", got)
	}
	_, body = get(t, base, "city", "/api/v1/exports/service-records.csv?from=2025-03-01&to=2025-03-01")
	if got, want := readCSV(t, body, false), wantRows("tap:r1"); !reflect.DeepEqual(got, want) {
		t.Errorf("one day rows: %q", got)
	}

	runScope(t, base, []scopeHit{
		{user: "city", method: "GET", path: "/api/v1/exports/service-records.csv?from=2025-13-01", want: 400, has: []string{"YYYY-MM-DD"}},
		{user: "city", method: "GET", path: "/api/v1/exports/service-records.csv?from=2025-03-02&to=2025-03-01", want: 400, has: []string{"开始日期晚于结束日期"}},
		{user: "city", method: "GET", path: "/api/v1/exports/service-records.csv?encoding=latin1", want: 400, has: []string{"gb18030"}},
		{user: "city", method: "GET", path: "/api/v1/exports/service-records.xlsx?area=530899", want: 404, has: []string{"找不到这个区域"}},
		{user: "city", method: "GET", path: "/api/v1/exports/service-records.xlsx?org=O9", want: 404, has: []string{"找不到这个志愿服务组织"}},
	})
	// The export is in the audit log with its query.
	if _, body := as(t, base, "city", "GET", "/api/v1/audit?action=exports.records&user=city", ""); !strings.Contains(body, "area=530802001002") {
		t.Errorf("audit log lacks the export: %s", body)
	}
}

func testExportScope(t *testing.T, c *testCloud) {
	base := c.srv.URL
	period := "from=2025-01-01&to=2025-12-31"
	for _, x := range []struct {
		user, query string
		rows, left  []string
	}{
		{"simao", period, []string{"imp:r12", "tap:r1", "man:r15"}, []string{"man:r2", "tap:r3", "tap:r4", "tap:r5", "tap:r6", "imp:r7", "tap:r8", "tap:r9", "tap:r11"}},
		{"simao", "area=530802001001&" + period, []string{"tap:r1", "man:r15"}, []string{"man:r2", "tap:r3", "tap:r4", "tap:r5", "tap:r6", "imp:r7", "tap:r8", "tap:r11"}},
		{"ninger", period, []string{"tap:r13"}, []string{"tap:r10"}},
		{"ninger-reader", period, []string{"tap:r13"}, []string{"tap:r10"}},
		{"manager", period, []string{"tap:r1", "man:r15"}, []string{"man:r2", "tap:r3", "tap:r4", "tap:r5", "tap:r6", "tap:r8", "tap:r11"}},
		{"org", period, []string{"imp:r12", "tap:r1", "man:r15"}, []string{"man:r2", "tap:r3", "tap:r4", "tap:r5", "tap:r6", "imp:r7", "tap:r8", "tap:r9", "tap:r11"}},
		{"org", "org=O1&" + period, []string{"imp:r12"}, []string{"tap:r9"}},
	} {
		_, body := get(t, base, x.user, "/api/v1/exports/service-records.xlsx?"+x.query)
		sheets := xlsxSheets(t, body)
		if got, want := sheets["服务记录"], wantRows(x.rows...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s rows:\n got %q\nwant %q", x.user, x.query, got, want)
		}
		checkLeft(t, x.user+" "+x.query, sheets["未导出记录"], x.left...)
	}
	runScope(t, base, []scopeHit{
		{user: "simao", method: "GET", path: "/api/v1/exports/service-records.xlsx?area=530821", want: 404, has: []string{"找不到这个区域"}},
		{user: "simao", method: "GET", path: "/api/v1/exports/service-records.csv?area=530821001001", want: 404},
		{user: "simao", method: "GET", path: "/api/v1/exports/service-records.csv?org=O3", want: 404, has: []string{"找不到这个志愿服务组织"}},
		{user: "simao", method: "GET", path: "/api/v1/exports/service-records.report.json?area=530821", want: 404},
		{user: "org", method: "GET", path: "/api/v1/exports/service-records.csv?org=O3", want: 404},
		{user: "ninger", method: "GET", path: "/api/v1/exports/statistics.csv?area=530802&year=2025", want: 404},
	})
	// Out of scope answers like missing.
	_, missing := as(t, base, "simao", "GET", "/api/v1/exports/service-records.csv?area=530899", "")
	_, hidden := as(t, base, "simao", "GET", "/api/v1/exports/service-records.csv?area=530821", "")
	if strings.ReplaceAll(missing, "530899", "530821") != hidden {
		t.Errorf("area out of scope %s differs from missing %s", hidden, missing)
	}
}

func testExportStatistics(t *testing.T, c *testCloud) {
	base := c.srv.URL
	header := []string{"区域代码", "区域", "注册志愿者", "活跃志愿者", "服务人次", "服务时长（小时）", "志愿服务组织", "服务站点"}
	// V1–V3 registered today, so not in 2025; V4: r1, r2, r7, r8, r15
	// final in 2025 (6.5 h, the export's checks do not apply to counts);
	// V5: r9; V6: r10; O1 counts at its county, O2 and O3 at their
	// communities; pe-nocomm is in no area.
	for _, x := range []struct {
		user, area string
		want       [][]string
	}{
		{"city", "5308", [][]string{header,
			{"530802", "思茅区", "2", "2", "6", "7.5", "2", "2"},
			{"530821", "宁洱哈尼族彝族自治县", "1", "1", "1", "1", "1", "1"},
			{"合计", "普洱市", "3", "3", "7", "8.5", "3", "3"}}},
		{"simao", "530802", [][]string{header,
			{"530802001", "思茅街道", "2", "2", "6", "7.5", "1", "2"},
			{"合计", "思茅区", "2", "2", "6", "7.5", "2", "2"}}},
		{"simao", "530802001001", [][]string{header,
			{"合计", "茶源社区", "1", "1", "5", "6.5", "1", "1"}}},
	} {
		_, body := get(t, base, x.user, "/api/v1/exports/statistics.csv?year=2025&area="+x.area)
		if got := readCSV(t, body, false); !reflect.DeepEqual(got, x.want) {
			t.Errorf("%s statistics csv:\n got %q\nwant %q", x.area, got, x.want)
		}
		_, body = get(t, base, x.user, "/api/v1/exports/statistics.xlsx?year=2025&area="+x.area)
		if got := xlsxSheets(t, body)["统计"]; !reflect.DeepEqual(got, x.want) {
			t.Errorf("%s statistics xlsx:\n got %q\nwant %q", x.area, got, x.want)
		}
	}
	// A county without an area gets its own; a year to come is refused.
	_, body := get(t, base, "simao", "/api/v1/exports/statistics.csv?year=2025")
	if rows := readCSV(t, body, false); len(rows) != 3 || rows[2][1] != "思茅区" {
		t.Errorf("county's own statistics: %q", rows)
	}
	runScope(t, base, []scopeHit{
		{user: "city", method: "GET", path: "/api/v1/exports/statistics.csv?year=2999", want: 400},
		{user: "city", method: "GET", path: "/api/v1/exports/statistics.xlsx?area=530899&year=2025", want: 404},
	})
}
