// Package tryboot updates a Raspberry Pi's whole system with the boot
// firmware's tryboot A/B scheme
// (https://www.raspberrypi.com/documentation/computers/config_txt.html#autoboot-txt
// and the "tryboot" reboot flag).
//
// The SD card layout (built by the deploy image script):
//
//	p1  small FAT, holds only autoboot.txt
//	p2  boot A (FAT)     p5  root A
//	p3  boot B (FAT)     p6  root B
//	p7  data: bbolt, keys, TUF metadata, downloads (never rewritten)
//
// autoboot.txt:
//
//	[all]
//	tryboot_a_b=1
//	boot_partition=2
//	[tryboot]
//	boot_partition=3
//
// A boot partition mounts its own root: one boot.img serves either pair
// because its config.txt selects the command line by the partition it was
// booted from ([boot_partition=2] cmdline=cmdline-a.txt, root=PARTUUID
// ...-05; [boot_partition=3] cmdline=cmdline-b.txt, ...-06).
//
// An update writes boot.img and root.img raw to the inactive pair and
// syncs them, points autoboot.txt's [tryboot] section at the inactive
// boot partition, and runs `reboot '0 tryboot'`. The bootloader boots the
// [tryboot] partition once, and says so in
// /proc/device-tree/chosen/bootloader/tryboot (1) and .../partition. The
// new system health-checks itself and commits by rewriting autoboot.txt
// (write a temporary file, sync, rename) so [all] names the new pair. If
// it never commits, any further reboot, a watchdog reset or a power cut
// (the tryboot flag does not survive one) boots [all], the old pair: the
// fall-back needs no code to run.
//
// FAT has no journal: the commit's rename replaces one directory entry,
// a single sector write, which is as atomic as the card's sector writes.
// Nothing else on partition 1 is ever written, and a leftover
// autoboot.txt.tmp is ignored by the bootloader.
//
// Writing partitions and rebooting need privileges the kiosk user lacks:
// the Pi OS setup gives the user leifeng write access to the four A/B
// partitions (a udev rule) and the right to reboot (polkit), or runs the
// kiosk's updater as root. Program slots need neither.
//
// Supported: Pi 4, Pi 400 and CM4 with the EEPROM bootloader from 2021 on
// (tryboot_a_b came with the 2021-04 stable EEPROM), Pi 5 and CM5. The
// Pi 3, 2, 1 and Zero boot from bootcode.bin, ignore autoboot.txt and have
// no device-tree tryboot node: Booted returns ErrUnsupported and the kiosk
// uses program slots (package slot) there.
//
// Tests run against trybootsim, a simulated device tree and firmware that
// follows those rules; partitions are plain files there, and on a Pi are
// the /dev/mmcblk0pN block devices, written the same way.
package tryboot
