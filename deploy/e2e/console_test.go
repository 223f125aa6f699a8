package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"leifeng/internal/mosquittotest"
)

// findChromium is the path of the Chromium the console tests drive; without
// one they skip, or fail where LEIFENG_REQUIRE_SERVICES says nothing may.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed; install it with: apt-get install chromium"
	if mosquittotest.Require() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// The console in a real Chromium, driven over the DevTools protocol: the
// login form signs the admin in (a new password first), the station table lists the kiosk
// with the software it reports, an admin edits the menu, contact board
// and announcements of one station and of a county on the config page,
// pushes, and sees the kiosk's reported version catch up with the
// desired one.
func TestConsoleInChromium(t *testing.T) {
	browser := findChromium(t)
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-web-001", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	// A station of 思茅区, registered but without a kiosk yet: the county
	// push below must reach it (pe-web-001 has no county).
	c.addStation(t, "pe-web-002", "思茅区")

	page := openPage(t, browser, c.http+"/console")
	// Logged out, the page shows the login form and no data.
	page.waitTrue(t, `document.getElementById('login') !== null && document.querySelector('tr[data-station]') === null`)
	// The first login: the console asks for a new password before anything.
	c.consoleLogin(t, page)
	page.goTo(t, c.http+"/console/stations")
	page.waitTrue(t, `document.querySelector('tr[data-station="pe-web-001"]') !== null`)
	// The software column shows the version the kiosk's --version prints.
	page.waitTrue(t, fmt.Sprintf(`document.querySelector('tr[data-station="pe-web-001"] td.software').textContent === %q`, kioskVersion(t)))
	// The password is nowhere the page's scripts (or an injected one) can
	// read it: not in localStorage, not in a readable cookie.
	page.waitTrue(t, fmt.Sprintf(`!JSON.stringify(localStorage).includes(%q) && !document.cookie.includes('leifeng_session')`, adminPassword))

	page.goTo(t, c.http+"/console/config")
	page.eval(t, `(() => {
		document.getElementById('target').value = 'station';
		document.getElementById('targetValue').value = 'pe-web-001';
		document.getElementById('menu').value = JSON.stringify([{id: 'elder', name: '助老服务', items: [{id: 'visit', name: '上门探访'}]}]);
		document.getElementById('phone').value = '0879-3333333';
		document.getElementById('contact').value = '李*华';
		document.getElementById('ann').value = '周六义诊\n周日植树';
		document.getElementById('push').click();
		return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('已推送')`)
	s := c.waitStation(t, k.station, "pushed from the console and applied", 20*time.Second, func(s stationView) bool {
		return s.DesiredConfig > 0 && s.ConfigVersion == s.DesiredConfig
	})
	// The station table shows it applied: desired / reported, both the version.
	page.goTo(t, c.http+"/console/stations")
	page.waitTrue(t, fmt.Sprintf(`(() => { const td = document.querySelector('tr[data-station="pe-web-001"] td.config');
		return td !== null && td.classList.contains('applied') && td.textContent.startsWith('%d / %d'); })()`, s.DesiredConfig, s.ConfigVersion))
	var doc struct {
		Menu  []struct{ ID string } `json:"menu"`
		Board struct {
			Phone string `json:"phone"`
		} `json:"board"`
		Announcements []struct{ Title string } `json:"announcements"`
	}
	c.get(t, "/api/v1/config?station=pe-web-001", &doc)
	if len(doc.Menu) != 1 || doc.Board.Phone != "0879-3333333" || len(doc.Announcements) != 2 {
		t.Fatalf("pushed document %+v", doc)
	}

	// A county push reaches its registered stations.
	page.goTo(t, c.http+"/console/config")
	page.eval(t, `(() => {
		document.getElementById('target').value = 'county';
		document.getElementById('targetValue').value = '思茅区';
		document.getElementById('phone').value = '0879-4444444';
		document.getElementById('push').click();
		return true; })()`)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.includes('pe-web-002')`)
	c.waitStation(t, "pe-web-002", "county push stored", 10*time.Second, func(s stationView) bool { return s.DesiredConfig > 0 })

	// Logged out, nothing is pushed: the form's page is the login form.
	page.goTo(t, c.http+"/console/config")
	page.eval(t, `(() => { document.getElementById('logout').click(); return true; })()`)
	page.waitTrue(t, `document.getElementById('login') !== null`)
	page.goTo(t, c.http+"/console/config")
	page.waitTrue(t, `document.getElementById('login') !== null && document.getElementById('push') === null`)
}

// goTo loads url in the page and waits until it is loaded.
func (p *page) goTo(t *testing.T, url string) {
	t.Helper()
	// The old document is marked, so that a new one is known even at the
	// same address.
	p.eval(t, fmt.Sprintf(`(() => { window.leaving = true; location.href = %q; return true; })()`, url))
	p.waitTrue(t, fmt.Sprintf(`!window.leaving && location.href === %q && document.readyState === 'complete'`, url))
}

// screenshot saves the page as seen at width×height CSS pixels to
// $LEIFENG_SCREENSHOTS/name-WIDTH.png when that variable names a
// directory (a person looks at them); without it, it only checks that
// the page is no wider than the screen.
func (p *page) screenshot(t *testing.T, name string, width, height int) {
	t.Helper()
	p.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height,
		"deviceScaleFactor": 1, "mobile": width < 600})
	p.waitTrue(t, `document.readyState === 'complete'`)
	// Laid out again at the new size before anything is measured.
	p.eval(t, `new Promise(ok => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))`)
	// Nothing sticks out sideways: a phone scrolls only down.
	p.waitTrue(t, `document.documentElement.scrollWidth <= window.innerWidth + 1`)
	dir := os.Getenv("LEIFENG_SCREENSHOTS")
	if dir == "" {
		return
	}
	res := p.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	var shot struct{ Data []byte }
	if err := json.Unmarshal(res, &shot); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width)), shot.Data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// call sends one DevTools command and returns its result.
func (p *page) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	msg, _ := json.Marshal(map[string]any{"id": p.id, "method": method, "params": params})
	p.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if err := p.writeFrame(msg); err != nil {
		t.Fatal(err)
	}
	for {
		data, err := p.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &r) != nil || r.ID != p.id {
			continue
		}
		if r.Error != nil {
			if method == "Runtime.evaluate" {
				// The page is between two documents: no value yet.
				return nil
			}
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	}
}

// page is one Chromium tab under DevTools control.
type page struct {
	conn net.Conn
	rd   *bufio.Reader
	mu   sync.Mutex
	id   int
}

func openPage(t *testing.T, browser, target string) *page {
	t.Helper()
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	cmd := exec.Command(browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port="+port,
		"--user-data-dir="+t.TempDir(), target)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("---- chromium ----\n%s", tail(log.String(), 30))
		}
	})
	var wsURL string
	deadline := time.Now().Add(20 * time.Second)
	for wsURL == "" {
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not offer its page for debugging\n%s", tail(log.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			continue
		}
		var targets []struct {
			Type, URL, WebSocketDebuggerURL string
		}
		json.NewDecoder(resp.Body).Decode(&targets)
		resp.Body.Close()
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, target) {
				wsURL = tg.WebSocketDebuggerURL
			}
		}
	}
	p, err := dialWebSocket(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.conn.Close() })
	return p
}

// eval runs a JavaScript expression in the page and returns its value.
func (p *page) eval(t *testing.T, expr string) json.RawMessage {
	t.Helper()
	v, exc := p.value(t, expr)
	if exc != "" {
		t.Fatalf("page: %s: %s", expr, exc)
	}
	return v
}

// value is eval that returns the exception's text instead of failing.
func (p *page) value(t *testing.T, expr string) (json.RawMessage, string) {
	t.Helper()
	res := p.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	json.Unmarshal(res, &r)
	if e := r.ExceptionDetails; e != nil {
		return nil, e.Text + " " + e.Exception.Description
	}
	return r.Result.Value, ""
}

// waitTrue waits until expr is true. An exception counts as not yet: the
// page may be between two documents (a form was sent, a link followed).
func (p *page) waitTrue(t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, exc := p.value(t, expr)
		if string(v) == "true" {
			return
		}
		if time.Now().After(deadline) {
			body, _ := p.value(t, `document.body.innerText`)
			t.Fatalf("page: %s never became true (%s); page text:\n%s", expr, exc, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialWebSocket opens a WebSocket (RFC 6455) client connection: just
// enough for the DevTools protocol, which sends text frames.
func dialWebSocket(raw string) (*page, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	return &page{conn: conn, rd: rd}, nil
}

// writeFrame sends one masked text frame, as a client must.
func (p *page) writeFrame(data []byte) error {
	hdr := []byte{0x81}
	switch n := len(data); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	body := make([]byte, len(data))
	for i, b := range data {
		body[i] = b ^ mask[i%4]
	}
	_, err := p.conn.Write(append(hdr, body...))
	return err
}

// readFrame reads one message, joining continuation frames and skipping
// control frames.
func (p *page) readFrame() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(p.rd, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(p.rd, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(p.rd, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(p.rd, payload); err != nil {
			return nil, err
		}
		if op >= 0x8 { // close, ping, pong
			if op == 0x8 {
				return nil, io.EOF
			}
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}
