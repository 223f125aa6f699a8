package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
)

// The certificates on a volunteer's page: the form "出具服务证明" leads to
// the API's PDF; the list shows each certificate with its verification
// link; the issuing organisation (or the city) revokes with a reason, a
// county that did not issue it may not, one out of scope gets 404, an
// auditor sees no form.
func TestCertificatesOnVolunteerPage(t *testing.T) {
	each(t, func(t *testing.T, c *testConsole) {
		c.importCSV(c.login("city"), "volunteers", "v.csv", "id,name,id_number,community,phone,service_types,orgs\n"+
			"V1,王小明,530802199003071236,530802001001,13987912345,关爱空巢老人,org-1\n", 200)
		ctx := context.Background()
		for _, n := range []string{"PE2025AAAAAAAAAA", "PE2025BBBBBBBBBB"} {
			if err := c.db.PutCertificate(ctx, &store.Certificate{Number: n, Volunteer: "V1", MaskedName: "王*明", From: "2025-03-01",
				To: "2025-04-30", CardCents: 400, Manual: 200, TotalCents: 600, Records: 4, Issuer: "思茅区青年志愿服务队",
				IssuedBy: "orgadmin", Issued: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		org, simao, ninger, auditor := c.login("orgadmin"), c.login("simao"), c.login("ninger"), c.login("auditor")
		code, body := org.get("/console/volunteers/V1")
		if code != 200 {
			t.Fatalf("volunteer page: %d", code)
		}
		has(t, "page", body, `id="certificateForm"`, `action="/api/v1/volunteers/V1/certificate.pdf"`, "出具服务证明",
			`data-certificate="PE2025AAAAAAAAAA"`, `href="/verify/PE2025AAAAAAAAAA"`, "6（刷卡 4，补录 2）", "有效",
			`action="/console/volunteers/V1/certificates/PE2025AAAAAAAAAA/revoke"`)
		_, body = auditor.get("/console/volunteers/V1")
		has(t, "auditor", body, `data-certificate="PE2025AAAAAAAAAA"`)
		hasNot(t, "auditor", body, `id="certificateForm"`, "/revoke")
		_, body = simao.get("/console/volunteers/V1")
		hasNot(t, "county", body, "certificates/PE2025AAAAAAAAAA/revoke")

		revoke := "/console/volunteers/V1/certificates/PE2025AAAAAAAAAA/revoke"
		if code, body := org.post(revoke, url.Values{"reason": {" "}}); code != 400 || !strings.Contains(body, "请填写撤销原因") {
			t.Errorf("no reason: %d", code)
		}
		if code, body := simao.post(revoke, url.Values{"reason": {"x"}}); code != 403 || !strings.Contains(body, "出具这份证明的单位") {
			t.Errorf("a county that did not issue it: %d", code)
		}
		if code, _ := ninger.post(revoke, url.Values{"reason": {"x"}}); code != 404 {
			t.Errorf("out of scope: %d, want 404", code)
		}
		if code, _ := auditor.post(revoke, url.Values{"reason": {"x"}}); code != 403 {
			t.Errorf("auditor: %d, want 403", code)
		}
		if code, _ := org.post("/console/volunteers/V1/certificates/PE2025CCCCCCCCCC/revoke", url.Values{"reason": {"x"}}); code != 404 {
			t.Errorf("unknown number: %d, want 404", code)
		}
		code, body = org.post(revoke, url.Values{"reason": {"时长登记有误"}})
		if code != 200 {
			t.Fatalf("revoke: %d", code)
		}
		has(t, "revoked", body, "证明 PE2025AAAAAAAAAA 已撤销", "已撤销（", "时长登记有误")
		if got, err := c.db.Certificate(ctx, "PE2025AAAAAAAAAA"); err != nil || got.Revoked.IsZero() || got.RevokedBy != "orgadmin" {
			t.Fatalf("stored: %+v %v", got, err)
		}
		// The city revokes one it did not issue.
		if code, _ := c.login("city").post("/console/volunteers/V1/certificates/PE2025BBBBBBBBBB/revoke", url.Values{"reason": {"重复"}}); code != 200 {
			t.Errorf("city: %d", code)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if !strings.Contains(strings.Join(c.audited, "\n"), "orgadmin certificate.revoke certificate PE2025AAAAAAAAAA") {
			t.Errorf("not audited: %v", c.audited)
		}
	})
}
