// Package slot installs kiosk releases into program slots, the update
// scheme for every Raspberry Pi OS (and the only one for a Pi 3 or Zero,
// whose boot ROM has no tryboot):
//
//	/opt/leifeng/a/          a release's files and its release.json
//	/opt/leifeng/b/          the other release
//	/opt/leifeng/current  -> a   (systemd runs current/leifeng-kiosk)
//	/opt/leifeng/update.json     the trial marker and last outcome
//
// A release is unpacked into a temporary directory, every file synced,
// and only then renamed to the inactive slot's name. The switch writes a
// new symlink under a temporary name and renames it over current: rename
// is atomic, so after a power cut current names one slot or the other,
// never nothing. The trial marker is written before the switch.
//
// Start runs before the kiosk on every start (ExecStartPre=leifeng-firmware
// boot): a version on trial gets exactly one start. If it is started again
// without having committed (it crashed, hung and was killed by the
// systemd watchdog, or the power went), Start switches back. This is the
// same rule the Pi firmware applies to a tryboot (package tryboot).
//
// Every write goes through FS, so tests can cut the power after any one
// of them. The model assumes what ext4 with data=ordered gives after
// fsync: a synced file and a completed rename survive a power cut, and
// nothing is reordered across the directory syncs this package makes.
package slot
