package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestInitRoles(t *testing.T) {
	dir := t.TempDir()
	r := Open(filepath.Join(dir, "repo"), filepath.Join(dir, "keys"))
	if _, err := r.Init(); err != nil {
		t.Fatal(err)
	}
	root, err := r.Root()
	if err != nil {
		t.Fatal(err)
	}
	for role, n := range map[string]int{Root: 3, Targets: 1, Snapshot: 1, Timestamp: 1} {
		rl := root.Signed.Roles[role]
		if len(rl.KeyIDs) != n {
			t.Errorf("%s has %d keys, want %d", role, len(rl.KeyIDs), n)
		}
		for _, id := range rl.KeyIDs {
			if root.Signed.Keys[id].Type != "ed25519" {
				t.Errorf("%s key %s is %s", role, id, root.Signed.Keys[id].Type)
			}
		}
	}
	if root.Signed.Roles[Root].Threshold != 2 || !root.Signed.ConsistentSnapshot {
		t.Fatalf("root %+v", root.Signed)
	}
	if _, err := r.Init(); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v", err)
	}
}

// With two of the three root keys away (offline, elsewhere), a root
// rotation cannot be signed; with two present it can.
func TestRotateNeedsRootThreshold(t *testing.T) {
	dir := t.TempDir()
	r := Open(filepath.Join(dir, "repo"), filepath.Join(dir, "keys"))
	if _, err := r.Init(); err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(r.Keys, "root-*.pem"))
	away := filepath.Join(dir, "safe")
	os.MkdirAll(away, 0o700)
	for _, k := range keys[:2] {
		os.Rename(k, filepath.Join(away, filepath.Base(k)))
	}
	if err := r.Rotate(Targets); !errors.Is(err, ErrNoKey) {
		t.Fatalf("rotate with one root key: %v", err)
	}
	os.Rename(filepath.Join(away, filepath.Base(keys[0])), keys[0])
	if err := r.Rotate(Targets); err != nil {
		t.Fatalf("rotate with two root keys: %v", err)
	}
}

func TestNoStrayKeysAfterRefusedRotation(t *testing.T) {
	dir := t.TempDir()
	r := Open(filepath.Join(dir, "repo"), filepath.Join(dir, "keys"))
	if _, err := r.Init(); err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(r.Keys, "root-*.pem"))
	for _, k := range keys[:2] {
		os.Remove(k)
	}
	before, _ := filepath.Glob(filepath.Join(r.Keys, "*.pem"))
	r.Rotate(Targets)
	after, _ := filepath.Glob(filepath.Join(r.Keys, "*.pem"))
	if len(after) != len(before) {
		t.Fatalf("%d keys before a refused rotation, %d after", len(before), len(after))
	}
}
