package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/store"
)

// hoursUsers adds to the scope tests' users a second station manager
// (pe-simao-002), the administrator of O3 and a second county
// administrator of 思茅区.
func hoursUsers(t *testing.T, db *store.Store) {
	t.Helper()
	seedUsers(t, db)
	for name, u := range map[string]access.User{
		"manager2": {Role: access.Station, Scope: "pe-simao-002"},
		"org3":     {Role: access.Org, Scope: "O3"},
		"simao2":   {Role: access.County, Scope: "530802"},
	} {
		tokens[name] = api.SeedUser(t, db, name, u.Role, u.Scope, "长城长城长城长城长城", false)
	}
}

// reviewRecord is a card-ledger record in review for reviewer, as the
// hours pass makes them (HOURS.md).
func reviewRecord(id, volunteer, station, community, org, reviewer string, reasons ...string) store.ServiceRecord {
	start := time.Date(2026, 10, 12, 9, 0, 0, 0, time.UTC)
	return store.ServiceRecord{ID: id, Ledger: store.LedgerCard, Volunteer: volunteer, Org: org, Community: community,
		Station: station, ActivityName: "社区助老", Content: "陪老人聊天", Day: "2026-10-12", Start: start, End: start.Add(90 * time.Minute),
		RawSeconds: 5400, CountedCents: 150, RuleVersion: 1, RuleNote: "规则第1版：60–90分钟计1.5小时", Status: store.StatusReview,
		Reasons: reasons, Reviewer: reviewer, Deadline: time.Now().AddDate(0, 0, 14)}
}

func queueIDs(t *testing.T, base, user string) []string {
	t.Helper()
	code, body := as(t, base, user, "GET", "/api/v1/hours/review", "")
	if code != http.StatusOK {
		t.Fatalf("%s: queue: %d %s", user, code, body)
	}
	var q struct {
		Records []struct {
			ID        string   `json:"id"`
			ReasonsZh []string `json:"reasons_zh"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(body), &q); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range q.Records {
		if len(r.ReasonsZh) == 0 {
			t.Errorf("%s: %s without reasons in Chinese", user, r.ID)
		}
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// A record of each reviewer level is in the queue of its reviewer and in
// nobody else's, on SQLite and PostgreSQL: the station manager of its
// station, the administrator of its organisation (one without an
// organisation goes to the county), the county administrators of its
// community's county, the city. An auditor has no queue. Only the routed
// reviewer may decide: everyone else gets 404, as for a record that does
// not exist.
func TestHoursReviewRouting(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			hoursUsers(t, c.db)
			recs := []store.ServiceRecord{
				reviewRecord("tap:st1", "V2", "pe-simao-001", "530802001001", "", "station", "auto_check_out"),
				reviewRecord("tap:st2", "V3", "pe-simao-002", "530802001002", "", "station", "travel", "burst"),
				reviewRecord("tap:org2", "V1", "pe-simao-001", "530802001001", "O2", "org", "over_org_cap"),
				reviewRecord("tap:org3", "V2", "pe-ninger-001", "530821001001", "O3", "org", "over_org_cap"),
				reviewRecord("tap:orgnone", "V3", "pe-simao-002", "530802001002", "", "org", "over_org_cap"),
				reviewRecord("tap:county", "V2", "pe-ninger-001", "530821001001", "O3", "county", "over_county_cap", "auto_check_out"),
				reviewRecord("man:simao", "V1", "", "530802001001", "", "county", "manual"),
				reviewRecord("tap:city", "V1", "pe-simao-001", "530802001001", "O2", "city", "flagged"),
			}
			done := reviewRecord("tap:done", "V2", "pe-simao-001", "530802001001", "", "station", "auto_check_out")
			done.Status = store.StatusNotice
			if _, err := c.db.PutServiceRecords(context.Background(), append(recs, done), "hours", time.Now()); err != nil {
				t.Fatal(err)
			}
			want := map[string][]string{
				"manager":  {"tap:st1"},
				"manager2": {"tap:st2"},
				"org":      {"tap:org2"},
				"org3":     {"tap:org3"},
				"simao":    {"man:simao", "tap:orgnone"},
				"simao2":   {"man:simao", "tap:orgnone"},
				"ninger":   {"tap:county"},
				"city":     {"tap:city"},
			}
			for user := range tokens {
				w := want[user]
				if w == nil {
					w = []string{} // auditors
				}
				if got := queueIDs(t, c.srv.URL, user); !slices.Equal(got, w) {
					t.Errorf("%s's queue: %v, want %v", user, got, w)
				}
			}
			// Only the routed reviewer decides.
			for _, r := range recs {
				for user := range tokens {
					if slices.Contains(want[user], r.ID) {
						continue
					}
					code, body := as(t, c.srv.URL, user, "POST", "/api/v1/hours/records/"+r.ID+"/approve", `{"reason":"核实无误"}`)
					wantCode := http.StatusNotFound
					if strings.Contains(user, "auditor") || user == "ninger-reader" {
						wantCode = http.StatusForbidden
					}
					if code != wantCode || !strings.Contains(body, "message_zh") {
						t.Errorf("%s approves %s, not theirs: %d %s, want %d", user, r.ID, code, body, wantCode)
					}
				}
			}
			for user, id := range map[string]string{"manager": "tap:st1", "manager2": "tap:st2", "org": "tap:org2", "org3": "tap:org3",
				"simao": "man:simao", "simao2": "tap:orgnone", "ninger": "tap:county", "city": "tap:city"} {
				code, body := as(t, c.srv.URL, user, "POST", "/api/v1/hours/records/"+id+"/approve", `{"reason":"核实无误"}`)
				if code != http.StatusOK || !strings.Contains(body, `"status":"notice"`) || !strings.Contains(body, "审核通过，公示至") {
					t.Errorf("%s approves %s: %d %s", user, id, code, body)
				}
			}
			code, body := as(t, c.srv.URL, "simao2", "POST", "/api/v1/hours/records/tap:orgnone/approve", `{}`)
			if code != http.StatusConflict {
				t.Errorf("approved twice: %d %s", code, body)
			}
		})
	}
}

// multipartEntry is a manual entry as a form with files.
func multipartEntry(t *testing.T, base, user, volunteer string, fields map[string]string, files map[string][]byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/volunteers/"+volunteer+"/manual-hours", &buf)
	req.Header.Set("Authorization", "Bearer "+tokens[user])
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func entry(day, start, end, hours, note string) string {
	b, _ := json.Marshal(map[string]string{"activity_name": "敬老院帮厨", "content": "帮厨、打扫", "community": "530802001001",
		"lead": "李队长", "recorder": "王记录", "day": day, "start": start, "end": end, "hours": hours, "evidence_note": note})
	return string(b)
}

func recordID(t *testing.T, body string) string {
	t.Helper()
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID == "" {
		t.Fatalf("no record in %s", body)
	}
	return r.ID
}

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 200)...)

// Manual hours (补录): refused without evidence; its author cannot approve
// it (another reviewer can, and the volunteer's records show the
// outcome); the cap per volunteer and month holds, and a rejected entry
// no longer counts against it; evidence files are typed by their bytes
// and readable only in scope; who may enter for whom; the two ledgers
// added up separately and together.
func TestManualHours(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			hoursUsers(t, c.db)
			base := c.srv.URL
			path := "/api/v1/volunteers/V1/manual-hours"

			code, body := as(t, base, "simao", "POST", path, entry("2026-10-12", "09:00", "11:00", "2", ""))
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, "补录必须附证明材料") {
				t.Fatalf("without evidence: %d %s", code, body)
			}
			code, body = as(t, base, "simao", "POST", path, entry("2026-10-12", "09:00", "11:00", "2", "敬老院院长出具证明，电话 0879-1234567"))
			if code != http.StatusCreated || !strings.Contains(body, `"status":"review"`) || !strings.Contains(body, `"reviewer":"county"`) ||
				!strings.Contains(body, `"entered_by":"simao"`) || !strings.Contains(body, `"ledger":"manual"`) || !strings.Contains(body, `"manual"`) {
				t.Fatalf("manual entry: %d %s", code, body)
			}
			first := recordID(t, body)
			if !strings.HasPrefix(first, "man:") {
				t.Errorf("manual record id %s", first)
			}
			code, body = as(t, base, "simao", "POST", "/api/v1/hours/records/"+first+"/approve", `{"reason":"已核实"}`)
			if code != http.StatusForbidden || !strings.Contains(body, "不能审核自己录入的记录") {
				t.Fatalf("the author approves: %d %s", code, body)
			}
			code, body = as(t, base, "simao2", "POST", "/api/v1/hours/records/"+first+"/approve", `{"reason":"已电话核实"}`)
			if code != http.StatusOK || !strings.Contains(body, "10月12日 敬老院帮厨：2小时，审核通过，公示至") {
				t.Fatalf("another approves: %d %s", code, body)
			}

			// The cap: 20 h a month (hours.Default). 2 + 12 fits, + 9 does not.
			code, body = as(t, base, "simao2", "POST", path, entry("2026-10-13", "08:00", "20:30", "12", "签到表原件存档"))
			if code != http.StatusCreated {
				t.Fatalf("12 h: %d %s", code, body)
			}
			twelve := recordID(t, body)
			code, body = as(t, base, "simao2", "POST", path, entry("2026-10-20", "08:00", "18:00", "9", "签到表原件存档"))
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, "超过补录上限") || !strings.Contains(body, "已补录 14 小时") {
				t.Fatalf("over the cap: %d %s", code, body)
			}
			// Another month is another period.
			if code, body = as(t, base, "simao2", "POST", path, entry("2026-09-20", "08:00", "18:00", "9", "签到表")); code != http.StatusCreated {
				t.Fatalf("9 h in September: %d %s", code, body)
			}
			if code, body = as(t, base, "simao", "POST", "/api/v1/hours/records/"+twelve+"/reject", `{}`); code != http.StatusBadRequest ||
				!strings.Contains(body, "必须填写原因") {
				t.Fatalf("reject without a reason: %d %s", code, body)
			}
			if code, body = as(t, base, "simao", "POST", "/api/v1/hours/records/"+twelve+"/reject", `{"reason":"签到表上没有本人签名"}`); code != http.StatusOK ||
				!strings.Contains(body, `"status":"rejected"`) || !strings.Contains(body, "未通过审核（签到表上没有本人签名）") {
				t.Fatalf("reject: %d %s", code, body)
			}
			code, body = as(t, base, "simao2", "POST", path, entry("2026-10-20", "08:00", "18:00", "9", "签到表原件存档"))
			if code != http.StatusCreated {
				t.Fatalf("9 h after the rejection: %d %s", code, body)
			}
			nine := recordID(t, body)
			if code, body = as(t, base, "simao", "POST", "/api/v1/hours/records/"+nine+"/adjust", `{"hours":"8.5","reason":"午休半小时不计"}`); code != http.StatusOK ||
				!strings.Contains(body, `"counted_cents":850`) || !strings.Contains(body, "由9小时调整为8.5小时（午休半小时不计）") {
				t.Fatalf("adjust: %d %s", code, body)
			}
			if code, body = as(t, base, "simao", "POST", path, entry("2026-10-21", "09:00", "10:00", "2", "说明")); code != http.StatusBadRequest ||
				!strings.Contains(body, "不能超过开始到结束之间的时间") {
				t.Errorf("more hours than the time: %d %s", code, body)
			}

			// Evidence files: a photo by the station manager, at the station.
			fields := map[string]string{"activity": "站点值守", "content": "引导群众", "station": "pe-simao-001", "lead": "站长",
				"recorder": "站长", "day": "2026-10-14", "start": "14:00", "end": "16:00", "hours": "2"}
			code, body = multipartEntry(t, base, "manager", "V2", fields, map[string][]byte{"sign-in.png": pngBytes})
			if code != http.StatusCreated || !strings.Contains(body, "sign-in.png") {
				t.Fatalf("with a photo: %d %s", code, body)
			}
			var withFile struct {
				ID       string `json:"id"`
				Evidence string `json:"evidence"`
			}
			json.Unmarshal([]byte(body), &withFile)
			files, err := c.db.EvidenceFiles(context.Background(), withFile.ID)
			if err != nil || len(files) != 1 || files[0].Type != "image/png" || files[0].Size != int64(len(pngBytes)) {
				t.Fatalf("stored evidence: %+v %v", files, err)
			}
			if code, body = as(t, base, "simao", "GET", "/api/v1/hours/evidence/"+files[0].ID, ""); code != http.StatusOK || body != string(pngBytes) {
				t.Errorf("the county reads the photo: %d", code)
			}
			if code, _ = as(t, base, "org", "GET", "/api/v1/hours/evidence/"+files[0].ID, ""); code != http.StatusNotFound {
				t.Errorf("another organisation reads the photo: %d", code)
			}
			code, body = multipartEntry(t, base, "manager", "V2", fields, map[string][]byte{"notes.txt": []byte("just text, not a photo")})
			if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "JPG、PNG") {
				t.Errorf("a text file as evidence: %d %s", code, body)
			}
			fields["station"] = "pe-simao-002"
			if code, body = multipartEntry(t, base, "manager", "V2", fields, map[string][]byte{"a.png": pngBytes}); code != http.StatusBadRequest {
				t.Errorf("the manager enters for another station: %d %s", code, body)
			}

			// Who may enter for whom.
			if code, body = as(t, base, "org", "POST", "/api/v1/volunteers/V2/manual-hours", entry("2026-10-12", "09:00", "11:00", "2", "证明")); code != http.StatusNotFound {
				t.Errorf("an organisation enters for another's volunteer: %d %s", code, body)
			}
			if code, body = as(t, base, "org", "POST", path, entry("2026-10-15", "09:00", "11:00", "2", "证明")); code != http.StatusCreated ||
				!strings.Contains(body, `"org":"O2"`) {
				t.Errorf("an organisation enters for its volunteer: %d %s", code, body)
			}
			if code, body = as(t, base, "manager", "POST", "/api/v1/volunteers/V3/manual-hours", entry("2026-10-12", "09:00", "11:00", "2", "证明")); code != http.StatusNotFound {
				t.Errorf("a manager enters for a volunteer out of scope: %d %s", code, body)
			}
			if code, body = as(t, base, "auditor", "POST", path, entry("2026-10-12", "09:00", "11:00", "2", "证明")); code != http.StatusForbidden {
				t.Errorf("an auditor enters: %d %s", code, body)
			}
			if code, body = as(t, base, "ninger", "POST", path, entry("2026-10-12", "09:00", "11:00", "2", "证明")); code != http.StatusNotFound {
				t.Errorf("another county enters: %d %s", code, body)
			}

			// The volunteer's records: status, hours, outcome, history.
			code, body = as(t, base, "simao", "GET", "/api/v1/volunteers/V1/service-records", "")
			if code != http.StatusOK {
				t.Fatalf("records: %d %s", code, body)
			}
			var list struct {
				Records []struct {
					ID       string `json:"id"`
					StatusZh string `json:"status_zh"`
					Outcome  string `json:"outcome"`
					Events   []struct {
						Action, Who, Reason string
					} `json:"events"`
				} `json:"records"`
			}
			json.Unmarshal([]byte(body), &list)
			found := false
			for _, r := range list.Records {
				if r.ID != first {
					continue
				}
				found = true
				if r.StatusZh != "公示中" || !strings.Contains(r.Outcome, "审核通过") || len(r.Events) != 2 ||
					r.Events[1].Action != "approve" || r.Events[1].Who != "simao2" || r.Events[1].Reason != "已电话核实" {
					t.Errorf("the approved record as the volunteer's: %+v", r)
				}
			}
			if !found {
				t.Errorf("V1's records lack %s: %s", first, body)
			}
			if code, _ = as(t, base, "ninger", "GET", "/api/v1/volunteers/V1/service-records", ""); code != http.StatusNotFound {
				t.Errorf("another county reads V1's records: %d", code)
			}

			// Both ledgers, separately and together (final only), and pending.
			fin := reviewRecord("tap:fin", "V1", "pe-simao-001", "530802001001", "O2", "", "")
			fin.Status, fin.Reasons = store.StatusFinal, nil
			imp := reviewRecord("imp:1", "V1", "", "530802001001", "O2", "", "")
			imp.Ledger, imp.Status, imp.CountedCents, imp.Reasons = store.LedgerImported, store.StatusFinal, 300, nil
			if _, err := c.db.PutServiceRecords(context.Background(), []store.ServiceRecord{fin, imp}, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			var sum api.HoursSummary
			code, body = as(t, base, "simao", "GET", "/api/v1/hours/summary?volunteer=V1&from=2026-10-01&to=2026-10-31", "")
			json.Unmarshal([]byte(body), &sum)
			// Manual in October: 2 (notice) + 8.5 (notice) + 2 (org's, review) pending; 12 rejected.
			if code != http.StatusOK || sum.Card != 1.5 || sum.Imported != 3 || sum.Manual != 0 || sum.Total != 4.5 ||
				sum.Pending.Manual != 12.5 || sum.Pending.Total != 12.5 {
				t.Errorf("summary of V1: %d %s", code, body)
			}
			code, body = as(t, base, "org", "GET", "/api/v1/hours/summary?org=O2", "")
			json.Unmarshal([]byte(body), &sum)
			if code != http.StatusOK || sum.Total != 4.5 {
				t.Errorf("summary of O2: %d %s", code, body)
			}
			if code, body = as(t, base, "simao", "GET", "/api/v1/hours/summary?community=530802", ""); code != http.StatusOK || !strings.Contains(body, `"total":4.5`) {
				t.Errorf("summary of 思茅区: %d %s", code, body)
			}
			if code, _ = as(t, base, "ninger", "GET", "/api/v1/hours/summary?community=530802", ""); code != http.StatusNotFound {
				t.Errorf("another county's summary: %d", code)
			}
			if code, _ = as(t, base, "simao", "GET", "/api/v1/hours/summary?volunteer=V1&org=O2", ""); code != http.StatusBadRequest {
				t.Errorf("two subjects: %d", code)
			}
		})
	}
}

// Eight entries of 5 hours at once for one volunteer, against the cap of
// 20 hours a month: exactly four are stored, on SQLite and PostgreSQL.
func TestManualCapConcurrent(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			hoursUsers(t, c.db)
			codes := make(chan int, 8)
			for i := range 8 {
				go func() {
					req, _ := http.NewRequest("POST", c.srv.URL+"/api/v1/volunteers/V1/manual-hours",
						strings.NewReader(entry(fmt.Sprintf("2026-10-%02d", i+1), "08:00", "13:00", "5", "签到表")))
					req.Header.Set("Authorization", "Bearer "+tokens["simao"])
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						codes <- 0
						return
					}
					resp.Body.Close()
					codes <- resp.StatusCode
				}()
			}
			n := map[int]int{}
			for range 8 {
				n[<-codes]++
			}
			if n[http.StatusCreated] != 4 || n[http.StatusUnprocessableEntity] != 4 {
				t.Errorf("answers: %v, want 4 stored and 4 refused", n)
			}
			have, err := c.db.ManualCents(context.Background(), "V1", "2026-10-01", "2026-10-31")
			if err != nil || have != 2000 {
				t.Errorf("manual hours stored: %d %v, want 2000", have, err)
			}
		})
	}
}
