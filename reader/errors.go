package reader

import (
	"errors"

	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

// Errors a Tap can fail with. Test with errors.Is; the credential
// package's finer errors (credential.ErrWrongCard, credential.ErrUnknownKey,
// credential.ErrMalformed) also match ErrForged.
var (
	// ErrUnreadable: the card left the field or the radio link failed
	// mid-read. Tapping again usually works.
	ErrUnreadable = errors.New("reader: card could not be read")
	// ErrForged: the credential is not signed by a trusted issuer, was
	// altered, or belongs to another card.
	ErrForged = credential.ErrForged
	// ErrExpired: the credential is past its expiry date.
	ErrExpired = credential.ErrExpired
	// ErrNotYetValid: the credential's issue date is still ahead of the
	// kiosk's synchronised clock.
	ErrNotYetValid = credential.ErrNotYetValid
	// ErrRevoked: the credential's serial is on the revocation list.
	ErrRevoked = credential.ErrRevoked
	// ErrUnsupported: not a card type the reader knows, or a card without
	// a volunteer credential.
	ErrUnsupported = errors.New("reader: unsupported card")
	// ErrSeveralCards: more than one card is in the field.
	ErrSeveralCards = mfrc522.ErrSeveralCards
	// ErrReaderFault: the reader chip does not answer and could not be
	// reset.
	ErrReaderFault = errors.New("reader: reader hardware fault")
)

// Codes of the errors a Tap fails with: short, stable names for logs,
// metrics, the simulated reader's replies and the kiosk's catalogue of
// sentences (kiosk/ui/catalog), which says them to the person at the
// kiosk. This package holds no sentences: the words live in one place.
const (
	CodeSeveralCards = "several_cards"
	CodeUnreadable   = "unreadable"
	CodeExpired      = "expired"
	CodeNotYetValid  = "not_yet_valid"
	CodeRevoked      = "revoked"
	CodeForged       = "forged"
	CodeUnsupported  = "unsupported"
	CodeReaderFault  = "reader_fault"
	// CodeOther is an error from outside this package.
	CodeOther = "other"
)

// Codes lists every code Code returns for a non-nil error.
func Codes() []string {
	return []string{CodeSeveralCards, CodeUnreadable, CodeExpired, CodeNotYetValid, CodeRevoked,
		CodeForged, CodeUnsupported, CodeReaderFault, CodeOther}
}

// Code maps err to its stable code (as wire.Reason does for the wire
// package): "" for nil, CodeOther for an error that is none of this
// package's.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrSeveralCards):
		return CodeSeveralCards
	case errors.Is(err, ErrUnreadable):
		return CodeUnreadable
	case errors.Is(err, ErrExpired):
		return CodeExpired
	case errors.Is(err, ErrNotYetValid):
		return CodeNotYetValid
	case errors.Is(err, ErrRevoked):
		return CodeRevoked
	case errors.Is(err, ErrForged):
		return CodeForged
	case errors.Is(err, ErrUnsupported):
		return CodeUnsupported
	case errors.Is(err, ErrReaderFault):
		return CodeReaderFault
	}
	return CodeOther
}
