package tryboot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"leifeng/firmware/release"
	"leifeng/firmware/slot"
)

// Pair is a boot partition and the root partition it mounts.
type Pair struct{ Boot, Root int }

// The two pairs, and the partition numbers of the layout.
var (
	PairA = Pair{Boot: 2, Root: 5}
	PairB = Pair{Boot: 3, Root: 6}
)

// Errors a caller branches on.
var (
	ErrUnsupported = errors.New("tryboot: this board or bootloader has no tryboot (no /proc/device-tree/chosen/bootloader/tryboot)")
	ErrNotTrial    = errors.New("tryboot: not running a trial boot")
	ErrAutoboot    = errors.New("tryboot: autoboot.txt is not an A/B one")
)

// Outcomes in the state file, the same words as package slot's.
const (
	Trying     = slot.Trying
	Committed  = slot.Committed
	RolledBack = slot.RolledBack
	Failed     = slot.Failed
)

// Layout is the card as the running system sees it.
type Layout struct {
	// AutobootDir is where partition 1 is mounted.
	AutobootDir string
	// Dev is the device path of a partition number ("/dev/mmcblk0p%d").
	Dev string
	// DeviceTree is /proc/device-tree.
	DeviceTree string
	// StateDir, on the data partition, keeps what each pair holds and the
	// trial state.
	StateDir string
	// Reboot reboots with the argument reboot(8) takes: "0 tryboot" for a
	// trial, "" for a normal reboot. Nil runs /sbin/reboot.
	Reboot func(arg string) error
	FS     slot.FS
	Now    func() time.Time
}

// Pi returns the layout of a Raspberry Pi with the card in the SD slot.
func Pi(stateDir string) *Layout {
	return &Layout{AutobootDir: "/boot/autoboot", Dev: "/dev/mmcblk0p%d", DeviceTree: "/proc/device-tree",
		StateDir: stateDir, FS: slot.OS{}}
}

// Boot is what the bootloader says about this boot.
type Boot struct {
	Partition int
	Tryboot   bool
}

// Booted reads /proc/device-tree/chosen/bootloader/{partition,tryboot}:
// big-endian 32-bit cells.
func (l *Layout) Booted() (Boot, error) {
	dir := filepath.Join(l.DeviceTree, "chosen", "bootloader")
	try, err := os.ReadFile(filepath.Join(dir, "tryboot"))
	if err != nil {
		return Boot{}, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	part, err := os.ReadFile(filepath.Join(dir, "partition"))
	if err != nil || len(part) != 4 || len(try) != 4 {
		return Boot{}, fmt.Errorf("%w: bad device-tree cells", ErrUnsupported)
	}
	return Boot{Partition: int(binary.BigEndian.Uint32(part)), Tryboot: binary.BigEndian.Uint32(try) == 1}, nil
}

// PairOf returns the pair whose boot partition is p.
func PairOf(p int) (Pair, error) {
	switch p {
	case PairA.Boot:
		return PairA, nil
	case PairB.Boot:
		return PairB, nil
	}
	return Pair{}, fmt.Errorf("%w: booted from partition %d", ErrAutoboot, p)
}

// Other returns the other pair.
func (p Pair) Other() Pair {
	if p == PairA {
		return PairB
	}
	return PairA
}

// Autoboot is the content of autoboot.txt that matters.
type Autoboot struct {
	TrybootAB bool
	Default   int // [all] boot_partition
	Try       int // [tryboot] boot_partition
}

// ParseAutoboot reads autoboot.txt's [all] and [tryboot] sections, the
// way the bootloader does: later lines win, unknown sections are skipped.
func ParseAutoboot(data []byte) (Autoboot, error) {
	var a Autoboot
	section := "all"
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.ToLower(strings.Trim(line, "[]"))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		switch k = strings.TrimSpace(k); {
		case section == "all" && k == "tryboot_a_b":
			a.TrybootAB = n == 1
		case section == "all" && k == "boot_partition":
			a.Default = n
		case section == "tryboot" && k == "boot_partition":
			a.Try = n
		}
	}
	if !a.TrybootAB || a.Default == 0 || a.Try == 0 {
		return a, fmt.Errorf("%w: %+v", ErrAutoboot, a)
	}
	return a, nil
}

// Format writes a as autoboot.txt.
func (a Autoboot) Format() []byte {
	return fmt.Appendf(nil, "# Leifeng Station A/B: rewritten on every commit, never edit by hand.\n[all]\ntryboot_a_b=1\nboot_partition=%d\n[tryboot]\nboot_partition=%d\n", a.Default, a.Try)
}

func (l *Layout) writeAutoboot(a Autoboot) error {
	return slot.WriteFileAtomic(l.FS, filepath.Join(l.AutobootDir, "autoboot.txt"), a.Format(), 0o644)
}

// Slot is what the state directory records about a pair.
type Slot struct {
	Version    string `json:"version"`
	BootSHA256 string `json:"boot_sha256"`
	RootSHA256 string `json:"root_sha256"`
	BootSize   int64  `json:"boot_size"`
	RootSize   int64  `json:"root_size"`
}

// State is the trial state and what each pair holds.
type State struct {
	Outcome   string       `json:"outcome,omitempty"`
	Version   string       `json:"version,omitempty"`
	Partition int          `json:"partition,omitempty"` // the boot partition on trial
	From      int          `json:"from,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	At        time.Time    `json:"at"`
	Slots     map[int]Slot `json:"slots"` // by boot partition
}

// ReadState reads the state file (empty if none).
func (l *Layout) ReadState() (State, error) {
	st := State{Slots: map[int]Slot{}}
	raw, err := l.FS.ReadFile(filepath.Join(l.StateDir, "tryboot.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return State{Slots: map[int]Slot{}}, nil
	}
	if st.Slots == nil {
		st.Slots = map[int]Slot{}
	}
	return st, nil
}

func (l *Layout) writeState(st State) error {
	if l.Now != nil {
		st.At = l.Now().UTC()
	} else {
		st.At = time.Now().UTC()
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := l.FS.MkdirAll(l.StateDir, 0o700); err != nil {
		return err
	}
	return slot.WriteFileAtomic(l.FS, filepath.Join(l.StateDir, "tryboot.json"), raw, 0o600)
}

// Install writes the image bundle at bundlePath to the pair not booted,
// checking each image's hash as it goes (release.Walk), and records what
// the pair holds only once both images are synced.
func (l *Layout) Install(bundlePath string, signed *release.Manifest) error {
	b, err := l.Booted()
	if err != nil {
		return err
	}
	cur, err := PairOf(b.Partition)
	if err != nil {
		return err
	}
	return l.installTo(cur.Other(), bundlePath, signed)
}

// Provision writes the first system to pair, as the image build does.
func (l *Layout) Provision(pair Pair, bundlePath string) error {
	f, err := os.Open(bundlePath)
	if err != nil {
		return err
	}
	m, err := release.ReadManifest(f)
	f.Close()
	if err != nil {
		return err
	}
	return l.installTo(pair, bundlePath, m)
}

func (l *Layout) installTo(target Pair, bundlePath string, signed *release.Manifest) error {
	if signed.Kind != release.KindImage {
		return fmt.Errorf("%w: a %s release is not a system image", release.ErrBadBundle, signed.Kind)
	}
	st, err := l.ReadState()
	if err != nil {
		return err
	}
	// Forget the pair first: from here on it is being overwritten.
	delete(st.Slots, target.Boot)
	if err := l.writeState(st); err != nil {
		return err
	}
	var rec Slot
	f, err := os.Open(bundlePath)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := release.Walk(f, func(rf release.File, r io.Reader) error {
		var part int
		switch rf.Name {
		case release.BootImage:
			part, rec.BootSHA256, rec.BootSize = target.Boot, rf.SHA256, rf.Size
		case release.RootImage:
			part, rec.RootSHA256, rec.RootSize = target.Root, rf.SHA256, rf.Size
		default:
			return nil
		}
		return slot.WriteFile(l.FS, fmt.Sprintf(l.Dev, part), 0o600, r)
	})
	if err != nil {
		return err
	}
	if !m.Equal(signed) {
		return fmt.Errorf("%w: bundle manifest differs from the signed one", release.ErrBadBundle)
	}
	rec.Version = m.Version
	st.Slots[target.Boot] = rec
	return l.writeState(st)
}

// VerifyPair checks the images in pair p against what was recorded when
// they were written.
func (l *Layout) VerifyPair(p Pair) (Slot, error) {
	st, err := l.ReadState()
	if err != nil {
		return Slot{}, err
	}
	rec, ok := st.Slots[p.Boot]
	if !ok {
		return rec, fmt.Errorf("%w: pair %d/%d holds no recorded release", release.ErrBadBundle, p.Boot, p.Root)
	}
	for _, c := range []struct {
		part int
		sum  string
		size int64
	}{{p.Boot, rec.BootSHA256, rec.BootSize}, {p.Root, rec.RootSHA256, rec.RootSize}} {
		f, err := os.Open(fmt.Sprintf(l.Dev, c.part))
		if err != nil {
			return rec, err
		}
		h := sha256.New()
		// A block device is larger than its image: hash the image's length.
		n, err := io.Copy(h, io.LimitReader(f, c.size))
		f.Close()
		if err != nil || n != c.size || hex.EncodeToString(h.Sum(nil)) != c.sum {
			return rec, fmt.Errorf("%w: partition %d does not match its release", release.ErrBadBundle, c.part)
		}
	}
	return rec, nil
}

// Try points [tryboot] at the pair just installed, records the trial and
// reboots with the tryboot flag.
func (l *Layout) Try(version string) error {
	b, err := l.Booted()
	if err != nil {
		return err
	}
	cur, err := PairOf(b.Partition)
	if err != nil {
		return err
	}
	target := cur.Other()
	rec, err := l.VerifyPair(target)
	if err != nil {
		return err
	}
	if rec.Version != version {
		return fmt.Errorf("%w: pair holds %s, not %s", release.ErrBadBundle, rec.Version, version)
	}
	st, err := l.ReadState()
	if err != nil {
		return err
	}
	st.Outcome, st.Version, st.Partition, st.From, st.Reason = Trying, version, target.Boot, cur.Boot, ""
	if err := l.writeState(st); err != nil {
		return err
	}
	if err := l.writeAutoboot(Autoboot{TrybootAB: true, Default: cur.Boot, Try: target.Boot}); err != nil {
		return err
	}
	return l.reboot("0 tryboot")
}

func (l *Layout) reboot(arg string) error {
	if l.Reboot != nil {
		return l.Reboot(arg)
	}
	args := []string{}
	if arg != "" {
		args = append(args, arg)
	}
	return exec.Command("/sbin/reboot", args...).Run()
}

// Start runs early on every boot: a trial that is not running now (the
// bootloader came back to the old pair) is recorded as rolled back. It
// returns the state and whether this boot is the trial.
func (l *Layout) Start() (State, bool, error) {
	b, err := l.Booted()
	if err != nil {
		return State{}, false, err
	}
	st, err := l.ReadState()
	if err != nil {
		return st, false, err
	}
	if st.Outcome != Trying {
		return st, false, nil
	}
	if b.Tryboot && b.Partition == st.Partition {
		return st, true, nil
	}
	if b.Partition == st.Partition {
		// A normal boot into the trial pair: the commit rewrote
		// autoboot.txt and the power went before it recorded so.
		st.Outcome = Committed
		return st, false, l.writeState(st)
	}
	st.Outcome, st.Reason = RolledBack, "the new system restarted without confirming its health"
	return st, false, l.writeState(st)
}

// Trial reports whether this boot is the trial of a version.
func (l *Layout) Trial() (State, bool) {
	st, ok, err := l.Start()
	return st, ok && err == nil
}

// Commit makes the pair on trial the default: [all] boot_partition names
// it. Call it only after every health check passed.
func (l *Layout) Commit() error {
	st, ok := l.Trial()
	if !ok {
		return ErrNotTrial
	}
	cur, err := PairOf(st.Partition)
	if err != nil {
		return err
	}
	if err := l.writeAutoboot(Autoboot{TrybootAB: true, Default: cur.Boot, Try: cur.Other().Boot}); err != nil {
		return err
	}
	st.Outcome = Committed
	return l.writeState(st)
}

// Rollback records why the trial failed and reboots normally, which boots
// the old pair.
func (l *Layout) Rollback(reason string) error {
	st, ok := l.Trial()
	if !ok {
		return ErrNotTrial
	}
	st.Outcome, st.Reason = RolledBack, reason
	if err := l.writeState(st); err != nil {
		return err
	}
	return l.reboot("")
}
