package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
	"leifeng/gateway/wire"
)

// The console's rollout section in Chromium: a station's reported
// rollback shows as 已回滚（reason） next to the rollout, which paused by
// itself at its threshold with the reason; the resume, pause and abort
// buttons act on it.
func TestConsoleRollout(t *testing.T) {
	browser := findChromium(t)
	data := publishedRepo(t)
	c := startCloud(t, cloudOpt{data: data, extra: []string{"--rollout-interval", "500ms"}})
	bundle := c.addStation(t, "pe-web-020", "思茅区")
	c.addStation(t, "pe-web-021", "思茅区")
	cloudCmd(t, "rollout", "create", "--api", c.http, "--data", data, "--target", "kiosk-1.1.0.tar", "--version", "1.1.0",
		"--canary", "pe-web-020", "--percents", "100")

	// The canary reports that 1.1.0 failed its health check and the old
	// version came back.
	bd, err := wire.ReadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	mq, err := connect(c.mqtt, "pe-web-020", bd.Username, bd.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Disconnect(50)
	st, err := wire.EncodeState(&wire.State{V: wire.Version, Station: "pe-web-020", Online: true, Firmware: "1.0.0",
		Update: &wire.UpdateStatus{Version: "1.1.0", Step: wire.UpdateRolledBack, Reason: "新版本未通过健康检查：读卡器没有回应", At: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if tok := mq.Publish(wire.StationTopic("pe-web-020", wire.LeafState), 1, true, st); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("state not published: %v", tok.Error())
	}

	page := openPage(t, browser, c.http+"/console")
	c.consoleLogin(t, page)
	page.goTo(t, c.http+"/console/rollouts")
	const sec = `document.querySelector('.rollout[data-rollout="1"]')`
	// The page is drawn by the cloud: look again until the rollout's
	// tick has seen the station's report.
	for deadline := time.Now().Add(20 * time.Second); ; page.goTo(t, c.http+"/console/rollouts") {
		if string(page.eval(t, `(() => { const td = document.querySelector('.rollout[data-rollout="1"] tr[data-station="pe-web-020"] td.status');
			return td !== null && td.textContent === '已回滚（新版本未通过健康检查：读卡器没有回应）' &&
				document.querySelector('.rollout[data-rollout="1"] .state').textContent === '已暂停'; })()`)) == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollback never showed:\n%s", page.eval(t, `document.body.innerText`))
		}
		time.Sleep(300 * time.Millisecond)
	}
	page.waitTrue(t, sec+`.querySelector('.state').textContent === '已暂停' && `+sec+`.querySelector('.reason').textContent.includes('自动暂停')`)
	if got := string(page.eval(t, sec+`.textContent`)); strings.Contains(got, "pe-web-021") {
		t.Fatalf("pe-web-021 is in the canary phase: %s", got)
	}
	click := func(action string) {
		t.Helper()
		page.waitTrue(t, sec+`.querySelector('button[data-action="`+action+`"]') !== null`)
		page.eval(t, `(() => { window.leaving = true; `+sec+`.querySelector('button[data-action="`+action+`"]').click(); return true; })()`)
		page.waitTrue(t, `!window.leaving && document.querySelector('.flash') !== null && document.readyState === 'complete'`)
	}
	click("resume")
	page.waitTrue(t, sec+`.querySelector('.state').textContent === '进行中'`)
	click("pause")
	page.waitTrue(t, sec+`.querySelector('.state').textContent === '已暂停' && document.querySelector('.flash').textContent === '操作成功，发布计划现在已暂停。'`)
	click("abort")
	page.waitTrue(t, sec+`.querySelector('.state').textContent === '已中止' && `+sec+`.querySelector('button') === null`)
}

// publishedRepo returns a cloud --data whose firmware repository holds
// release 1.1.0 as kiosk-1.1.0.tar, signed and published as the release
// host copies it there.
func publishedRepo(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	r := repo.Open(filepath.Join(data, "firmware"), t.TempDir())
	if _, err := r.Init(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add("kiosk-1.1.0.tar", releasetest.Build(t, release.Manifest{Version: "1.1.0", Board: "rpi4", Arch: "arm64",
		Kind: release.KindProgram}, map[string][]byte{"leifeng-kiosk": []byte("new")})); err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(); err != nil {
		t.Fatal(err)
	}
	return data
}

// Every rollout subcommand against a running cloud: hold, pause, resume,
// advance, abort print the rollout as it now stands; a refused action
// exits 1 with the cloud's reason.
func TestRolloutCLI(t *testing.T) {
	data := publishedRepo(t)
	c := startCloud(t, cloudOpt{data: data, extra: []string{"--rollout-interval", "500ms"}})
	c.addStation(t, "pe-cli-001", "思茅区")
	c.addStation(t, "pe-cli-002", "宁洱县")
	api := []string{"--api", c.http, "--data", data}
	run := func(want string, args ...string) {
		t.Helper()
		out := cloudCmd(t, append(args, api...)...)
		if !strings.Contains(out, want) {
			t.Fatalf("leifeng-cloud %s: want %q in\n%s", strings.Join(args, " "), want, out)
		}
	}
	if out := cloudFail(t, append([]string{"rollout", "create", "--target", "kiosk-9.9.9.tar", "--version", "9.9.9"}, api...)...); !strings.Contains(out, "no such release") {
		t.Fatalf("an unsigned release: %s", out)
	}
	run("pe-cli-001", "rollout", "create", "--target", "kiosk-1.1.0.tar", "--version", "1.1.0", "--canary", "pe-cli-001", "--percents", "100")
	run("held back: station pe-cli-002", "rollout", "hold", "1", "--station", "pe-cli-002")
	run("已暂停", "rollout", "pause", "1")
	if out := cloudFail(t, append([]string{"rollout", "advance", "1"}, api...)...); !strings.Contains(out, "409") {
		t.Fatalf("advance of a paused rollout: %s", out)
	}
	run("进行中", "rollout", "resume", "1")
	run("phase 2 of 2", "rollout", "advance", "1")
	run("已中止", "rollout", "abort", "1")
	run("kiosk-1.1.0.tar", "rollout", "list")
	if out := cloudFail(t, append([]string{"rollout", "show", "7"}, api...)...); !strings.Contains(out, "404") {
		t.Fatalf("show 7: %s", out)
	}
}
