package console_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The hours' pages: a manual entry without evidence is refused; with a
// sign-in sheet it waits for the county; its author gets no decision form
// and is refused when posting one anyway, another county administrator
// approves it and the volunteer's records show 公示中 with the outcome.
// A station's record is in the station manager's queue only, and an
// auditor has none.
func TestHoursPages(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		c.importCSV(c.login("city"), "volunteers", "v.csv", "id,name,id_number,community,phone,orgs\n"+
			"V1,王小明,530802199003071236,530802001001,13987912345,org-1\n", 200)
		ctx := context.Background()
		simao, city := c.login("simao"), c.login("city")
		form := [][2]string{{"activity_name", "敬老院帮厨"}, {"content", "帮厨、打扫"}, {"community", "530802001001"},
			{"lead", "李队长"}, {"recorder", "王记录"}, {"day", "2026-10-12"}, {"start", "09:00"}, {"end", "11:00"}, {"hours", "2"}}
		values := url.Values{}
		for _, f := range form {
			values.Set(f[0], f[1])
		}
		code, body := simao.post("/console/volunteers/V1/hours", values)
		if code != 422 {
			t.Fatalf("without evidence: %d", code)
		}
		has(t, "without evidence", body, "补录必须附证明材料", `value="敬老院帮厨"`)
		png := "\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100)
		code, body = simao.upload("/console/volunteers/V1/hours", form, "file", "签到表.png", png)
		if code != 200 {
			t.Fatalf("manual entry: %d %s", code, body)
		}
		has(t, "manual entry", body, "已补录 2 小时", "待审核")
		recs, err := c.db.ServiceRecords(ctx, store.ServiceRecordFilter{Volunteer: "V1"})
		if err != nil || len(recs) != 1 || recs[0].EnteredBy != "simao" {
			t.Fatalf("stored: %+v %v", recs, err)
		}
		own := recs[0].ID
		files, _ := c.db.EvidenceFiles(ctx, own)
		if len(files) != 1 || files[0].Name != "签到表.png" {
			t.Fatalf("evidence: %+v", files)
		}

		// The author: in the queue (it is the county's), but no form, and
		// a decision posted anyway is refused.
		_, body = simao.get("/console/hours/review")
		has(t, "simao's queue", body, `data-record="`+own+`"`, "补录，需核对证明材料")
		_, body = simao.get("/console/hours/records/" + own)
		has(t, "own record", body, `id="ownHint"`, "/console/hours/evidence/"+files[0].ID)
		hasNot(t, "own record", body, `id="approveForm"`)
		code, body = simao.post("/console/hours/records/"+own, url.Values{"action": {"approve"}, "reason": {"属实"}})
		if code != 403 {
			t.Fatalf("the author approves: %d", code)
		}
		has(t, "the author approves", body, "不能审核自己录入的记录")
		if code, _ = simao.get("/console/hours/evidence/" + files[0].ID); code != 200 {
			t.Errorf("evidence file: %d", code)
		}
		// The city is not this record's reviewer.
		if code, _ = city.post("/console/hours/records/"+own, url.Values{"action": {"approve"}}); code != 404 {
			t.Errorf("the city approves a county's record: %d", code)
		}

		// Entered by the city, approved by the county.
		code, body = city.upload("/console/volunteers/V1/hours", append(form, [2]string{"evidence_note", "院长证明"}), "file", "", "")
		if code != 200 {
			t.Fatalf("city's entry: %d %s", code, body)
		}
		recs, _ = c.db.ServiceRecords(ctx, store.ServiceRecordFilter{Volunteer: "V1", Statuses: []string{"review"}})
		var other string
		for _, r := range recs {
			if r.EnteredBy == "city" {
				other = r.ID
			}
		}
		_, body = simao.get("/console/hours/records/" + other)
		has(t, "another's record", body, `id="approveForm"`, `id="adjustForm"`, `id="rejectForm"`, "院长证明")
		code, body = simao.post("/console/hours/records/"+other, url.Values{"action": {"reject"}})
		if code != 400 {
			t.Errorf("reject without a reason: %d", code)
		}
		has(t, "reject without a reason", body, "必须填写原因")
		code, body = simao.post("/console/hours/records/"+other, url.Values{"action": {"approve"}, "reason": {"电话核实"}})
		if code != 200 {
			t.Fatalf("approve: %d %s", code, body)
		}
		has(t, "approved", body, "已审核通过", "公示中", "10月12日 敬老院帮厨：2小时，审核通过，公示至", "电话核实")
		_, body = simao.get("/console/volunteers/V1/hours")
		has(t, "the volunteer's records", body, `data-record="`+other+`"`, "公示中", "审核通过，公示至", `id="manualForm"`)

		// A station's record: the manager's queue only.
		rec := store.ServiceRecord{ID: "tap:0001", Ledger: store.LedgerCard, Volunteer: "V1", Community: "530802001001",
			Station: "pe-simao-001", ActivityName: "站点值守", Content: "引导", Day: "2026-10-13", RawSeconds: 7200, CountedCents: 200,
			RuleVersion: 1, RuleNote: "规则第1版", Status: store.StatusReview, Reasons: []string{"auto_check_out"}, Reviewer: "station",
			Deadline: time.Now().AddDate(0, 0, 14)}
		if _, err := c.db.PutServiceRecords(ctx, []store.ServiceRecord{rec}, "hours", time.Now()); err != nil {
			t.Fatal(err)
		}
		manager := c.login("manager")
		_, body = manager.get("/console/hours/review")
		has(t, "manager's queue", body, `data-record="tap:0001"`, "未签退")
		for _, who := range []string{"simao", "city", "orgadmin", "ninger"} {
			_, body = c.login(who).get("/console/hours/review")
			hasNot(t, who+"'s queue", body, "tap:0001")
		}
		if code, _ = c.login("auditor").get("/console/hours/review"); code != 404 {
			t.Errorf("an auditor's queue: %d", code)
		}
		code, body = manager.post("/console/hours/records/tap:0001", url.Values{"action": {"adjust"}, "hours": {"1.5"}, "reason": {"中途离开半小时"}})
		if code != 200 {
			t.Fatalf("manager adjusts: %d %s", code, body)
		}
		// The decision sent the station its document: the record is in
		// its kiosk's notice list at once.
		d, err := c.db.Config(ctx, fleet.StationScope("pe-simao-001"))
		if err != nil {
			t.Fatalf("no document pushed to the station after the decision: %v", err)
		}
		var doc wire.Config
		if err := json.Unmarshal(d.Doc, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Notice) != 1 || doc.Notice[0].ID != "tap:0001" || doc.Notice[0].Hours != 1.5 {
			t.Errorf("the station's notice list after the decision: %+v", doc.Notice)
		}
		_, body = manager.get("/console/volunteers/V1/hours")
		has(t, "manager reads the volunteer's records", body, "由2小时调整为1.5小时（中途离开半小时）")
		if code, _ = c.login("ninger").get("/console/volunteers/V1/hours"); code != 404 {
			t.Errorf("another county reads the volunteer's records: %d", code)
		}
	})
}
