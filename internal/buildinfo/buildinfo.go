// Package buildinfo says which software a binary is: its version and the
// VCS revision it was built from, so a kiosk's reported state and the
// fleet view can tell one build from another.
//
// The Makefile stamps both with the linker:
//
//	go build -ldflags "-X leifeng/internal/buildinfo.version=$(git describe --tags --always --dirty) \
//	    -X leifeng/internal/buildinfo.revision=$(git rev-parse HEAD)"
//
// A plain `go build` or `go install` inside the repository still knows its
// revision: the Go toolchain records vcs.revision and vcs.modified in the
// binary (debug.ReadBuildInfo), and Get falls back to them. Only a binary
// built outside any checkout, without the flags, reports "dev".
package buildinfo

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Set by the linker (-X); empty in a build without the Makefile's flags.
var (
	version  string
	revision string
)

// Dev is the version of a build that knows neither a stamped version nor
// its VCS revision.
const Dev = "dev"

// Info is what a binary knows about its own build.
type Info struct {
	// Version is the release or `git describe` name, e.g. "v1.4.0" or
	// "f2020c4-dirty"; a build without one is named after its revision,
	// and Dev when that is unknown too.
	Version string
	// Revision is the full VCS commit hash, empty if unknown.
	Revision string
	// Modified reports a build from a working tree with uncommitted
	// changes (known only from the toolchain's stamp or a "-dirty"
	// version).
	Modified bool
}

var (
	once sync.Once
	info Info
)

// Get returns this binary's build information.
func Get() Info {
	once.Do(func() { info = read(version, revision, debug.ReadBuildInfo) })
	return info
}

// read combines the linker's stamp with the toolchain's build settings;
// the stamp wins where both speak.
func read(stampVersion, stampRevision string, build func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: stampVersion, Revision: stampRevision, Modified: strings.HasSuffix(stampVersion, "-dirty")}
	if bi, ok := build(); ok {
		var rev string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// The toolchain's modified flag describes its own revision only.
		if i.Revision == "" || i.Revision == rev {
			i.Revision = rev
			i.Modified = i.Modified || modified
		}
		if v := bi.Main.Version; i.Version == "" && v != "" && v != "(devel)" {
			i.Version = v // go install leifeng/...@v1.4.0
		}
	}
	if i.Version == "" && i.Revision != "" {
		i.Version = short(i.Revision)
		if i.Modified {
			i.Version += "-dirty"
		}
	}
	if i.Version == "" {
		i.Version = Dev
	}
	return i
}

// short is the 12-digit abbreviation of a commit hash.
func short(rev string) string { return rev[:min(12, len(rev))] }

// String is the one-line form reported in a kiosk's state and printed by
// --version: the version, then the revision when the version does not
// already name it, e.g. "v1.4.0 (f2020c4e8a9b)" or "f2020c4e8a9b-dirty".
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" && !strings.Contains(i.Version, short(i.Revision)[:7]) {
		s += " (" + short(i.Revision)
		if i.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s
}

// Line is what `NAME --version` prints: the program's name and String.
func Line(program string) string { return program + " " + Get().String() }
