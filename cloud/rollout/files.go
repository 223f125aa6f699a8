package rollout

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/repo"
)

// Files serves the repository in dir as plain files under prefix (e.g.
// "/firmware/"): metadata/ and targets/ only, no directory listings, and
// HTTP Range through http.ServeContent so a kiosk resumes a bundle.
// Everything there is public (signed metadata and the bundles they name),
// so no authentication is asked.
func Files(prefix, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), path.Clean(prefix))
		sub, file := path.Split(strings.TrimPrefix(name, "/"))
		if (sub != "metadata/" && sub != "targets/") || file == "" || strings.HasPrefix(file, ".") {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(sub), file))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		if sub == "metadata/" {
			// timestamp.json changes in place; the versioned files and
			// the bundles (named by their hash) never do.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		http.ServeContent(w, r, file, fi.ModTime(), f)
	})
}

// Freshener re-signs the repository's snapshot and timestamp with the
// cloud's online keys before the timestamp expires (what
// `leifeng-firmware publish` does on the release host). The repository's
// Keys directory holds only the snapshot and timestamp keys: the targets
// key stays offline, so the cloud can re-sign only what the release host
// signed.
type Freshener struct {
	Repo *repo.Repo
	// Margin: re-sign when the timestamp expires within this long
	// (default: half the timestamp's lifetime).
	Margin time.Duration
	Log    *slog.Logger

	mu sync.Mutex // Run and an upload (Uploader) both publish
}

// Expires returns when the published timestamp expires.
func (f *Freshener) Expires() (time.Time, error) {
	ts, err := metadata.Timestamp().FromFile(filepath.Join(f.Repo.Dir, "metadata", "timestamp.json"))
	if err != nil {
		return time.Time{}, err
	}
	return ts.Signed.Expires, nil
}

// newTargets reports whether the release host copied in targets metadata
// newer than the published snapshot names.
func (f *Freshener) newTargets() bool {
	meta := filepath.Join(f.Repo.Dir, "metadata")
	ts, err := metadata.Timestamp().FromFile(filepath.Join(meta, "timestamp.json"))
	if err != nil {
		return true
	}
	sv := ts.Signed.Meta["snapshot.json"]
	if sv == nil {
		return true
	}
	snap, err := metadata.Snapshot().FromFile(filepath.Join(meta, strconv.FormatInt(sv.Version, 10)+".snapshot.json"))
	if err != nil || snap.Signed.Meta["targets.json"] == nil {
		return true
	}
	named := snap.Signed.Meta["targets.json"].Version
	files, _ := filepath.Glob(filepath.Join(meta, "*.targets.json"))
	for _, file := range files {
		n, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(file), ".targets.json"), 10, 64)
		if err == nil && n > named {
			return true
		}
	}
	return false
}

// Refresh re-signs snapshot and timestamp if the timestamp expires within
// the margin, if there is none, or if the release host copied in newer
// targets metadata. It reports whether it signed.
func (f *Freshener) Refresh() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	margin := f.Margin
	if margin <= 0 {
		margin = f.Repo.Expiry.Timestamp / 2
	}
	now := time.Now()
	if f.Repo.Now != nil {
		now = f.Repo.Now()
	}
	exp, err := f.Expires()
	if err == nil && exp.Sub(now) > margin && !f.newTargets() {
		return false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.log().Warn("firmware timestamp unreadable, re-signing", "err", err)
	}
	if err := f.Repo.Publish(); err != nil {
		return false, err
	}
	f.log().Info("firmware snapshot and timestamp re-signed", "repo", f.Repo.Dir)
	return true, nil
}

func (f *Freshener) log() *slog.Logger {
	if f.Log == nil {
		return slog.Default()
	}
	return f.Log
}

// Run checks every interval until ctx ends.
func (f *Freshener) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := f.Refresh(); err != nil {
			f.log().Error("cannot re-sign the firmware metadata: kiosks refuse it once it expires", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
