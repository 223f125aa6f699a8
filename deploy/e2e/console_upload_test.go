package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// The console's upload form in Chromium, against the real cloud binary
// holding only root version 1 and the online keys: a bundle altered after
// signing is refused with the reason in Chinese; the release as the
// release host signed it (files picked from its metadata/ and targets/)
// is accepted, and a kiosk client then fetches and verifies it.
func TestConsoleUpload(t *testing.T) {
	browser := findChromium(t)
	dir, data := t.TempDir(), t.TempDir()
	host := repo.Open(filepath.Join(dir, "release"), filepath.Join(dir, "offline"))
	root, err := host.Init()
	if err != nil {
		t.Fatal(err)
	}
	online := filepath.Join(dir, "online")
	os.MkdirAll(filepath.Join(data, "firmware", "metadata"), 0o755)
	os.MkdirAll(online, 0o700)
	os.WriteFile(filepath.Join(data, "firmware", "metadata", "1.root.json"), root, 0o644)
	for _, role := range []string{repo.Snapshot, repo.Timestamp} {
		keys, _ := filepath.Glob(filepath.Join(host.Keys, role+"-*.pem"))
		k, _ := os.ReadFile(keys[0])
		os.WriteFile(filepath.Join(online, filepath.Base(keys[0])), k, 0o600)
	}
	const name = "kiosk-3.0.0.tar"
	if _, err := host.Add(name, releasetest.Build(t, release.Manifest{Version: "3.0.0", Board: "rpi4", Arch: "arm64",
		Kind: release.KindProgram}, map[string][]byte{"leifeng-kiosk": []byte("kiosk 3.0.0")})); err != nil {
		t.Fatal(err)
	}
	c := startCloud(t, cloudOpt{data: data, extra: []string{"--firmware-keys", online}})

	page := openPage(t, browser, c.http+"/console")
	c.consoleLogin(t, page)
	meta := filepath.Join(host.Dir, "metadata", "2.targets.json")
	bundles, _ := filepath.Glob(filepath.Join(host.Dir, "targets", "*."+name))
	bundle, err := os.ReadFile(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	metaData, _ := os.ReadFile(meta)
	// pick sets the form's file inputs as a person choosing files would.
	pick := func(bundleData []byte) {
		t.Helper()
		page.goTo(t, c.http+"/console/rollouts")
		page.eval(t, fmt.Sprintf(`(() => {
			const set = (id, name, b64) => { const b = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
				const dt = new DataTransfer(); dt.items.add(new File([b], name)); document.getElementById(id).files = dt.files; };
			set('uploadMeta', %q, %q); set('uploadBundle', %q, %q);
			document.getElementById('uploadBtn').click(); return true; })()`,
			filepath.Base(meta), base64.StdEncoding.EncodeToString(metaData),
			filepath.Base(bundles[0]), base64.StdEncoding.EncodeToString(bundleData)))
	}
	altered := append([]byte(nil), bundle...)
	altered[len(altered)/2] ^= 1
	pick(altered)
	page.waitTrue(t, `document.querySelector('.error') !== null && document.querySelector('.error').textContent.startsWith('上传失败：云端拒收：固件包的大小或校验值')`)
	if _, err := os.Stat(filepath.Join(data, "firmware", "metadata", "2.targets.json")); err == nil {
		t.Fatal("a refused upload wrote the targets metadata")
	}
	pick(bundle)
	page.waitTrue(t, `document.querySelector('.flash') !== null && document.querySelector('.flash').textContent.startsWith('上传成功：`+name+`')`)

	fc := &fetch.Client{Repo: c.http + "/firmware", Root: root, Dir: t.TempDir(), HTTP: &http.Client{}}
	r, err := fc.Lookup(context.Background(), name)
	if err != nil {
		t.Fatalf("a kiosk cannot find the release uploaded from the console: %v", err)
	}
	if _, err := fc.Download(context.Background(), r); err != nil {
		t.Fatalf("a kiosk cannot verify it: %v", err)
	}
}
