// Package fetch is the client side of a kiosk release: it refreshes TUF
// metadata from a repository (package repo's tree, served over HTTPS) with
// go-tuf/v2's updater, which enforces signatures, thresholds, expiry,
// version rollback, root rotation and snapshot consistency; then downloads
// the bundle with resume and checks its length and SHA-256 against the
// signed targets metadata.
//
// Downloads resume with HTTP Range requests from a partial file kept on
// disk, so a dropped connection or a reboot costs only the bytes in
// flight. The target's URL is content-addressed (targets/SHA256.NAME, TUF
// consistent snapshots), so the bytes behind it never change and a resumed
// download needs no If-Range. Nothing in the download directory is trusted
// until its hash matches the signed one; a mismatch deletes it.
package fetch
