package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"leifeng/cloud/store"
)

// The review flow in a real Chromium against the real cloud: a
// session the kiosk closed itself (auto check-out) waits for the station
// manager as a service record in review (written the way the hours pass
// writes it); the manager signs in, opens 时长审核, finds the record with
// its reason, approves it with a reason, and the volunteer's records then
// show it 公示中 with the outcome the volunteer will be shown. The queue,
// the record and the volunteer's records are looked at on a phone
// (375×800) and a laptop (1280×800).
func TestConsoleHoursReviewInChromium(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	orderFixture(t, c)
	c.addStation(t, "st-h", "530802", "--community", "530802001001")
	c.user(t, "manager-h", "station", "st-h")

	// The record, straight into the cloud's database (the hours pass's
	// part): a 1.5-hour session on 12 October with an auto check-out.
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(c.data, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	id := "tap:" + uuid.NewString()
	start := time.Date(2026, 10, 12, 1, 0, 0, 0, time.UTC)
	rec := store.ServiceRecord{ID: id, Ledger: store.LedgerCard, Volunteer: "V1", Org: "O2", OrgName: "茶源社区志愿服务队",
		Community: "530802001001", Station: "st-h", ActivityName: "社区助老", Place: "茶源社区 st-h", Content: "陪老人聊天、读报",
		Category: "关爱空巢老人", Lead: "李队长", Recorder: "王记录", Day: "2026-10-12", Start: start, End: start.Add(100 * time.Minute),
		RawSeconds: 6000, CountedCents: 150, RuleVersion: 0, RuleNote: "规则第0版：90分钟以上按半小时向下取整，计1.5小时",
		Status: store.StatusReview, Reasons: []string{"auto_check_out"}, Reviewer: "station", Deadline: time.Now().AddDate(0, 0, 10)}
	if _, err := db.PutServiceRecords(context.Background(), []store.ServiceRecord{rec}, "hours", time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	page := openPage(t, browser, c.http+"/console/login")
	consoleLoginAs(t, c, page, "manager-h", true)
	page.waitTrue(t, `[...document.querySelectorAll('nav.menu a')].some(a => a.textContent === '时长审核')`)
	page.goTo(t, c.http+"/console/hours/review")
	row := fmt.Sprintf(`document.querySelector('#hoursQueue tr[data-record="%s"]')`, id)
	page.waitTrue(t, row+` !== null && `+row+`.querySelector('.reasons').textContent.includes('未签退')`)
	page.screenshot(t, "hours-queue", 375, 800)
	page.screenshot(t, "hours-queue", 1280, 800)

	page.eval(t, `(() => { window.leaving = true; `+row+`.querySelector('a.button').click(); return true; })()`)
	page.waitTrue(t, `!window.leaving && document.readyState === 'complete' && document.getElementById('approveForm') !== null`)
	page.waitTrue(t, `document.getElementById('recordStatus').textContent === '待审核'`)
	page.screenshot(t, "hours-record", 375, 800)
	page.screenshot(t, "hours-record", 1280, 800)
	page.submit(t, `document.getElementById('areason').value = '电话联系本人，确认忘记签退';
		document.getElementById('approveBtn').click()`, "已审核通过")
	page.waitTrue(t, `document.getElementById('recordStatus').textContent === '公示中' &&
		document.getElementById('recordOutcome').textContent.startsWith('10月12日 社区助老：1.5小时，审核通过，公示至') &&
		document.getElementById('approveForm') === null &&
		[...document.querySelectorAll('#events tr')].some(tr => tr.dataset.action === 'approve' && tr.textContent.includes('电话联系本人，确认忘记签退') && tr.textContent.includes('manager-h'))`)

	page.goTo(t, c.http+"/console/volunteers/V1/hours")
	row = fmt.Sprintf(`document.querySelector('#serviceRecords tr[data-record="%s"]')`, id)
	page.waitTrue(t, row+` !== null && `+row+`.querySelector('.status').textContent === '公示中' &&
		`+row+`.querySelector('.outcome').textContent.includes('审核通过，公示至') && `+row+`.querySelector('.hours').textContent === '1.5'`)
	page.waitTrue(t, `document.querySelector('#ledgers tr[data-row="pending"]').textContent.includes('1.5')`)
	page.screenshot(t, "volunteer-hours", 375, 800)
	page.screenshot(t, "volunteer-hours", 1280, 800)

	// The queue is empty now.
	page.goTo(t, c.http+"/console/hours/review")
	page.waitTrue(t, `document.getElementById('empty') !== null`)
}
