package releasetest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leifeng/firmware/release"
	"leifeng/firmware/repo"
)

// Kit is a repository and its server.
type Kit struct {
	Repo   *repo.Repo
	Root   []byte // root version 1, what a kiosk is provisioned with
	Server *httptest.Server
	// Sent counts the bytes of bundles the server sent.
	Sent atomic.Int64

	mu       sync.Mutex
	rate     int64   // bytes per second, 0 for unthrottled
	drops    []int64 // drop a bundle response after this many of its bytes, once each
	requests int
}

// New makes a repository with fresh keys and serves it over HTTPS.
func New(t testing.TB) *Kit {
	t.Helper()
	dir := t.TempDir()
	r := repo.Open(filepath.Join(dir, "repo"), filepath.Join(dir, "keys"))
	root, err := r.Init()
	if err != nil {
		t.Fatal(err)
	}
	k := &Kit{Repo: r, Root: root}
	files := http.FileServer(http.Dir(r.Dir))
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if filepath.Dir(req.URL.Path) != "/targets" {
			files.ServeHTTP(w, req)
			return
		}
		k.mu.Lock()
		k.requests++
		rate := k.rate
		var drop int64 = -1
		if len(k.drops) > 0 {
			drop, k.drops = k.drops[0], k.drops[1:]
		}
		k.mu.Unlock()
		files.ServeHTTP(&limitWriter{ResponseWriter: w, k: k, rate: rate, drop: drop, start: time.Now()}, req)
	}))
	t.Cleanup(k.Server.Close)
	return k
}

// URL is the repository's base URL.
func (k *Kit) URL() string { return k.Server.URL }

// Client is an HTTP client that trusts the server.
func (k *Kit) Client() *http.Client { return k.Server.Client() }

// Throttle limits bundle responses to bytesPerSecond (0: no limit).
func (k *Kit) Throttle(bytesPerSecond int64) {
	k.mu.Lock()
	k.rate = bytesPerSecond
	k.mu.Unlock()
}

// Drop makes the next len(after) bundle responses end abruptly after the
// given numbers of bytes.
func (k *Kit) Drop(after ...int64) {
	k.mu.Lock()
	k.drops = append(k.drops, after...)
	k.mu.Unlock()
}

// Requests is the number of bundle requests served.
func (k *Kit) Requests() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.requests
}

// Build writes a bundle of m with files as its payload and returns its path.
func Build(t testing.TB, m release.Manifest, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "payload")
	for name, data := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := release.Build(&buf, &m, src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bundle.tar")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Publish builds a bundle, adds it as target name, publishes, and returns
// the bundle's path.
func (k *Kit) Publish(t testing.TB, name string, m release.Manifest, files map[string][]byte) string {
	t.Helper()
	p := Build(t, m, files)
	if _, err := k.Repo.Add(name, p); err != nil {
		t.Fatal(err)
	}
	if err := k.Repo.Publish(); err != nil {
		t.Fatal(err)
	}
	return p
}

// limitWriter throttles and drops a response.
type limitWriter struct {
	http.ResponseWriter
	k     *Kit
	rate  int64
	drop  int64
	start time.Time
	n     int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > 4096 {
			chunk = chunk[:4096]
		}
		if l.drop >= 0 && l.n+int64(len(chunk)) > l.drop {
			chunk = chunk[:l.drop-l.n]
			if len(chunk) > 0 {
				n, _ := l.ResponseWriter.Write(chunk)
				l.n += int64(n)
				l.k.Sent.Add(int64(n))
			}
			if f, ok := l.ResponseWriter.(http.Flusher); ok {
				f.Flush()
			}
			// Abort the response: net/http closes the connection without
			// ending the body, which is what a dropped link looks like.
			panic(http.ErrAbortHandler)
		}
		n, err := l.ResponseWriter.Write(chunk)
		l.n += int64(n)
		l.k.Sent.Add(int64(n))
		written += n
		if err != nil {
			return written, err
		}
		p = p[len(chunk):]
		if l.rate > 0 {
			due := l.start.Add(time.Duration(l.n * int64(time.Second) / l.rate))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return written, nil
}
