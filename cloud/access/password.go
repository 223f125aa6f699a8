package access

import (
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// MinPasswordLen is the shortest password a user may choose, in characters.
const MinPasswordLen = 10

// PasswordError is a password the rules refuse. Its text is Chinese: the
// console shows it as is; English says the same for logs and scripts.
type PasswordError struct{ Zh, En string }

func (e *PasswordError) Error() string { return e.Zh }

// CheckNewPassword applies the rules a new password must meet: at least
// MinPasswordLen characters, not the user's name.
func CheckNewPassword(name, pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return &PasswordError{Zh: "密码太短：至少需要 10 个字符，请换一个更长的密码。", En: "password too short: at least 10 characters"}
	}
	if strings.Contains(strings.ToLower(pw), strings.ToLower(name)) && name != "" {
		return &PasswordError{Zh: "密码不能包含用户名，请换一个密码。", En: "password must not contain the user name"}
	}
	return nil
}

// passwordParams are argon2id's parameters: RFC 9106's second recommended
// option (64 MiB, one pass), with two lanes for the cloud's two cores.
var passwordParams = argon2id.DefaultParams

// HashPassword hashes pw with argon2id and a random salt; the result
// (PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash) is what the database
// keeps.
func HashPassword(pw string) (string, error) { return argon2id.CreateHash(pw, passwordParams) }

// VerifyPassword reports whether pw matches hash. An empty or malformed
// hash matches nothing.
func VerifyPassword(hash, pw string) bool {
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

// dummyHash is compared against when the user does not exist, so that a
// wrong name costs the same time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no user has this password")
	return h
})

// WasteVerify spends the time of one VerifyPassword on nothing.
func WasteVerify(pw string) { VerifyPassword(dummyHash(), pw) }

// ErrFirstUserCity is refused by the store: the first user of a cloud must
// be a city administrator, who then creates the others.
var ErrFirstUserCity = errors.New("the first user must be a city administrator (--role city) / 第一个用户必须是市级管理员（--role city）")
