package fetch_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/releasetest"
	"leifeng/firmware/repo"
)

func manifest(v string) release.Manifest {
	return release.Manifest{Version: v, Board: "rpi4", Arch: "arm64", Kind: release.KindProgram}
}

func payload(n int) map[string][]byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return map[string][]byte{"leifeng-kiosk": b, "units/leifeng-kiosk.service": []byte("[Service]\n")}
}

func client(k *releasetest.Kit, dir string) *fetch.Client {
	return &fetch.Client{Repo: k.URL(), Root: k.Root, Dir: dir, HTTP: k.Client(), Backoff: time.Millisecond}
}

func TestLookupDownloadResume(t *testing.T) {
	k := releasetest.New(t)
	bundle := k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(300_000))
	k.Drop(50_000, 120_000, 10)
	c := client(k, t.TempDir())
	ctx := context.Background()
	r, err := c.Lookup(ctx, "kiosk-1.1.0.tar")
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Version != "1.1.0" || r.Manifest.Board != "rpi4" {
		t.Fatalf("manifest %+v", r.Manifest)
	}
	p, err := c.Download(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want, _ := os.ReadFile(bundle)
	if !bytes.Equal(got, want) {
		t.Fatal("downloaded bundle differs")
	}
	if c.Downloaded != r.Target.Length {
		t.Errorf("downloaded %d bytes for a %d-byte bundle despite three drops: resume re-fetched bytes", c.Downloaded, r.Target.Length)
	}
	if k.Requests() != 4 {
		t.Errorf("%d requests, want 4 (three dropped, one to finish)", k.Requests())
	}
	if err := fetch.Verify(p, r.Manifest); err != nil {
		t.Fatal(err)
	}
}

func TestAlteredDownloadRefused(t *testing.T) {
	k := releasetest.New(t)
	k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(10_000))
	c := client(k, t.TempDir())
	ctx := context.Background()
	r, err := c.Lookup(ctx, "kiosk-1.1.0.tar")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(k.Repo.Dir, "targets", "*.kiosk-1.1.0.tar"))
	data, _ := os.ReadFile(files[0])
	data[len(data)/2] ^= 1
	os.WriteFile(files[0], data, 0o644)
	if _, err := c.Download(ctx, r); !errors.Is(err, fetch.ErrCorrupt) {
		t.Fatalf("altered bundle: %v, want ErrCorrupt", err)
	}
	os.WriteFile(files[0], data[:len(data)-100], 0o644)
	if _, err := c.Download(ctx, r); !errors.Is(err, fetch.ErrCorrupt) && err == nil {
		t.Fatalf("truncated bundle: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(c.Dir, "downloads", "*.bundle")); len(left) != 0 {
		t.Fatalf("a bad download was kept as complete: %v", left)
	}
}

// signTargets writes the next targets version, listing a new target, signed
// by priv, and publishes snapshot and timestamp with the online keys: what
// a thief of priv and of the cloud's keys could do.
func signTargets(t *testing.T, k *releasetest.Kit, priv ed25519.PrivateKey) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(k.Repo.Dir, "metadata", "*.targets.json"))
	var best int
	for _, f := range files {
		n, _ := strconv.Atoi(filepath.Base(f)[:len(filepath.Base(f))-len(".targets.json")])
		best = max(best, n)
	}
	tg, err := metadata.Targets().FromFile(filepath.Join(k.Repo.Dir, "metadata", strconv.Itoa(best)+".targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := releasetest.Build(t, manifest("9.9.9"), payload(100))
	tf, _ := metadata.TargetFile().FromFile(p, "sha256")
	tg.Signed.Targets["evil.tar"] = tf
	tg.Signed.Version++
	tg.ClearSignatures()
	s, _ := signature.LoadSigner(priv, crypto.Hash(0))
	if _, err := tg.Sign(s); err != nil {
		t.Fatal(err)
	}
	if err := tg.ToFile(filepath.Join(k.Repo.Dir, "metadata", strconv.FormatInt(tg.Signed.Version, 10)+".targets.json"), true); err != nil {
		t.Fatal(err)
	}
	if err := k.Repo.Publish(); err != nil {
		t.Fatal(err)
	}
}

func readKey(t *testing.T, pattern string) ed25519.PrivateKey {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		t.Fatalf("no key %s", pattern)
	}
	raw, _ := os.ReadFile(files[0])
	b, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey)
}

func TestRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("signed by the online key alone", func(t *testing.T) {
		k := releasetest.New(t)
		signTargets(t, k, readKey(t, filepath.Join(k.Repo.Keys, "snapshot-*.pem")))
		if _, err := client(k, t.TempDir()).Lookup(ctx, "evil.tar"); !errors.Is(err, fetch.ErrMetadata) {
			t.Fatalf("targets signed by the snapshot key: %v, want ErrMetadata", err)
		}
	})
	t.Run("altered metadata", func(t *testing.T) {
		k := releasetest.New(t)
		k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(100))
		p := filepath.Join(k.Repo.Dir, "metadata", "2.targets.json")
		data, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(data, []byte(`"1.1.0"`), []byte(`"1.1.1"`), 1), 0o644)
		if _, err := client(k, t.TempDir()).Lookup(ctx, "kiosk-1.1.0.tar"); !errors.Is(err, fetch.ErrMetadata) {
			t.Fatalf("altered targets: %v, want ErrMetadata", err)
		}
	})
	t.Run("expired timestamp", func(t *testing.T) {
		k := releasetest.New(t)
		k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(100))
		c := client(k, t.TempDir())
		c.Now = func() time.Time { return time.Now().Add(repo.DefaultExpiry.Timestamp + time.Hour) }
		_, err := c.Lookup(ctx, "kiosk-1.1.0.tar")
		var exp *metadata.ErrExpiredMetadata
		if !errors.Is(err, fetch.ErrMetadata) || !errors.As(err, &exp) {
			t.Fatalf("expired timestamp: %v, want ErrMetadata with ErrExpiredMetadata", err)
		}
	})
	t.Run("rolled-back snapshot", func(t *testing.T) {
		k := releasetest.New(t)
		k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(100))
		ts := filepath.Join(k.Repo.Dir, "metadata", "timestamp.json")
		old, _ := os.ReadFile(ts)
		k.Publish(t, "kiosk-1.2.0.tar", manifest("1.2.0"), payload(100))
		c := client(k, t.TempDir())
		if _, err := c.Lookup(ctx, "kiosk-1.2.0.tar"); err != nil {
			t.Fatal(err)
		}
		// A mirror replays the older (still unexpired, validly signed)
		// timestamp to hide 1.2.0: a freeze/rollback attack.
		os.WriteFile(ts, old, 0o644)
		if _, err := c.Lookup(ctx, "kiosk-1.1.0.tar"); !errors.Is(err, fetch.ErrMetadata) {
			t.Fatalf("older timestamp: %v, want ErrMetadata", err)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	k := releasetest.New(t)
	k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(100))
	kiosk := client(k, t.TempDir())
	if _, err := kiosk.Lookup(ctx, "kiosk-1.1.0.tar"); err != nil {
		t.Fatal(err)
	}
	oldTargets := readKey(t, filepath.Join(k.Repo.Keys, "targets-*.pem"))
	if err := k.Repo.Rotate(repo.Targets); err != nil {
		t.Fatal(err)
	}
	if err := k.Repo.Rotate(repo.Root); err != nil {
		t.Fatal(err)
	}
	k.Publish(t, "kiosk-1.2.0.tar", manifest("1.2.0"), payload(100))
	// Both a kiosk that knew root 1 and a new one provisioned with root 1
	// follow the chain to root 3 and take the release signed by the new key.
	for _, c := range []*fetch.Client{kiosk, client(k, t.TempDir())} {
		if _, err := c.Lookup(ctx, "kiosk-1.2.0.tar"); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	root, _ := k.Repo.Root()
	if root.Signed.Version != 3 || len(root.Signed.Roles[repo.Root].KeyIDs) != 3 || root.Signed.Roles[repo.Root].Threshold != 2 {
		t.Fatalf("root after rotations: v%d %+v", root.Signed.Version, root.Signed.Roles[repo.Root])
	}
	// The retired targets key signs a release: refused.
	signTargets(t, k, oldTargets)
	if _, err := kiosk.Lookup(ctx, "evil.tar"); !errors.Is(err, fetch.ErrMetadata) {
		t.Fatalf("release signed by the retired targets key: %v, want ErrMetadata", err)
	}
}

func TestRootSignedByRetiredKeysRefused(t *testing.T) {
	ctx := context.Background()
	k := releasetest.New(t)
	k.Publish(t, "kiosk-1.1.0.tar", manifest("1.1.0"), payload(100))
	var old []ed25519.PrivateKey
	files, _ := filepath.Glob(filepath.Join(k.Repo.Keys, "root-*.pem"))
	for _, f := range files {
		old = append(old, readKey(t, f))
	}
	if err := k.Repo.Rotate(repo.Root); err != nil {
		t.Fatal(err)
	}
	kiosk := client(k, t.TempDir())
	if _, err := kiosk.Lookup(ctx, "kiosk-1.1.0.tar"); err != nil {
		t.Fatal(err)
	}
	// Root 3 signed only by the three retired root keys of root 1.
	root, _ := k.Repo.Root()
	root.Signed.Version = 3
	root.ClearSignatures()
	for _, priv := range old {
		s, _ := signature.LoadSigner(priv, crypto.Hash(0))
		root.Sign(s)
	}
	root.ToFile(filepath.Join(k.Repo.Dir, "metadata", "3.root.json"), true)
	if _, err := kiosk.Lookup(ctx, "kiosk-1.1.0.tar"); !errors.Is(err, fetch.ErrMetadata) {
		t.Fatalf("root signed by retired keys: %v, want ErrMetadata", err)
	}
}
