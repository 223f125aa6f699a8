// Package model holds outbox.pml, a Promela model of the record path's
// delivery protocol, and the test that has spin check it. It sits beside
// the gateway because the gateway decides the two things the guarantee
// rests on (commit before ack, de-duplication on record ID) and because
// gateway/ is where the protocol lives (DESIGN.md: "the protocol (topics,
// messages, signatures) and the cloud-side MQTT ingest"); the kiosk half
// it models is kiosk/store's outbox and kiosk/uplink's one-batch-in-flight
// sender.
//
// What is modelled, as the code does it:
//   - a tap is one bbolt transaction: the record is in the outbox before
//     the screen confirms it (store.Commit);
//   - the uplink keeps one batch in flight, the oldest records of the
//     outbox (uplink.publishHead); it sends the head again on connecting,
//     when its ack timer fires, and when the batch in flight is acked
//     whole; an ack deletes the IDs it names that the outbox holds and
//     ignores the rest (store.Ack), so acks for batches already deleted,
//     or for batches a previous power-on sent, change nothing;
//   - the gateway commits a batch in one transaction, skipping IDs already
//     stored, and publishes the ack, naming every record of the batch,
//     only after the commit (Gateway.process, Store.Ingest);
//   - faults: the network (and the broker) loses, duplicates and reorders
//     batches and acks; a full queue drops; the kiosk loses power (the
//     batch in flight is forgotten, the outbox is not; the broker's
//     persistent session still delivers acks on their way); the gateway
//     restarts between taking a batch and committing it, or between the
//     commit and the ack; an ack timer fires while the ack is on its way.
//     Each fault is bounded (LOSS, DUPS, KCRASH, GCRASH, EARLY), so that
//     the outbox can be required to empty; the ack timeout that fires
//     because nothing else can happen is not.
//
// What is not: signatures (a forged ack is refused by wire.OpenAck before
// it reaches the outbox; the model has only genuine acks), record
// contents, rejections (a refused record leaves the outbox by the same
// ack), several stations (each station's records go to one worker and the
// gateway's de-duplication is per record ID, so stations do not interact),
// and the timing of timers (any ordering of events is explored).
//
// Properties, for three taps and batches of up to two records:
//   - safe (LTL, []): every confirmed record is, at every moment, in the
//     outbox or in the database, and no record ID is stored twice. With
//     the first, a power cut or restart anywhere loses nothing.
//   - drains (LTL, <>, under weak fairness): every tap is made and the
//     outbox empties; with safe, every confirmed record is then stored
//     exactly once.
//   - an assertion in the commit: a station's records reach the database
//     in sequence.
//
// Two deliberately broken gateways are shown to fail: ACK_BEFORE_COMMIT
// (the ack is published, then the batch committed: the kiosk deletes a
// record the database does not have, and a gateway restart then loses it)
// and NO_DEDUP (a resent batch stores its records twice).
package model
