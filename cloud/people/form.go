package people

import (
	"crypto/rand"
	"strings"
)

// Form is a volunteer as a registration form (or a JSON request) gives
// one: the import's columns, lists as lists. Volunteer turns it into a
// Volunteer for Check.
type Form struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Gender          string   `json:"gender"`
	BirthDate       string   `json:"birth_date"`
	IDNumber        string   `json:"id_number"`
	Community       string   `json:"community"`
	Phone           string   `json:"phone"`
	Skills          []string `json:"skills"`
	ServiceTypes    []string `json:"service_types"`
	Group           string   `json:"group"`
	Orgs            []string `json:"orgs"`
	NationalID      string   `json:"national_id"`
	GuardianConsent bool     `json:"guardian_consent"`
	RegisteredOn    string   `json:"registered_on"`
}

// Volunteer reads the form's fields as the importer reads a row's cells.
// An empty ID is given a new one (NewVolunteerID).
func (f *Form) Volunteer() (Volunteer, error) {
	v := Volunteer{ID: strings.TrimSpace(f.ID), Name: strings.TrimSpace(f.Name), IDNumber: f.IDNumber,
		Community: f.Community, Phone: f.Phone, Skills: f.Skills, ServiceTypes: f.ServiceTypes, Orgs: f.Orgs,
		NationalID: f.NationalID, GuardianConsent: f.GuardianConsent}
	if v.ID == "" {
		v.ID = NewVolunteerID()
	}
	var err error
	if v.Gender, err = ParseGender(f.Gender); err != nil {
		return v, err
	}
	if v.BirthDate, err = parseDate(strings.TrimSpace(f.BirthDate)); err != nil {
		return v, err
	}
	if v.Group, err = ParseGroup(f.Group); err != nil {
		return v, err
	}
	if v.RegisteredOn, err = parseDate(strings.TrimSpace(f.RegisteredOn)); err != nil {
		return v, err
	}
	return v, nil
}

// NewVolunteerID makes a volunteer ID for a volunteer registered without
// one: "V" and 12 random characters of an alphabet without look-alikes,
// short enough for a card and a form.
func NewVolunteerID() string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "V" + string(b)
}
