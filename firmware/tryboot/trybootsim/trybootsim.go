package trybootsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
)

// ErrNoBoot is a boot that finds nothing to boot.
var ErrNoBoot = errors.New("trybootsim: nothing bootable")

// Pi is a simulated card and bootloader in a directory.
type Pi struct {
	Dir  string
	flag bool
	// Boots counts boots, Trials the boots made with the tryboot flag.
	Boots, Trials int
}

// New makes a card in dir with both pairs empty and autoboot.txt booting
// pair A, and returns the Pi (not yet booted).
func New(dir string) (*Pi, error) {
	p := &Pi{Dir: dir}
	for _, d := range []string{p.autobootDir(), p.devDir(), p.treeDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	a := tryboot.Autoboot{TrybootAB: true, Default: tryboot.PairA.Boot, Try: tryboot.PairB.Boot}
	if err := os.WriteFile(filepath.Join(p.autobootDir(), "autoboot.txt"), a.Format(), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pi) autobootDir() string { return filepath.Join(p.Dir, "p1") }
func (p *Pi) devDir() string      { return filepath.Join(p.Dir, "dev") }
func (p *Pi) treeDir() string     { return filepath.Join(p.Dir, "proc-device-tree") }

// Layout is the layout the booted system sees, with fsys for its writes
// and Reboot wired to this firmware. stateDir is the data partition.
func (p *Pi) Layout(stateDir string, fsys slot.FS) *tryboot.Layout {
	return &tryboot.Layout{
		AutobootDir: p.autobootDir(),
		Dev:         filepath.Join(p.devDir(), "mmcblk0p%d"),
		DeviceTree:  p.treeDir(),
		StateDir:    stateDir,
		Reboot:      p.Reboot,
		FS:          fsys,
	}
}

// Reboot is reboot(8): "0 tryboot" sets the one-shot flag. The system
// goes down: the caller (the test) then calls Boot.
func (p *Pi) Reboot(arg string) error {
	p.flag = arg == "0 tryboot"
	return nil
}

// PowerCut loses the flag, as cutting the power does.
func (p *Pi) PowerCut() { p.flag = false }

// Boot runs the bootloader: it picks the partition by the rules in the
// package comment, clears the flag, and writes the device-tree cells. It
// returns the partition booted.
func (p *Pi) Boot() (int, error) {
	try := p.flag
	p.flag = false
	p.Boots++
	raw, err := os.ReadFile(filepath.Join(p.autobootDir(), "autoboot.txt"))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoBoot, err)
	}
	a, err := tryboot.ParseAutoboot(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoBoot, err)
	}
	part := a.Default
	if try {
		part = a.Try
		p.Trials++
	}
	dir := filepath.Join(p.treeDir(), "chosen", "bootloader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var tb uint32
	if try {
		tb = 1
	}
	if err := os.WriteFile(filepath.Join(dir, "partition"), binary.BigEndian.AppendUint32(nil, uint32(part)), 0o444); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tryboot"), binary.BigEndian.AppendUint32(nil, tb), 0o444); err != nil {
		return 0, err
	}
	return part, nil
}

// WritePair writes images to a pair directly, as the image build does for
// the first system.
func (p *Pi) WritePair(pair tryboot.Pair, boot, root []byte) error {
	if err := os.WriteFile(filepath.Join(p.devDir(), fmt.Sprintf("mmcblk0p%d", pair.Boot)), boot, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.devDir(), fmt.Sprintf("mmcblk0p%d", pair.Root)), root, 0o600)
}
