// Package repo is the release host's TUF repository for kiosk releases,
// built on github.com/theupdateframework/go-tuf/v2 (the reference Go
// implementation of The Update Framework; its client enforces the whole
// TUF workflow, which is not something to write again).
//
// Every role has Ed25519 keys:
//
//   - root: three keys, threshold 2, kept offline. A new root version must
//     be signed by 2 of the old keys and 2 of the new ones (Rotate).
//   - targets: one offline release key. It signs each bundle's length,
//     SHA-256 and manifest, so a stolen cloud key alone cannot ship
//     software.
//   - snapshot and timestamp: online keys the cloud holds, with short
//     expiry (7 days and 1 day by default): a kiosk refuses metadata that
//     was not re-signed in time (freeze), an older snapshot (rollback) and
//     targets not named by the snapshot (mix-and-match).
//
// On disk a repository is two directories. Keys (the --keys directory,
// which may be a USB stick for the offline keys) holds one PKCS #8 PEM file
// per private key; a key that Rotate retires moves to keys/retired. The
// repository directory holds the published tree a web server serves as
// is: metadata/N.root.json, metadata/N.targets.json,
// metadata/N.snapshot.json, metadata/timestamp.json (consistent
// snapshots) and targets/SHA256.NAME.
package repo
