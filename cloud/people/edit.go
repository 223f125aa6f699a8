package people

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaskPhone shows a phone number's first three and last four digits
// (139****2345), how Chinese services print one; a short number is all
// stars.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// Patch is an edit of a registered volunteer: each field that is not nil
// is set. The ID number is given in clear and sealed by Apply; gender and
// birth date follow it (they are what the number encodes).
type Patch struct {
	Name            *string   `json:"name,omitempty"`
	IDNumber        *string   `json:"id_number,omitempty"`
	Community       *string   `json:"community,omitempty"`
	Phone           *string   `json:"phone,omitempty"`
	Skills          *[]string `json:"skills,omitempty"`
	ServiceTypes    *[]string `json:"service_types,omitempty"`
	Group           *string   `json:"group,omitempty"`
	Orgs            *[]string `json:"orgs,omitempty"`
	NationalID      *string   `json:"national_id,omitempty"`
	GuardianConsent *bool     `json:"guardian_consent,omitempty"`
}

// FieldChange is one field an edit changed, as the volunteer's history
// keeps it. Before and After are what a person may be shown: the personal
// fields (name, ID number, phone, birth date) masked, the rest as they
// are. SealedBefore and SealedAfter hold a personal field's values in full,
// sealed with the vault for the volunteer and the field (SealText), so a
// correction can be traced exactly by whoever holds the key and by nobody
// who holds only the database.
type FieldChange struct {
	Field        string `json:"field"`
	Before       string `json:"before"`
	After        string `json:"after"`
	SealedBefore string `json:"-"`
	SealedAfter  string `json:"-"`
}

// Apply edits v (a registered volunteer as stored, its ID number sealed)
// by p, checks the result as Check does, and returns what changed. v is
// changed only when the error is nil. An unchanged field is not listed;
// an edit that changes nothing returns no changes and no error.
func (v *Volunteer) Apply(p Patch, vault *Vault, today time.Time) ([]FieldChange, error) {
	n := *v
	n.Skills, n.ServiceTypes, n.Orgs = slices.Clone(v.Skills), slices.Clone(v.ServiceTypes), slices.Clone(v.Orgs)
	if p.Name != nil {
		if n.Name = strings.TrimSpace(*p.Name); n.Name == "" {
			return nil, ErrMissingName
		}
	}
	var newID IDNumber
	if p.IDNumber != nil {
		id, err := CheckIDNumber(*p.IDNumber)
		if err != nil {
			return nil, err
		}
		if vault.Hash(id) != v.Sealed.Hash {
			newID = id
			n.BirthDate, n.Gender = id.Birth(), id.Gender()
		}
	}
	if p.Community != nil {
		if n.Community = strings.TrimSpace(*p.Community); n.Community == "" {
			return nil, refuse(ErrUnknownCommunity, "empty")
		}
	}
	if p.Phone != nil {
		ph, err := NormalizePhone(*p.Phone)
		if err != nil {
			return nil, err
		}
		n.Phone = ph
	}
	if p.Skills != nil {
		n.Skills = tidy(*p.Skills)
	}
	if p.ServiceTypes != nil {
		n.ServiceTypes = tidy(*p.ServiceTypes)
	}
	if p.Orgs != nil {
		n.Orgs = tidy(*p.Orgs)
	}
	if p.Group != nil {
		g, err := ParseGroup(*p.Group)
		if err != nil {
			return nil, err
		}
		n.Group = g
	}
	if p.NationalID != nil {
		n.NationalID = strings.TrimSpace(*p.NationalID)
	}
	if p.GuardianConsent != nil {
		n.GuardianConsent = *p.GuardianConsent
	}
	// Age rules hold on the day of the edit too: withdrawing a minor's
	// consent, or making a 9-year-old a school student, is refused.
	age := Age(n.BirthDate, today)
	if n.Group == GroupSchoolStudent && age < 10 {
		return nil, ErrTooYoung
	}
	if age < 18 && !n.GuardianConsent {
		return nil, ErrNoConsent
	}
	var ch []FieldChange
	personal := func(field, before, after, shownBefore, shownAfter string) {
		if before != after {
			ch = append(ch, FieldChange{Field: field, Before: shownBefore, After: shownAfter,
				SealedBefore: vault.SealText(v.ID, "history:"+field, before),
				SealedAfter:  vault.SealText(v.ID, "history:"+field, after)})
		}
	}
	plain := func(field, before, after string) {
		if before != after {
			ch = append(ch, FieldChange{Field: field, Before: before, After: after})
		}
	}
	personal("name", v.Name, n.Name, v.MaskedName(), n.MaskedName())
	if newID != "" {
		old, err := vault.Open(v.ID, v.Sealed.Cipher)
		if err != nil {
			return nil, err
		}
		n.Sealed = vault.Seal(v.ID, newID)
		personal("id_number", string(old), string(newID), v.Sealed.Masked, n.Sealed.Masked)
		personal("birth_date", v.BirthDate.Format(time.DateOnly), n.BirthDate.Format(time.DateOnly),
			MaskBirthDate(v.BirthDate), MaskBirthDate(n.BirthDate))
		plain("gender", string(v.Gender), string(n.Gender))
	}
	personal("phone", v.Phone, n.Phone, MaskPhone(v.Phone), MaskPhone(n.Phone))
	plain("community", v.Community, n.Community)
	plain("skills", strings.Join(v.Skills, ";"), strings.Join(n.Skills, ";"))
	plain("service_types", strings.Join(v.ServiceTypes, ";"), strings.Join(n.ServiceTypes, ";"))
	plain("group", string(v.Group), string(n.Group))
	plain("orgs", strings.Join(v.Orgs, ";"), strings.Join(n.Orgs, ";"))
	plain("national_id", v.NationalID, n.NationalID)
	plain("guardian_consent", strconv.FormatBool(v.GuardianConsent), strconv.FormatBool(n.GuardianConsent))
	*v = n
	return ch, nil
}

// MaskBirthDate shows only the year of a birth date (1990-**-**).
func MaskBirthDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.Itoa(t.Year()) + "-**-**"
}
