package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
)

// Envelope wraps a signed document: the exact bytes that were signed travel
// as they are (base64 in JSON), so the receiver verifies what the signer
// signed and only then parses it. Configs and commands travel this way; a
// broker that is compromised can replay them but not forge or alter them.
type Envelope struct {
	V       int    `json:"v"`
	Key     string `json:"key"`
	Payload []byte `json:"payload"`
	Sig     []byte `json:"sig"`
}

// Seal signs payload with priv and returns the encoded envelope. keyID names
// the key so a receiver that trusts several can pick the right one.
func Seal(priv ed25519.PrivateKey, keyID string, payload []byte) ([]byte, error) {
	if keyID == "" || len(keyID) > maxField {
		return nil, fmt.Errorf("%w: key ID must be 1 to %d bytes", ErrInvalid, maxField)
	}
	return json.Marshal(&Envelope{
		V:       Version,
		Key:     keyID,
		Payload: payload,
		Sig:     ed25519.Sign(priv, payload),
	})
}

// Open decodes an envelope and verifies its signature with the trusted key
// it names. It returns the signed bytes and the key ID.
func Open(data []byte, trusted map[string]ed25519.PublicKey) (payload []byte, keyID string, err error) {
	e := new(Envelope)
	if err := decode(data, e, &e.V); err != nil {
		return nil, "", err
	}
	pub, ok := trusted[e.Key]
	if !ok {
		return nil, "", fmt.Errorf("%w: key %q is not trusted", ErrSignature, e.Key)
	}
	if len(pub) != ed25519.PublicKeySize || len(e.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, e.Payload, e.Sig) {
		return nil, "", fmt.Errorf("%w: envelope signed with key %q does not verify", ErrSignature, e.Key)
	}
	return e.Payload, e.Key, nil
}
