// Package ingest is the cloud side of the record path: it consumes the
// stations' record batches from a shared MQTT subscription (Connect), or
// from a durable queue that keeps each batch until told what became of it
// (Submit; package natsjs feeds it from a NATS JetStream cluster),
// validates them, commits them to a Store in one transaction per batch,
// de-duplicating on record ID, and acknowledges only after the commit. It
// also follows the stations' retained state.
package ingest
