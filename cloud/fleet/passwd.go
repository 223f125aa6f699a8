package fleet

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mosquitto's password file format for PBKDF2-SHA512 ("$7$"), as written
// by mosquitto_passwd: $7$ITERATIONS$SALT$HASH, salt and hash in standard
// base64. The same string is the credential the embedded broker checks, so
// one stored hash serves both brokers.
const (
	passwdIterations = 101
	passwdSaltLen    = 12
	passwdHashLen    = sha512.Size
)

// HashPassword returns pw's hash in mosquitto_passwd's $7$ format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, passwdSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return hashWith(pw, salt, passwdIterations)
}

func hashWith(pw string, salt []byte, iter int) (string, error) {
	h, err := pbkdf2.Key(sha512.New, pw, salt, iter, passwdHashLen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$7$%d$%s$%s", iter, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(h)), nil
}

// CheckPassword reports whether pw matches a $7$ hash.
func CheckPassword(hash, pw string) bool {
	iter, salt64, _, err := splitHash(hash)
	if err != nil {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return false
	}
	again, err := hashWith(pw, salt, iter)
	return err == nil && subtle.ConstantTimeCompare([]byte(again), []byte(hash)) == 1
}

// ErrBadHash is returned for a password hash not in the $7$ format.
var ErrBadHash = errors.New("fleet: password hash is not mosquitto_passwd's $7$ format")

// splitHash splits a $7$ hash into its iterations, salt and sum (both
// base64, as the dynamic-security plugin stores them).
func splitHash(hash string) (iter int, salt, sum string, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		return 0, "", "", ErrBadHash
	}
	iter, err = strconv.Atoi(parts[2])
	if err != nil || iter < 1 || iter > 1_000_000 {
		return 0, "", "", ErrBadHash
	}
	return iter, parts[3], parts[4], nil
}

// NewSecret returns a random password for a broker account.
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
