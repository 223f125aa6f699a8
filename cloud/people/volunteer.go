package people

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"leifeng/gateway/wire"
)

// Gender is 性别 as the national record has it.
type Gender string

// The two genders the ID number encodes.
const (
	Male   Gender = "male"
	Female Gender = "female"
)

// ParseGender reads 男/女 or male/female (M/F); "" is returned for "".
func ParseGender(s string) (Gender, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "男", "male", "m":
		return Male, nil
	case "女", "female", "f":
		return Female, nil
	}
	return "", refuse(ErrBadGender, "%q", s)
}

// Group is the category the city's targets count volunteers in.
type Group string

// The groups of the plan's targets.
const (
	GroupPartyMember    Group = "party_member"
	GroupCivilServant   Group = "civil_servant"
	GroupTeacher        Group = "teacher"
	GroupCollegeStudent Group = "college_student"
	GroupSchoolStudent  Group = "school_student"
	GroupOther          Group = "other"
)

var groups = map[string]Group{
	"party_member": GroupPartyMember, "党员": GroupPartyMember, "中共党员": GroupPartyMember,
	"civil_servant": GroupCivilServant, "公务员": GroupCivilServant,
	"teacher": GroupTeacher, "教师": GroupTeacher,
	"college_student": GroupCollegeStudent, "大学生": GroupCollegeStudent, "高校学生": GroupCollegeStudent,
	"school_student": GroupSchoolStudent, "中小学生": GroupSchoolStudent, "学生": GroupSchoolStudent,
	"other": GroupOther, "其他": GroupOther, "": GroupOther,
}

// ParseGroup reads a group in English or Chinese; "" is GroupOther.
func ParseGroup(s string) (Group, error) {
	if g, ok := groups[strings.ToLower(strings.TrimSpace(s))]; ok {
		return g, nil
	}
	return "", refuse(ErrBadGroup, "%q", s)
}

// Volunteer is a registered volunteer: the personal fields of 民政部令第67号
// Art. 5 (姓名, 性别, 出生日期, 身份证件号码, 居住区域, 联系方式, 专业技能,
// 服务类别) and what the city adds.
type Volunteer struct {
	// ID is the cloud's volunteer ID, the one cards and records carry.
	ID     string `json:"id"`
	Name   string `json:"-"`
	Gender Gender `json:"gender"`
	// BirthDate is a date (midnight UTC).
	BirthDate time.Time `json:"birth_date"`
	// IDNumber is the number in clear: set only between reading it and
	// sealing it (Seal clears it); the store refuses a volunteer that
	// still carries it.
	IDNumber string `json:"-"`
	// Sealed is the ID number as stored.
	Sealed Sealed `json:"sealed"`
	// Community is the code of the 社区（村） the volunteer lives in.
	Community    string   `json:"community"`
	Phone        string   `json:"-"`
	Skills       []string `json:"skills,omitempty"`
	ServiceTypes []string `json:"service_types,omitempty"`
	Group        Group    `json:"group"`
	// Orgs are the IDs of the volunteer's organisations.
	Orgs []string `json:"orgs,omitempty"`
	// NationalID is the 志愿者统一编号, when known.
	NationalID      string    `json:"national_id,omitempty"`
	GuardianConsent bool      `json:"guardian_consent,omitempty"`
	RegisteredOn    time.Time `json:"registered_on"`
	// Deregistered is when the volunteer was deregistered (注销), zero
	// while registered; DeregisterReason is why. A deregistered volunteer
	// keeps only what the service records need: the ID, the name masked,
	// the group and the registration date.
	Deregistered     time.Time `json:"deregistered,omitzero"`
	DeregisterReason string    `json:"deregister_reason,omitempty"`
}

// MaskedName is the name as it may leave the cloud.
func (v *Volunteer) MaskedName() string { return wire.MaskName(v.Name) }

// phoneRe: a mainland mobile number, or a landline with its area code
// (010-12345678, 0879-2123456), optionally with an extension.
var (
	mobileRe   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	landlineRe = regexp.MustCompile(`^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(-[0-9]{1,6})?$`)
)

// NormalizePhone checks a phone number and returns it without spaces or
// a +86 prefix.
func NormalizePhone(s string) (string, error) {
	p := strings.NewReplacer(" ", "", "\u00a0", "", "(", "", ")", "", "（", "", "）", "").Replace(strings.TrimSpace(s))
	for _, pre := range []string{"+86", "0086"} {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			p = strings.TrimLeft(rest, "-")
			break
		}
	}
	if mobileRe.MatchString(strings.ReplaceAll(p, "-", "")) {
		return strings.ReplaceAll(p, "-", ""), nil
	}
	if landlineRe.MatchString(p) {
		return p, nil
	}
	return "", ErrBadPhone
}

// Age is how many full years old someone born on birth is on day.
func Age(birth, day time.Time) int {
	y := day.Year() - birth.Year()
	if day.Month() < birth.Month() || day.Month() == birth.Month() && day.Day() < birth.Day() {
		y--
	}
	return y
}

// Check validates v, fills what the ID number says when the file left it
// out (birth date, gender), checks that they agree when it did not, sets
// RegisteredOn to today when zero, and seals the ID number with vault
// (clearing IDNumber). The store then checks what needs the database:
// the community, the organisations, the same person twice.
func (v *Volunteer) Check(vault *Vault, today time.Time) error {
	v.ID, v.Name = strings.TrimSpace(v.ID), strings.TrimSpace(v.Name)
	v.Community, v.NationalID = strings.TrimSpace(v.Community), strings.TrimSpace(v.NationalID)
	switch {
	case v.ID == "":
		return ErrMissingID
	case v.Name == "":
		return ErrMissingName
	}
	id, err := CheckIDNumber(v.IDNumber)
	if err != nil {
		return err
	}
	if v.BirthDate.IsZero() {
		v.BirthDate = id.Birth()
	} else if !v.BirthDate.Equal(id.Birth()) {
		return ErrBirthMismatch
	}
	if v.Gender == "" {
		v.Gender = id.Gender()
	} else if v.Gender != id.Gender() {
		return ErrBadGender
	}
	if v.Community == "" {
		return refuse(ErrUnknownCommunity, "empty")
	}
	if v.Phone, err = NormalizePhone(v.Phone); err != nil {
		return err
	}
	if v.Group == "" {
		v.Group = GroupOther
	}
	if _, err := ParseGroup(string(v.Group)); err != nil {
		return err
	}
	if v.RegisteredOn.IsZero() {
		y, m, d := today.Date()
		v.RegisteredOn = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if v.RegisteredOn.Before(v.BirthDate) {
		return refuse(ErrBadDate, "registered before birth")
	}
	age := Age(v.BirthDate, v.RegisteredOn)
	if v.Group == GroupSchoolStudent && age < 10 {
		return ErrTooYoung
	}
	if age < 18 && !v.GuardianConsent {
		return ErrNoConsent
	}
	v.Skills, v.ServiceTypes, v.Orgs = tidy(v.Skills), tidy(v.ServiceTypes), tidy(v.Orgs)
	v.Sealed = vault.Seal(v.ID, id)
	v.IDNumber = ""
	return nil
}

// tidy trims a list, drops empty and repeated items and sorts it, so the
// same list in another order stores the same.
func tidy(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
