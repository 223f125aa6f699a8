package people

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The standard's own example number (GB 11643-1999, appendix) and a
// number made with it for a Pu'er resident.
const (
	gbExample = "11010519491231002X"
	puer      = "530802199003071236"
)

func TestCheckIDNumber(t *testing.T) {
	for _, ok := range []string{gbExample, strings.ToLower(gbExample), " " + puer + " "} {
		if _, err := CheckIDNumber(ok); err != nil {
			t.Errorf("CheckIDNumber(%q) = %v, want valid", ok, err)
		}
	}
	for _, bad := range []string{"", "11010519491231002", "110105194912310021", "11010519491231002Y",
		"1101051949123100X2", "110105194902300028" /* 30 February */, "5308021990030712361"} {
		if _, err := CheckIDNumber(bad); !errors.Is(err, ErrBadIDNumber) {
			t.Errorf("CheckIDNumber(%q) = %v, want ErrBadIDNumber", bad, err)
		}
	}
	id, _ := CheckIDNumber(gbExample)
	if got := id.Birth(); !got.Equal(time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Birth = %v", got)
	}
	if id.Gender() != Female {
		t.Errorf("Gender of %s = %s, want female (17th digit 2)", gbExample, id.Gender())
	}
	if got := id.Masked(); got != "1101**********002X" {
		t.Errorf("Masked = %q", got)
	}
}

func TestVault(t *testing.T) {
	dir := t.TempDir()
	v, err := LoadVault(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadVault(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadVault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id, _ := CheckIDNumber(puer)
	s := v.Seal("V1", id)
	if strings.Contains(s.Cipher, puer) || strings.Contains(s.Hash, puer) || s.Masked != "5308**********1236" {
		t.Fatalf("sealed %+v shows the number", s)
	}
	if got, err := again.Open("V1", s.Cipher); err != nil || got != id {
		t.Fatalf("Open with the same key file = %q, %v", got, err)
	}
	if _, err := again.Open("V2", s.Cipher); !errors.Is(err, ErrSealed) {
		t.Errorf("a sealed number moved to another volunteer opened: %v", err)
	}
	if _, err := other.Open("V1", s.Cipher); !errors.Is(err, ErrSealed) {
		t.Errorf("another key opened it: %v", err)
	}
	if v.Seal("V1", id).Cipher == s.Cipher {
		t.Error("two seals of one number are equal: the nonce is not fresh")
	}
	if again.Hash(id) != s.Hash || other.Hash(id) == s.Hash || v.Check() != again.Check() || v.Check() == other.Check() {
		t.Error("the keyed hash or the key check does not follow the key")
	}
}

func TestPhone(t *testing.T) {
	for in, want := range map[string]string{"13987912345": "13987912345", "+86 139 8791 2345": "13987912345",
		"139-8791-2345": "13987912345", "0879-2123456": "0879-2123456", "01012345678": "01012345678"} {
		if got, err := NormalizePhone(in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12345", "23987912345", "1398791234", "phone"} {
		if _, err := NormalizePhone(bad); !errors.Is(err, ErrBadPhone) {
			t.Errorf("NormalizePhone(%q) = %v, want ErrBadPhone", bad, err)
		}
	}
}

// idFor makes a valid number of someone born on birth.
func idFor(birth time.Time, seq string) string {
	body := "530802" + birth.Format("20060102") + seq
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return body + string(idChecks[sum%11])
}

// Minors: consent under 18; a school student under 10 is refused.
func TestVolunteerAge(t *testing.T) {
	vault, _ := NewVault(make([]byte, 32))
	today := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	vol := func(birth time.Time, g Group, consent bool) *Volunteer {
		return &Volunteer{ID: "V1", Name: "王小明", IDNumber: idFor(birth, "123"), Community: "C1",
			Phone: "13987912345", Group: g, GuardianConsent: consent}
	}
	cases := []struct {
		birth   time.Time
		group   Group
		consent bool
		want    error
	}{
		{time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), GroupOther, false, nil},
		{time.Date(2008, 9, 1, 0, 0, 0, 0, time.UTC), GroupCollegeStudent, false, nil}, // 18 today
		{time.Date(2008, 9, 2, 0, 0, 0, 0, time.UTC), GroupCollegeStudent, false, ErrNoConsent},
		{time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), GroupSchoolStudent, true, nil},
		{time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), GroupSchoolStudent, true, nil}, // 10 today
		{time.Date(2016, 9, 2, 0, 0, 0, 0, time.UTC), GroupSchoolStudent, true, ErrTooYoung},
	}
	for _, c := range cases {
		v := vol(c.birth, c.group, c.consent)
		err := v.Check(vault, today)
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("born %s, %s, consent %v: %v, want %v", c.birth.Format(time.DateOnly), c.group, c.consent, err, c.want)
		}
		if err == nil && (v.IDNumber != "" || v.Sealed.Hash == "" || !v.RegisteredOn.Equal(today) || v.Gender != Male) {
			t.Errorf("checked volunteer %+v: the number not sealed, or the date or gender not filled", v)
		}
	}
	v := vol(time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), GroupOther, false)
	v.Gender = Female
	if err := v.Check(vault, today); !errors.Is(err, ErrBadGender) {
		t.Errorf("gender against the number: %v", err)
	}
	v = vol(time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), GroupOther, false)
	v.BirthDate = time.Date(1990, 3, 8, 0, 0, 0, 0, time.UTC)
	if err := v.Check(vault, today); !errors.Is(err, ErrBirthMismatch) {
		t.Errorf("birth date against the number: %v", err)
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Line: 5, Reason: ErrUnknownCommunity, Err: refuse(ErrUnknownCommunity, "%s", "530802999")}
	want := "第 5 行：找不到该社区（村）代码，请先导入区域或核对代码（530802999） / line 5: unknown community: 530802999"
	if got := p.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
