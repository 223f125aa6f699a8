package people

import (
	"strings"
	"time"
)

// GB 11643-1999: the 18th character of a 居民身份证 number is a check
// character over the first 17 digits (ISO 7064 MOD 11-2): weights 2^(17-i)
// mod 11, and the sum mod 11 indexes "10X98765432".
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// NormalizeIDNumber trims spaces and upper-cases a trailing x, the forms a
// number is typed in; it does not check it.
func NormalizeIDNumber(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

// IDNumber is an 18-character resident ID number (居民身份证, and the
// 港澳台居民居住证, which share its format) that passed CheckIDNumber.
type IDNumber string

// CheckIDNumber checks an 18-character ID number: 17 digits, the check
// character of GB 11643, and a birth date that exists. It returns the
// normalised number.
func CheckIDNumber(s string) (IDNumber, error) {
	n := NormalizeIDNumber(s)
	if len(n) != 18 {
		return "", refuse(ErrBadIDNumber, "%d characters, want 18", len(n))
	}
	sum := 0
	for i := range 17 {
		c := n[i]
		if c < '0' || c > '9' {
			return "", refuse(ErrBadIDNumber, "character %d is not a digit", i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	if n[17] != idChecks[sum%11] {
		return "", refuse(ErrBadIDNumber, "check character does not match")
	}
	id := IDNumber(n)
	if _, ok := id.birth(); !ok {
		return "", refuse(ErrBadIDNumber, "no such birth date")
	}
	return id, nil
}

func (id IDNumber) birth() (time.Time, bool) {
	t, err := time.Parse("20060102", string(id[6:14]))
	if err != nil || t.Year() < 1900 {
		return time.Time{}, false
	}
	return t, true
}

// Birth is the birth date the number encodes.
func (id IDNumber) Birth() time.Time { t, _ := id.birth(); return t }

// Gender is the gender the number encodes: its 17th digit is odd for a man.
func (id IDNumber) Gender() Gender {
	if (id[16]-'0')%2 == 1 {
		return Male
	}
	return Female
}

// Masked shows the first four and the last four characters
// (5308**********123X): the region of the prefecture and enough of the end
// for a person to tell their own number, nothing of the birth date.
func (id IDNumber) Masked() string { return MaskIDNumber(string(id)) }

// MaskIDNumber masks any ID number as Masked does; one of eight
// characters or fewer becomes all stars.
func MaskIDNumber(s string) string {
	r := []rune(s)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}
