package repo

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/release"
)

// Role names.
const (
	Root      = metadata.ROOT
	Targets   = metadata.TARGETS
	Snapshot  = metadata.SNAPSHOT
	Timestamp = metadata.TIMESTAMP
)

// RootKeys and RootThreshold: root is signed by 2 of 3 offline keys.
const (
	RootKeys      = 3
	RootThreshold = 2
)

// Errors a caller branches on.
var (
	ErrExists   = errors.New("repo: a repository already exists there")
	ErrNoKey    = errors.New("repo: a signing key of the role is not in the keys directory")
	ErrNoTarget = errors.New("repo: no such target")
)

// Expiry says how long each role's metadata is valid after it is signed.
type Expiry struct{ Root, Targets, Snapshot, Timestamp time.Duration }

// DefaultExpiry: offline roles for a year and half a year, online roles
// for a week and a day (the cloud re-publishes daily).
var DefaultExpiry = Expiry{Root: 365 * 24 * time.Hour, Targets: 180 * 24 * time.Hour, Snapshot: 7 * 24 * time.Hour, Timestamp: 24 * time.Hour}

// Repo is a repository on the release host.
type Repo struct {
	Dir    string // the published tree: metadata/ and targets/
	Keys   string // private keys, PKCS #8 PEM, one per file
	Expiry Expiry
	// Now is the clock (time.Now if nil); tests set it to sign metadata
	// that is already expired.
	Now func() time.Time
}

// Open returns the repository in dir with keys in keys.
func Open(dir, keys string) *Repo {
	return &Repo{Dir: dir, Keys: keys, Expiry: DefaultExpiry}
}

func (r *Repo) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Repo) meta(name string) string { return filepath.Join(r.Dir, "metadata", name) }

// Init makes a new repository: fresh keys for every role, root version 1
// signed by all three root keys, empty targets, and a first snapshot and
// timestamp. It returns the root metadata, the file every kiosk is
// provisioned with (its trust anchor).
func (r *Repo) Init() ([]byte, error) {
	if _, err := os.Stat(r.meta("1.root.json")); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, r.Dir)
	}
	for _, d := range []string{filepath.Join(r.Dir, "metadata"), filepath.Join(r.Dir, "targets"), r.Keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	now := r.now()
	root := metadata.Root(now.Add(r.Expiry.Root))
	root.Signed.ConsistentSnapshot = true
	root.Signed.Roles[Root].Threshold = RootThreshold
	for i := 0; i < RootKeys; i++ {
		if err := r.newKey(root, Root); err != nil {
			return nil, err
		}
	}
	for _, role := range []string{Targets, Snapshot, Timestamp} {
		if err := r.newKey(root, role); err != nil {
			return nil, err
		}
	}
	raw, err := r.signRoot(root, nil)
	if err != nil {
		return nil, err
	}
	targets := metadata.Targets(now.Add(r.Expiry.Targets))
	if err := r.writeTargets(root, targets); err != nil {
		return nil, err
	}
	if err := r.Publish(); err != nil {
		return nil, err
	}
	return raw, nil
}

// newKey makes a key for role, stores it and lists it in root.
func (r *Repo) newKey(root *metadata.Metadata[metadata.RootType], role string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return err
	}
	id, err := k.ID()
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	name := filepath.Join(r.Keys, role+"-"+id[:12]+".pem")
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return root.Signed.AddKey(k, role)
}

// privateKeys reads every key in the keys directory, by TUF key ID.
func (r *Repo) privateKeys() (map[string]ed25519.PrivateKey, error) {
	files, err := filepath.Glob(filepath.Join(r.Keys, "*.pem"))
	if err != nil {
		return nil, err
	}
	out := map[string]ed25519.PrivateKey{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(raw)
		if b == nil {
			return nil, fmt.Errorf("repo: %s is not PEM", f)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("repo: %s: %w", f, err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("repo: %s is not an Ed25519 key", f)
		}
		tk, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			return nil, err
		}
		id, err := tk.ID()
		if err != nil {
			return nil, err
		}
		out[id] = priv
	}
	return out, nil
}

// signers returns signers for the keys of role in root that are in the
// keys directory, and fails if fewer than the role's threshold are.
func (r *Repo) signers(root *metadata.Metadata[metadata.RootType], role string) ([]signature.Signer, error) {
	keys, err := r.privateKeys()
	if err != nil {
		return nil, err
	}
	rl := root.Signed.Roles[role]
	var out []signature.Signer
	for _, id := range rl.KeyIDs {
		if priv, ok := keys[id]; ok {
			s, err := signature.LoadSigner(priv, crypto.Hash(0))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	if len(out) < rl.Threshold {
		return nil, fmt.Errorf("%w: %s needs %d, found %d in %s", ErrNoKey, role, rl.Threshold, len(out), r.Keys)
	}
	return out, nil
}

// signRoot signs root with its own keys and, for a rotation, with the
// keys of the previous root prev, and writes it as VERSION.root.json.
func (r *Repo) signRoot(root, prev *metadata.Metadata[metadata.RootType]) ([]byte, error) {
	root.ClearSignatures()
	done := map[string]bool{}
	for _, by := range []*metadata.Metadata[metadata.RootType]{prev, root} {
		if by == nil {
			continue
		}
		ss, err := r.signers(by, Root)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			pub, _ := s.PublicKey()
			k, _ := metadata.KeyFromPublicKey(pub)
			id, _ := k.ID()
			if done[id] {
				continue
			}
			done[id] = true
			if _, err := root.Sign(s); err != nil {
				return nil, err
			}
		}
	}
	if prev != nil {
		if err := prev.VerifyDelegate(Root, root); err != nil {
			return nil, fmt.Errorf("repo: new root not signed by the old threshold: %w", err)
		}
	}
	if err := root.VerifyDelegate(Root, root); err != nil {
		return nil, fmt.Errorf("repo: new root not signed by its own threshold: %w", err)
	}
	raw, err := root.ToBytes(true)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(r.meta(strconv.FormatInt(root.Signed.Version, 10)+".root.json"), raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Root returns the newest root metadata.
func (r *Repo) Root() (*metadata.Metadata[metadata.RootType], error) {
	v, err := r.latest("root")
	if err != nil {
		return nil, err
	}
	return metadata.Root().FromFile(r.meta(strconv.FormatInt(v, 10) + ".root.json"))
}

// RootBytes returns the newest root metadata as published.
func (r *Repo) RootBytes() ([]byte, error) {
	v, err := r.latest("root")
	if err != nil {
		return nil, err
	}
	return os.ReadFile(r.meta(strconv.FormatInt(v, 10) + ".root.json"))
}

// latest is the highest N of metadata/N.role.json.
func (r *Repo) latest(role string) (int64, error) {
	files, err := filepath.Glob(r.meta("*." + role + ".json"))
	if err != nil {
		return 0, err
	}
	var best int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(f), "."+role+".json"), 10, 64)
		if err == nil && n > best {
			best = n
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("repo: no %s metadata in %s (run init first)", role, r.Dir)
	}
	return best, nil
}

func (r *Repo) targets() (*metadata.Metadata[metadata.TargetsType], error) {
	v, err := r.latest("targets")
	if err != nil {
		return nil, err
	}
	return metadata.Targets().FromFile(r.meta(strconv.FormatInt(v, 10) + ".targets.json"))
}

// writeTargets signs targets with the targets key and writes it.
func (r *Repo) writeTargets(root *metadata.Metadata[metadata.RootType], t *metadata.Metadata[metadata.TargetsType]) error {
	ss, err := r.signers(root, Targets)
	if err != nil {
		return err
	}
	t.ClearSignatures()
	for _, s := range ss {
		if _, err := t.Sign(s); err != nil {
			return err
		}
	}
	raw, err := t.ToBytes(true)
	if err != nil {
		return err
	}
	return writeAtomic(r.meta(strconv.FormatInt(t.Signed.Version, 10)+".targets.json"), raw)
}

// Add makes the bundle at path a target named name: it copies the bundle
// to targets/SHA256.NAME and signs new targets metadata with the offline
// targets key, listing its length, SHA-256 and manifest (as custom). It
// does not publish: Publish does, with the online keys.
func (r *Repo) Add(name, path string) (*release.Manifest, error) {
	if strings.ContainsAny(name, "/\\") || name == "" {
		return nil, fmt.Errorf("repo: target name %q: use a plain file name", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := release.Walk(f, func(release.File, io.Reader) error { return nil })
	if err != nil {
		return nil, err
	}
	tf, err := metadata.TargetFile().FromFile(path, "sha256")
	if err != nil {
		return nil, err
	}
	custom, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(custom)
	tf.Custom = &raw
	root, err := r.Root()
	if err != nil {
		return nil, err
	}
	t, err := r.targets()
	if err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(tf.Hashes["sha256"])
	if err := copyFile(path, filepath.Join(r.Dir, "targets", sum+"."+name)); err != nil {
		return nil, err
	}
	t.Signed.Targets[name] = tf
	t.Signed.Version++
	t.Signed.Expires = r.now().Add(r.Expiry.Targets)
	if err := r.writeTargets(root, t); err != nil {
		return nil, err
	}
	return m, nil
}

// List returns the targets of the newest targets metadata, sorted by name.
func (r *Repo) List() ([]*metadata.TargetFiles, error) {
	t, err := r.targets()
	if err != nil {
		return nil, err
	}
	var out []*metadata.TargetFiles
	for name, tf := range t.Signed.Targets {
		tf.Path = name
		out = append(out, tf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Publish signs a new snapshot (naming the newest targets metadata) and a
// new timestamp (naming that snapshot) with the online keys. The cloud
// runs it whenever targets change and at least daily, before the
// timestamp expires.
func (r *Repo) Publish() error {
	root, err := r.Root()
	if err != nil {
		return err
	}
	tv, err := r.latest("targets")
	if err != nil {
		return err
	}
	now := r.now()
	var sv int64 = 1
	if v, err := r.latest("snapshot"); err == nil {
		sv = v + 1
	}
	snap := metadata.Snapshot(now.Add(r.Expiry.Snapshot))
	snap.Signed.Version = sv
	snap.Signed.Meta["targets.json"] = metadata.MetaFile(tv)
	snapRaw, err := signWith(r, root, Snapshot, snap)
	if err != nil {
		return err
	}
	if err := writeAtomic(r.meta(strconv.FormatInt(sv, 10)+".snapshot.json"), snapRaw); err != nil {
		return err
	}
	ts := metadata.Timestamp(now.Add(r.Expiry.Timestamp))
	ts.Signed.Version = sv
	mf := metadata.MetaFile(sv)
	sum := sha256.Sum256(snapRaw)
	mf.Length = int64(len(snapRaw))
	mf.Hashes = metadata.Hashes{"sha256": sum[:]}
	ts.Signed.Meta["snapshot.json"] = mf
	tsRaw, err := signWith(r, root, Timestamp, ts)
	if err != nil {
		return err
	}
	// The timestamp is the one file replaced in place; the rename makes
	// a client see the old or the new, never half.
	return writeAtomic(r.meta("timestamp.json"), tsRaw)
}

func signWith[T metadata.Roles](r *Repo, root *metadata.Metadata[metadata.RootType], role string, m *metadata.Metadata[T]) ([]byte, error) {
	ss, err := r.signers(root, role)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if _, err := m.Sign(s); err != nil {
			return nil, err
		}
	}
	return m.ToBytes(true)
}

// Rotate replaces every key of role with new ones (three for root, one
// otherwise) in a new root version, signed by the threshold of the old
// root keys and of the new root keys, so a kiosk that trusts the old root
// follows the chain. The old private keys move to keys/retired: from the
// next publish on, metadata signed by them is refused. Rotating the
// targets key re-signs the targets with the new key; every rotation ends
// with a Publish.
func (r *Repo) Rotate(role string) error {
	prev, err := r.Root()
	if err != nil {
		return err
	}
	// Refuse before making keys: without the old root threshold at hand
	// there is nothing to sign the new root with.
	if _, err := r.signers(prev, Root); err != nil {
		return err
	}
	raw, err := prev.ToBytes(false)
	if err != nil {
		return err
	}
	next, err := metadata.Root().FromBytes(raw)
	if err != nil {
		return err
	}
	rl, ok := next.Signed.Roles[role]
	if !ok {
		return fmt.Errorf("repo: no role %q (root, targets, snapshot, timestamp)", role)
	}
	old := append([]string(nil), rl.KeyIDs...)
	for _, id := range old {
		if err := next.Signed.RevokeKey(id, role); err != nil {
			return err
		}
	}
	n := 1
	if role == Root {
		n = RootKeys
	}
	for i := 0; i < n; i++ {
		if err := r.newKey(next, role); err != nil {
			return err
		}
	}
	next.Signed.Version++
	next.Signed.Expires = r.now().Add(r.Expiry.Root)
	if _, err := r.signRoot(next, prev); err != nil {
		return err
	}
	if err := r.retire(old); err != nil {
		return err
	}
	if role == Targets {
		t, err := r.targets()
		if err != nil {
			return err
		}
		t.Signed.Version++
		t.Signed.Expires = r.now().Add(r.Expiry.Targets)
		if err := r.writeTargets(next, t); err != nil {
			return err
		}
	}
	return r.Publish()
}

// retire moves the private keys with the given IDs to keys/retired.
func (r *Repo) retire(ids []string) error {
	keys, err := filepath.Glob(filepath.Join(r.Keys, "*.pem"))
	if err != nil {
		return err
	}
	dir := filepath.Join(r.Keys, "retired")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range keys {
		for _, id := range ids {
			if strings.HasSuffix(filepath.Base(f), "-"+id[:12]+".pem") {
				if err := os.Rename(f, filepath.Join(dir, filepath.Base(f))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeAtomic writes data to name through a synced temporary file and a
// rename, so a reader (or a crash) sees the old file or the new one.
func writeAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeAtomic(dst, data)
}
