package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// TestRolloutUpload: `leifeng-cloud rollout upload` sends a release signed
// on the release host to a running cloud that holds only the online keys
// and root version 1; it shows progress on stderr, the cloud verifies and
// publishes it, and a kiosk client fetches it from /firmware/. A target
// the release host has not signed is refused before anything is sent.
func TestRolloutUpload(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	host := repo.Open(filepath.Join(dir, "release"), filepath.Join(dir, "offline"))
	root, err := host.Init()
	if err != nil {
		t.Fatal(err)
	}
	firmware, online := filepath.Join(dir, "firmware"), filepath.Join(dir, "online")
	for _, d := range []string{filepath.Join(firmware, "metadata"), online} {
		os.MkdirAll(d, 0o755)
	}
	// Provisioning, once: the trust anchor and the online keys.
	os.WriteFile(filepath.Join(firmware, "metadata", "1.root.json"), root, 0o644)
	for _, role := range []string{repo.Snapshot, repo.Timestamp} {
		keys, _ := filepath.Glob(filepath.Join(host.Keys, role+"-*.pem"))
		k, _ := os.ReadFile(keys[0])
		os.WriteFile(filepath.Join(online, filepath.Base(keys[0])), k, 0o600)
	}

	ctx := context.Background()
	api := startServe(t, "--data", data, "--firmware-repo", firmware, "--firmware-keys", online).http

	const name = "kiosk-2.0.0-rpi4-arm64.tar"
	bundle := releasetest.Build(t, release.Manifest{Version: "2.0.0", Board: "rpi4", Arch: "arm64", Kind: release.KindProgram},
		map[string][]byte{"leifeng-kiosk": bytes.Repeat([]byte("kiosk 2.0.0 "), 100000)})
	if _, err := host.Add(name, bundle); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LEIFENG_TOKEN", readToken(t, adminToken(t, data)))
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"rollout", "upload", "--api", api, "--data", data, "--repo", host.Dir, "--target", "kiosk-9.tar"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "kiosk-9.tar") {
		t.Fatalf("an unsigned target: %v", err)
	}
	if err := run(ctx, []string{"rollout", "upload", "--api", api, "--data", data, "--repo", host.Dir, "--target", name}, &out, &errOut); err != nil {
		t.Fatalf("upload: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "uploading "+name+": 100%") || !strings.Contains(errOut.String(), ": 50%") {
		t.Fatalf("progress: %q", errOut.String())
	}
	if !strings.Contains(out.String(), "targets version 2 accepted, published") {
		t.Fatalf("output: %q", out.String())
	}
	fc := &fetch.Client{Repo: api + "/firmware", Root: root, Dir: t.TempDir(), HTTP: http.DefaultClient}
	r, err := fc.Lookup(ctx, name)
	if err != nil {
		t.Fatalf("a kiosk cannot find the uploaded release: %v", err)
	}
	if _, err := fc.Download(ctx, r); err != nil {
		t.Fatalf("a kiosk cannot verify the uploaded release: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}
