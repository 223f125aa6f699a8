package release

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ManifestName is the bundle member that holds the Manifest; it comes
// first so a reader can check it before reading the payload.
const ManifestName = "manifest.json"

// Kinds of payload.
const (
	// KindProgram is a payload for program slots: files unpacked into
	// /opt/leifeng/{a,b}; the slot's leifeng-kiosk is started by systemd.
	KindProgram = "program"
	// KindImage is a full A/B image: boot.img and root.img, written raw to
	// the inactive boot and root partitions (package tryboot).
	KindImage = "image"
)

// Image payload members.
const (
	BootImage = "boot.img"
	RootImage = "root.img"
)

// Errors a caller branches on.
var (
	ErrBadBundle  = errors.New("release: bad bundle")
	ErrBadVersion = errors.New("release: bad version")
)

// Manifest says what a release is and where it may run.
type Manifest struct {
	// Version is the release version, "MAJOR.MINOR.PATCH" (see Compare).
	Version string `json:"version"`
	// Board is the board family it runs on: "rpi4", "rpi5", "rpi3",
	// "rpizero", or "any" for a program that runs on every board of Arch.
	Board string `json:"board"`
	// Arch is GOARCH (and GOARM for arm): "arm64", "armv6", "armv7", "amd64".
	Arch string `json:"arch"`
	// Kind is KindProgram or KindImage.
	Kind string `json:"kind"`
	// MinConfigVersion is the lowest station config version the release
	// understands; a kiosk with an older config refuses it.
	MinConfigVersion uint64 `json:"min_config_version"`
	// Files lists the payload members, sorted, with their sizes.
	Files []File `json:"files"`
}

// Equal reports whether m and o describe the same release, member for
// member: what a bundle's own manifest must be to match the one signed
// into its TUF target.
func (m *Manifest) Equal(o *Manifest) bool {
	if m == nil || o == nil {
		return m == o
	}
	return m.Version == o.Version && m.Board == o.Board && m.Arch == o.Arch && m.Kind == o.Kind &&
		m.MinConfigVersion == o.MinConfigVersion && slices.Equal(m.Files, o.Files)
}

// File is a payload member.
type File struct {
	Name string      `json:"name"`
	Size int64       `json:"size"`
	Mode fs.FileMode `json:"mode"`
	// SHA256 is the member's hash, hex: an installed slot is checked
	// against it again before it is started (Verify).
	SHA256 string `json:"sha256"`
}

// Validate checks the fields a kiosk relies on.
func (m *Manifest) Validate() error {
	if _, err := ParseVersion(m.Version); err != nil {
		return err
	}
	if m.Board == "" || m.Arch == "" {
		return fmt.Errorf("%w: manifest without board or architecture", ErrBadBundle)
	}
	if m.Kind != KindProgram && m.Kind != KindImage {
		return fmt.Errorf("%w: kind %q", ErrBadBundle, m.Kind)
	}
	for _, f := range m.Files {
		if err := checkName(f.Name); err != nil {
			return err
		}
	}
	return nil
}

// Fits reports whether a kiosk of board and arch may run m.
func (m *Manifest) Fits(board, arch string) bool {
	return (m.Board == board || m.Board == "any") && m.Arch == arch
}

// Version is a parsed "MAJOR.MINOR.PATCH".
type Version [3]uint64

// ParseVersion parses "MAJOR.MINOR.PATCH" (a leading "v" is allowed).
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("%w: %q is not MAJOR.MINOR.PATCH", ErrBadVersion, s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not MAJOR.MINOR.PATCH", ErrBadVersion, s)
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or +1 as version a is older than, the same as, or
// newer than b. An unparsable version is older than every parsable one, so
// a kiosk that runs a development build ("dev") takes any release.
func Compare(a, b string) int {
	va, ea := ParseVersion(a)
	vb, eb := ParseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return 0
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// checkName refuses a member name that could escape the directory it is
// extracted into.
func checkName(name string) error {
	if name == "" || name == ManifestName || path.IsAbs(name) || path.Clean(name) != name ||
		name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "\\") {
		return fmt.Errorf("%w: member name %q", ErrBadBundle, name)
	}
	return nil
}

// Build writes a bundle of m and the regular files under dir to w. It
// fills m.Files from dir (the caller sets the other fields).
func Build(w io.Writer, m *Manifest, dir string) error {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file", ErrBadBundle, p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum, err := fileSHA256(p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: filepath.ToSlash(rel), Size: info.Size(), Mode: info.Mode().Perm(), SHA256: sum})
		return nil
	})
	if err != nil {
		return fmt.Errorf("release: payload %s: %w", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	m.Files = files
	if m.Kind == "" {
		m.Kind = KindProgram
	}
	if m.Kind == KindImage {
		have := map[string]bool{}
		for _, f := range files {
			have[f.Name] = true
		}
		if !have[BootImage] || !have[RootImage] {
			return fmt.Errorf("%w: an image release needs %s and %s", ErrBadBundle, BootImage, RootImage)
		}
	}
	if err := m.Validate(); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(raw)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(raw); err != nil {
		return err
	}
	for _, f := range files {
		if err := addFile(tw, filepath.Join(dir, filepath.FromSlash(f.Name)), f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, p string, f File) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: int64(f.Mode), Size: f.Size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, f.Size); err != nil {
		return fmt.Errorf("release: %s changed while bundling: %w", p, err)
	}
	return nil
}

// ReadManifest reads the manifest at the start of a bundle.
func ReadManifest(r io.Reader) (*Manifest, error) {
	tr := tar.NewReader(r)
	return readManifest(tr)
}

func readManifest(tr *tar.Reader) (*Manifest, error) {
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBundle, err)
	}
	if h.Name != ManifestName || h.Size > 1<<20 {
		return nil, fmt.Errorf("%w: first member is %q, not %s", ErrBadBundle, h.Name, ManifestName)
	}
	dec := json.NewDecoder(tr)
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrBadBundle, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Walk reads the bundle r, checks every member against its manifest, and
// calls fn for each payload member with a reader of exactly its bytes. A
// member not in the manifest, missing, repeated or of another size is
// ErrBadBundle. The bundle's integrity is the TUF target hash's business,
// checked before Walk is called; Walk makes sure a correctly signed but
// malformed bundle still cannot write outside its place.
func Walk(r io.Reader, fn func(f File, r io.Reader) error) (*Manifest, error) {
	tr := tar.NewReader(r)
	m, err := readManifest(tr)
	if err != nil {
		return nil, err
	}
	want := map[string]File{}
	for _, f := range m.Files {
		want[f.Name] = f
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadBundle, err)
		}
		f, ok := want[h.Name]
		if !ok || h.Typeflag != tar.TypeReg || h.Size != f.Size {
			return nil, fmt.Errorf("%w: member %q not as in the manifest", ErrBadBundle, h.Name)
		}
		delete(want, h.Name)
		hr := &hashReader{r: io.LimitReader(tr, f.Size), h: sha256.New()}
		if err := fn(f, hr); err != nil {
			return nil, err
		}
		// Read what fn left, so the hash covers the whole member.
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadBundle, err)
		}
		if hex.EncodeToString(hr.h.Sum(nil)) != f.SHA256 {
			return nil, fmt.Errorf("%w: member %q does not match its hash", ErrBadBundle, f.Name)
		}
	}
	if len(want) > 0 {
		return nil, fmt.Errorf("%w: %d members missing", ErrBadBundle, len(want))
	}
	return m, nil
}

type hashReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verify checks that dir holds every payload file of m with its size and
// hash: an installed slot is whole. Extra files are allowed (a slot may
// hold the manifest copy).
func Verify(dir string, m *Manifest) error {
	for _, f := range m.Files {
		sum, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadBundle, f.Name, err)
		}
		if sum != f.SHA256 {
			return fmt.Errorf("%w: %s in %s does not match the manifest", ErrBadBundle, f.Name, dir)
		}
	}
	return nil
}
