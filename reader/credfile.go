package reader

// CredentialFormat is the Format of a CredentialFile.
const CredentialFormat = "leifeng-card-credential/1"

// CredentialFile is a signed credential waiting to be written to its card:
// what the cloud returns when it issues a card (POST
// /api/v1/volunteers/{id}/cards) and what `leifeng-card write -in FILE`
// writes to the blank card on the reader, or lays out as a card image.
// It carries no secret: the credential is bound to UID by its signature,
// and the card's own keys (MIFARE Classic key B, NTAG 424 DNA SDM keys)
// are added by the writer, which holds them, never by the cloud.
type CredentialFile struct {
	Format    string `json:"format"`
	Serial    string `json:"serial"`
	Volunteer string `json:"volunteer"`
	// Name is the masked display name inside the credential.
	Name  string `json:"name,omitempty"`
	UID   Hex    `json:"uid"`
	Media string `json:"media"`
	// Expires is the last valid day, YYYY-MM-DD.
	Expires string `json:"expires"`
	KeyID   uint16 `json:"key_id"`
	// Credential is the encoded, signed credential (package credential).
	Credential Hex `json:"credential"`
}
