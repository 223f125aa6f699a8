package access

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNewPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		zh       string
	}{
		{"admin", "短密码", "至少需要 10 个字符"},
		{"admin", "123456789", "至少需要 10 个字符"},
		{"wangfang", "WangFang2026!", "不能包含用户名"},
		{"admin", "十个汉字的密码也可以了", ""},
		{"admin", "correct horse", ""},
	} {
		err := CheckNewPassword(tc.name, tc.pw)
		var pe *PasswordError
		switch {
		case tc.zh == "" && err != nil:
			t.Errorf("%s %q: %v", tc.name, tc.pw, err)
		case tc.zh != "" && (!errors.As(err, &pe) || !strings.Contains(pe.Zh, tc.zh) || pe.En == ""):
			t.Errorf("%s %q: %v, want %q", tc.name, tc.pw, err, tc.zh)
		}
	}
}

// The hash is argon2id's PHC string with its own salt; only the password
// matches it.
func TestHashPassword(t *testing.T) {
	a, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := HashPassword("correct horse")
	if !strings.HasPrefix(a, "$argon2id$v=19$m=65536,t=1,p=") || a == b || strings.Contains(a, "correct") {
		t.Fatalf("hashes %q %q", a, b)
	}
	if !VerifyPassword(a, "correct horse") || VerifyPassword(a, "correct horse ") || VerifyPassword("", "") || VerifyPassword("$argon2id$bad", "x") {
		t.Fatal("VerifyPassword")
	}
}

func TestRoles(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r || r.Zh() == string(r) {
			t.Errorf("%s: %v %v %s", r, got, err, r.Zh())
		}
	}
	if _, err := ParseRole("mayor"); err == nil {
		t.Error("mayor is a role")
	}
	if (&User{Role: Auditor}).CanChange() || !(&User{Role: County}).CanChange() {
		t.Error("CanChange")
	}
	if got := (&User{Role: Station, Scope: " pe-a, ,pe-b"}).Stations(); len(got) != 2 || got[1] != "pe-b" {
		t.Errorf("Stations %v", got)
	}
}

// One sign-in's password check: what a login costs the cloud's CPU.
func BenchmarkVerifyPassword(b *testing.B) {
	h, _ := HashPassword("correct horse")
	for b.Loop() {
		VerifyPassword(h, "correct horse")
	}
}
