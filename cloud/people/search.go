package people

import (
	"strings"
	"unicode"

	"leifeng/gateway/wire"
)

// Search is what a search box's text asks for, each way it can be read.
// A volunteer matches when any non-empty field does.
type Search struct {
	// NamePrefix matches names that start with it (the surname, or the
	// whole name).
	NamePrefix string
	// Phone is a normalised phone number, matched exactly.
	Phone string
	// IDHash is the keyed hash of an ID number (Vault.Hash): the number
	// itself is never searched for, nor sent to the database.
	IDHash string
	// Card is a card credential's serial.
	Card string
	// ID is a volunteer ID.
	ID string
}

// ParseSearch reads what a user typed: an ID number (when it is a valid
// one: matched by its keyed hash only), a phone number, or else a name, a
// card serial or a volunteer ID, whichever matches. Text with a letter or
// digit is not taken for a name, nor a name for a serial or an ID.
func ParseSearch(text string, vault *Vault) Search {
	t := strings.TrimSpace(text)
	if t == "" {
		return Search{}
	}
	if id, err := CheckIDNumber(t); err == nil {
		return Search{IDHash: vault.Hash(id)}
	}
	if p, err := NormalizePhone(t); err == nil {
		return Search{Phone: p, Card: t, ID: t}
	}
	hasASCII := strings.IndexFunc(t, func(r rune) bool { return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) }) >= 0
	if !hasASCII {
		return Search{NamePrefix: t}
	}
	return Search{Card: t, ID: t, NamePrefix: t}
}

// VolunteerSummary is a volunteer as a list of search results shows one:
// the name and phone number masked.
type VolunteerSummary struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Gender       Gender `json:"gender,omitempty"`
	Community    string `json:"community,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Group        Group  `json:"group"`
	RegisteredOn string `json:"registered_on"`
	Deregistered bool   `json:"deregistered,omitempty"`
}

// MaskName is a name as it may leave the cloud (王*明).
func MaskName(name string) string { return wire.MaskName(name) }
