package fynelocale

import (
	"os"
	"testing"
)

// TestFix: only a C or POSIX locale with an encoding, and no LANGUAGE,
// gets LANGUAGE=en.
func TestFix(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"LANG": "C.UTF-8"}, true},
		{map[string]string{"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, true},
		{map[string]string{"LANG": "POSIX.UTF-8"}, true},
		{map[string]string{"LANG": "C"}, false}, // go-locale handles plain C
		{map[string]string{"LANG": "zh_CN.UTF-8"}, false},
		{map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, false},
		{map[string]string{}, false},
	} {
		for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
			t.Setenv(k, tc.env[k])
			if tc.env[k] == "" {
				os.Unsetenv(k)
			}
		}
		if got := Fix(); got != tc.want {
			t.Errorf("%v: Fix() = %v, want %v", tc.env, got, tc.want)
		}
		if tc.want && os.Getenv("LANGUAGE") != "en" {
			t.Errorf("%v: LANGUAGE=%q", tc.env, os.Getenv("LANGUAGE"))
		}
	}
}
