package slot

import (
	"io"
	"io/fs"
	"os"
)

// FS is the file system the slots live on. Every method that changes it
// returns only once the change is durable (files and directories synced).
type FS interface {
	MkdirAll(name string, perm fs.FileMode) error
	// Create makes (or truncates) a file; its writes are durable after
	// Sync.
	Create(name string, perm fs.FileMode) (File, error)
	Rename(oldname, newname string) error
	RemoveAll(name string) error
	Symlink(target, name string) error
	Readlink(name string) (string, error)
	ReadFile(name string) ([]byte, error)
	// SyncDir makes the directory's entries (renames, creations) durable.
	SyncDir(name string) error
}

// File is a file being written.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// OS is the real file system.
type OS struct{}

// MkdirAll implements FS.
func (OS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }

// Create implements FS.
func (OS) Create(name string, perm fs.FileMode) (File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
}

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// RemoveAll implements FS.
func (OS) RemoveAll(name string) error { return os.RemoveAll(name) }

// Symlink implements FS.
func (OS) Symlink(target, name string) error { return os.Symlink(target, name) }

// Readlink implements FS.
func (OS) Readlink(name string) (string, error) { return os.Readlink(name) }

// ReadFile implements FS.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// SyncDir implements FS.
func (OS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteFileAtomic writes data to name through a synced temporary file and
// a rename: afterwards name holds the old bytes or the new, whole.
func WriteFileAtomic(fsys FS, name string, data []byte, perm fs.FileMode) error {
	tmp := name + ".tmp"
	f, err := fsys.Create(tmp, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return err
	}
	return fsys.SyncDir(dirOf(name))
}

func dirOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if os.IsPathSeparator(name[i]) {
			if i == 0 {
				return "/"
			}
			return name[:i]
		}
	}
	return "."
}

// WriteFile writes r to name in fsys and syncs it: when it returns nil the
// bytes are durable (the directory entry needs SyncDir).
func WriteFile(fsys FS, name string, perm fs.FileMode, r io.Reader) error {
	w, err := fsys.Create(name, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
