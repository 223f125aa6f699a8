#!/usr/bin/env bash
# Sets up Raspberry Pi OS (bookworm; bullseye works too) as a Leifeng
# Station kiosk. Run it once on the Pi as root, or with --root DIR on any
# machine to write the same files into a root file system tree (an image
# being built, or a test): then the steps that act on the running system
# (apt-get, useradd, chown) are printed as "would run:" instead.
#
#   sudo deploy/pi/setup.sh --bin ./arm64 --release kiosk-1.2.0-rpi4-arm64.tar \
#        --bundle pe-simao-001.bundle.json --issuer-key issuer.pub \
#        --firmware-root 1.root.json --board rpi4 [--headless] [--tryboot] [--rw]
#
# What it does (deploy/pi/README.md says why):
#   - SPI on (config.txt dtparam=spi=on) for the MFRC522 reader on SPI0.0
#   - the user leifeng (groups spi, gpio, video, input, render); with a
#     touchscreen its X session logs in automatically (lightdm), without
#     one (--headless) the kiosk runs under multi-user.target
#   - /opt/leifeng (program slots a, b, current) owned by leifeng, the
#     first release provisioned into slot a
#   - a read-only root (fstab ro, tmpfs for /tmp and /var/log, journal in
#     memory) with the writable data partition LABEL=leifeng-data on /data
#     holding the kiosk's bbolt and keys, the slots, the home directory,
#     timesyncd's and fake-hwclock's clocks; --rw keeps the root writable
#   - time: systemd-timesyncd with servers reachable in China, and
#     fake-hwclock so a Pi without an RTC starts at its last known time
#   - the systemd unit deploy/leifeng-kiosk.service, enabled
#   - with --tryboot (an SD card from deploy/image/build-image.sh, Pi 4/5):
#     partition 1 on /boot/autoboot writable by leifeng, a udev rule giving
#     leifeng the four A/B partitions, and polkit allowing it to reboot
#     with the "0 tryboot" flag
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=/ bin="" release="" bundle="" issuer="" fwroot="" board=rpi4
headless=0 tryboot=0 readonly=1 data_dev=LABEL=leifeng-data boot=""
user=leifeng data=/data

die() { echo "setup: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    --bundle) bundle=$2; shift 2 ;;
    --issuer-key) issuer=$2; shift 2 ;;
    --firmware-root) fwroot=$2; shift 2 ;;
    --board) board=$2; shift 2 ;;
    --boot) boot=$2; shift 2 ;;
    --data-dev) data_dev=$2; shift 2 ;;
    --headless) headless=1; shift ;;
    --tryboot) tryboot=1; shift ;;
    --rw) readonly=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$board" in rpi4|rpi5|rpi3|rpizero) ;; *) die "--board must be rpi4, rpi5, rpi3 or rpizero, not $board" ;; esac
if [ "$tryboot" = 1 ] && [ "$board" != rpi4 ] && [ "$board" != rpi5 ]; then
  die "--tryboot needs a Pi 4, 400, CM4 or Pi 5 (the $board bootloader has no tryboot): leave it out and updates use program slots"
fi
[ -d "$root" ] || die "--root $root is not a directory"
root=$(cd "$root" && pwd)
live=0
[ "$root" = / ] && live=1 && root=""
if [ "$live" = 1 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo), or give --root DIR to write the files into a tree"
fi
for f in "$bundle" "$issuer" "$fwroot" "$release"; do
  [ -z "$f" ] || [ -f "$f" ] || die "$f does not exist"
done
[ -z "$bin" ] || [ -x "$bin/leifeng-firmware" ] || die "$bin/leifeng-firmware is missing (build it for the Pi: see deploy/pi/README.md)"
# Bookworm mounts the boot partition on /boot/firmware, bullseye on /boot.
if [ -z "$boot" ]; then
  boot=/boot/firmware
  [ -f "$root/boot/firmware/config.txt" ] || [ ! -f "$root/boot/config.txt" ] || boot=/boot
fi

# act CMD...: change the running system, or say what would be done.
act() {
  if [ "$live" = 1 ]; then "$@"; else echo "would run: $*"; fi
}

# put PATH MODE: write stdin to $root/PATH with MODE.
put() {
  mkdir -p "$(dirname "$root$1")"
  cat >"$root$1"
  chmod "$2" "$root$1"
}

# The slots, the kiosk's data and the home directory live on the data
# partition when the root is read-only; data_root is where they are.
data_root=""
if [ "$readonly" = 1 ]; then
  data_root=$data
  if [ "$live" = 1 ] && ! mountpoint -q "$data"; then
    mkdir -p "$data"
    mount "$data_dev" "$data" || die "no data partition $data_dev: make one (deploy/pi/README.md), give --data-dev, or use --rw"
  fi
fi
slots=${data_root:+$data_root/opt-leifeng}
slots=${slots:-/opt/leifeng}

# 1. Packages.
pkgs="systemd-timesyncd fake-hwclock"
[ "$headless" = 1 ] || pkgs="$pkgs lightdm xserver-xorg x11-xserver-utils matchbox-window-manager"
# shellcheck disable=SC2086 # a word list
act apt-get install -y --no-install-recommends $pkgs
if [ "$readonly" = 1 ]; then
  # A swap file on a read-only card is neither possible nor wanted.
  act systemctl disable dphys-swapfile.service
fi

# 2. SPI for the MFRC522 on SPI0.0 (GPIO 8-11, RST GPIO25, IRQ GPIO24).
config=$root$boot/config.txt
mkdir -p "$(dirname "$config")"
touch "$config"
if grep -qE '^dtparam=spi=on' "$config"; then
  :
elif grep -qE '^#[[:space:]]*dtparam=spi=on' "$config"; then
  sed -i -E 's/^#[[:space:]]*dtparam=spi=on/dtparam=spi=on/' "$config"
else
  printf '\n[all]\n# Leifeng Station: the MFRC522 card reader on SPI0.0\ndtparam=spi=on\n' >>"$config"
fi

# 3. The user.
if ! grep -q "^$user:" "$root/etc/passwd" 2>/dev/null; then
  act useradd --create-home --shell /bin/bash --groups spi,gpio,video,input,render "$user"
  act passwd --lock "$user"
fi

# 4. Program slots, the first release, the tools.
mkdir -p "$root$slots"
if [ -n "$bin" ]; then
  install -D -m 0755 "$bin/leifeng-firmware" "$root/usr/local/bin/leifeng-firmware"
  [ ! -x "$bin/leifeng-card" ] || install -D -m 0755 "$bin/leifeng-card" "$root/usr/local/bin/leifeng-card"
fi
if [ -n "$release" ] && [ ! -e "$root$slots/current" ]; then
  # The Pi runs the leifeng-firmware just installed; a tree is provisioned
  # with the one on this machine's PATH (the Pi's may be another arch).
  tool=$root/usr/local/bin/leifeng-firmware
  [ "$live" = 1 ] || tool=$(command -v leifeng-firmware) || die "--root with --release needs leifeng-firmware on PATH"
  "$tool" provision --slots "$root$slots" "$release"
fi
act chown -R "$user:$user" "$slots"

# 5. Configuration and keys: read by the kiosk, written only here.
mkdir -p "$root/etc/leifeng"
chmod 0750 "$root/etc/leifeng"
act chown "root:$user" /etc/leifeng
[ -z "$bundle" ] || install -m 0640 "$bundle" "$root/etc/leifeng/station.bundle.json"
[ -z "$issuer" ] || install -m 0644 "$issuer" "$root/etc/leifeng/issuer.pub"
[ -z "$fwroot" ] || install -m 0644 "$fwroot" "$root/etc/leifeng/firmware-root.json"
if [ -n "$bundle" ]; then act chown "root:$user" /etc/leifeng/station.bundle.json; fi

# 6. The kiosk unit, and what this Pi changes in it.
unit=/etc/systemd/system/leifeng-kiosk.service
install -D -m 0644 "$here/../leifeng-kiosk.service" "$root$unit"
execstart=$(sed -n 's/^ExecStart=//p' "$here/../leifeng-kiosk.service")
execstart=$(printf '%s' "$execstart" | sed -E "s/--update-board [a-z0-9]+/--update-board $board/")
[ "$headless" = 0 ] || execstart="$execstart --headless"
[ "$tryboot" = 0 ] || execstart="$execstart --update-tryboot"
{
  echo "# Written by deploy/pi/setup.sh for this Pi; rerun it rather than edit."
  echo "[Unit]"
  [ "$readonly" = 0 ] || echo "RequiresMountsFor=$data /opt/leifeng /var/lib/leifeng-kiosk"
  echo "[Service]"
  echo "ExecStart="
  echo "ExecStart=$execstart"
} | put "$unit.d/50-setup.conf" 0644
target=graphical.target
[ "$headless" = 0 ] || target=multi-user.target
mkdir -p "$root/etc/systemd/system/$target.wants"
ln -sfn "$unit" "$root/etc/systemd/system/$target.wants/leifeng-kiosk.service"
ln -sfn "/lib/systemd/system/$target" "$root/etc/systemd/system/default.target"

# 7. The touchscreen session: the user leifeng logged in on X without a
# password, the screen never blanked, no desktop to wander off into.
if [ "$headless" = 0 ]; then
  put /etc/lightdm/lightdm.conf.d/50-leifeng.conf 0644 <<CONF
# Leifeng Station (deploy/pi/setup.sh): the kiosk's X session, logged in
# automatically. X, not Wayland: the kiosk's window (GLFW) and the unit's
# DISPLAY=:0 need an X server.
[Seat:*]
autologin-user=$user
autologin-user-timeout=0
autologin-session=leifeng
user-session=leifeng
xserver-command=X -nocursor -s 0 -dpms
CONF
  put /usr/share/xsessions/leifeng.desktop 0644 <<'CONF'
[Desktop Entry]
Name=Leifeng Station kiosk
Comment=The kiosk window is started by leifeng-kiosk.service
Exec=/usr/local/lib/leifeng/session
Type=Application
CONF
  put /usr/local/lib/leifeng/session 0755 <<'CONF'
#!/bin/sh
# The kiosk's X session: it only keeps the screen on and the window
# manager running; leifeng-kiosk.service opens the window on DISPLAY=:0
# (with the ~/.Xauthority lightdm writes) and systemd restarts it.
xset s off
xset s noblank
xset -dpms
if command -v matchbox-window-manager >/dev/null; then
  exec matchbox-window-manager -use_titlebar no -use_cursor no
fi
exec sleep infinity
CONF
fi

# 8. Time: the kiosk stamps records with it.
put /etc/systemd/timesyncd.conf.d/50-leifeng.conf 0644 <<'CONF'
# Leifeng Station: servers reachable from a county town in China first.
[Time]
NTP=ntp.aliyun.com ntp.tencent.com cn.pool.ntp.org
FallbackNTP=ntp.ntsc.ac.cn pool.ntp.org
CONF
mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
ln -sfn /lib/systemd/system/systemd-timesyncd.service "$root/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"

# 9. Read-only root with the data partition.
fstab=$root/etc/fstab
touch "$fstab"
# ro on / and the boot partition (the fourth field of their lines); with
# tryboot the boot partition line goes (Pi OS names partition 1 there,
# which is now AUTOBOOT).
awk -v boot="$boot" -v tryboot="$tryboot" -v ro="$readonly" '
  /^[[:space:]]*#/ || NF < 4 { print; next }
  $2 == boot && tryboot == 1 {
    print "# Leifeng tryboot: boot A or B is whichever the bootloader chose; not mounted."
    print "#" $0; next }
  ro == 1 && ($2 == "/" || $2 == boot) && $4 !~ /(^|,)ro(,|$)/ {
    sub(/(^|,)rw(,|$)/, ",", $4); sub(/^,|,$/, "", $4); $4 = ($4 == "" ? "ro" : $4 ",ro")
  }
  $2 == "/" && tryboot == 1 { $6 = 0 }
  { print }' "$fstab" >"$fstab.new"
mv "$fstab.new" "$fstab"
if [ "$readonly" = 1 ]; then
  cp "$fstab" "$fstab.new"
  sed -i '/# Leifeng Station data partition:/,/# end Leifeng Station/d' "$fstab.new"
  cat >>"$fstab.new" <<CONF
# Leifeng Station data partition: the only writable storage (deploy/pi/README.md).
$data_dev $data ext4 defaults,noatime,commit=5 0 2
$data/opt-leifeng /opt/leifeng none bind,x-systemd.requires-mounts-for=$data 0 0
$data/kiosk /var/lib/leifeng-kiosk none bind,x-systemd.requires-mounts-for=$data 0 0
$data/home-$user /home/$user none bind,x-systemd.requires-mounts-for=$data 0 0
$data/timesync /var/lib/systemd/timesync none bind,x-systemd.requires-mounts-for=$data 0 0
tmpfs /tmp tmpfs nosuid,nodev,mode=1777,size=64m 0 0
tmpfs /var/tmp tmpfs nosuid,nodev,mode=1777,size=16m 0 0
tmpfs /var/log tmpfs nosuid,nodev,mode=0755,size=32m 0 0
tmpfs /var/lib/lightdm tmpfs nosuid,nodev,mode=0750,nofail 0 0
tmpfs /var/lib/NetworkManager tmpfs nosuid,nodev,mode=0700,nofail 0 0
tmpfs /var/lib/dhcpcd tmpfs nosuid,nodev,mode=0750,nofail 0 0
# end Leifeng Station
CONF
  mv "$fstab.new" "$fstab"
  mkdir -p "$root$data"/{opt-leifeng,kiosk,home-$user,timesync} "$root/opt/leifeng" "$root/var/lib/leifeng-kiosk"
  act chown "$user:$user" "$data/opt-leifeng" "$data/kiosk" "$data/home-$user"
  put /etc/systemd/journald.conf.d/50-leifeng.conf 0644 <<'CONF'
# Leifeng Station: the root is read-only; the journal stays in memory.
[Journal]
Storage=volatile
RuntimeMaxUse=32M
CONF
  # fake-hwclock keeps the last known time on the data partition, and
  # must wait for it.
  put /etc/default/fake-hwclock 0644 <<CONF
# Leifeng Station: the root is read-only.
FILE=$data/fake-hwclock.data
CONF
  put /etc/systemd/system/fake-hwclock.service.d/50-leifeng.conf 0644 <<CONF
[Unit]
RequiresMountsFor=$data
CONF
fi
mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
ln -sfn /lib/systemd/system/fake-hwclock.service "$root/etc/systemd/system/sysinit.target.wants/fake-hwclock.service"

# 10. Tryboot A/B: the partitions, autoboot.txt and the reboot flag.
if [ "$tryboot" = 1 ]; then
  mkdir -p "$root/boot/autoboot"
  sed -i '/# Leifeng tryboot autoboot:/,+1d' "$fstab"
  cat >>"$fstab" <<CONF
# Leifeng tryboot autoboot: partition 1, rewritten by the kiosk on a commit.
LABEL=AUTOBOOT /boot/autoboot vfat defaults,noatime,flush,uid=$user,gid=$user,umask=0022 0 0
CONF
  put /etc/udev/rules.d/60-leifeng-ab.rules 0644 <<CONF
# Leifeng Station tryboot A/B (firmware/tryboot): the kiosk, user $user,
# writes a new system into the pair it did not boot: boot A p2, boot B p3,
# root A p5, root B p6. Nothing else on the card is given to it.
SUBSYSTEM=="block", KERNEL=="mmcblk0p[2356]", OWNER="$user", GROUP="disk", MODE="0660"
CONF
  put /etc/polkit-1/rules.d/50-leifeng-reboot.rules 0644 <<CONF
// Leifeng Station: the kiosk reboots into a trial ("reboot '0 tryboot'")
// and back. polkit 0.106 and later (bookworm).
polkit.addRule(function(action, subject) {
  if (subject.user == "$user" &&
      (action.id == "org.freedesktop.login1.reboot" ||
       action.id == "org.freedesktop.login1.reboot-multiple-sessions" ||
       action.id == "org.freedesktop.login1.reboot-ignore-inhibit" ||
       action.id == "org.freedesktop.login1.set-reboot-parameter")) {
    return polkit.Result.YES;
  }
});
CONF
  put /etc/polkit-1/localauthority/50-local.d/50-leifeng-reboot.pkla 0644 <<CONF
# The same for polkit 0.105 (bullseye).
[Leifeng Station kiosk reboot]
Identity=unix-user:$user
Action=org.freedesktop.login1.reboot;org.freedesktop.login1.reboot-multiple-sessions;org.freedesktop.login1.reboot-ignore-inhibit;org.freedesktop.login1.set-reboot-parameter
ResultAny=yes
ResultInactive=yes
ResultActive=yes
CONF
fi

act systemctl daemon-reload
echo "setup: done; reboot to start the kiosk${root:+ (files written under $root)}"
