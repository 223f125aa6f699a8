// Package release is the format of a Leifeng kiosk release: a bundle,
// which is an uncompressed tar whose first member is manifest.json and
// whose other members are the payload (the kiosk binary, its assets and
// systemd units for program slots; boot.img and root.img for a full A/B
// image). The bundle is a TUF target: its length and SHA-256 are signed by
// the targets role (see package repo), and the manifest is also copied into
// the target's signed custom field, so a kiosk can refuse a release for
// another board, an older version or a newer config before it downloads a
// byte.
//
// Tar is used because it streams: a bundle is extracted without holding it
// in memory, which matters on a Pi Zero with 512 MB. It is not compressed:
// the payload is mostly a Go binary and images that a release host may
// compress itself.
package release
