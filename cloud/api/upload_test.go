package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"leifeng/cloud/api"
	"leifeng/cloud/rollout"
	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// copyFiles copies src/pattern into dst.
func copyFiles(t *testing.T, src, pattern, dst string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(src, pattern))
	if len(files) == 0 {
		t.Fatalf("no %s in %s", pattern, src)
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

// dirSum lists every file under dir with its hash.
func dirSum(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		out = append(out, fmt.Sprintf("%s %x", p, sha256.Sum256(data)))
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// POST /api/v1/releases: a release signed on the release host is
// uploaded with the admin token, verified, served under /firmware/ with a
// fresh snapshot and timestamp and fetched by a real kiosk client, and a
// rollout can then be created for it. Refused, with nothing written:
// no login (401), an altered bundle (422, reason in Chinese), a body
// over the bound (413).
func TestUploadReleaseAPI(t *testing.T) {
	c := newTestCloud(t)
	kit := releasetest.New(t) // the release host, with the offline keys
	dir := t.TempDir()
	cloudDir, cloudKeys := filepath.Join(dir, "firmware"), filepath.Join(dir, "online-keys")
	copyFiles(t, filepath.Join(kit.Repo.Dir, "metadata"), "*.json", filepath.Join(cloudDir, "metadata"))
	copyFiles(t, kit.Repo.Keys, "snapshot-*.pem", cloudKeys)
	copyFiles(t, kit.Repo.Keys, "timestamp-*.pem", cloudKeys)
	os.MkdirAll(filepath.Join(cloudDir, "targets"), 0o755)
	cloud := repo.Open(cloudDir, cloudKeys)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := rollout.NewService(c.db, c.svc, "", log)
	svc.Repo = cloud
	const max = 256 << 10
	srv := httptest.NewServer(api.New(c.db, prometheus.NewRegistry(), log,
		&api.Fleet{Service: c.svc, Store: c.db,
			Rollouts: &api.Rollouts{Service: svc, Repo: cloudDir, UploadMax: max,
				Upload: &rollout.Uploader{Repo: cloud, Fresh: &rollout.Freshener{Repo: cloud}}}}))
	defer srv.Close()
	svc.URL = srv.URL + "/firmware"
	c.srv = srv

	const name = "kiosk-1.4.0-rpi4-arm64.tar"
	bundle := releasetest.Build(t, release.Manifest{Version: "1.4.0", Board: "rpi4", Arch: "arm64", Kind: release.KindProgram},
		map[string][]byte{"leifeng-kiosk": bytes.Repeat([]byte("kiosk 1.4.0 "), 4000)})
	if _, err := kit.Repo.Add(name, bundle); err != nil {
		t.Fatal(err)
	}
	post := func(token string, write func(mw *multipart.Writer)) (int, map[string]any) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		write(mw)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/releases", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	genuine := func(mw *multipart.Writer) {
		if err := rollout.WriteRelease(mw, kit.Repo.Dir, []string{name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := dirSum(t, cloudDir)
	if code, out := post("", genuine); code != http.StatusUnauthorized {
		t.Fatalf("without a login: %d %v", code, out)
	}
	if code, out := post("wrong-token", genuine); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d %v", code, out)
	}
	altered := func(mw *multipart.Writer) {
		targets, _ := filepath.Glob(filepath.Join(kit.Repo.Dir, "metadata", "2.targets.json"))
		for _, f := range targets {
			w, _ := mw.CreateFormFile(rollout.FieldMetadata, filepath.Base(f))
			data, _ := os.ReadFile(f)
			w.Write(data)
		}
		data, _ := os.ReadFile(bundle)
		data[len(data)-10] ^= 1
		w, _ := mw.CreateFormFile(rollout.FieldBundle, name)
		w.Write(data)
	}
	code, out := post(c.token, altered)
	if zh, _ := out["message_zh"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(zh, "校验值") {
		t.Fatalf("altered bundle: %d %v", code, out)
	}
	oversize := func(mw *multipart.Writer) {
		genuine(mw)
		w, _ := mw.CreateFormFile(rollout.FieldBundle, name)
		io.CopyN(w, rand.Reader, max)
	}
	code, out = post(c.token, oversize)
	if zh, _ := out["message_zh"].(string); code != http.StatusRequestEntityTooLarge || !strings.Contains(zh, "太大") {
		t.Fatalf("oversize: %d %v", code, out)
	}
	if after := dirSum(t, cloudDir); after != before {
		t.Fatalf("a refused upload changed the repository:\n%s\nwas\n%s", after, before)
	}

	code, out = post(c.token, genuine)
	if code != http.StatusOK || out["published"] != true || out["targets_version"] != float64(2) {
		t.Fatalf("upload: %d %v", code, out)
	}
	fc := &fetch.Client{Repo: srv.URL + "/firmware", Root: kit.Root, Dir: t.TempDir(), HTTP: srv.Client()}
	r, err := fc.Lookup(context.Background(), name)
	if err != nil {
		t.Fatalf("a kiosk cannot find the uploaded release: %v", err)
	}
	if _, err := fc.Download(context.Background(), r); err != nil || r.Manifest.Version != "1.4.0" {
		t.Fatalf("a kiosk cannot verify the uploaded release: %v %+v", err, r.Manifest)
	}
	if code, body := c.call(http.MethodPost, "/api/v1/rollouts", rollout.Spec{Target: name, Version: "1.4.0", Percents: []float64{100}}); code != http.StatusOK {
		t.Fatalf("rollout of the uploaded release: %d %s", code, body)
	}
}
