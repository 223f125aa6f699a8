package wire

import "encoding/json"

// PeekCommandNonce returns the nonce inside a command envelope without
// verifying anything, or "" if there is none to read. A kiosk reports it
// with the command's outcome (State.LastCommandNonce), refusals included,
// so the cloud can show which of its commands was refused and why. It is a
// label for that report only; nothing is decided on it.
func PeekCommandNonce(envelope []byte) string {
	var env Envelope
	if len(envelope) > MaxMessageBytes || json.Unmarshal(envelope, &env) != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(env.Payload, &c) != nil || len(c.Nonce) > maxField {
		return ""
	}
	return c.Nonce
}
