package update_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

// latestTargets returns the newest targets metadata file.
func latestTargets(t *testing.T, kit *releasetest.Kit) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(kit.Repo.Dir, "metadata", "*.targets.json"))
	best, bestN := "", 0
	for _, f := range files {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".targets.json"))
		if n > bestN {
			best, bestN = f, n
		}
	}
	return best
}

// corruptSignature flips a bit of the targets signature, as a broken or
// forged upload would.
func corruptSignature(t *testing.T, kit *releasetest.Kit) {
	t.Helper()
	p := latestTargets(t, kit)
	m, err := metadata.Targets().FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m.Signatures[0].Signature[3] ^= 1
	if err := m.ToFile(p, true); err != nil {
		t.Fatal(err)
	}
}

// alterTarget rewrites every published bundle file with f.
func alterTarget(t *testing.T, kit *releasetest.Kit, f func([]byte) []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(kit.Repo.Dir, "targets", "*"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		os.WriteFile(p, f(b), 0o644)
	}
}

// retiredTargetsKey rotates the targets key and returns the old one.
func retiredTargetsKey(t *testing.T, kit *releasetest.Kit) ed25519.PrivateKey {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(kit.Repo.Keys, "targets-*.pem"))
	raw, _ := os.ReadFile(files[0])
	b, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := kit.Repo.Rotate(repo.Targets); err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey)
}

// signWithKey publishes a release whose targets metadata is signed by
// priv (and snapshot and timestamp by the real online keys).
func signWithKey(t *testing.T, kit *releasetest.Kit, priv ed25519.PrivateKey, name string, m release.Manifest, files map[string][]byte) {
	t.Helper()
	p := releasetest.Build(t, m, files)
	tf, err := metadata.TargetFile().FromFile(p, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	mm, err := release.ReadManifest(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(mm)
	custom := json.RawMessage(raw)
	tf.Custom = &custom
	data, _ := os.ReadFile(p)
	os.WriteFile(filepath.Join(kit.Repo.Dir, "targets", hex.EncodeToString(tf.Hashes["sha256"])+"."+name), data, 0o644)
	tg, err := metadata.Targets().FromFile(latestTargets(t, kit))
	if err != nil {
		t.Fatal(err)
	}
	tg.Signed.Targets[name] = tf
	tg.Signed.Version++
	tg.ClearSignatures()
	s, _ := signature.LoadSigner(priv, crypto.Hash(0))
	if _, err := tg.Sign(s); err != nil {
		t.Fatal(err)
	}
	if err := tg.ToFile(filepath.Join(kit.Repo.Dir, "metadata", strconv.FormatInt(tg.Signed.Version, 10)+".targets.json"), true); err != nil {
		t.Fatal(err)
	}
	if err := kit.Repo.Publish(); err != nil {
		t.Fatal(err)
	}
}
