// Package firmware is the home of Leifeng Station's signed kiosk updates.
// It holds no code itself; its packages are:
//
//   - release: the bundle a release ships (a tar with a manifest and a
//     payload) and how versions compare.
//   - repo: the release host's TUF repository (go-tuf/v2 metadata, Ed25519
//     keys for every role, key rotation).
//   - fetch: the client side: TUF refresh with go-tuf/v2's updater, the
//     bundle downloaded with HTTP Range resume and checked against the
//     signed length and hash.
//   - releasetest: a kit for tests: a repository in a temporary directory
//     served over HTTPS, with a throttled link and dropped connections.
//   - slot: program slots /opt/leifeng/a and /opt/leifeng/b with an atomic
//     symlink switch and a trial marker, for any Raspberry Pi OS.
//   - tryboot: full A/B with the Raspberry Pi firmware's tryboot
//     (autoboot.txt, /proc/device-tree/chosen/bootloader), and trybootsim,
//     a simulated device tree and boot firmware that follows the documented
//     tryboot rules.
//   - sdnotify: the systemd notify protocol (READY=1, WATCHDOG=1).
//
// The kiosk side of an update (fetch, verify, install, health-check,
// commit or roll back) is kiosk/update; the command on the release host is
// cmd/leifeng-firmware.
//
// # Which Raspberry Pi can use tryboot
//
// The tryboot A/B scheme needs the bootloader to understand autoboot.txt
// with tryboot_a_b=1 and the one-shot "0 tryboot" reboot flag:
//
//   - Raspberry Pi 4 Model B, Pi 400 and Compute Module 4 with the EEPROM
//     bootloader from 2021 on (tryboot_a_b arrived in the 2021-04 stable
//     release; `rpi-eeprom-update` shows the version; anything older must
//     be updated with `sudo rpi-eeprom-update -a` before it is switched to
//     tryboot).
//   - Raspberry Pi 5 and Compute Module 5: every bootloader shipped.
//
// The Pi 3, Pi 2, Pi 1, Zero and Zero 2 W boot from bootcode.bin on the SD
// card and have no EEPROM bootloader: they ignore autoboot.txt and would
// always boot partition 1. They use program slots instead (the kiosk
// program, its assets and units in /opt/leifeng/{a,b}); the operating
// system itself is then updated by apt, not by a Leifeng release. A kiosk
// checks /proc/device-tree/chosen/bootloader/tryboot at start: if the node
// is missing the bootloader is too old or the board lacks one, and the
// updater refuses a full-image release with tryboot.ErrUnsupported and
// reports it, instead of writing partitions that would never boot.
package firmware
