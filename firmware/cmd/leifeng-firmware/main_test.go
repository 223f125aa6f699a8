package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	code := exitCode(err, &errb)
	return out.String() + errb.String(), code
}

func must(t *testing.T, args ...string) string {
	t.Helper()
	out, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, out)
	}
	return out
}

func TestReleaseHost(t *testing.T) {
	dir := t.TempDir()
	rp, keys := filepath.Join(dir, "repo"), filepath.Join(dir, "keys")
	must(t, "init", "--repo", rp, "--keys", keys)
	root := filepath.Join(rp, "metadata", "1.root.json")
	payload := filepath.Join(dir, "payload")
	os.MkdirAll(filepath.Join(payload, "units"), 0o755)
	os.WriteFile(filepath.Join(payload, "leifeng-kiosk"), []byte("binary"), 0o755)
	os.WriteFile(filepath.Join(payload, "units", "leifeng-kiosk.service"), []byte("[Service]\n"), 0o644)
	bundle := filepath.Join(dir, "kiosk-1.1.0.tar")
	must(t, "build", "--version", "1.1.0", "--board", "rpi4", "--arch", "arm64", "--min-config", "3", "--payload", payload, "--out", bundle)
	if out := must(t, "inspect", bundle); !strings.Contains(out, `"version": "1.1.0"`) || !strings.Contains(out, "units/leifeng-kiosk.service") {
		t.Fatalf("inspect: %s", out)
	}
	must(t, "sign", "--repo", rp, "--keys", keys, bundle)
	must(t, "publish", "--repo", rp, "--keys", keys)
	if out := must(t, "verify", "--repo", rp, "--root", root, "--target", "kiosk-1.1.0.tar"); !strings.Contains(out, "verified kiosk-1.1.0.tar: 1.1.0") {
		t.Fatalf("verify: %s", out)
	}
	// Rotations: a kiosk holding root 1 still verifies.
	must(t, "rotate", "--repo", rp, "--keys", keys, "--role", "targets")
	must(t, "rotate", "--repo", rp, "--keys", keys, "--role", "root")
	must(t, "rotate", "--repo", rp, "--keys", keys, "--role", "timestamp")
	must(t, "verify", "--repo", rp, "--root", root, "--target", "kiosk-1.1.0.tar")
	if retired, _ := filepath.Glob(filepath.Join(keys, "retired", "*.pem")); len(retired) != 5 {
		t.Fatalf("%d retired keys, want 5 (targets, 3 root, timestamp)", len(retired))
	}

	// A tampered bundle: verify refuses with status 3.
	files, _ := filepath.Glob(filepath.Join(rp, "targets", "*.kiosk-1.1.0.tar"))
	data, _ := os.ReadFile(files[0])
	data[100] ^= 1
	os.WriteFile(files[0], data, 0o644)
	if out, code := runCmd(t, "verify", "--repo", rp, "--root", root, "--target", "kiosk-1.1.0.tar"); code != exitRefused {
		t.Fatalf("tampered bundle: exit %d: %s", code, out)
	}
	if out, code := runCmd(t, "verify", "--repo", rp, "--root", root, "--target", "nope.tar"); code != exitRefused {
		t.Fatalf("unknown target: exit %d: %s", code, out)
	}
	if out, code := runCmd(t, "init", "--repo", rp, "--keys", keys); code != exitFailed || !strings.Contains(out, "already exists") {
		t.Fatalf("init twice: exit %d: %s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage: leifeng-firmware"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"init", "--repo", "x"}, "needs --keys"},
		{[]string{"build", "--version", "one", "--board", "rpi4", "--arch", "arm64", "--payload", "p", "--out", "o"}, "--version \"one\" is not MAJOR.MINOR.PATCH"},
		{[]string{"sign", "--repo", "r", "--keys", "k"}, "takes 1 argument"},
		{[]string{"verify", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"rotate", "--repo", "r", "--keys", "k"}, "needs --role"},
	} {
		out, code := runCmd(t, c.args...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, out, c.want)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "leifeng-firmware: ") {
			t.Errorf("%v: last line %q is not the one-line error", c.args, last)
		}
	}
}

func TestBootRollsBackUnconfirmedTrial(t *testing.T) {
	// boot is ExecStartPre: with no slots at all it fails (status 1), so
	// systemd does not start a kiosk that is not there.
	if out, code := runCmd(t, "boot", "--slots", t.TempDir()); code != exitFailed || !strings.Contains(out, "neither slot") {
		t.Fatalf("boot without slots: %d %s", code, out)
	}
}
