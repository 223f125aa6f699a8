#!/usr/bin/env bash
# Builds a Leifeng Station SD-card image with the Raspberry Pi firmware's
# tryboot A/B layout (firmware/tryboot/doc.go) into a file, as an ordinary
# user: no loop devices, no mounts, no root. The partitions are made as
# separate files (mkfs.vfat + mcopy for FAT, mkfs.ext4 -d for ext4) and
# copied into the offsets sfdisk gave them.
#
#   p1  AUTOBOOT  FAT, only autoboot.txt       (mounted at /boot/autoboot)
#   p2  boot A    FAT                           p5  root A  ext4
#   p3  boot B    FAT                           p6  root B  ext4
#   p4  extended (holds p5-p7)                  p7  data    ext4 "leifeng-data"
#
# p5-p7 are logical partitions because an MBR holds four primary ones and
# the Pi's bootloader reads only MBR partition numbers in autoboot.txt.
# Both pairs start out the same, so the very first trial already has a
# working system to fall back to.
#
# Usage:
#   build-image.sh --out leifeng.img --boot DIR --root DIR [--data DIR]
#                  [--autoboot-mb 16] [--boot-mb 256] [--root-mb 3072]
#                  [--data-mb 1024] [--disk-id 0x4c464e47]
#
# --boot is a prepared boot partition (Raspberry Pi OS /boot/firmware,
# after deploy/pi/setup.sh --root); its cmdline.txt is turned into
# cmdline-a.txt and cmdline-b.txt with root=PARTUUID=<disk-id>-05 / -06,
# and config.txt picks one by the partition the bootloader booted
# ([boot_partition=N], the same filter autoboot.txt's pairs rely on).
# --root is the root file system tree (files owned by the user running the
# script end up owned by root: mkfs.ext4 -d copies owners as they are, so
# build the tree with fakeroot or as root for a real image).
set -euo pipefail

out="" boot="" root="" data=""
autoboot_mb=16 boot_mb=256 root_mb=3072 data_mb=1024
disk_id=0x4c464e47 # "LFNG"

die() { echo "build-image: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --boot) boot=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --autoboot-mb) autoboot_mb=$2; shift 2 ;;
    --boot-mb) boot_mb=$2; shift 2 ;;
    --root-mb) root_mb=$2; shift 2 ;;
    --data-mb) data_mb=$2; shift 2 ;;
    --disk-id) disk_id=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$out" ] || die "needs --out FILE"
[ -d "$boot" ] || die "needs --boot DIR (the prepared boot partition)"
[ -d "$root" ] || die "needs --root DIR (the root file system tree)"
[ -f "$boot/cmdline.txt" ] || die "$boot/cmdline.txt is missing"
for n in autoboot_mb boot_mb root_mb data_mb; do
  case "${!n}" in ''|*[!0-9]*) die "--${n%_mb}-mb must be a number of MiB" ;; esac
done
for tool in sfdisk mkfs.vfat mcopy mkfs.ext4 dd truncate; do
  command -v "$tool" >/dev/null || PATH=$PATH:/sbin:/usr/sbin command -v "$tool" >/dev/null ||
    die "$tool is missing (apt-get install fdisk dosfstools mtools e2fsprogs coreutils)"
done
export PATH=$PATH:/sbin:/usr/sbin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
id_hex=$(printf '%08x' "$((disk_id))")

# The partition table, on a sparse file: 1 MiB alignment throughout, and
# 1 MiB of slack for the logical partitions' extended boot records.
mib=$((1024 * 1024))
total_mb=$((1 + autoboot_mb + 2 * boot_mb + 1 + 2 * root_mb + 2 + data_mb + 1))
rm -f "$out"
truncate -s "$((total_mb * mib))" "$out"
sfdisk --quiet --no-reread --no-tell-kernel "$out" <<TABLE
label: dos
label-id: 0x$id_hex
unit: sectors

start=2048, size=$((autoboot_mb * 2048)), type=c
size=$((boot_mb * 2048)), type=c, bootable
size=$((boot_mb * 2048)), type=c
type=5
size=$((root_mb * 2048)), type=83
size=$((root_mb * 2048)), type=83
size=$((data_mb * 2048)), type=83
TABLE

# start and size in sectors of partition $1, from sfdisk's dump.
part() {
  sfdisk --dump "$out" | awk -v p="${out}$1" '$1 == p {
    line = $0; gsub(/ /, "", line)
    match(line, /start=[0-9]+/); start = substr(line, RSTART + 6, RLENGTH - 6)
    match(line, /size=[0-9]+/); size = substr(line, RSTART + 5, RLENGTH - 5)
    print start, size }'
}

# put FILE N: copy a partition file into partition N.
put() {
  local start size bytes
  read -r start size < <(part "$2")
  [ -n "$start" ] || die "partition $2 is not in the table"
  bytes=$(stat -c %s "$1")
  [ "$bytes" -le $((size * 512)) ] || die "partition $2 is too small for $(basename "$1")"
  dd if="$1" of="$out" bs=1M seek="$((start * 512))" oflag=seek_bytes conv=notrunc,sparse status=none
}

# fat FILE MIB LABEL DIR: a FAT file system holding DIR's files.
fat() {
  mkfs.vfat -C -n "$3" "$1" "$(($2 * 1024))" >/dev/null
  if [ -n "$(ls -A "$4")" ]; then
    mcopy -s -p -m -i "$1" "$4"/* ::/
  fi
}

# ext4 FILE MIB LABEL DIR: an ext4 file system made from DIR.
ext4() {
  truncate -s "$(($2 * mib))" "$1"
  mkfs.ext4 -q -F -L "$3" -d "$4" "$1" >/dev/null
}

# p1: autoboot.txt, the bytes firmware/tryboot's Autoboot.Format writes
# on a commit, so the first commit rewrites it with the same layout.
mkdir "$work/autoboot"
cat >"$work/autoboot/autoboot.txt" <<'AUTOBOOT'
# Leifeng Station A/B: rewritten on every commit, never edit by hand.
[all]
tryboot_a_b=1
boot_partition=2
[tryboot]
boot_partition=3
AUTOBOOT
fat "$work/p1.img" "$autoboot_mb" AUTOBOOT "$work/autoboot"
put "$work/p1.img" 1

# p2, p3: one boot file system serves both pairs.
cp -a "$boot" "$work/boot"
base=$(sed -E 's/(^| )root=[^ ]*//g; s/^ +//' "$boot/cmdline.txt" | tr -d '\n')
printf 'root=PARTUUID=%s-05 %s\n' "$id_hex" "$base" >"$work/boot/cmdline-a.txt"
printf 'root=PARTUUID=%s-06 %s\n' "$id_hex" "$base" >"$work/boot/cmdline-b.txt"
touch "$work/boot/config.txt"
cat >>"$work/boot/config.txt" <<'CONFIG'

# Leifeng Station A/B (deploy/image/build-image.sh): each boot partition
# mounts its own root.
[boot_partition=2]
cmdline=cmdline-a.txt
[boot_partition=3]
cmdline=cmdline-b.txt
[all]
CONFIG
fat "$work/boot.img" "$boot_mb" BOOT "$work/boot"
put "$work/boot.img" 2
put "$work/boot.img" 3

# p5, p6: the same root in both pairs.
ext4 "$work/root.img" "$root_mb" rootfs "$root"
put "$work/root.img" 5
put "$work/root.img" 6

# p7: the data partition, never rewritten by an update.
if [ -z "$data" ]; then
  data="$work/data"
  mkdir "$data"
fi
ext4 "$work/data.img" "$data_mb" leifeng-data "$data"
put "$work/data.img" 7

echo "build-image: wrote $out ($total_mb MiB, disk id 0x$id_hex)"
