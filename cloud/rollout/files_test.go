package rollout_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/rollout"
	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// copyGlob copies the files of src matching pattern into dst.
func copyGlob(t *testing.T, src, pattern, dst string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(src, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s/%s: %v %v", src, pattern, files, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The cloud hosts the release host's repository: it holds only the
// online snapshot and timestamp keys, signs a new snapshot when the
// release host copies in new targets metadata, and again before the
// timestamp expires, so a kiosk a day and more later still verifies the
// release; the files are served with HTTP Range and nothing outside
// metadata/ and targets/ is served.
func TestHostedRepository(t *testing.T) {
	dir := t.TempDir()
	host := repo.Open(filepath.Join(dir, "release"), filepath.Join(dir, "offline"))
	root, err := host.Init()
	if err != nil {
		t.Fatal(err)
	}
	cloudDir, cloudKeys := filepath.Join(dir, "cloud"), filepath.Join(dir, "cloud-keys")
	copyGlob(t, filepath.Join(host.Dir, "metadata"), "*.json", filepath.Join(cloudDir, "metadata"))
	copyGlob(t, host.Keys, "snapshot-*.pem", cloudKeys)
	copyGlob(t, host.Keys, "timestamp-*.pem", cloudKeys)
	if err := os.MkdirAll(filepath.Join(cloudDir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	clock := start
	cloud := repo.Open(cloudDir, cloudKeys)
	cloud.Now = func() time.Time { return clock }
	fr := &rollout.Freshener{Repo: cloud}
	if signed, err := fr.Refresh(); err != nil || signed {
		t.Fatalf("a fresh repository re-signed: %v %v", signed, err)
	}

	// A release: signed on the release host, copied without its
	// snapshot and timestamp.
	bundle := releasetest.Build(t, release.Manifest{Version: "1.2.0", Board: "rpi4", Arch: "arm64", Kind: release.KindProgram},
		map[string][]byte{"leifeng-kiosk": []byte(strings.Repeat("kiosk program ", 1000))})
	const name = "kiosk-1.2.0-rpi4-arm64.tar"
	if _, err := host.Add(name, bundle); err != nil {
		t.Fatal(err)
	}
	copyGlob(t, filepath.Join(host.Dir, "metadata"), "*.targets.json", filepath.Join(cloudDir, "metadata"))
	copyGlob(t, filepath.Join(host.Dir, "targets"), "*", filepath.Join(cloudDir, "targets"))
	if signed, err := fr.Refresh(); err != nil || !signed {
		t.Fatalf("new targets not published: %v %v", signed, err)
	}
	if signed, err := fr.Refresh(); err != nil || signed {
		t.Fatalf("published twice: %v %v", signed, err)
	}

	mux := http.NewServeMux()
	mux.Handle("/firmware/", rollout.Files("/firmware/", cloudDir))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	lookup := func(at time.Time) error {
		c := &fetch.Client{Repo: srv.URL + "/firmware", Root: root, Dir: t.TempDir(), HTTP: srv.Client(),
			Now: func() time.Time { return at }}
		r, err := c.Lookup(context.Background(), name)
		if err != nil {
			return err
		}
		if r.Manifest.Version != "1.2.0" {
			t.Fatalf("manifest %+v", r.Manifest)
		}
		_, err = c.Download(context.Background(), r)
		return err
	}
	if err := lookup(start); err != nil {
		t.Fatalf("a kiosk cannot fetch from the cloud: %v", err)
	}

	// 20 hours on, within half a day of the timestamp's expiry: re-signed;
	// a kiosk 30 hours on (past the first timestamp) still verifies.
	exp0, _ := fr.Expires()
	clock = start.Add(20 * time.Hour)
	if signed, err := fr.Refresh(); err != nil || !signed {
		t.Fatalf("not re-signed before expiry: %v %v", signed, err)
	}
	if exp, _ := fr.Expires(); !exp.After(exp0) {
		t.Fatalf("timestamp expiry %v, was %v", exp, exp0)
	}
	if err := lookup(start.Add(30 * time.Hour)); err != nil {
		t.Fatalf("after the re-signing: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(cloudKeys, "targets-*")); len(files) != 0 {
		t.Fatal("the cloud holds the targets key")
	}

	// Range, and nothing but the repository.
	targets, _ := filepath.Glob(filepath.Join(cloudDir, "targets", "*"))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/firmware/targets/"+filepath.Base(targets[0]), nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	whole, _ := os.ReadFile(targets[0])
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(whole[100:200]) {
		t.Fatalf("range: %s, %d bytes", resp.Status, len(body))
	}
	os.WriteFile(filepath.Join(cloudDir, "secret.txt"), []byte("x"), 0o644)
	for _, p := range []string{"/firmware/", "/firmware/metadata/", "/firmware/secret.txt", "/firmware/../secret.txt",
		"/firmware/metadata/../secret.txt", "/firmware/targets/.hidden"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s", p, resp.Status)
		}
	}
}
