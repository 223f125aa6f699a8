package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"leifeng/firmware/release"
)

// Errors a caller branches on. Errors from go-tuf (expired metadata,
// a bad signature, a version rollback) are wrapped in ErrMetadata.
var (
	ErrMetadata = errors.New("fetch: TUF metadata refused")
	ErrNoTarget = errors.New("fetch: release not in the signed targets")
	ErrCorrupt  = errors.New("fetch: download does not match the signed length or hash")
	ErrManifest = errors.New("fetch: bundle manifest differs from the signed one")
)

// Progress reports a download's bytes so far and its total.
type Progress func(done, total int64)

// Client fetches releases from one repository.
type Client struct {
	// Repo is the repository's base URL: metadata under Repo/metadata/,
	// bundles under Repo/targets/. http, https and file URLs work.
	Repo string
	// Root is the root metadata the kiosk was provisioned with. A newer
	// root learnt from the repository is kept in Dir and used instead.
	Root []byte
	// Dir holds the trusted metadata (metadata/) and downloads
	// (downloads/): on the kiosk, the data partition.
	Dir string
	// HTTP is the client (http.DefaultClient if nil); its Transport
	// carries the kiosk's TLS roots.
	HTTP *http.Client
	// Progress, if set, is called as the bundle downloads.
	Progress Progress
	// Retries is how many consecutive attempts without progress a
	// download makes before it gives up (default 8).
	Retries int
	// Backoff is the first wait between attempts, doubled up to 16× (default 1s).
	Backoff time.Duration
	// Now, if set, is the time metadata expiry is judged at.
	Now func() time.Time

	// Downloaded counts the bytes received from the network, for the
	// resume benchmark.
	Downloaded int64
}

// Release is a release the signed targets metadata lists.
type Release struct {
	Name     string
	Target   *metadata.TargetFiles
	Manifest *release.Manifest // from the signed custom field
}

// Lookup refreshes the metadata and returns the signed description of
// the target name. It writes only into Dir/metadata, and only metadata
// that verified.
func (c *Client) Lookup(ctx context.Context, name string) (*Release, error) {
	mdir := filepath.Join(c.Dir, "metadata")
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		return nil, err
	}
	root := c.Root
	// The newest root this kiosk has verified is its trust anchor from
	// then on: a rotated-out key is refused even if the provisioned root
	// still names it.
	if cached, err := os.ReadFile(filepath.Join(mdir, "root.json")); err == nil {
		root = cached
	}
	base := strings.TrimSuffix(c.Repo, "/")
	cfg, err := config.New(base+"/metadata", root)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = mdir
	cfg.LocalTargetsDir = filepath.Join(c.Dir, "downloads")
	cfg.RemoteTargetsURL = base + "/targets"
	cfg.Fetcher = &metaFetcher{ctx: ctx, c: c}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	if c.Now != nil {
		up.UnsafeSetRefTime(c.Now())
	}
	if err := up.Refresh(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	tf, err := up.GetTargetInfo(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoTarget, name, err)
	}
	if tf.Custom == nil {
		return nil, fmt.Errorf("%w: %s has no manifest", ErrNoTarget, name)
	}
	var m release.Manifest
	if err := json.Unmarshal(*tf.Custom, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoTarget, name, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if _, ok := tf.Hashes["sha256"]; !ok {
		return nil, fmt.Errorf("%w: %s has no sha256", ErrNoTarget, name)
	}
	return &Release{Name: name, Target: tf, Manifest: &m}, nil
}

// metaFetcher is go-tuf's Fetcher over the client's HTTP client (or the
// file system for file URLs), cancelled with the caller's context.
type metaFetcher struct {
	ctx context.Context
	c   *Client
}

func (f *metaFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	var body io.ReadCloser
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		fl, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: u}
		}
		if err != nil {
			return nil, err
		}
		body = fl
	} else {
		var err error
		for try := 0; ; try++ {
			var res *http.Response
			res, err = f.get(u, 0)
			if err == nil {
				if res.StatusCode != http.StatusOK {
					res.Body.Close()
					return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: u}
				}
				body = res.Body
				break
			}
			if try == 2 || f.ctx.Err() != nil {
				return nil, err
			}
			if err := sleep(f.ctx, time.Duration(try+1)*f.c.backoff()); err != nil {
				return nil, err
			}
		}
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", u, maxLength)}
	}
	return data, nil
}

func (f *metaFetcher) get(u string, from int64) (*http.Response, error) {
	return f.c.get(f.ctx, u, from)
}

func (c *Client) get(ctx context.Context, u string, from int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if from > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

func (c *Client) backoff() time.Duration {
	if c.Backoff > 0 {
		return c.Backoff
	}
	return time.Second
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Download fetches r's bundle into Dir/downloads and returns the path of
// the complete file, whose length and SHA-256 match the signed ones. A
// partial file from an earlier attempt (or an earlier boot) is resumed.
func (c *Client) Download(ctx context.Context, r *Release) (string, error) {
	ddir := filepath.Join(c.Dir, "downloads")
	if err := os.MkdirAll(ddir, 0o700); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(r.Target.Hashes["sha256"])
	done := filepath.Join(ddir, sum+".bundle")
	if err := c.check(done, r); err == nil {
		return done, nil
	}
	part := filepath.Join(ddir, sum+".part")
	u := strings.TrimSuffix(c.Repo, "/") + "/targets/" + sum + "." + url.PathEscape(r.Name)
	if err := c.resume(ctx, u, part, r.Target.Length); err != nil {
		return "", err
	}
	if err := c.check(part, r); err != nil {
		// A wrong file cannot become right by resuming: start over.
		os.Remove(part)
		return "", err
	}
	if err := os.Rename(part, done); err != nil {
		return "", err
	}
	return done, nil
}

// check verifies the file at p against the signed length and hashes.
func (c *Client) check(p string, r *Release) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, r.Target.Length+1))
	if err != nil {
		return err
	}
	if n != r.Target.Length || hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(r.Target.Hashes["sha256"]) {
		return fmt.Errorf("%w: %s (%d of %d bytes)", ErrCorrupt, r.Name, n, r.Target.Length)
	}
	return nil
}

// resume appends to part until it holds length bytes.
func (c *Client) resume(ctx context.Context, u, part string, length int64) error {
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(part, src, 0o600)
	}
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	retries := c.Retries
	if retries == 0 {
		retries = 8
	}
	failures := 0
	var lastErr error
	// best is the most bytes ever held: only going past it is progress,
	// so a server that sends the same short file again and again is
	// given up on.
	var best int64
	for {
		have, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		if have >= length {
			if have > length {
				return fmt.Errorf("%w: %d bytes, more than the signed %d", ErrCorrupt, have, length)
			}
			return f.Sync()
		}
		got, err := c.fetchRange(ctx, u, f, have, length)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		lastErr = err
		if now := have + got; now > best {
			best = now
			failures = 0
		}
		failures++
		if failures > retries {
			return fmt.Errorf("fetch: %s: gave up after %d attempts: %w", u, failures, lastErr)
		}
		d := c.backoff() << min(failures-1, 4)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// fetchRange requests u from byte have on and appends to f; it returns
// how many bytes it appended.
func (c *Client) fetchRange(ctx context.Context, u string, f *os.File, have, length int64) (int64, error) {
	res, err := c.get(ctx, u, have)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(res.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(have, 10)+"-") {
			return 0, fmt.Errorf("fetch: %s: Content-Range %q does not start at %d", u, res.Header.Get("Content-Range"), have)
		}
	case res.StatusCode == http.StatusOK:
		// The server ignored the range: start from the beginning.
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		have = 0
	case res.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("fetch: %s: range not satisfiable, starting again", u)
	default:
		return 0, fmt.Errorf("fetch: %s: HTTP %s", u, res.Status)
	}
	pw := &progressWriter{w: f, c: c, done: have, total: length}
	n, err := io.Copy(pw, io.LimitReader(res.Body, length-have+1))
	if err != nil {
		return n, err
	}
	if have+n > length {
		return n, fmt.Errorf("%w: server sent more than the signed %d bytes", ErrCorrupt, length)
	}
	if have+n < length {
		return n, fmt.Errorf("fetch: %s: connection ended at %d of %d bytes", u, have+n, length)
	}
	return n, nil
}

type progressWriter struct {
	w           io.Writer
	c           *Client
	done, total int64
	last        int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.c.Downloaded += int64(n)
	// Report every 1/64 of the bundle, so a slow link shows movement
	// without flooding the state topic.
	if p.c.Progress != nil && (p.done-p.last >= p.total/64 || p.done == p.total) {
		p.last = p.done
		p.c.Progress(p.done, p.total)
	}
	return n, err
}

// Verify checks a downloaded bundle's own manifest against the signed one
// and every member against its hash, without writing anything.
func Verify(path string, signed *release.Manifest) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := release.Walk(f, func(release.File, io.Reader) error { return nil })
	if err != nil {
		return err
	}
	if !m.Equal(signed) {
		return ErrManifest
	}
	return nil
}

// Clean removes every download, whole or partial: after a commit the
// bundle is not needed again.
func (c *Client) Clean() error {
	return os.RemoveAll(filepath.Join(c.Dir, "downloads"))
}
