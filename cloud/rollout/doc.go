// Package rollout is the cloud's side of kiosk updates: it hosts the TUF
// firmware repository the kiosks fetch from, keeps its online metadata
// fresh, and offers a release to the fleet in staged phases.
//
// # The repository
//
// Files serves a repository directory (metadata/ and targets/, as
// firmware/repo writes it) as plain files with HTTP Range, so a kiosk
// resumes a bundle download where a poor link dropped it. A release is
// signed by the release host, which holds the offline targets key
// (`leifeng-firmware sign`). The cloud never signs targets.
//
// The release reaches the cloud by upload (Uploader, POST
// /api/v1/releases, `leifeng-cloud rollout upload` or the console's
// form): the targets metadata, any new root versions and the bundles.
// Before anything is written the cloud checks them against the root it
// trusts (root version 1 is copied in once, when the cloud is set up): a
// new root is signed by the threshold of the trusted root and of its own
// keys; the targets metadata by the threshold of the targets keys the
// root names, unexpired and not older than the repository's; each
// bundle's length and hashes match its signed entry. The bundles stream
// to hidden temporary files in targets/ and are renamed into place only
// when all of that holds, then the roots and the targets metadata. So the
// cloud's users can upload only what the offline release key signed.
//
// When the cloud holds the online snapshot and timestamp keys
// (--firmware-keys), it signs a new snapshot and timestamp after an upload
// and again before the timestamp expires (Freshener, the
// `leifeng-firmware publish` step). Without them the release host
// publishes and copies everything; copying by hand also still works:
//
//	rsync -a --exclude '*.snapshot.json' --exclude timestamp.json \
//	      repo/ cloud:/var/lib/leifeng/firmware/
//
// (Copying the release host's own timestamp over the cloud's would go
// back in version, which kiosks refuse as a rollback.)
//
// # Staged rollouts
//
// A rollout offers one release (a TUF target name and its version) in
// phases: first canary stations named one by one, then percentages of the
// fleet (1%, 10%, 50%, 100%). Which stations a percentage takes is a
// stable hash of station and release (Selected): the same stations every
// time, a station in the 10% is also in the 50%, and each release picks a
// different 1% so the same stations are not always first.
//
// Each selected station gets a signed update_offer command; the progress
// it reports in its state (wire.UpdateStatus) is recorded per station by
// the store in the same transaction as the state. A failure or rollback
// that takes the current phase over its threshold (more than MaxFailed
// stations, or more than MaxFailedPct percent of those offered) pauses the
// rollout there and then. A phase whose stations have all committed
// advances to the next by itself; an administrator may advance sooner,
// pause, resume or abort, and hold back a county or a station, which then
// never gets an offer of that rollout.
package rollout
