package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	const rev = "f2020c4e8a9b0c1d2e3f405162738495a6b7c8d9"
	built := func(version string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "leifeng", Version: version}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, c := range []struct {
		name             string
		stampV, stampRev string
		build            func() (*debug.BuildInfo, bool)
		want             string
	}{
		{"nothing known", "", "", none, "dev"},
		{"toolchain only", "", "", built("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "f2020c4e8a9b"},
		{"toolchain, modified tree", "", "", built("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "f2020c4e8a9b-dirty"},
		{"go install at a version", "", "", built("v1.4.0"), "v1.4.0"},
		{"stamped tag", "v1.4.0", rev, built("(devel)", "vcs.revision", rev), "v1.4.0 (f2020c4e8a9b)"},
		{"stamped describe", "v1.4.0-3-gf2020c4-dirty", rev, none, "v1.4.0-3-gf2020c4-dirty"},
		{"stamped hash", "f2020c4", rev, none, "f2020c4"},
		{"stamped tag, modified tree", "v1.4.0", rev, built("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "v1.4.0 (f2020c4e8a9b, modified)"},
		{"stamp's revision wins", "v1.4.0", rev, built("(devel)", "vcs.revision", "0000000000000000", "vcs.modified", "true"), "v1.4.0 (f2020c4e8a9b)"},
	} {
		if got := read(c.stampV, c.stampRev, c.build).String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
