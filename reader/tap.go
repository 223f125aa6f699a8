package reader

import "time"

// Tap is one card presented to the reader and accepted: its credential was
// read and verified against the trusted issuer keys.
type Tap struct {
	// Volunteer is the volunteer ID the credential was issued to.
	Volunteer string
	// Card is the credential serial, recorded with every record.
	Card string
	// Name is the masked display name the credential carries (张*明), ""
	// on a card issued without one; a kiosk greets by it a volunteer its
	// roster does not list.
	Name string
	// UID is the card's anticollision UID (4, 7 or 10 bytes).
	UID []byte
	// Media names the card type ("classic1k", "ntag215", "ntag424", "sim").
	Media string
	// Counter is the NTAG 424 DNA SUN tap counter; zero for other media.
	Counter uint32
	// SUN is the raw SUN message (PICC data and CMAC) for the cloud's clone
	// check; nil for other media.
	SUN []byte
	// At is when the reader saw the card, from the kiosk's clock.
	At time.Time
	// Review asks a person to look at the tap's record: the card's issue
	// date lies ahead of the kiosk's unsynchronised clock, so it could be
	// checked neither way (credential.Credential.IssuedAhead).
	Review bool
}
