package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/api"
	"leifeng/cloud/calendar"
	"leifeng/cloud/certificate/certtest"
	"leifeng/cloud/store"
)

// certRecords gives V1 (王小明, in O2 under O1) hand-known records of
// March and April 2025: final ones of 1.5 + 2 + 0.5 = 4 h by card and
// 2 h by hand; and ones that must not count (in review, in notice,
// objected, rejected, final but outside the period, another volunteer's).
func certRecords(t *testing.T, db *store.Store) {
	t.Helper()
	var recs []store.ServiceRecord
	add := func(id, ledger, status, volunteer, day, content string, cents int64) {
		start, err := time.ParseInLocation("2006-01-02 15:04", day+" 09:00", calendar.CST)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, store.ServiceRecord{ID: id, Ledger: ledger, Volunteer: volunteer, Org: "O2", OrgName: "茶源社区志愿服务队",
			Community: "530802001001", Station: "pe-simao-001", ActivityName: content, Place: "茶源社区服务站", Content: content,
			Category: "社区服务", Lead: "赵六", Recorder: "钱七", Day: day, Start: start, End: start.Add(time.Duration(cents) * 36 * time.Second),
			RawSeconds: cents * 36, CountedCents: cents, Status: status, RuleVersion: 1, RuleNote: "规则第1版"})
	}
	add("tap:c1", store.LedgerCard, store.StatusFinal, "V1", "2025-03-02", "社区助老", 150)
	add("tap:c2", store.LedgerCard, store.StatusFinal, "V1", "2025-03-15", "社区助老", 200)
	add("tap:c3", store.LedgerCard, store.StatusFinal, "V1", "2025-04-01", "环境保护", 50)
	add("man:m1", store.LedgerManual, store.StatusFinal, "V1", "2025-04-20", "环境保护", 200)
	add("tap:x1", store.LedgerCard, store.StatusReview, "V1", "2025-03-03", "社区助老", 300)
	add("tap:x2", store.LedgerCard, store.StatusNotice, "V1", "2025-03-04", "社区助老", 300)
	add("tap:x3", store.LedgerCard, store.StatusObjected, "V1", "2025-03-05", "社区助老", 300)
	add("man:x4", store.LedgerManual, store.StatusRejected, "V1", "2025-03-06", "社区助老", 300)
	add("tap:x5", store.LedgerCard, store.StatusFinal, "V1", "2025-05-01", "社区助老", 300)
	add("tap:x6", store.LedgerCard, store.StatusFinal, "V3", "2025-03-02", "社区助老", 300)
	if _, err := db.PutServiceRecords(context.Background(), recs, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// get fetches path as user ("" anonymous) and returns the answer.
func getAs(t *testing.T, base, user, path string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// The certificate of issue 12: the PDF's text and hours read back with
// pdftotext, its QR code read with zbarimg from the rendered page and
// opened against the running server, valid, then revoked. On SQLite and
// PostgreSQL.
func TestCertificates(t *testing.T) {
	for _, be := range scopeBackends {
		t.Run(be.name, func(t *testing.T) {
			c := newTestCloudOn(t, be.dsn(t))
			peopleFixture(t, c)
			seedUsers(t, c.db)
			certRecords(t, c.db)
			testCertificates(t, c)
		})
	}
}

func testCertificates(t *testing.T, c *testCloud) {
	base := c.srv.URL
	const q = "/api/v1/volunteers/V1/certificate.pdf?from=2025-03-01&to=2025-04-30&lead=" + "%E8%B5%B5%E5%85%AD" + "&contact=0879-2123456"

	// Out of scope: 404 as for a volunteer that does not exist.
	for _, u := range []string{"ninger", "ninger-reader"} {
		if code, body, _ := getAs(t, base, u, q); code != http.StatusNotFound {
			t.Errorf("%s: certificate of V1: %d %s, want 404", u, code, body)
		}
		if code, _, _ := getAs(t, base, u, "/api/v1/volunteers/V1/certificates"); code != http.StatusNotFound {
			t.Errorf("%s: certificates of V1: %d, want 404", u, code)
		}
	}
	if code, _, _ := getAs(t, base, "city", "/api/v1/volunteers/NOBODY/certificate.pdf?from=2025-03-01&to=2025-04-30"); code != http.StatusNotFound {
		t.Errorf("unknown volunteer: %d, want 404", code)
	}
	if code, _, _ := getAs(t, base, "auditor", q); code != http.StatusForbidden {
		t.Errorf("auditor issues: %d, want 403", code)
	}
	// Bad dates, in Chinese.
	tomorrow := calendar.Day(time.Now().Add(24 * time.Hour))
	for _, bad := range []string{"from=2025-3-1&to=2025-04-30", "from=2025-04-30&to=2025-03-01", "to=2025-04-30",
		"from=2025-02-30&to=2025-03-01", "from=2025-01-01&to=" + tomorrow, "from=1999-12-31&to=2025-01-01"} {
		code, body, _ := getAs(t, base, "org", "/api/v1/volunteers/V1/certificate.pdf?"+bad)
		if code != http.StatusBadRequest || !strings.Contains(string(body), "日期格式不对") {
			t.Errorf("%s: %d %s, want 400 with 日期格式不对", bad, code, body)
		}
	}

	// The organisation's administrator issues one.
	code, pdf, hdr := getAs(t, base, "org", q)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/pdf" {
		t.Fatalf("certificate: %d %s %s", code, hdr.Get("Content-Type"), pdf)
	}
	number := hdr.Get("X-Certificate-Number")
	text := certtest.Text(t, pdf)
	flat := strings.Join(strings.Fields(text), "")
	for _, want := range []string{"志愿服务证明", "王小明", "5308**********1236", "思茅区志愿服务联合会", "赵六", "org", "0879-2123456",
		number, "2025年3月1日至2025年4月30日", "累计志愿服务时长6小时", "共4条服务记录", "社区助老（2次，3.5小时）", "环境保护（2次，2.5小时）"} {
		if !strings.Contains(flat, strings.Join(strings.Fields(want), "")) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	// 期间, card, manual, together.
	if !certtest.HasRow(text, "2025年3月", "3.5", "0", "3.5") || !certtest.HasRow(text, "2025年4月", "0.5", "2", "2.5") ||
		!certtest.HasRow(text, "合计", "4", "2", "6") {
		t.Errorf("the hours table is wrong:\n%s", text)
	}
	if strings.Contains(text, "13987912345") || strings.Contains(text, "530802199003071236") {
		t.Errorf("the PDF carries the phone or the full ID number:\n%s", text)
	}
	url := certtest.QR(t, pdf)
	if url != base+"/verify/"+number {
		t.Fatalf("QR code %q, want %q", url, base+"/verify/"+number)
	}

	// The verification page, opened from the QR code without a login.
	page := func(want int, has ...string) string {
		t.Helper()
		code, body, _ := getAs(t, url, "", "")
		s := string(body)
		if code != want {
			t.Fatalf("verify: %d, want %d: %s", code, want, s)
		}
		for _, h := range has {
			if !strings.Contains(s, h) {
				t.Errorf("verify page lacks %q:\n%s", h, s)
			}
		}
		for _, no := range []string{"王小明", "530802199003071236", "5308**********1236", "13987912345", "1398****2345", "茶源社区志愿服务队"} {
			if strings.Contains(s, no) {
				t.Errorf("verify page shows %q", no)
			}
		}
		return s
	}
	page(http.StatusOK, number, "有效", "王*明", "2025年3月1日 至 2025年4月30日", "合计 6 小时", "刷卡记录 4 小时", "补录记录 2 小时")

	// The list.
	code, body, _ := getAs(t, base, "simao", "/api/v1/volunteers/V1/certificates")
	var list struct {
		Certificates []api.CertificateView `json:"certificates"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Certificates) != 1 ||
		list.Certificates[0].Number != number || list.Certificates[0].TotalHours != 6 || list.Certificates[0].CardHours != 4 ||
		list.Certificates[0].ManualHours != 2 || list.Certificates[0].Status != "valid" || list.Certificates[0].Issuer != "思茅区志愿服务联合会" {
		t.Fatalf("list: %d %s", code, body)
	}

	// Revocation: a reason is required; out of scope is 404; a county
	// that sees the volunteer but did not issue it may not; the issuer may.
	revoke := "/api/v1/certificates/" + number + "/revoke"
	for _, h := range []struct {
		user, path, body string
		want             int
		has              string
	}{
		{"org", revoke, `{"reason": "  "}`, http.StatusBadRequest, "撤销原因"},
		{"org", revoke, `{}`, http.StatusBadRequest, "撤销原因"},
		{"ninger", revoke, `{"reason": "x"}`, http.StatusNotFound, "找不到"},
		{"ninger-reader", revoke, `{"reason": "x"}`, http.StatusForbidden, "审计员"},
		{"manager", revoke, `{"reason": "x"}`, http.StatusForbidden, "出具这份证明的单位"},
		{"simao", revoke, `{"reason": "x"}`, http.StatusForbidden, "出具这份证明的单位"},
		{"auditor", revoke, `{"reason": "x"}`, http.StatusForbidden, "审计员"},
		{"org", "/api/v1/certificates/PE2025AAAAAAAAAA/revoke", `{"reason": "x"}`, http.StatusNotFound, "找不到"},
		{"org", "/api/v1/certificates/nonsense/revoke", `{"reason": "x"}`, http.StatusNotFound, "找不到"},
		{"org", revoke, `{"reason": "服务时长登记有误"}`, http.StatusOK, `"status":"revoked"`},
		{"org", revoke, `{"reason": "again"}`, http.StatusConflict, "已经撤销"},
		{"city", revoke, `{"reason": "again"}`, http.StatusConflict, "已经撤销"},
	} {
		code, body := as(t, base, h.user, "POST", h.path, h.body)
		if code != h.want || !strings.Contains(body, h.has) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", h.user, h.path, h.body, code, body, h.want, h.has)
		}
	}
	today := calendar.Day(time.Now())
	page(http.StatusOK, number, "已撤销", "撤销日期："+fmt.Sprintf("%s年%s月%s日", today[:4], strings.TrimLeft(today[5:7], "0"), strings.TrimLeft(today[8:], "0")), "合计 6 小时")

	// The city revokes any in its scope.
	_, pdf2, hdr2 := getAs(t, base, "simao", q)
	if n := hdr2.Get("X-Certificate-Number"); n == "" || n == number || !strings.Contains(certtest.Text(t, pdf2), "志愿服务主管部门") {
		t.Errorf("a county's certificate %q names the leading office? %s", n, certtest.Text(t, pdf2))
	} else if code, body := as(t, base, "city", "POST", "/api/v1/certificates/"+n+"/revoke", `{"reason": "重复出具"}`); code != http.StatusOK {
		t.Errorf("city revokes: %d %s", code, body)
	}

	// An unknown or malformed number says so.
	for _, n := range []string{"PE2025AAAAAAAAAA", "nonsense", "%3Cscript%3E"} {
		code, body, _ := getAs(t, base, "", "/verify/"+n)
		if code != http.StatusNotFound || !strings.Contains(string(body), "没有编号为") || strings.Contains(string(body), "<script>") {
			t.Errorf("verify %s: %d %s", n, code, body)
		}
	}

	// The QR code points at the public-url setting once it is set.
	if err := c.db.SetPublicURL(context.Background(), "https://leifeng.example.cn/", time.Now()); err != nil {
		t.Fatal(err)
	}
	_, pdf3, hdr3 := getAs(t, base, "city", q)
	if got, want := certtest.QR(t, pdf3), "https://leifeng.example.cn/verify/"+hdr3.Get("X-Certificate-Number"); got != want {
		t.Errorf("QR code %q, want %q", got, want)
	}

	// Issue and revoke are in the audit log, with the number.
	code, body, _ = getAs(t, base, "city", "/api/v1/audit?limit=500")
	for _, want := range []string{"certificate.issue", "certificate.revoke", "volunteer V1, certificate 2025-03-01..2025-04-30 " + number} {
		if code != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("audit log lacks %q: %d", want, code)
		}
	}
}

// The public page allows a few lookups per address, then 429 in Chinese.
func TestVerifyRateLimited(t *testing.T) {
	c := newTestCloud(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(c.db, prometheus.NewRegistry(), log, &api.Fleet{Store: c.db, VerifyLimit: 3, VerifyWindow: time.Hour}))
	defer srv.Close()
	for i := range 4 {
		code, body, hdr := getAs(t, srv.URL, "", "/verify/PE2025AAAAAAAAAA")
		want := http.StatusNotFound
		if i == 3 {
			want = http.StatusTooManyRequests
			if !strings.Contains(string(body), "查询太频繁") || hdr.Get("Retry-After") == "" {
				t.Errorf("429 without its message or Retry-After: %s", body)
			}
		}
		if code != want {
			t.Fatalf("lookup %d: %d, want %d", i+1, code, want)
		}
	}
}
