// Package wire is the protocol between kiosks and the cloud: the MQTT topics
// under leifeng/v1, the JSON messages carried on them (record batches, acks,
// station state, commands) and the Ed25519 envelope that signs configs and
// commands over their exact bytes.
//
// Every decoder here is strict about what it needs and lenient about what it
// does not know: required fields, sizes, the schema version and the station
// ID format are checked; unknown fields are ignored so a newer sender can add
// fields without breaking an older receiver. An unknown schema version is
// refused with ErrVersion.
package wire
