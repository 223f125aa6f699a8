package rollout_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/cloud/rollout"
	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// uploadSetup is a release host's repository and the cloud's copy of its
// first root and metadata, with only the online keys in the cloud.
type uploadSetup struct {
	host  *repo.Repo
	root  []byte
	cloud *repo.Repo
	up    *rollout.Uploader
}

func newUploadSetup(t *testing.T) *uploadSetup {
	t.Helper()
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
	cloud := repo.Open(cloudDir, cloudKeys)
	return &uploadSetup{host: host, root: root, cloud: cloud,
		up: &rollout.Uploader{Repo: cloud, Fresh: &rollout.Freshener{Repo: cloud}}}
}

// release signs a bundle on the release host and returns its target name.
func (s *uploadSetup) release(t *testing.T, version string) string {
	t.Helper()
	bundle := releasetest.Build(t, release.Manifest{Version: version, Board: "rpi4", Arch: "arm64", Kind: release.KindProgram},
		map[string][]byte{"leifeng-kiosk": []byte(strings.Repeat("kiosk "+version+" ", 2000))})
	name := "kiosk-" + version + "-rpi4-arm64.tar"
	if _, err := s.host.Add(name, bundle); err != nil {
		t.Fatal(err)
	}
	return name
}

// upload sends what WriteRelease makes of the release host's repository.
func (s *uploadSetup) upload(names ...string) (*rollout.UploadResult, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := rollout.WriteRelease(mw, s.host.Dir, names, nil); err != nil {
		return nil, err
	}
	mw.Close()
	return s.up.Receive(multipart.NewReader(&body, mw.Boundary()))
}

type part struct {
	field, file string
	data        []byte
}

func (s *uploadSetup) uploadParts(parts ...part) (*rollout.UploadResult, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		w, _ := mw.CreateFormFile(p.field, p.file)
		w.Write(p.data)
	}
	mw.Close()
	return s.up.Receive(multipart.NewReader(&body, mw.Boundary()))
}

// tree is every file under dir with its SHA-256, to show that a refusal
// wrote nothing (not even a temporary file left behind).
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		lines = append(lines, fmt.Sprintf("%s %x", strings.TrimPrefix(p, dir), sha256.Sum256(data)))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostFile reads a file of the release host's repository.
func (s *uploadSetup) hostFile(t *testing.T, sub, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.host.Dir, sub, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bundleFile is the release host's bundle of target name.
func (s *uploadSetup) bundleFile(t *testing.T, name string) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.host.Dir, "targets", "*."+name))
	if len(files) != 1 {
		t.Fatalf("bundle %s: %v", name, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// resign signs the host's targets metadata version v with priv alone.
func (s *uploadSetup) resign(t *testing.T, v int64, priv ed25519.PrivateKey) []byte {
	t.Helper()
	tm, err := metadata.Targets().FromBytes(s.hostFile(t, "metadata", strconv.FormatInt(v, 10)+".targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	tm.ClearSignatures()
	if _, err := tm.Sign(signer); err != nil {
		t.Fatal(err)
	}
	raw, err := tm.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadKey(t *testing.T, dir, role string) ed25519.PrivateKey {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, role+"-*.pem"))
	if len(files) != 1 {
		t.Fatalf("%s key in %s: %v", role, dir, files)
	}
	raw, _ := os.ReadFile(files[0])
	b, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey)
}

// An upload of a release signed on the release host is verified, moved
// into the served repository, snapshot and timestamp are re-signed with
// the cloud's online keys, and a real kiosk client fetches and verifies
// it from /firmware/.
func TestUploadAccepted(t *testing.T) {
	s := newUploadSetup(t)
	name := s.release(t, "1.2.0")
	res, err := s.upload(name)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Published || res.TargetsVersion != 2 || len(res.Bundles) != 1 || res.Bundles[0].Target != name {
		t.Fatalf("result %+v", res)
	}
	if tmp, _ := filepath.Glob(filepath.Join(s.cloud.Dir, "*", ".upload-*")); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}

	mux := http.NewServeMux()
	mux.Handle("/firmware/", rollout.Files("/firmware/", s.cloud.Dir))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	c := &fetch.Client{Repo: srv.URL + "/firmware", Root: s.root, Dir: t.TempDir(), HTTP: srv.Client()}
	r, err := c.Lookup(context.Background(), name)
	if err != nil {
		t.Fatalf("a kiosk cannot find the uploaded release: %v", err)
	}
	if r.Manifest.Version != "1.2.0" {
		t.Fatalf("manifest %+v", r.Manifest)
	}
	if _, err := c.Download(context.Background(), r); err != nil {
		t.Fatalf("a kiosk cannot verify the uploaded bundle: %v", err)
	}

	// The same upload again changes nothing and is accepted (a resend).
	if _, err := s.upload(name); err != nil {
		t.Fatalf("resend: %v", err)
	}

	// A root rotation on the release host travels with the next release:
	// the new root is checked against the old one, and a kiosk that
	// trusts only root version 1 follows the chain.
	if err := s.host.Rotate(repo.Targets); err != nil {
		t.Fatal(err)
	}
	name2 := s.release(t, "1.3.0")
	res, err = s.upload(name2)
	if err != nil {
		t.Fatalf("after a targets key rotation: %v", err)
	}
	if len(res.Roots) != 1 || res.Roots[0] != 2 {
		t.Fatalf("roots %v", res.Roots)
	}
	c = &fetch.Client{Repo: srv.URL + "/firmware", Root: s.root, Dir: t.TempDir(), HTTP: srv.Client()}
	if r, err = c.Lookup(context.Background(), name2); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if _, err := c.Download(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// Refused before anything is written: targets metadata signed by an
// online key or a key the root does not name, a bundle that differs from
// its signed entry, a lower targets version, metadata naming a bundle the
// cloud lacks, a root version the trusted root did not sign, expired
// targets metadata.
func TestUploadRefused(t *testing.T) {
	s := newUploadSetup(t)
	v1 := s.release(t, "1.0.0") // targets version 2
	v2 := s.release(t, "1.1.0") // targets version 3
	if _, err := s.upload(v2); err == nil {
		t.Fatal("version 3 names a bundle (1.0.0) the cloud does not have, and was accepted")
	} else if !errors.Is(err, rollout.ErrUploadBundle) {
		t.Fatalf("missing bundle: %v", err)
	}
	if _, err := s.upload(v1, v2); err != nil {
		t.Fatal(err)
	}
	// s.host now holds targets version 3; the cloud too.
	rootV1 := s.hostFile(t, "metadata", "1.root.json")
	t2 := s.hostFile(t, "metadata", "2.targets.json")
	t3 := s.hostFile(t, "metadata", "3.targets.json")
	b1 := s.bundleFile(t, v1)
	_, unknown, _ := ed25519.GenerateKey(rand.Reader)
	altered := append([]byte(nil), b1...)
	altered[len(altered)/2] ^= 1

	// A new version 4 on the release host, to upload tampered forms of.
	v3 := s.release(t, "1.2.0")
	t4 := s.hostFile(t, "metadata", "4.targets.json")
	b3 := s.bundleFile(t, v3)
	altered3 := append([]byte(nil), b3...)
	altered3[100] ^= 0x20

	// A root version 2 signed only by its own new keys, not by root 1's.
	forged, err := metadata.Root().FromBytes(rootV1)
	if err != nil {
		t.Fatal(err)
	}
	forged.Signed.Version = 2
	forged.ClearSignatures()
	signer, _ := signature.LoadSigner(unknown, crypto.Hash(0))
	pub, _ := metadata.KeyFromPublicKey(unknown.Public())
	for _, role := range []string{repo.Root, repo.Targets} {
		forged.Signed.Roles[role].KeyIDs = nil
		if err := forged.Signed.AddKey(pub, role); err != nil {
			t.Fatal(err)
		}
	}
	forged.Signed.Roles[repo.Root].Threshold = 1
	forged.Sign(signer)
	forgedRaw, _ := forged.ToBytes(true)

	before := tree(t, s.cloud.Dir)
	for _, c := range []struct {
		what  string
		want  error
		parts []part
	}{
		{"targets signed by the snapshot key", rollout.ErrUploadSignature,
			[]part{{"metadata", "4.targets.json", s.resign(t, 4, loadKey(t, s.host.Keys, repo.Snapshot))}, {"bundle", v3, b3}}},
		{"targets signed by the timestamp key", rollout.ErrUploadSignature,
			[]part{{"metadata", "4.targets.json", s.resign(t, 4, loadKey(t, s.host.Keys, repo.Timestamp))}, {"bundle", v3, b3}}},
		{"targets signed by an unknown key", rollout.ErrUploadSignature,
			[]part{{"metadata", "4.targets.json", s.resign(t, 4, unknown)}, {"bundle", v3, b3}}},
		{"a root the trusted root did not sign", rollout.ErrUploadSignature,
			[]part{{"metadata", "2.root.json", forgedRaw}, {"metadata", "4.targets.json", s.resign(t, 4, unknown)}, {"bundle", v3, b3}}},
		{"a bundle whose hash differs", rollout.ErrUploadBundle,
			[]part{{"metadata", "4.targets.json", t4}, {"bundle", v3, altered3}}},
		{"a bundle cut short", rollout.ErrUploadBundle,
			[]part{{"metadata", "4.targets.json", t4}, {"bundle", v3, b3[:len(b3)-1]}}},
		{"an older bundle altered, resent with the same targets", rollout.ErrUploadBundle,
			[]part{{"metadata", "3.targets.json", t3}, {"bundle", v1, altered}}},
		{"a lower targets version", rollout.ErrUploadVersion,
			[]part{{"metadata", "2.targets.json", t2}, {"bundle", v1, b1}}},
		{"a bundle not in the targets", rollout.ErrUploadBundle,
			[]part{{"metadata", "4.targets.json", t4}, {"bundle", v3, b3}, {"bundle", "other.tar", b3}}},
		{"no targets metadata", rollout.ErrInvalid, []part{{"bundle", v3, b3}}},
		{"snapshot metadata", rollout.ErrInvalid, []part{{"metadata", "4.snapshot.json", t4}}},
	} {
		_, err := s.uploadParts(c.parts...)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, err, c.want)
		}
		if after := tree(t, s.cloud.Dir); after != before {
			t.Fatalf("%s: the repository changed:\n%s\nwas\n%s", c.what, after, before)
		}
	}
	// Signed metadata a kiosk would refuse as expired (the cloud's clock
	// 200 days on, past the targets' 180) is refused too.
	s.up.Now = func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	if _, err := s.uploadParts(part{"metadata", "4.targets.json", t4}, part{"bundle", v3, b3}); !errors.Is(err, rollout.ErrUploadExpired) {
		t.Errorf("expired targets: %v", err)
	}
	if after := tree(t, s.cloud.Dir); after != before {
		t.Fatal("an expired upload changed the repository")
	}
	s.up.Now = nil

	// And the genuine version 4 still goes in, its bundle named as in the
	// release host's targets/ (SHA256.NAME, as a browser picks it).
	files, _ := filepath.Glob(filepath.Join(s.host.Dir, "targets", "*."+v3))
	res, err := s.uploadParts(part{"metadata", "4.targets.json", t4}, part{"bundle", filepath.Base(files[0]), b3})
	if err != nil || len(res.Bundles) != 1 || res.Bundles[0].Target != v3 {
		t.Fatalf("%+v %v", res, err)
	}
}
