// Package image tests build-image.sh, the SD-card image with the tryboot
// A/B layout: it builds a small image into a file and reads every
// partition back with the tools a Pi's own would be read with.
package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/firmware/tryboot"
)

// need checks that every tool is installed, skipping the test when one is
// missing, or failing it under LEIFENG_REQUIRE_SERVICES=1 (CI).
func need(t *testing.T, tools ...string) {
	t.Helper()
	t.Setenv("PATH", os.Getenv("PATH")+":/sbin:/usr/sbin")
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is missing: apt-get install fdisk dosfstools mtools e2fsprogs", tool)
			if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sfdiskTable is `sfdisk --json`'s output.
type sfdiskTable struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		SectorSize int64  `json:"sectorsize"`
		Partitions []struct {
			Node  string `json:"node"`
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
			Type  string `json:"type"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func TestImageLayoutMatchesTryboot(t *testing.T) {
	need(t, "bash", "sfdisk", "mkfs.vfat", "mcopy", "mtype", "mkfs.ext4", "debugfs")
	dir := t.TempDir()
	boot, root, data := filepath.Join(dir, "boot"), filepath.Join(dir, "root"), filepath.Join(dir, "data")
	// What a Raspberry Pi OS boot partition holds that the script edits.
	write(t, filepath.Join(boot, "cmdline.txt"), "console=serial0,115200 console=tty1 root=PARTUUID=9c1a2b3d-02 rootfstype=ext4 fsck.repair=yes rootwait\n")
	write(t, filepath.Join(boot, "config.txt"), "dtparam=spi=on\n")
	write(t, filepath.Join(boot, "overlays", "README"), "overlays\n")
	write(t, filepath.Join(root, "etc", "leifeng-release"), "leifeng 1.2.0\n")
	write(t, filepath.Join(data, "kiosk", "README"), "bbolt lives here\n")
	img := filepath.Join(dir, "leifeng.img")
	run(t, "bash", "build-image.sh", "--out", img, "--boot", boot, "--root", root, "--data", data,
		"--autoboot-mb", "2", "--boot-mb", "8", "--root-mb", "8", "--data-mb", "8")

	var table sfdiskTable
	if err := json.Unmarshal([]byte(run(t, "sfdisk", "--json", img)), &table); err != nil {
		t.Fatal(err)
	}
	pt := table.PartitionTable
	if pt.Label != "dos" || pt.ID != "0x4c464e47" {
		t.Fatalf("table %q id %q, want an MBR (dos) with id 0x4c464e47", pt.Label, pt.ID)
	}
	// The partition numbers firmware/tryboot writes and boots.
	wantType := map[int]string{1: "c", tryboot.PairA.Boot: "c", tryboot.PairB.Boot: "c", 4: "5",
		tryboot.PairA.Root: "83", tryboot.PairB.Root: "83", 7: "83"}
	if len(pt.Partitions) != len(wantType) {
		t.Fatalf("%d partitions, want %d: %+v", len(pt.Partitions), len(wantType), pt.Partitions)
	}
	offset := map[int]int64{}
	size := map[int]int64{}
	for i, p := range pt.Partitions {
		n := i + 1
		if p.Node != fmt.Sprintf("%s%d", img, n) || p.Type != wantType[n] {
			t.Errorf("partition %d: %s type %s, want %s%d type %s", n, p.Node, p.Type, img, n, wantType[n])
		}
		offset[n], size[n] = p.Start*pt.SectorSize, p.Size*pt.SectorSize
	}
	if t.Failed() {
		t.FailNow()
	}
	fat := func(n int, name string) string {
		return run(t, "mtype", "-i", fmt.Sprintf("%s@@%d", img, offset[n]), "::"+name)
	}
	ext := func(n int, name string) string {
		part := filepath.Join(dir, fmt.Sprintf("p%d.img", n))
		extract(t, img, part, offset[n], size[n])
		return run(t, "debugfs", "-R", "cat "+name, part)
	}

	// p1: what the bootloader reads, and what tryboot parses and rewrites.
	raw := fat(1, "autoboot.txt")
	a, err := tryboot.ParseAutoboot([]byte(raw))
	if err != nil {
		t.Fatalf("autoboot.txt: %v\n%s", err, raw)
	}
	want := tryboot.Autoboot{TrybootAB: true, Default: tryboot.PairA.Boot, Try: tryboot.PairB.Boot}
	if a != want {
		t.Fatalf("autoboot.txt parses as %+v, want %+v", a, want)
	}
	if raw != string(want.Format()) {
		t.Errorf("autoboot.txt is not what a commit writes:\n%s\nwant\n%s", raw, want.Format())
	}

	// p2 and p3: the same boot files; each mounts its own root.
	for _, pair := range []tryboot.Pair{tryboot.PairA, tryboot.PairB} {
		config := fat(pair.Boot, "config.txt")
		if !strings.HasPrefix(config, "dtparam=spi=on\n") {
			t.Errorf("p%d config.txt lost the original settings:\n%s", pair.Boot, config)
		}
		for _, other := range []tryboot.Pair{tryboot.PairA, tryboot.PairB} {
			name := map[tryboot.Pair]string{tryboot.PairA: "cmdline-a.txt", tryboot.PairB: "cmdline-b.txt"}[other]
			if !strings.Contains(config, fmt.Sprintf("[boot_partition=%d]\ncmdline=%s\n", other.Boot, name)) {
				t.Errorf("p%d config.txt does not pick %s on partition %d:\n%s", pair.Boot, name, other.Boot, config)
			}
			cmdline := fat(pair.Boot, name)
			wantRoot := fmt.Sprintf("root=PARTUUID=4c464e47-%02d ", other.Root)
			if !strings.HasPrefix(cmdline, wantRoot) || strings.Count(cmdline, "root=") != 1 ||
				!strings.Contains(cmdline, " rootwait") {
				t.Errorf("p%d %s = %q, want %s and the rest of cmdline.txt", pair.Boot, name, cmdline, wantRoot)
			}
		}
		if got := fat(pair.Boot, "overlays/README"); got != "overlays\n" {
			t.Errorf("p%d overlays/README = %q", pair.Boot, got)
		}
		// p5 and p6: the root file system.
		if got := ext(pair.Root, "/etc/leifeng-release"); got != "leifeng 1.2.0\n" {
			t.Errorf("p%d /etc/leifeng-release = %q", pair.Root, got)
		}
	}

	// p7: the data partition, found by its label.
	if got := ext(7, "/kiosk/README"); got != "bbolt lives here\n" {
		t.Errorf("p7 /kiosk/README = %q", got)
	}
	if stats := run(t, "debugfs", "-R", "stats", filepath.Join(dir, "p7.img")); !strings.Contains(stats, "Filesystem volume name:   leifeng-data") {
		t.Errorf("p7 is not labelled leifeng-data:\n%s", stats[:min(len(stats), 400)])
	}
}

// extract copies size bytes at offset of img into a file of their own:
// debugfs reads a file system only from the start of a file.
func extract(t *testing.T, img, out string, offset, size int64) {
	t.Helper()
	in, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, io.NewSectionReader(in, offset, size)); err != nil {
		t.Fatal(err)
	}
}

func TestImageRefusesBadUsage(t *testing.T) {
	need(t, "bash")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--boot", dir, "--root", dir},
		{"--out", filepath.Join(dir, "x.img"), "--root", dir},
		{"--out", filepath.Join(dir, "x.img"), "--boot", dir, "--root", dir, "--root-mb", "lots"},
	} {
		out, err := exec.Command("bash", append([]string{"build-image.sh"}, args...)...).CombinedOutput()
		if err == nil || !strings.HasPrefix(string(out), "build-image: ") {
			t.Errorf("build-image.sh %v: %v %q, want a one-line refusal", args, err, out)
		}
	}
}
