package wire

import (
	"strings"
	"unicode/utf8"
)

// MaskName is how a volunteer's name may leave the cloud: the first
// character, a star for each character between, and the last character,
// so 张三 → 张*, 王小明 → 王*明, 欧阳娜娜 → 欧**娜. A one-character name is a
// single star; spaces around the name are dropped. Masking a masked name
// changes nothing. The rule matches what the DESIGN asks of public
// screens (names masked, 张*三) and keeps the family name, which is what a
// volunteer recognises on the honor roll, while a two-character name, the
// commonest, shows only its family name.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch n := len(r); {
	case n == 0:
		return ""
	case n == 1:
		return "*"
	case n == 2:
		return string(r[0]) + "*"
	default:
		return string(r[0]) + strings.Repeat("*", n-2) + string(r[n-1])
	}
}

// NameMasked reports whether name shows at most its first and last
// character: empty, "*", or a first character followed by stars and at
// most one more character. Every MaskName result passes; 王小明 and 张三 do
// not. config.schema.json states the same as a pattern on the names of
// volunteers and of the honor roll.
func NameMasked(name string) bool {
	n := utf8.RuneCountInString(name)
	if n == 0 || name == "*" {
		return true
	}
	r := []rune(name)
	if r[0] == '*' || n < 2 {
		return false
	}
	last := n - 1
	if r[last] == '*' {
		last = n // nothing shown at the end
	}
	for i := 1; i < last; i++ {
		if r[i] != '*' {
			return false
		}
	}
	return last == n || n >= 3
}
