package cards

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"leifeng/reader/credential"
)

// The key is made once, mode 0600, and every process loading it at once
// gets the same key; an existing key keeps its ID.
func TestKeyCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	keys := make([]string, 8)
	created := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, c, err := LoadKey(dir, 7)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], created[i] = string(PublicKey(k).PublicKey), c
		})
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatal("two different keys")
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d loads created the key, want 1", n)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k, c, err := LoadKey(dir, 9)
	if err != nil || c || k.KeyID != 7 {
		t.Fatalf("reload: id %d created %v err %v", k.KeyID, c, err)
	}
}

// The name on a card is masked, and a very long one folds its stars so
// that it fits the credential.
func TestDisplayName(t *testing.T) {
	for name, want := range map[string]string{
		"王小明": "王*明", "张三": "张*", "欧阳娜娜": "欧**娜", "": "",
		strings.Repeat("阿", 30): "阿*阿",
	} {
		got := displayName(name)
		if got != want || len(got) > credential.MaxNameLen {
			t.Errorf("displayName(%q) = %q, want %q", name, got, want)
		}
	}
}
