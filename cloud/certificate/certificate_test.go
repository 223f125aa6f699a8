package certificate

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/certificate/certtest"
	"leifeng/cloud/store"
)

func rec(id, ledger, status, day, content string, cents int64) store.ServiceRecord {
	return store.ServiceRecord{ID: id, Ledger: ledger, Status: status, Day: day, Content: content, CountedCents: cents}
}

// handRecords: 1.5 + 2 + 0.5 = 4 h by card and 2 h by hand, final, in
// March and April 2026; besides them records that must not count (in
// review, rejected, objected, outside the range).
func handRecords() []store.ServiceRecord {
	return []store.ServiceRecord{
		rec("tap:1", store.LedgerCard, store.StatusFinal, "2026-03-02", "社区助老", 150),
		rec("tap:2", store.LedgerCard, store.StatusFinal, "2026-03-15", "社区助老", 200),
		rec("tap:3", store.LedgerCard, store.StatusFinal, "2026-04-01", "环境保护", 50),
		rec("man:1", store.LedgerManual, store.StatusFinal, "2026-04-20", "环境保护", 200),
		rec("tap:4", store.LedgerCard, store.StatusReview, "2026-03-03", "社区助老", 300),
		rec("tap:5", store.LedgerCard, store.StatusNotice, "2026-03-04", "社区助老", 300),
		rec("tap:6", store.LedgerCard, store.StatusObjected, "2026-03-05", "社区助老", 300),
		rec("man:2", store.LedgerManual, store.StatusRejected, "2026-03-06", "社区助老", 300),
		rec("tap:7", store.LedgerCard, store.StatusFinal, "2026-05-01", "社区助老", 300),
		rec("tap:8", store.LedgerCard, store.StatusFinal, "2026-02-28", "社区助老", 300),
	}
}

func TestSummarizeByHand(t *testing.T) {
	periods, total, n, content := Summarize(handRecords(), "2026-03-01", "2026-04-30")
	if n != 4 || total.Card != 400 || total.Manual != 200 || total.Imported != 0 || total.Sum() != 600 {
		t.Fatalf("n %d total %+v, want 4 records, 4 h card, 2 h manual", n, total)
	}
	if len(periods) != 2 || periods[0].Label != "2026年3月" || periods[0].Card != 350 || periods[0].Manual != 0 ||
		periods[1].Label != "2026年4月" || periods[1].Card != 50 || periods[1].Manual != 200 {
		t.Fatalf("periods %+v", periods)
	}
	if content != "社区助老（2次，3.5小时）；环境保护（2次，2.5小时）" {
		t.Fatalf("content %q", content)
	}
	// Over twelve months: by year, each year of the range.
	periods, total, _, _ = Summarize(handRecords(), "2025-01-01", "2026-12-31")
	if len(periods) != 2 || periods[0].Label != "2025年" || periods[0].Sum() != 0 || periods[1].Label != "2026年" ||
		periods[1].Sum() != 1200 || total.Sum() != 1200 {
		t.Fatalf("by year %+v %+v", periods, total)
	}
	// Exactly twelve months: by month.
	if periods, _, _, _ = Summarize(nil, "2026-01-15", "2026-12-01"); len(periods) != 12 {
		t.Fatalf("%d periods for twelve months", len(periods))
	}
}

func TestHours(t *testing.T) {
	for cents, want := range map[int64]string{0: "0", 400: "4", 150: "1.5", 125: "1.25", 5: "0.05", 1010: "10.1"} {
		if got := Hours(cents); got != want {
			t.Errorf("Hours(%d) = %q, want %q", cents, got, want)
		}
	}
}

func TestNumbers(t *testing.T) {
	now := time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC) // 2027-01-01 in CST
	seen := map[string]bool{}
	for range 1000 {
		n, err := NewNumber(now)
		if err != nil {
			t.Fatal(err)
		}
		if !ValidNumber(n) || !strings.HasPrefix(n, "PE2027") || seen[n] {
			t.Fatalf("number %q", n)
		}
		seen[n] = true
	}
	for _, bad := range []string{"", "PE2026", "PE2026ABCDEFGHI1", "pe2026abcdefghij", "PE2026ABCDEFGHIJK", "../etc/passwd"} {
		if ValidNumber(bad) {
			t.Errorf("%q valid", bad)
		}
	}
}

func TestPDF(t *testing.T) {
	periods, total, n, content := Summarize(handRecords(), "2026-03-01", "2026-04-30")
	c := &Certificate{Number: "PE2026ABCDEFGHJK", Name: "欧阳娜娜", IDMasked: "5308**********1234", NationalID: "Z53080012345",
		VolunteerID: "V1", From: "2026-03-01", To: "2026-04-30", Periods: periods, Total: total, Records: n, Content: content,
		Issuer:    Issuer{Org: "茶源社区志愿服务队", Lead: "李四", Handler: "王五", Contact: "0879-2123456"},
		Issued:    time.Date(2026, 5, 3, 10, 0, 0, 0, calendar.CST),
		VerifyURL: "https://leifeng.example.cn/verify/PE2026ABCDEFGHJK"}
	var b bytes.Buffer
	if err := c.PDF(&b); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("LEIFENG_CERT_PDF"); out != "" { // to look at it
		os.WriteFile(out, b.Bytes(), 0o644)
	}
	if b.Len() > 200<<10 {
		t.Errorf("PDF of %d KB: the font should be embedded as a subset", b.Len()>>10)
	}
	text := certtest.Text(t, b.Bytes())
	for _, want := range []string{"志愿服务证明", "欧阳娜娜", "5308**********1234", "Z53080012345", "茶源社区志愿服务队", "李四", "王五",
		"0879-2123456", "PE2026ABCDEFGHJK", "2026年5月3日", "2026年3月1日 至 2026年4月30日", "2026年3月", "2026年4月",
		"社区助老（2次，3.5小时）", "累计志愿服务时长 6 小时", "共4条服务记录"} {
		if !strings.Contains(text, want) && !strings.Contains(strings.Join(strings.Fields(text), ""), strings.Join(strings.Fields(want), "")) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
	// The total row: 合计 4 (card) 2 (manual) 6 (together).
	if !certtest.HasRow(text, "合计", "4", "2", "6") || !certtest.HasRow(text, "2026年3月", "3.5", "0", "3.5") || !certtest.HasRow(text, "2026年4月", "0.5", "2", "2.5") {
		t.Errorf("the hours table is wrong:\n%s", text)
	}
	if got := certtest.QR(t, b.Bytes()); got != c.VerifyURL {
		t.Errorf("QR code %q, want %q", got, c.VerifyURL)
	}
}

// BenchmarkPDF: one certificate of a year by month, from the records to
// the PDF's bytes (the font parsed and subset each time).
func BenchmarkPDF(b *testing.B) {
	periods, total, n, content := Summarize(handRecords(), "2026-01-01", "2026-12-31")
	c := &Certificate{Number: "PE2026ABCDEFGHJK", Name: "欧阳娜娜", IDMasked: "5308**********1234", VolunteerID: "V1",
		From: "2026-01-01", To: "2026-12-31", Periods: periods, Total: total, Records: n, Content: content,
		Issuer: Issuer{Org: "茶源社区志愿服务队", Handler: "王五"}, Issued: time.Now(),
		VerifyURL: "https://leifeng.example.cn/verify/PE2026ABCDEFGHJK"}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := c.PDF(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1024, "KB/pdf")
}
