// Command leifeng-firmware makes, signs and publishes kiosk releases on the
// release host, and checks them as a kiosk would:
//
//	leifeng-firmware init    --repo DIR --keys DIR
//	leifeng-firmware build   --version 1.2.0 --board rpi4 --arch arm64 [--kind program|image]
//	                         [--min-config N] --payload DIR --out BUNDLE
//	leifeng-firmware sign    --repo DIR --keys DIR [--name NAME] BUNDLE   (offline targets key)
//	leifeng-firmware publish --repo DIR --keys DIR                        (online snapshot/timestamp keys)
//	leifeng-firmware verify  --repo URL|DIR --root ROOT.json --target NAME [--cache DIR]
//	leifeng-firmware inspect BUNDLE
//	leifeng-firmware rotate  --repo DIR --keys DIR --role root|targets|snapshot|timestamp
//	leifeng-firmware boot    --slots /opt/leifeng
//
// init makes Ed25519 keys for every role (root: 3 keys, threshold 2) and
// prints the path of root metadata version 1, the file every kiosk is
// provisioned with. sign adds a bundle as a TUF target with the offline
// targets key; publish re-signs snapshot and timestamp with the online
// keys (run it at least daily: the timestamp expires after a day). rotate
// replaces a role's keys in a new root version signed by the old and the
// new root keys; the old keys move to KEYS/retired and are refused by
// kiosks from then on. boot is the kiosk unit's ExecStartPre for program
// slots: a version on trial gets one start, then the old one comes back.
//
// Exit status: 0 done; 1 the operation failed; 2 bad usage (a one-line
// error names the flag); 3 verify refused the release (signature, expiry,
// rollback, hash).
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/repo"
	"leifeng/firmware/slot"
	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
)

// Exit statuses.
const (
	exitFailed  = 1
	exitUsage   = 2
	exitRefused = 3
)

// errUsage marks a usage error.
var errUsage = errors.New("usage")

// refused marks a release verify refused.
type refused struct{ error }

func (r refused) Unwrap() error { return r.error }

func main() {
	cli.Main("leifeng-firmware", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return exitError(run(ctx, args, stdout, stderr))
	})
}

// exitError puts err in internal/cli's terms, as every binary of the
// project reports: a usage error exits 2, a release verify refused
// exitRefused, anything else 1.
func exitError(err error) error {
	var r refused
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return err
	case errors.As(err, &r):
		return &cli.ExitError{Code: exitRefused, Err: err}
	case errors.Is(err, errUsage):
		return &cli.UsageError{Err: err}
	}
	return err
}

// exitCode is the exit status of err, printed as one line on stderr.
func exitCode(err error, stderr io.Writer) int {
	return cli.Report("leifeng-firmware", exitError(err), stderr)
}

const usage = "usage: leifeng-firmware init|build|sign|publish|verify|inspect|rotate|boot|provision [flags] (see -h of each)"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	cmd, args := args[0], args[1:]
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-firmware"))
		return nil
	}
	fs := flag.NewFlagSet("leifeng-firmware "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	repoDir := fs.String("repo", "", "the repository directory (verify: its URL or directory)")
	keys := fs.String("keys", "", "the directory of private keys")
	switch cmd {
	case "init":
		if err := parse(fs, args, 0, "repo", "keys"); err != nil {
			return err
		}
		if _, err := repo.Open(*repoDir, *keys).Init(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "repository %s initialised; provision kiosks with %s\n", *repoDir, filepath.Join(*repoDir, "metadata", "1.root.json"))
		return nil
	case "build":
		return build(fs, args, stdout)
	case "sign":
		name := fs.String("name", "", "the target name (default: the bundle's file name)")
		if err := parse(fs, args, 1, "repo", "keys"); err != nil {
			return err
		}
		n := *name
		if n == "" {
			n = filepath.Base(fs.Arg(0))
		}
		m, err := repo.Open(*repoDir, *keys).Add(n, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %s: %s for %s/%s; now run publish\n", n, m.Version, m.Board, m.Arch)
		return nil
	case "publish":
		if err := parse(fs, args, 0, "repo", "keys"); err != nil {
			return err
		}
		if err := repo.Open(*repoDir, *keys).Publish(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published snapshot and timestamp in %s\n", *repoDir)
		return nil
	case "rotate":
		role := fs.String("role", "", "the role whose keys to replace: root, targets, snapshot or timestamp")
		if err := parse(fs, args, 0, "repo", "keys", "role"); err != nil {
			return err
		}
		r := repo.Open(*repoDir, *keys)
		if err := r.Rotate(*role); err != nil {
			return err
		}
		root, err := r.Root()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated %s keys: root version %d; old keys in %s\n", *role, root.Signed.Version, filepath.Join(*keys, "retired"))
		return nil
	case "verify":
		return verify(ctx, fs, args, repoDir, stdout)
	case "inspect":
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		return inspect(fs.Arg(0), stdout)
	case "boot":
		dir := fs.String("slots", "/opt/leifeng", "the program slot root")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		s, st, err := slot.New(*dir).Start()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "starting slot %s (%s %s %s)\n", s, st.Outcome, st.Version, st.Reason)
		return nil
	case "provision":
		// The first release of a new kiosk, installed by deploy/pi/setup.sh
		// or the image build; later ones come as signed offers.
		dir := fs.String("slots", "/opt/leifeng", "the program slot root")
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		if err := slot.New(*dir).Provision(fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "provisioned %s into %s\n", fs.Arg(0), filepath.Join(*dir, slot.A))
		return nil
	}
	return fmt.Errorf("%w: unknown command %q; %s", errUsage, cmd, usage)
}

// parse parses args, wants n positional arguments and the named flags set.
func parse(fs *flag.FlagSet, args []string, n int, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() != "" })
	for _, r := range required {
		if !set[r] {
			return fmt.Errorf("%w: %s needs --%s", errUsage, fs.Name(), r)
		}
	}
	if fs.NArg() != n {
		return fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), n, fs.NArg())
	}
	return nil
}

func build(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var m release.Manifest
	fs.StringVar(&m.Version, "version", "", "release version, MAJOR.MINOR.PATCH")
	fs.StringVar(&m.Board, "board", "", "board: rpi4, rpi5, rpi3, rpizero or any")
	fs.StringVar(&m.Arch, "arch", "", "architecture: arm64, armv7, armv6, amd64")
	fs.StringVar(&m.Kind, "kind", release.KindProgram, "program (files for program slots) or image (boot.img and root.img)")
	fs.Uint64Var(&m.MinConfigVersion, "min-config", 0, "lowest station config version the release works with")
	payload := fs.String("payload", "", "directory of the payload files")
	out := fs.String("out", "", "the bundle file to write")
	if err := parse(fs, args, 0, "version", "board", "arch", "payload", "out"); err != nil {
		return err
	}
	if _, err := release.ParseVersion(m.Version); err != nil {
		return fmt.Errorf("%w: --version %q is not MAJOR.MINOR.PATCH", errUsage, m.Version)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := release.Build(f, &m, *payload); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s: %s %s/%s, %d files\n", *out, m.Version, m.Board, m.Arch, len(m.Files))
	return nil
}

func verify(ctx context.Context, fs *flag.FlagSet, args []string, repoDir *string, stdout io.Writer) error {
	root := fs.String("root", "", "the trusted root metadata a kiosk is provisioned with")
	target := fs.String("target", "", "the target name")
	cache := fs.String("cache", "", "directory for metadata and the download (default: a temporary one)")
	if err := parse(fs, args, 0, "repo", "root", "target"); err != nil {
		return err
	}
	rootRaw, err := os.ReadFile(*root)
	if err != nil {
		return err
	}
	u := *repoDir
	if !strings.Contains(u, "://") {
		abs, err := filepath.Abs(u)
		if err != nil {
			return err
		}
		u = "file://" + abs
	}
	dir := *cache
	if dir == "" {
		if dir, err = os.MkdirTemp("", "leifeng-firmware-verify-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	c := &fetch.Client{Repo: u, Root: rootRaw, Dir: dir}
	r, err := c.Lookup(ctx, *target)
	if err != nil {
		return refused{err}
	}
	p, err := c.Download(ctx, r)
	if err != nil {
		return refused{err}
	}
	if err := fetch.Verify(p, r.Manifest); err != nil {
		return refused{err}
	}
	fmt.Fprintf(stdout, "verified %s: %s for %s/%s (%s), %d bytes, sha256 %s\n", *target, r.Manifest.Version,
		r.Manifest.Board, r.Manifest.Arch, r.Manifest.Kind, r.Target.Length, hex.EncodeToString(r.Target.Hashes["sha256"]))
	return nil
}

func inspect(p string, stdout io.Writer) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := release.Walk(f, func(release.File, io.Reader) error { return nil })
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
