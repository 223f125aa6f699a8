// Package update is the kiosk's side of a firmware update. It acts on a
// signed update_offer command:
//
//  1. offered: the offer names a TUF target in the cloud's repository.
//  2. The TUF metadata is refreshed (package firmware/fetch, go-tuf/v2)
//     and the target's signed manifest is checked against this kiosk:
//     newer than the running version, same board and architecture, a
//     config new enough, the right kind for this kiosk's slots. A refusal
//     here has written nothing but verified metadata.
//  3. downloading: the bundle, resumed over HTTP Range, progress reported.
//  4. verified: its length and SHA-256 match the signed ones and its own
//     manifest is the signed one.
//  5. installed: written to the inactive slot (package firmware/slot for
//     program slots, firmware/tryboot for the whole system).
//  6. trying: switched for one start (a symlink and a restart, or
//     `reboot '0 tryboot'`).
//  7. After the restart, Confirm runs the health checks the kiosk supplies
//     until all pass (committed) or the deadline passes (rolled_back, with
//     the failing checks as the reason). A version that hangs is killed by
//     the systemd watchdog and its next start rolls it back.
//
// Each step is reported through Updater.Report as a wire.UpdateStatus for
// the station's state topic; a refusal is failed with the reason.
package update
