package release

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0}, {"1.2.10", "1.2.9", 1}, {"1.10.0", "1.9.9", 1}, {"0.9.0", "1.0.0", -1},
		{"v2.0.0", "2.0.0", 0}, {"dev", "0.0.1", -1}, {"1.0.0", "dev", 1},
	} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if _, err := ParseVersion("1.2"); !errors.Is(err, ErrBadVersion) {
		t.Errorf("1.2: %v", err)
	}
}

func build(t *testing.T) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "units"), 0o755)
	os.WriteFile(filepath.Join(dir, "leifeng-kiosk"), []byte("binary"), 0o755)
	os.WriteFile(filepath.Join(dir, "units", "k.service"), []byte("[Service]\n"), 0o644)
	var buf bytes.Buffer
	m := Manifest{Version: "1.0.0", Board: "rpi4", Arch: "arm64"}
	if err := Build(&buf, &m, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), dir
}

func TestBuildWalkVerify(t *testing.T) {
	data, dir := build(t)
	var names []string
	m, err := Walk(bytes.NewReader(data), func(f File, r io.Reader) error {
		names = append(names, f.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindProgram || len(names) != 2 || names[0] != "leifeng-kiosk" {
		t.Fatalf("%+v %v", m, names)
	}
	if err := Verify(dir, m); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "leifeng-kiosk"), []byte("binarY"), 0o755)
	if err := Verify(dir, m); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("changed file: %v", err)
	}
}

// evil is a bundle whose manifest lists name, and whose member is name.
func evil(t *testing.T, name string) []byte {
	t.Helper()
	return evilBundle(name)
}

func evilBundle(name string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	man := []byte(`{"version":"1.0.0","board":"rpi4","arch":"arm64","kind":"program","min_config_version":0,"files":[{"name":"` + name + `","size":1,"mode":420,"sha256":"x"}]}`)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Size: int64(len(man)), Mode: 0o644})
	tw.Write(man)
	tw.WriteHeader(&tar.Header{Name: name, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	return buf.Bytes()
}

func TestWalkRefuses(t *testing.T) {
	for _, name := range []string{"../etc/passwd", "/etc/passwd", "a/../../b", "manifest.json"} {
		if _, err := Walk(bytes.NewReader(evil(t, name)), func(File, io.Reader) error { return nil }); !errors.Is(err, ErrBadBundle) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A member whose bytes do not match the manifest's hash.
	if _, err := Walk(bytes.NewReader(evil(t, "ok")), func(File, io.Reader) error { return nil }); !errors.Is(err, ErrBadBundle) {
		t.Errorf("bad hash: %v", err)
	}
	data, _ := build(t)
	if _, err := Walk(bytes.NewReader(data[:len(data)-1024-510]), func(File, io.Reader) error { return nil }); !errors.Is(err, ErrBadBundle) {
		t.Errorf("truncated: %v", err)
	}
}
