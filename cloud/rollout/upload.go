package rollout

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/repo"
)

// DefaultUploadMax bounds an upload's body (metadata and bundles) unless
// the cloud is told otherwise (--firmware-upload-max).
const DefaultUploadMax = 64 << 20

// maxMetadata bounds the metadata parts together: they are read into
// memory to verify (the bundles are not).
const maxMetadata = 4 << 20

// Refusals of an upload, for the API to branch on. Every refusal leaves
// the served repository as it was.
var (
	// ErrUploadSignature: the targets (or a new root) metadata is not
	// signed by the threshold of keys the trusted root names for it.
	ErrUploadSignature = errors.New("rollout: upload not signed by the keys the trusted root names")
	// ErrUploadVersion: the targets metadata is older than the repository's
	// (a rollback) or a root version does not follow the trusted one.
	ErrUploadVersion = errors.New("rollout: upload would go back in version")
	// ErrUploadBundle: a bundle's length or hashes differ from its targets
	// entry, or the metadata names a bundle the cloud does not have.
	ErrUploadBundle = errors.New("rollout: bundle does not match the signed targets metadata")
	// ErrUploadExpired: the uploaded metadata has already expired; kiosks
	// would refuse it.
	ErrUploadExpired = errors.New("rollout: uploaded metadata has expired")
)

// Upload form fields: the release host sends its metadata files
// (N.root.json for root versions, N.targets.json) as parts named
// "metadata" and each bundle as a part named "bundle" whose file name is
// the TUF target name. The order does not matter: bundles are checked
// once the whole upload is in.
const (
	FieldMetadata = "metadata"
	FieldBundle   = "bundle"
)

// Uploader accepts releases uploaded to the cloud's repository: it
// verifies them against the trusted root before anything is served. The
// cloud's users may upload, but only what the offline keys signed.
type Uploader struct {
	// Repo is the served repository (Dir); Keys holds the online snapshot
	// and timestamp keys, if the cloud has them.
	Repo *repo.Repo
	// Fresh, when set, signs a new snapshot and timestamp after a release
	// is accepted (the cloud holds the online keys). Without it the
	// release host publishes them itself.
	Fresh *Freshener
	// Now is the clock for expiry checks (time.Now if nil).
	Now func() time.Time

	mu sync.Mutex // one upload at a time: each checks against the last
}

// UploadResult says what an accepted upload put in place.
type UploadResult struct {
	TargetsVersion int64          `json:"targets_version"`
	Roots          []int64        `json:"roots,omitempty"`
	Bundles        []UploadBundle `json:"bundles"`
	// Published: the cloud signed a new snapshot and timestamp, so kiosks
	// see the release now.
	Published bool `json:"published"`
}

// UploadBundle is one accepted bundle.
type UploadBundle struct {
	Target string `json:"target"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

// staged is a bundle streamed into a temporary file in targets/.
type staged struct {
	name, tmp string
	length    int64
	sums      map[string][]byte
}

func (u *Uploader) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func invalid(format string, a ...any) error {
	return errors.Join(ErrInvalid, fmt.Errorf(format, a...))
}

// Receive reads an upload (see FieldMetadata and FieldBundle), verifies
// it and only then moves it into the repository. Bundles stream to
// temporary files in the repository's targets/ directory (hidden from
// Files by their leading dot) and never sit in memory.
func (u *Uploader) Receive(mr *multipart.Reader) (*UploadResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var (
		roots   []*metadata.Metadata[metadata.RootType]
		rootRaw = map[int64][]byte{}
		targets *metadata.Metadata[metadata.TargetsType]
		tRaw    []byte
		bundles []*staged
		metaLen int
	)
	defer func() {
		for _, b := range bundles {
			if b.tmp != "" {
				os.Remove(b.tmp)
			}
		}
	}()
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rollout: reading the upload: %w", err)
		}
		file := p.FileName()
		switch p.FormName() {
		case FieldMetadata:
			raw, err := io.ReadAll(io.LimitReader(p, int64(maxMetadata-metaLen+1)))
			if err != nil {
				return nil, fmt.Errorf("rollout: reading %s: %w", file, err)
			}
			if metaLen += len(raw); metaLen > maxMetadata {
				return nil, invalid("the metadata files are larger than %d bytes together", maxMetadata)
			}
			switch {
			case strings.HasSuffix(file, ".root.json"):
				r, err := metadata.Root().FromBytes(raw)
				if err != nil {
					return nil, invalid("%s is not root metadata: %v", file, err)
				}
				roots = append(roots, r)
				rootRaw[r.Signed.Version] = raw
			case strings.HasSuffix(file, "targets.json"):
				if targets != nil {
					return nil, invalid("more than one targets metadata in the upload")
				}
				if targets, err = metadata.Targets().FromBytes(raw); err != nil {
					return nil, invalid("%s is not targets metadata: %v", file, err)
				}
				tRaw = raw
			default:
				return nil, invalid("metadata file %q: upload N.root.json and N.targets.json only (the cloud signs snapshot and timestamp)", file)
			}
		case FieldBundle:
			if file == "" || file != filepath.Base(file) || strings.HasPrefix(file, ".") || strings.ContainsAny(file, "/\\") {
				return nil, invalid("bundle file name %q: use the target name", file)
			}
			b, err := u.stage(file, p)
			if b != nil {
				bundles = append(bundles, b)
			}
			if err != nil {
				return nil, err
			}
		default:
			return nil, invalid("unknown form field %q (metadata or bundle)", p.FormName())
		}
	}
	if targets == nil {
		return nil, invalid("the upload has no targets metadata (N.targets.json)")
	}

	// The chain of trust: the served root, then each uploaded root version
	// in turn, each signed by the threshold of the one before and its own.
	trusted, err := u.Repo.Root()
	if err != nil {
		return nil, fmt.Errorf("rollout: the cloud's trusted root: %w", err)
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].Signed.Version < roots[j].Signed.Version })
	var newRoots []int64
	for _, r := range roots {
		v := r.Signed.Version
		if v <= trusted.Signed.Version {
			// The release host sends every root it has; the ones the cloud
			// holds must be the same files.
			have, err := os.ReadFile(filepath.Join(u.Repo.Dir, "metadata", strconv.FormatInt(v, 10)+".root.json"))
			if err != nil || !bytes.Equal(have, rootRaw[v]) {
				return nil, fmt.Errorf("%w: root version %d differs from the cloud's", ErrUploadVersion, v)
			}
			continue
		}
		if v != trusted.Signed.Version+1 {
			return nil, fmt.Errorf("%w: root version %d does not follow the trusted version %d", ErrUploadVersion, v, trusted.Signed.Version)
		}
		if err := trusted.VerifyDelegate(metadata.ROOT, r); err != nil {
			return nil, fmt.Errorf("%w: root version %d by root version %d: %v", ErrUploadSignature, v, trusted.Signed.Version, err)
		}
		if err := r.VerifyDelegate(metadata.ROOT, r); err != nil {
			return nil, fmt.Errorf("%w: root version %d by its own keys: %v", ErrUploadSignature, v, err)
		}
		trusted = r
		newRoots = append(newRoots, v)
	}
	if trusted.Signed.IsExpired(u.now()) {
		return nil, fmt.Errorf("%w: root version %d", ErrUploadExpired, trusted.Signed.Version)
	}
	if err := trusted.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return nil, fmt.Errorf("%w: targets version %d: %v", ErrUploadSignature, targets.Signed.Version, err)
	}
	if targets.Signed.IsExpired(u.now()) {
		return nil, fmt.Errorf("%w: targets version %d expired %s", ErrUploadExpired, targets.Signed.Version, targets.Signed.Expires.Format(time.RFC3339))
	}
	tv := targets.Signed.Version
	if cur, ok := u.latest("targets"); ok {
		if tv < cur {
			return nil, fmt.Errorf("%w: targets version %d is lower than the repository's %d", ErrUploadVersion, tv, cur)
		}
		if tv == cur {
			// The same version again (e.g. to send a bundle once more)
			// must be the same file: clients cache a version's content.
			have, _ := os.ReadFile(filepath.Join(u.Repo.Dir, "metadata", strconv.FormatInt(tv, 10)+".targets.json"))
			if !bytes.Equal(have, tRaw) {
				return nil, fmt.Errorf("%w: targets version %d is already in the repository with other content; sign a new version", ErrUploadVersion, tv)
			}
		}
	}

	// Every bundle against its signed entry; every entry has its bundle.
	res := &UploadResult{TargetsVersion: tv, Roots: newRoots}
	uploaded := map[string]*staged{}
	for _, b := range bundles {
		tf, ok := targets.Signed.Targets[b.name]
		if hexName, rest, cut := strings.Cut(b.name, "."); !ok && cut && len(hexName) == 64 && isHex(hexName) {
			// Picked in a browser from the release host's targets/, where
			// the file is named SHA256.NAME.
			if tf, ok = targets.Signed.Targets[rest]; ok {
				b.name = rest
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s is not a target of targets version %d", ErrUploadBundle, b.name, tv)
		}
		if err := matches(tf, b); err != nil {
			return nil, err
		}
		uploaded[b.name] = b
		res.Bundles = append(res.Bundles, UploadBundle{Target: b.name, Length: b.length, SHA256: hex.EncodeToString(b.sums["sha256"])})
	}
	for name, tf := range targets.Signed.Targets {
		if uploaded[name] != nil {
			continue
		}
		sum, ok := tf.Hashes["sha256"]
		if !ok {
			return nil, fmt.Errorf("%w: target %s has no SHA-256", ErrUploadBundle, name)
		}
		fi, err := os.Stat(filepath.Join(u.Repo.Dir, "targets", hex.EncodeToString(sum)+"."+name))
		if err != nil || fi.Size() != tf.Length {
			return nil, fmt.Errorf("%w: targets version %d names %s, which is neither uploaded nor in the repository", ErrUploadBundle, tv, name)
		}
	}

	// All checks passed: bundles first (nothing names them yet), then the
	// roots in order, then the targets metadata, each by a rename.
	for _, b := range bundles {
		dst := filepath.Join(u.Repo.Dir, "targets", hex.EncodeToString(b.sums["sha256"])+"."+b.name)
		if err := os.Rename(b.tmp, dst); err != nil {
			return nil, fmt.Errorf("rollout: placing %s: %w", b.name, err)
		}
		b.tmp = ""
	}
	for _, v := range newRoots {
		if err := writeFileAtomic(filepath.Join(u.Repo.Dir, "metadata", strconv.FormatInt(v, 10)+".root.json"), rootRaw[v]); err != nil {
			return nil, err
		}
	}
	if err := writeFileAtomic(filepath.Join(u.Repo.Dir, "metadata", strconv.FormatInt(tv, 10)+".targets.json"), tRaw); err != nil {
		return nil, err
	}
	if u.Fresh != nil {
		if _, err := u.Fresh.Refresh(); err != nil {
			return res, fmt.Errorf("rollout: release accepted but snapshot and timestamp not re-signed: %w", err)
		}
		res.Published = true
	}
	return res, nil
}

// stage streams one bundle into a hidden temporary file in targets/,
// hashing it on the way.
func (u *Uploader) stage(name string, r io.Reader) (*staged, error) {
	f, err := os.CreateTemp(filepath.Join(u.Repo.Dir, "targets"), ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("rollout: staging %s: %w", name, err)
	}
	b := &staged{name: name, tmp: f.Name()}
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(f, h256, h512), r)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return b, fmt.Errorf("rollout: receiving %s: %w", name, err)
	}
	b.length = n
	b.sums = map[string][]byte{"sha256": h256.Sum(nil), "sha512": h512.Sum(nil)}
	return b, nil
}

// matches checks a staged bundle's length and every hash its signed entry
// lists; an entry with a hash the cloud cannot compute is refused, not
// passed unchecked.
func matches(tf *metadata.TargetFiles, b *staged) error {
	if tf.Length != b.length {
		return fmt.Errorf("%w: %s is %d bytes, the signed entry says %d", ErrUploadBundle, b.name, b.length, tf.Length)
	}
	if _, ok := tf.Hashes["sha256"]; !ok {
		return fmt.Errorf("%w: target %s has no SHA-256", ErrUploadBundle, b.name)
	}
	for alg, want := range tf.Hashes {
		got, ok := b.sums[alg]
		if !ok {
			return fmt.Errorf("%w: %s: hash %s is not supported", ErrUploadBundle, b.name, alg)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%w: %s: %s %x, the signed entry says %x", ErrUploadBundle, b.name, alg, got, []byte(want))
		}
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// latest is the highest N of the served metadata/N.role.json.
func (u *Uploader) latest(role string) (int64, bool) {
	files, _ := filepath.Glob(filepath.Join(u.Repo.Dir, "metadata", "*."+role+".json"))
	var best int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(f), "."+role+".json"), 10, 64)
		if err == nil && n > best {
			best = n
		}
	}
	return best, best > 0
}

// writeFileAtomic writes through a synced hidden temporary file and a
// rename, so a kiosk sees the old file or the new one, never half.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// WriteRelease writes an upload of the release host's repository dir to
// mw: every root version, the newest targets metadata and the bundles of
// the named targets. wrap, if set, wraps each bundle's reader (for a
// progress indication) and is told the bundle's name and length.
func WriteRelease(mw *multipart.Writer, dir string, names []string, wrap func(name string, size int64, r io.Reader) io.Reader) error {
	meta := filepath.Join(dir, "metadata")
	roots, err := filepath.Glob(filepath.Join(meta, "*.root.json"))
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return fmt.Errorf("rollout: no root metadata in %s: give the release host's repository directory", meta)
	}
	r := repo.Open(dir, "")
	u := &Uploader{Repo: r}
	tv, ok := u.latest("targets")
	if !ok {
		return fmt.Errorf("rollout: no targets metadata in %s: sign the release first (leifeng-firmware sign)", meta)
	}
	tName := filepath.Join(meta, strconv.FormatInt(tv, 10)+".targets.json")
	targets, err := metadata.Targets().FromFile(tName)
	if err != nil {
		return err
	}
	for _, f := range append(roots, tName) {
		if err := copyPart(mw, FieldMetadata, f, filepath.Base(f), nil); err != nil {
			return err
		}
	}
	for _, name := range names {
		tf, ok := targets.Signed.Targets[name]
		if !ok {
			return fmt.Errorf("%w: %s is not in targets version %d of %s", ErrUnknownTarget, name, tv, dir)
		}
		path := filepath.Join(dir, "targets", hex.EncodeToString(tf.Hashes["sha256"])+"."+name)
		w := func(rd io.Reader) io.Reader { return rd }
		if wrap != nil {
			w = func(rd io.Reader) io.Reader { return wrap(name, tf.Length, rd) }
		}
		if err := copyPart(mw, FieldBundle, path, name, w); err != nil {
			return err
		}
	}
	return nil
}

func copyPart(mw *multipart.Writer, field, path, name string, wrap func(io.Reader) io.Reader) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, name))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	var rd io.Reader = f
	if wrap != nil {
		rd = wrap(f)
	}
	_, err = io.Copy(pw, rd)
	return err
}

// UploadRefusal is how a person is told that an upload was refused: the
// HTTP status and the reason in Chinese; nothing of it was written. An
// error that is not a refusal is 500 and "".
func UploadRefusal(err error) (int, string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("上传的内容太大（上限 %d MiB），云端没有接收。请确认选的是这次发布的固件包；确实需要更大的包，请让管理员调大 --firmware-upload-max。", tooLarge.Limit>>20)
	case errors.Is(err, ErrUploadSignature):
		return http.StatusUnprocessableEntity, "云端拒收：目标元数据没有用当前根元数据认可的离线发布密钥签名（在线密钥或不认识的密钥签的都不收）。请在发布主机上用 leifeng-firmware sign 签名后再上传。"
	case errors.Is(err, ErrUploadVersion):
		return http.StatusUnprocessableEntity, "云端拒收：这个版本比云端仓库里已有的旧，或同一版本号内容不同，会让站点回退。请在发布主机上签出新版本后再上传。"
	case errors.Is(err, ErrUploadBundle):
		return http.StatusUnprocessableEntity, "云端拒收：固件包的大小或校验值和签名元数据记录的不一致（可能传输中损坏或被改动），或缺少元数据列出的固件包。请从发布主机重新上传完整的固件包。"
	case errors.Is(err, ErrUploadExpired):
		return http.StatusUnprocessableEntity, "云端拒收：上传的元数据已经过期，站点不会接受。请在发布主机上重新签名后再上传。"
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "上传的内容不完整或格式不对：请选择发布主机仓库 metadata 目录里最新的 N.targets.json（有新的 N.root.json 也一并选上）和对应的固件包，再上传。"
	}
	return http.StatusInternalServerError, ""
}
