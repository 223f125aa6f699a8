package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/access"
	"leifeng/cloud/api"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
	"leifeng/internal/pgtest"
)

// volToken is the API token of the city administrator of the last
// volunteerCloud.
var volToken string

// volunteerCloud is the API over a store of one backend with the
// volunteer routes, two communities and an organisation.
func volunteerCloud(t *testing.T, dsn string, scope func(context.Context) (store.VolunteerScope, error)) (*httptest.Server, *store.Store) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vault, err := people.NewVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveAreas(ctx, []people.Area{
		{Code: "5308", Name: "普洱市", Level: people.LevelCity},
		{Code: "530802", Name: "思茅区", Parent: "5308", Level: people.LevelCounty},
		{Code: "530802001", Name: "思茅街道", Parent: "530802", Level: people.LevelTownship},
		{Code: "530802001001", Name: "茶源社区", Parent: "530802001", Level: people.LevelCommunity},
		{Code: "530802001002", Name: "南屏社区", Parent: "530802001", Level: people.LevelCommunity},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveOrganisations(ctx, []people.Organisation{{ID: "O1", Name: "茶源社区志愿服务队"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	volToken = api.SeedUser(t, db, "admin", access.City, "", adminPassword, false)
	srv := httptest.NewServer(api.New(db, prometheus.NewRegistry(), log, &api.Fleet{Store: db,
		Volunteers: &api.Volunteers{Store: db, Vault: vault, Scope: scope}}))
	t.Cleanup(srv.Close)
	return srv, db
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+volToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// The volunteer routes on both databases: register, a duplicate refused
// with its reason in Chinese, search by name and phone, edit and history,
// the export in JSON and CSV, deregistration, and 404 out of scope.
func TestVolunteerAPI(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "leifeng.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t, pgtest.Start(t)) }},
	} {
		t.Run(be.name, func(t *testing.T) { testVolunteerAPI(t, be.dsn(t)) })
	}
}

func testVolunteerAPI(t *testing.T, dsn string) {
	srv, db := volunteerCloud(t, dsn, nil)
	const idNumber = "11010519491231002X"
	form := `{"id":"V1","name":"王小明","id_number":"` + idNumber + `","community":"530802001001","phone":"13987912345",
		"skills":["理发"],"group":"党员","orgs":["O1"]}`
	for _, c := range []struct {
		method, path, body string
		want               int
		has                string
	}{
		{"POST", "/api/v1/volunteers", form, 201, `"name":"王*明"`},
		{"POST", "/api/v1/volunteers", strings.Replace(form, `"V1"`, `"V2"`, 1), 409, "同一人不能重复注册"},
		{"POST", "/api/v1/volunteers", strings.Replace(form, `"V1"`, `""`, 1), 409, `"reason":"duplicate_person"`},
		{"POST", "/api/v1/volunteers", strings.Replace(form, "13987912345", "123", 1), 422, "联系电话格式不对"},
		{"POST", "/api/v1/volunteers", `{"id":"V3","name":"李四","id_number":"530802199003071236","community":"530802001002","phone":"13900000003"}`, 201, `"id":"V3"`},
		{"POST", "/api/v1/volunteers", `{"nonsense":1}`, 400, "message_zh"},
		{"GET", "/api/v1/volunteers?q=王", "", 200, `"id":"V1","name":"王*明"`},
		{"GET", "/api/v1/volunteers?q=13987912345", "", 200, `"phone":"139****2345"`},
		{"GET", "/api/v1/volunteers?q=" + idNumber, "", 200, `"id":"V1"`},
		{"GET", "/api/v1/volunteers?community=530802001002", "", 200, `"id":"V3"`},
		{"GET", "/api/v1/volunteers?page=0", "", 400, "页码"},
		{"PATCH", "/api/v1/volunteers/V1", `{"phone":"13987954321","name":"王晓明"}`, 200, `"before":"139****2345","after":"139****4321"`},
		{"PATCH", "/api/v1/volunteers/V1", `{"community":"999"}`, 422, "找不到该社区"},
		{"PATCH", "/api/v1/volunteers/V9", `{"phone":"13987954321"}`, 404, "不在您的管理范围内"},
		{"GET", "/api/v1/volunteers/V1/history", "", 200, `"field":"phone","before":"139****2345","after":"139****4321"`},
		{"GET", "/api/v1/volunteers/V1/export?format=xml", "", 400, "json 或 csv"},
	} {
		code, body, _ := call(t, srv, c.method, c.path, c.body)
		if code != c.want || !strings.Contains(body, c.has) {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, code, body, c.want, c.has)
		}
		if strings.Contains(body, "13987912345") || strings.Contains(body, "王小明") || strings.Contains(body, idNumber) {
			t.Errorf("%s %s: personal data in clear: %s", c.method, c.path, body)
		}
	}

	// Service records, then the export carries them and everything else.
	at := time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)
	in := ingest.Entry{Record: wire.Record{ID: mustID(t), Station: "pe-a", Kind: wire.KindCheckIn, Volunteer: "V1", Card: "C1",
		At: at, Boot: "b", ClockSynced: true, Seq: 1}, Time: at, Received: at}
	out := in
	out.ID, out.Kind, out.Ref, out.Seq, out.Mono = mustID(t), wire.KindCheckOut, in.ID, 2, int64(2*time.Hour)
	out.At, out.Time, out.Received = at.Add(2*time.Hour), at.Add(2*time.Hour), at.Add(2*time.Hour)
	if _, err := db.Ingest(context.Background(), []ingest.Entry{in, out}); err != nil {
		t.Fatal(err)
	}
	code, body, hdr := call(t, srv, "GET", "/api/v1/volunteers/V1/export?format=json", "")
	var x struct {
		Hours   struct{ Hours float64 }
		Records []json.RawMessage
		History []json.RawMessage
	}
	if code != 200 || json.Unmarshal([]byte(body), &x) != nil {
		t.Fatalf("export: %d %s", code, body)
	}
	if !strings.Contains(body, `"name": "王晓明"`) || !strings.Contains(body, `"phone": "13987954321"`) ||
		!strings.Contains(body, `"id_number": "`+idNumber+`"`) || x.Hours.Hours != 2 || len(x.Records) != 2 || len(x.History) != 3 {
		t.Errorf("export: %s", body)
	}
	if !strings.Contains(hdr.Get("Content-Disposition"), "volunteer-V1.json") {
		t.Errorf("export headers: %v", hdr)
	}
	code, body, _ = call(t, srv, "GET", "/api/v1/volunteers/V1/export?format=csv", "")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if code != 200 || err != nil {
		t.Fatalf("CSV export: %d %v %s", code, err, body)
	}
	found := map[string]string{}
	for _, r := range recs {
		found[r[0]+"/"+r[1]+"/"+r[2]] = r[3]
	}
	for k, want := range map[string]string{"volunteer//id_number": idNumber, "volunteer//name": "王晓明",
		"hours//hours": "2", "record/2/kind": "check_out", "organisation/1/name": "茶源社区志愿服务队", "history/2/field": "name"} {
		if found[k] != want {
			t.Errorf("CSV export %s = %q, want %q", k, found[k], want)
		}
	}

	// Deregistration: the hours stay, the rest goes.
	for _, c := range []struct {
		method, path, body string
		want               int
		has                string
	}{
		{"POST", "/api/v1/volunteers/V1/deregister", `{"reason":""}`, 400, "注销原因"},
		{"POST", "/api/v1/volunteers/V1/deregister", `{"reason":"本人申请"}`, 200, `"deregistered":true`},
		{"POST", "/api/v1/volunteers/V1/deregister", `{"reason":"本人申请"}`, 409, "已注销"},
		{"PATCH", "/api/v1/volunteers/V1", `{"phone":"13987954322"}`, 409, "已注销"},
		{"GET", "/api/v1/volunteers?q=王", "", 200, `"volunteers":[]`},
		{"GET", "/api/v1/volunteers/V1/hours", "", 200, `"hours":2`},
		{"GET", "/api/v1/volunteers/V1/export", "", 200, `"name": "王*明"`},
	} {
		code, body, _ := call(t, srv, c.method, c.path, c.body)
		if code != c.want || !strings.Contains(body, c.has) {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, code, body, c.want, c.has)
		}
	}
	if _, body, _ := call(t, srv, "GET", "/api/v1/volunteers/V1/export", ""); strings.Contains(body, "13987954321") || strings.Contains(body, idNumber) {
		t.Errorf("the export after deregistration still has removed data: %s", body)
	}
}

// A user scoped to one community sees its volunteers and gets 404 for
// the others, whatever the route.
func TestVolunteerAPIScope(t *testing.T) {
	srv, _ := volunteerCloud(t, "sqlite:"+filepath.Join(t.TempDir(), "leifeng.db"), func(context.Context) (store.VolunteerScope, error) {
		return store.VolunteerScope{Communities: []string{"530802001002"}}, nil
	})
	for _, c := range []struct {
		method, path, body string
		want               int
		has                string
	}{
		{"POST", "/api/v1/volunteers", `{"id":"V1","name":"王小明","id_number":"11010519491231002X","community":"530802001001","phone":"13987912345"}`, 422, "找不到该社区"},
		{"POST", "/api/v1/volunteers", `{"id":"V3","name":"李四","id_number":"530802199003071236","community":"530802001002","phone":"13900000003"}`, 201, `"id":"V3"`},
		{"PATCH", "/api/v1/volunteers/V3", `{"community":"530802001001"}`, 422, "找不到该社区"},
		{"GET", "/api/v1/volunteers?q=李", "", 200, `"id":"V3"`},
	} {
		code, body, _ := call(t, srv, c.method, c.path, c.body)
		if code != c.want || !strings.Contains(body, c.has) {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, code, body, c.want, c.has)
		}
	}
	// V1 registered outside the user's scope, by someone who sees it.
	ctx := context.Background()
	srvAll, dbAll := volunteerCloud(t, "sqlite:"+filepath.Join(t.TempDir(), "all.db"), func(context.Context) (store.VolunteerScope, error) {
		return store.VolunteerScope{Communities: []string{"530802001002"}}, nil
	})
	vault, _ := people.NewVault(make([]byte, 32))
	v := people.Volunteer{ID: "V1", Name: "王小明", IDNumber: "11010519491231002X", Community: "530802001001", Phone: "13987912345"}
	if err := v.Check(vault, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := dbAll.RegisterVolunteer(ctx, &v, "city", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/volunteers/V1", `{"phone":"13987954321"}`},
		{"GET", "/api/v1/volunteers/V1/history", ""},
		{"GET", "/api/v1/volunteers/V1/export", ""},
		{"POST", "/api/v1/volunteers/V1/deregister", `{"reason":"x"}`},
	} {
		if code, body, _ := call(t, srvAll, c.method, c.path, c.body); code != 404 || strings.Contains(body, "王") {
			t.Errorf("out of scope %s %s: %d %s, want 404", c.method, c.path, code, body)
		}
	}
	if _, body, _ := call(t, srvAll, "GET", "/api/v1/volunteers?q=王", ""); !strings.Contains(body, `"volunteers":[]`) {
		t.Errorf("search out of scope: %s", body)
	}
}

func mustID(t *testing.T) string {
	id, err := wire.NewRecordID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testVault(t *testing.T) *people.Vault {
	v, err := people.NewVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
