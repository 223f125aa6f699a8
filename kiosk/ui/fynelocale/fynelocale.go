// Package fynelocale keeps Fyne from logging "Error parsing user locale C"
// on every start of a program that imports it.
//
// Fyne reads the locale while its lang package initialises, through
// go-locale, which turns LANG=C.UTF-8 (the locale of systemd services,
// containers and a fresh Raspberry Pi OS) into the language tag "C" and
// fails to parse it. Importing this package fixes the environment first:
// it depends on nothing that imports Fyne, and a Go program initialises
// packages in import-path order among those ready, so its init runs before
// fyne.io/fyne/v2/lang's (which waits for text/template and others that
// sort after "leifeng/"). It sets only LANGUAGE, the GNU message-language
// list, and only when the locale is C or POSIX with an encoding and
// LANGUAGE is unset: what the C library does with C.UTF-8 is unchanged.
package fynelocale

import (
	"os"
	"strings"
)

func init() { Fix() }

// Fix sets LANGUAGE=en when LC_ALL, LC_MESSAGES or LANG (the first one
// set) is C.* or POSIX.* and LANGUAGE is unset. It reports whether it
// changed anything.
func Fix() bool {
	var loc string
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = os.Getenv(env); loc != "" {
			break
		}
	}
	if !strings.HasPrefix(loc, "C.") && !strings.HasPrefix(loc, "POSIX.") {
		return false
	}
	if os.Getenv("LANGUAGE") != "" {
		return false
	}
	os.Setenv("LANGUAGE", "en")
	return true
}
