package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/api"
	"leifeng/cloud/rollout"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/gateway/wire"
)

type rolloutView struct {
	ID        int64  `json:"id"`
	Phase     int    `json:"phase"`
	State     string `json:"state"`
	StateText string `json:"state_text"`
	Reason    string `json:"reason"`
	Stations  []struct {
		Station string `json:"station"`
		Step    string `json:"step"`
		Text    string `json:"text"`
		Offered string `json:"offered"`
	} `json:"stations"`
}

// The rollout endpoints behind the admin login: create (refused for a
// release the hosted repository did not sign), list, show with each
// station's status in Chinese, hold, pause, resume, advance, abort; the
// refusals in Chinese; /firmware/ served to kiosks without a login.
func TestRolloutAPI(t *testing.T) {
	c := newTestCloud(t)
	c.addStation("pe-a", "思茅区")
	c.addStation("pe-b", "宁洱县")
	c.addStation("pe-c", "思茅区")
	kit := releasetest.New(t)
	kit.Publish(t, "kiosk-1.2.0.tar", release.Manifest{Version: "1.2.0", Board: "rpi4", Arch: "arm64", Kind: release.KindProgram},
		map[string][]byte{"leifeng-kiosk": []byte("new")})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := rollout.NewService(c.db, c.svc, "", log)
	svc.Repo = kit.Repo
	srv := httptest.NewServer(api.New(c.db, prometheus.NewRegistry(), log,
		&api.Fleet{Service: c.svc, Store: c.db,
			Rollouts: &api.Rollouts{Service: svc, Repo: kit.Repo.Dir}}))
	defer srv.Close()
	svc.URL = srv.URL + "/firmware"
	c.srv = srv

	for _, p := range []string{"/api/v1/rollouts", "/api/v1/rollouts/1"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a login: %s", p, resp.Status)
		}
	}
	resp, err := http.Post(srv.URL+"/api/v1/rollouts", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a login: %s", resp.Status)
	}
	resp, err = http.Get(srv.URL + "/firmware/metadata/1.root.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a kiosk cannot read the root metadata: %s", resp.Status)
	}

	refused := func(code int, body []byte, want int) {
		t.Helper()
		var e struct {
			MessageZh string `json:"message_zh"`
		}
		json.Unmarshal(body, &e)
		if code != want || e.MessageZh == "" {
			t.Fatalf("status %d (want %d): %s", code, want, body)
		}
	}
	code, body := c.call(http.MethodPost, "/api/v1/rollouts", rollout.Spec{Target: "kiosk-9.9.9.tar", Version: "9.9.9", Percents: []float64{100}})
	refused(code, body, http.StatusUnprocessableEntity)
	code, body = c.call(http.MethodPost, "/api/v1/rollouts", rollout.Spec{Target: "kiosk-1.2.0.tar", Version: "1.3.0", Percents: []float64{100}})
	refused(code, body, http.StatusUnprocessableEntity)
	code, body = c.call(http.MethodPost, "/api/v1/rollouts", rollout.Spec{Target: "kiosk-1.2.0.tar", Version: "1.2.0"})
	refused(code, body, http.StatusBadRequest)

	code, body = c.call(http.MethodPost, "/api/v1/rollouts", map[string]any{"target": "kiosk-1.2.0.tar", "version": "1.2.0",
		"canary": []string{"pe-a"}, "percents": []float64{100}, "holds": []map[string]string{{"kind": "county", "value": "宁洱县"}}})
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	var v rolloutView
	json.Unmarshal(body, &v)
	if v.ID != 1 || v.State != "active" || len(v.Stations) != 1 || v.Stations[0].Station != "pe-a" || v.Stations[0].Text != "已提供" ||
		!strings.HasSuffix(v.Stations[0].Offered, "+08:00") {
		t.Fatalf("created: %s", body)
	}
	state := func(station, step, reason string) {
		t.Helper()
		if err := c.db.SaveState(context.Background(), &wire.State{V: wire.Version, Station: station, Online: true,
			Update: &wire.UpdateStatus{Version: "1.2.0", Step: step, Reason: reason, Done: 30, Total: 100}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	show := func() rolloutView {
		t.Helper()
		code, body := c.call(http.MethodGet, "/api/v1/rollouts/1", nil)
		if code != http.StatusOK {
			t.Fatalf("show: %d %s", code, body)
		}
		var v rolloutView
		json.Unmarshal(body, &v)
		return v
	}
	state("pe-a", wire.UpdateDownloading, "")
	if v := show(); v.Stations[0].Text != "下载中 30%" {
		t.Fatalf("downloading: %+v", v.Stations)
	}
	state("pe-a", wire.UpdateRolledBack, "新版本未通过健康检查：读卡器没有回应")
	if v := show(); v.State != "paused" || v.StateText != "已暂停" || v.Stations[0].Text != "已回滚（新版本未通过健康检查：读卡器没有回应）" ||
		!strings.Contains(v.Reason, "自动暂停") {
		t.Fatalf("after the canary rolled back: %+v", v)
	}

	act := func(action string, body any, want int) rolloutView {
		t.Helper()
		code, out := c.call(http.MethodPost, "/api/v1/rollouts/1/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %s", action, code, out)
		}
		var v rolloutView
		json.Unmarshal(out, &v)
		return v
	}
	act("advance", nil, http.StatusConflict)
	act("pause", nil, http.StatusConflict)
	act("resume", nil, http.StatusOK)
	act("hold", api.HoldRequest{Kind: "station", Value: "pe-c"}, http.StatusOK)
	act("hold", api.HoldRequest{Kind: "planet", Value: "x"}, http.StatusBadRequest)
	act("fly", nil, http.StatusBadRequest)
	// The last phase: its stations are held, but the canary that rolled
	// back has not committed, so it is not done.
	if v := act("advance", nil, http.StatusOK); v.Phase != 1 || len(v.Stations) != 1 || v.State != "active" {
		t.Fatalf("advanced with pe-b's county and pe-c held: %+v", v)
	}
	if v := act("hold", api.HoldRequest{Kind: "station", Value: "pe-c", Off: true}, http.StatusOK); v.State != "active" ||
		len(v.Stations) != 2 || v.Stations[1].Station != "pe-c" {
		t.Fatalf("pe-c let back in: %+v", v.Stations)
	}
	state("pe-a", wire.UpdateCommitted, "")
	state("pe-c", wire.UpdateCommitted, "")
	act("pause", nil, http.StatusOK)
	if v := act("resume", nil, http.StatusOK); v.State != "done" || v.StateText != "已完成" {
		t.Fatalf("every station offered committed: %+v", v)
	}
	act("abort", nil, http.StatusConflict)
	act("hold", api.HoldRequest{Kind: "county", Value: "宁洱县", Off: true}, http.StatusOK)
	if v := act("abort", nil, http.StatusOK); v.State != "aborted" || v.StateText != "已中止" || len(v.Stations) != 3 {
		t.Fatalf("abort after pe-b's county was let back in: %+v", v)
	}
	code, body = c.call(http.MethodGet, "/api/v1/rollouts", nil)
	var list struct{ Rollouts []rolloutView }
	json.Unmarshal(body, &list)
	if code != http.StatusOK || len(list.Rollouts) != 1 || list.Rollouts[0].State != "aborted" {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = c.call(http.MethodGet, "/api/v1/rollouts/99", nil)
	refused(code, body, http.StatusNotFound)
}
