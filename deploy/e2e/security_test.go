package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"leifeng/gateway/wire"
)

// Attacks on the API from the network, as an outsider would make them:
// anonymous reads of personal data, a foreign Host (DNS rebinding), the
// enumeration of volunteer IDs. Reads by the admin are logged.
func TestAPIAccessControl(t *testing.T) {
	c := startCloud(t, cloudOpt{extra: []string{"--public-name", "cloud.example.org"}})
	k := startKiosk(t, "pe-sec-001", c.mqtt)
	k.mustTap(t, "V0001")
	c.waitRecords(t, k.station, 1, 20*time.Second)

	anon := func(path string, hdr ...string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, c.http+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if len(hdr)%2 == 1 {
			req.Host = hdr[len(hdr)-1]
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(body), "V0001") && !strings.Contains(path, "healthz") {
			t.Errorf("GET %s leaked personal data: %s", path, body)
		}
		return resp.StatusCode
	}
	personal := []string{
		"/api/v1/records?station=" + k.station,
		"/api/v1/volunteers/V0001/hours",
		"/api/v1/config",
		"/api/v1/config?station=" + k.station,
		"/api/v1/stations",
		"/api/v1/fleet",
		"/api/v1/stations/" + k.station + "/presence",
	}
	for _, p := range personal {
		if code := anon(p); code != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d, want 401", p, code)
		}
	}
	// Open, and anon checks they hold no volunteer's ID.
	for _, p := range []string{"/healthz", "/metrics"} {
		if code := anon(p); code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200 (it holds no personal data)", p, code)
		}
	}
	token := "Bearer " + c.token(t)

	// DNS rebinding: a page of evil.example resolved to the cloud's
	// address sends Host: evil.example. Even with the token it gets
	// nothing; the configured name and an IP literal work.
	if code := anon("/api/v1/stations", "Authorization", token, "evil.example:8080"); code != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: %d, want 421", code)
	}
	for _, host := range []string{"cloud.example.org", "localhost:1", strings.TrimPrefix(c.http, "http://")} {
		if code := anon("/api/v1/stations", "Authorization", token, host); code != http.StatusOK {
			t.Errorf("Host %s with the token: %d, want 200", host, code)
		}
	}

	// Reading personal data leaves an audit line: who, route, what.
	var h map[string]any
	c.get(t, "/api/v1/volunteers/V0001/hours", &h)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(c.log.String(), `who=admin role=city via=token route="GET /api/v1/volunteers/{id}/hours" what="volunteer V0001"`) {
		if time.Now().After(deadline) {
			t.Fatal("no audit line for reading a volunteer's hours")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Without a login, the enumeration of 1,000 volunteer IDs gets
	// nothing; guessing tokens meanwhile gets the address turned away
	// (429) after a handful of failures, before its guesses are checked.
	codes := map[int]int{}
	for i := range 1000 {
		codes[anon(fmt.Sprintf("/api/v1/volunteers/V%04d/hours", i))]++
	}
	if codes[401] != 1000 {
		t.Fatalf("anonymous enumeration answered %v; want 1000 × 401", codes)
	}
	codes = map[int]int{}
	for i := range 1000 {
		codes[anon("/api/v1/stations", "Authorization", fmt.Sprintf("Bearer lft_guess%04d", i))]++
	}
	if codes[200] != 0 || codes[429] < 950 {
		t.Fatalf("guessing tokens answered %v; want no 200 and at least 950 of 1000 rate limited", codes)
	}
	// The right token from that address now waits too: guessing the
	// token is as slow as guessing IDs.
	if code := anon("/api/v1/stations", "Authorization", token); code != http.StatusTooManyRequests {
		t.Fatalf("token from a blocked address: %d, want 429", code)
	}
}

// The console's login: name and password are posted once and a cookie
// the page cannot read carries the session; a change needs the session's
// CSRF token, and a cross-site request cannot use the cookie even with it.
func TestConsoleSession(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-ses-001", c.mqtt)
	c.waitStation(t, k.station, "online", 20*time.Second, func(s stationView) bool { return s.Online })
	cookie, csrf := signIn(t, http.DefaultClient, c.http, adminUser, c.password(t))
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}
	if resp := do(t, http.DefaultClient, http.MethodPost, c.http+"/api/v1/session", `{"user":"admin","password":"wrong password"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: %s", resp.Status)
	}
	// The cookie reads.
	if resp := do(t, http.DefaultClient, http.MethodGet, c.http+"/api/v1/fleet", "", "Cookie", cookie.String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/fleet with the session: %s", resp.Status)
	}
	push := `{"station":"pe-ses-001","doc":{"board":{"phone":"0879-1"}}}`
	for _, tc := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"another site's form (Origin)", []string{"Origin", "http://evil.example", "X-CSRF-Token", csrf}, http.StatusForbidden},
		{"another site's fetch (Sec-Fetch-Site)", []string{"Sec-Fetch-Site", "cross-site", "X-CSRF-Token", csrf}, http.StatusForbidden},
		{"no CSRF token", []string{"Origin", c.http, "Sec-Fetch-Site", "same-origin"}, http.StatusForbidden},
		{"a wrong CSRF token", []string{"Origin", c.http, "Sec-Fetch-Site", "same-origin", "X-CSRF-Token", "x" + csrf}, http.StatusForbidden},
		{"the console itself", []string{"Origin", c.http, "Sec-Fetch-Site", "same-origin", "X-CSRF-Token", csrf}, http.StatusOK},
	} {
		hdr := append([]string{"Cookie", cookie.String(), "Content-Type", "application/json"}, tc.hdr...)
		if resp := do(t, http.DefaultClient, http.MethodPost, c.http+"/api/v1/config", push, hdr...); resp.StatusCode != tc.want {
			t.Errorf("push with the session cookie from %s: %s, want %d", tc.name, resp.Status, tc.want)
		}
	}
	// Logging out ends the session on the server, not only in the browser.
	do(t, http.DefaultClient, http.MethodDelete, c.http+"/api/v1/session", "", "Cookie", cookie.String(), "Origin", c.http, "X-CSRF-Token", csrf)
	if resp := do(t, http.DefaultClient, http.MethodGet, c.http+"/api/v1/fleet", "", "Cookie", cookie.String()); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/fleet after logout: %s", resp.Status)
	}
}

// do sends a request; hdr is name, value pairs. The body is read and kept.
func do(t testing.TB, hc *http.Client, method, url, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// signIn posts name and password to /api/v1/session and returns the
// session cookie and the session's CSRF token.
func signIn(t testing.TB, hc *http.Client, base, user, password string) (*http.Cookie, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"user":%q,"password":%q}`, user, password)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&s) != nil || s.CSRF == "" {
		t.Fatalf("login: %s", resp.Status)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "leifeng_session" {
			return ck, s.CSRF
		}
	}
	t.Fatalf("login set no session cookie: %v", resp.Header["Set-Cookie"])
	return nil, ""
}

// relay is a TCP proxy between kiosk and broker that keeps every byte the
// kiosk sends: a hostile network on the path.
type relay struct {
	addr string
	mu   sync.Mutex
	seen bytes.Buffer
}

func startRelay(t testing.TB, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			conns.Store(in, true)
			conns.Store(out, true)
			wg.Go(func() {
				io.Copy(out, io.TeeReader(in, writerFunc(func(p []byte) (int, error) {
					r.mu.Lock()
					defer r.mu.Unlock()
					return r.seen.Write(p)
				})))
				out.Close()
			})
			wg.Go(func() { io.Copy(in, out); in.Close() })
		}
	})
	return r
}

func (r *relay) saw(secret string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.seen.Bytes(), []byte(secret))
}

func (r *relay) bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen.Len()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A relay on the path reads the station's password from CONNECT when the
// broker is plain; with serve's TLS it sees only ciphertext, and the kiosk,
// holding the CA and its client certificate from the bundle, still
// delivers.
func TestRelayReadsPasswordOnlyWithoutTLS(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		c := startCloud(t, cloudOpt{})
		rl := startRelay(t, strings.TrimPrefix(c.mqtt, "tcp://"))
		bundle := filepath.Join(t.TempDir(), "b.json")
		cloudCmd(t, "station", "add", "--data", c.data, "--id", "pe-relay-001", "--broker", "tcp://"+rl.addr, "--out", bundle)
		k := startKiosk(t, "pe-relay-001", "tcp://"+rl.addr, "--bundle", bundle)
		k.mustTap(t, "V1")
		c.waitRecords(t, k.station, 1, 20*time.Second)
		if !rl.saw(bundlePass(t, bundle)) {
			t.Fatal("the relay did not see the password on a plain link (the attack this test guards against has changed)")
		}
	})
	t.Run("tls", func(t *testing.T) {
		c := startTLSCloud(t)
		rl := startRelay(t, strings.TrimPrefix(c.mqtt, "ssl://"))
		bundle := filepath.Join(t.TempDir(), "b.json")
		cloudCmd(t, "station", "add", "--data", c.data, "--id", "pe-relay-002", "--broker", "ssl://"+rl.addr, "--out", bundle)
		b, err := wire.ReadBundle(bundle)
		if err != nil || b.CACert == "" || b.ClientCert == "" {
			t.Fatalf("a bundle for serve's TLS broker must carry its CA and a client certificate: %v", err)
		}
		k := startKiosk(t, "pe-relay-002", "ssl://"+rl.addr, "--bundle", bundle)
		k.mustTap(t, "V1")
		c.waitRecords(t, k.station, 1, 20*time.Second)
		if rl.bytes() == 0 {
			t.Fatal("nothing passed the relay")
		}
		if rl.saw(b.Password) {
			t.Fatal("the relay read the password through TLS")
		}

		// The client certificate alone logs the station in (mTLS); without
		// it and without the password, the broker refuses.
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(b.CACert))
		cert, err := tls.X509KeyPair([]byte(b.ClientCert), []byte(b.ClientKey))
		if err != nil {
			t.Fatal(err)
		}
		cl, err := connect(c.mqtt, "pe-relay-002", "", "", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatalf("station with its client certificate: %v", err)
		}
		cl.Disconnect(50)
		if _, err := connect(c.mqtt, "pe-relay-002", "", "", &tls.Config{RootCAs: pool}); err == nil {
			t.Fatal("a client with neither certificate nor password connected")
		}
		if _, err := connect(c.mqtt, "pe-relay-003", "", "", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}); err == nil {
			t.Fatal("a station's certificate opened another client ID")
		}
	})
}

// startTLSCloud runs serve with --tls on loopback and gives the harness an
// https client trusting the cloud's CA.
func startTLSCloud(t testing.TB, extra ...string) *cloud {
	t.Helper()
	c := startCloud(t, cloudOpt{extra: append([]string{"--tls"}, extra...)})
	c.mqtt = strings.Replace(c.mqtt, "tcp://", "ssl://", 1)
	c.http = strings.Replace(c.http, "http://", "https://", 1)
	c.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cloudCA(t, c.data)}}}
	clouds.Store(c.mqtt, c)
	apis.Store(c.http, c)
	t.Cleanup(func() { apis.Delete(c.http) })
	return c
}

func cloudCA(t testing.TB, data string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return pool
}

// The API over TLS: the session cookie is Secure, and plain HTTP to the
// port gets no data.
func TestServeHTTPS(t *testing.T) {
	c := startTLSCloud(t)
	var f map[string]any
	c.get(t, "/api/v1/fleet", &f)
	// The CLI trusts serve's CA under --data.
	c.push(t, `{"board":{"phone":"0879-1"}}`, "--all")
	ck, _ := signIn(t, c.client, c.http, adminUser, c.password(t))
	if !ck.Secure || !ck.HttpOnly {
		t.Fatalf("session cookie over TLS %+v: want Secure and HttpOnly", ck)
	}
	resp, err := http.Get(strings.Replace(c.http, "https://", "http://", 1) + "/api/v1/fleet")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP to the TLS port answered")
		}
	}
}

// serve on an address other than loopback turns TLS on by itself (or
// refuses to stay quiet about plain text with --insecure-plaintext).
func TestServePublicAddressNeedsTLS(t *testing.T) {
	port := func() string { _, p, _ := net.SplitHostPort(freeAddr(t)); return p }
	httpPort, mqttPort := port(), port()
	data := t.TempDir()
	p := startProc(t, "leifeng-cloud", "serve", "--data", data, "--http", "0.0.0.0:"+httpPort, "--mqtt-listen", "0.0.0.0:"+mqttPort)
	waitDial(t, "127.0.0.1:"+httpPort, p)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cloudCA(t, data)}}}
	resp, err := hc.Get("https://127.0.0.1:" + httpPort + "/healthz")
	if err != nil {
		t.Fatalf("serve on 0.0.0.0 without TLS flags: no HTTPS with its own CA: %v", err)
	}
	resp.Body.Close()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+mqttPort, &tls.Config{RootCAs: cloudCA(t, data)})
	if err != nil {
		t.Fatalf("the broker on 0.0.0.0 is not TLS: %v", err)
	}
	conn.Close()
	p.stop()

	httpPort, mqttPort = port(), port()
	p = startProc(t, "leifeng-cloud", "serve", "--data", t.TempDir(), "--http", "0.0.0.0:"+httpPort, "--mqtt-listen", "0.0.0.0:"+mqttPort, "--insecure-plaintext")
	waitDial(t, "127.0.0.1:"+httpPort, p)
	if !strings.Contains(p.log.String(), "WARNING: --insecure-plaintext") || !strings.Contains(p.log.String(), "INSECURE") {
		t.Fatalf("--insecure-plaintext on 0.0.0.0 without a loud warning:\n%s", p.log.String())
	}
}

// rssKB is the resident memory of process pid.
func rssKB(t testing.TB, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// varint is MQTT's remaining length encoding.
func varint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// waitClosed waits until the peer closes c.
func waitClosed(c net.Conn, within time.Duration) error {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("still open after %s", within)
	}
	return nil
}

// 100 connections that announce 2 MiB CONNECT packets and never finish
// them, and 100 that never send anything: the cloud's memory stays small,
// every one of them is closed (the oversized at once, the silent at the
// CONNECT deadline), and a kiosk is served throughout.
func TestBrokerHalfOpenFlood(t *testing.T) {
	c := startCloud(t, cloudOpt{extra: []string{"--mqtt-connect-timeout", "2s", "--mqtt-max-conns-per-addr", "500"}})
	k := startKiosk(t, "pe-flood-001", c.mqtt)
	k.mustTap(t, "V1")
	c.waitRecords(t, k.station, 1, 20*time.Second)
	addr := strings.TrimPrefix(c.mqtt, "tcp://")
	var big, silent []net.Conn
	for range 100 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		big = append(big, conn)
		// CONNECT, just under 2 MiB to follow (the old limit); then half
		// of it, so that whatever the broker allocated is also touched.
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		conn.Write(append(append([]byte{0x10}, varint(2<<20-16)...), make([]byte, 1<<20)...))
		conn, err = net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, conn)
	}
	t.Cleanup(func() {
		for _, c := range append(big, silent...) {
			c.Close()
		}
	})
	// The broker takes the connections in its own time: the highest RSS
	// over a few samples.
	rss := 0
	for range 20 {
		rss = max(rss, rssKB(t, c.cmd.Process.Pid))
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("cloud RSS with 200 half-open connections: %d kB", rss)
	if rss > 60<<10 {
		t.Fatalf("cloud RSS %d kB with 200 half-open connections, want under 60 MB", rss)
	}
	for i, conn := range big {
		if err := waitClosed(conn, 5*time.Second); err != nil {
			t.Fatalf("connection %d announcing 2 MiB: %v", i, err)
		}
	}
	for i, conn := range silent {
		if err := waitClosed(conn, 10*time.Second); err != nil {
			t.Fatalf("silent connection %d: %v (the CONNECT deadline is 2 s)", i, err)
		}
	}
	k.mustTap(t, "V2")
	c.waitRecords(t, k.station, 2, 20*time.Second)
}

// One remote address cannot take more than its share of the broker.
func TestBrokerConnectionsPerAddress(t *testing.T) {
	c := startCloud(t, cloudOpt{extra: []string{"--mqtt-max-conns-per-addr", "5", "--mqtt-connect-timeout", "30s"}})
	addr := strings.TrimPrefix(c.mqtt, "tcp://")
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	// The in-process gateway holds one slot from 127.0.0.1.
	for range 4 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if err := waitClosed(over, 5*time.Second); err != nil {
		t.Fatalf("connection over the per-address limit: %v", err)
	}
	for i, conn := range held {
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 1)); err == nil || !err.(net.Error).Timeout() {
			t.Fatalf("connection %d within the limit was closed: %v", i, err)
		}
	}
}

// An idle keep-alive connection to the API is closed.
func TestHTTPIdleKeepAliveClosed(t *testing.T) {
	c := startCloud(t, cloudOpt{extra: []string{"--http-idle-timeout", "1s"}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.http, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ok map[string]any
	json.NewDecoder(resp.Body).Decode(&ok)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server closed the connection at once; the test needs keep-alive")
	}
	if err := waitClosed(conn, 10*time.Second); err != nil {
		t.Fatalf("idle keep-alive with --http-idle-timeout 1s: %v", err)
	}
}

// serve listens on loopback unless told otherwise.
func TestServeDefaultsToLoopback(t *testing.T) {
	out, _ := exec.Command(filepath.Join(bin, "leifeng-cloud"), "serve", "-h").CombinedOutput()
	for _, want := range []string{`-http string`, `(default "127.0.0.1:8080")`, `-mqtt-listen string`, `(default "127.0.0.1:1883")`, `-insecure-plaintext`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve -h lacks %s:\n%s", want, out)
		}
	}
}
