// Package trybootsim simulates the part of a Raspberry Pi 4/5 that tryboot
// depends on: the EEPROM bootloader reading autoboot.txt from partition 1,
// the one-shot tryboot flag set by `reboot '0 tryboot'`, and the
// /proc/device-tree/chosen/bootloader cells it leaves for the system.
//
// The rules followed (Raspberry Pi documentation, "autoboot.txt" and
// "tryboot"):
//
//   - On boot, if autoboot.txt has tryboot_a_b=1 and the tryboot flag is
//     set, the partition in [tryboot] boot_partition is booted; otherwise
//     [all] boot_partition is.
//   - The flag is cleared as the bootloader reads it: it applies to one
//     boot. Any later reboot, watchdog reset or power cycle boots [all].
//     A power cut also loses the flag itself (it lives in a register kept
//     across a reset, not across power loss).
//   - The chosen/bootloader/partition and tryboot cells are big-endian
//     32-bit integers.
//
// Not modelled: the bootloader's own partition table parsing (partitions
// are files named by number), config.txt, the kernel. A boot whose
// autoboot.txt is missing or malformed fails with ErrNoBoot, as a real Pi
// would show its rainbow screen instead of a system.
package trybootsim
