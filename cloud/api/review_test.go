package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

type queueView struct {
	Sessions []struct {
		Volunteer string   `json:"volunteer"`
		CheckIn   string   `json:"check_in"`
		Station   string   `json:"station"`
		Start     string   `json:"start"`
		Flags     []string `json:"flags"`
	} `json:"sessions"`
}

func (c *testCloud) queue() queueView {
	c.t.Helper()
	code, body := c.do(hit{method: "GET", path: "/api/v1/review/sessions"})
	var q queueView
	if code != 200 || json.Unmarshal([]byte(body), &q) != nil {
		c.t.Fatalf("review queue: %d %s", code, body)
	}
	return q
}

func (c *testCloud) hoursOf(volunteer string) (float64, string) {
	c.t.Helper()
	code, body := c.do(hit{method: "GET", path: "/api/v1/volunteers/" + volunteer + "/hours"})
	var h struct{ Hours float64 }
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil {
		c.t.Fatalf("hours of %s: %d %s", volunteer, code, body)
	}
	return h.Hours, body
}

// The review queue through the API: a flagged session is listed (times in
// China Standard Time) and counts nothing until the logged-in reviewer
// approves it, after which /api/v1/volunteers/{id}/hours counts it; one
// not approved leaves the queue and stays out; mistakes are refused in
// Chinese; nothing answers without a login.
func TestReviewSessions(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.session("pe-simao-001", "V3", 1, time.Hour)
	c.session("pe-simao-001", "V1", 10, 13*time.Hour) // longer than the 12 h maximum: flagged
	c.session("pe-simao-001", "V2", 20, 14*time.Hour)

	anon := []hit{
		{name: "queue", method: "GET", path: "/api/v1/review/sessions"},
		{name: "decide", method: "POST", path: "/api/v1/review/sessions/x", body: `{"approve":true}`},
		{name: "refused", method: "GET", path: "/api/v1/review/rejected"},
		{name: "clones", method: "GET", path: "/api/v1/review/clone-alerts"},
	}
	for i := range anon {
		anon[i].anon, anon[i].want, anon[i].has = true, http.StatusUnauthorized, "login required"
	}
	c.run(t, anon)

	q := c.queue()
	if len(q.Sessions) != 2 || q.Sessions[0].Volunteer != "V2" || q.Sessions[1].Volunteer != "V1" ||
		q.Sessions[1].Flags[0] != "too_long" || !strings.HasSuffix(q.Sessions[0].Start, "+08:00") {
		t.Fatalf("queue: %+v", q)
	}
	v2, v1 := q.Sessions[0].CheckIn, q.Sessions[1].CheckIn
	if h, body := c.hoursOf("V1"); h != 0 || !strings.Contains(body, `"flagged":1`) {
		t.Fatalf("V1 before review: %s, want 0 h", body)
	}

	unknown, _ := wire.NewRecordID()
	c.run(t, []hit{
		{name: "no decision", method: "POST", path: "/api/v1/review/sessions/" + v1, body: `{"note":"x"}`, want: 400, has: "message_zh"},
		{name: "not JSON", method: "POST", path: "/api/v1/review/sessions/" + v1, body: `{`, want: 400, has: "通过"},
		{name: "unknown session", method: "POST", path: "/api/v1/review/sessions/" + unknown, body: `{"approve":true}`, want: 404, has: "找不到"},
		{name: "not a record ID", method: "POST", path: "/api/v1/review/sessions/nope", body: `{"approve":true}`, want: 404, has: "message_zh"},
		{name: "bad since", method: "GET", path: "/api/v1/review/sessions?since=yesterday", want: 400, has: "2026-03-01"},
		{name: "since tomorrow", method: "GET", path: "/api/v1/review/sessions?since=" + time.Now().AddDate(0, 0, 2).Format(time.DateOnly), want: 200, has: `"sessions":[]`},
	})

	code, body := c.do(hit{method: "POST", path: "/api/v1/review/sessions/" + v1, body: `{"approve":true,"note":"核实：全天驻点"}`})
	var res struct {
		Approved bool
		Reviewer string
		At       string
	}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || !res.Approved || res.Reviewer != "admin" || !strings.HasSuffix(res.At, "+08:00") {
		t.Fatalf("approve: %d %s", code, body)
	}
	if h, body := c.hoursOf("V1"); h != 13 || !strings.Contains(body, `"approved":true`) {
		t.Fatalf("V1 after approval: %s, want 13 h", body)
	}
	code, body = c.do(hit{method: "POST", path: "/api/v1/review/sessions/" + v2, body: `{"approve":false,"note":"无法核实"}`})
	if code != 200 || !strings.Contains(body, `"approved":false`) {
		t.Fatalf("reject: %d %s", code, body)
	}
	if h, body := c.hoursOf("V2"); h != 0 || !strings.Contains(body, `"rejected":true`) {
		t.Fatalf("V2 after rejection: %s, want 0 h", body)
	}
	if q := c.queue(); len(q.Sessions) != 0 {
		t.Fatalf("queue after both decisions: %+v", q)
	}
	// The one-hour session of V3 was never flagged.
	code, body = c.do(hit{method: "GET", path: "/api/v1/volunteers/V3/hours"})
	var h struct {
		List []struct {
			CheckIn string `json:"check_in"`
			Flags   []string
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil {
		t.Fatal(code, body)
	}
	if len(h.List) != 1 || len(h.List[0].Flags) != 0 {
		t.Fatalf("V3: %s", body)
	}
	c.run(t, []hit{{name: "unflagged", method: "POST", path: "/api/v1/review/sessions/" + h.List[0].CheckIn, body: `{"approve":true}`, want: 409, has: "不需要审核"}})
}

// Refused records and clone alerts through the API, times in China
// Standard Time.
func TestReviewRejectedAndClones(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	ctx := context.Background()
	at := time.Now().Add(-time.Hour).UTC()
	id, _ := wire.NewRecordID()
	bad := ingest.Entry{Record: wire.Record{ID: id, Station: "pe-simao-001", Kind: wire.KindCheckIn, Volunteer: "V1", At: at, Seq: 1},
		Time: at, Received: at}
	if err := c.db.Refuse(ctx, bad, "seq out of range"); err != nil {
		t.Fatal(err)
	}
	code, body := c.do(hit{method: "GET", path: "/api/v1/review/rejected?station=pe-simao-001"})
	var rej struct {
		Records []struct {
			ID, Reason, Received string
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &rej) != nil || len(rej.Records) != 1 || rej.Records[0].ID != id ||
		rej.Records[0].Reason != "seq out of range" || !strings.HasSuffix(rej.Records[0].Received, "+08:00") {
		t.Fatalf("refused records: %d %s", code, body)
	}
	c.run(t, []hit{{name: "other station", method: "GET", path: "/api/v1/review/rejected?station=pe-other-001", want: 200, has: `"records":[]`}})

	var taps []ingest.Entry
	for i := range 2 {
		rid, _ := wire.NewRecordID()
		tt := at.Add(time.Duration(i) * time.Minute)
		taps = append(taps, ingest.Entry{Record: wire.Record{ID: rid, Station: "pe-simao-001", Kind: wire.KindCheckIn, Volunteer: "V7",
			Card: "PE00000007", Counter: 5, At: tt, Mono: int64(i + 1), Boot: "b", ClockSynced: true, Seq: uint64(10 + i)}, Time: tt, Received: tt})
	}
	if _, err := c.db.Ingest(ctx, taps); err != nil {
		t.Fatal(err)
	}
	if n, err := c.db.CheckClones(ctx, taps); err != nil || n != 1 {
		t.Fatalf("clone check: %d, %v", n, err)
	}
	code, body = c.do(hit{method: "GET", path: "/api/v1/review/clone-alerts?card=PE00000007"})
	var cl struct {
		Alerts []struct{ Card, Reason, Detected string }
	}
	if code != 200 || json.Unmarshal([]byte(body), &cl) != nil || len(cl.Alerts) != 1 || cl.Alerts[0].Reason != "counter_repeat" ||
		!strings.HasSuffix(cl.Alerts[0].Detected, "+08:00") {
		t.Fatalf("clone alerts: %d %s", code, body)
	}
}

// The console's review page on the API's session: the admin logs in on
// the console's form with the token, sees the flagged session on 待审核
// and approves it with the form (CSRF token and all); the reviewer is the
// admin, and the session now counts.
func TestConsoleReviewPage(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-simao-001", "思茅区")
	c.session("pe-simao-001", "V1", 10, 13*time.Hour) // flagged
	b := c.consoleLogin()
	code, body := b.get("/console/review")
	q := c.queue()
	if code != 200 || len(q.Sessions) != 1 || !strings.Contains(body, `data-check-in="`+q.Sessions[0].CheckIn+`"`) ||
		!strings.Contains(body, ">通过<") || !strings.Contains(body, ">不通过<") || !strings.Contains(body, "时间过长") {
		t.Fatalf("review page (%d):\n%s", code, body)
	}
	code, body = b.post("/console/review/"+q.Sessions[0].CheckIn, url.Values{"approve": {"true"}, "note": {"站长确认"}})
	if code != 200 || !strings.Contains(body, "已通过") {
		t.Fatalf("approve: %d %s", code, body)
	}
	if h, _ := c.hoursOf("V1"); h != 13 {
		t.Fatalf("approved from the console, V1 has %v hours", h)
	}
}
