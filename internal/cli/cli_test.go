package cli

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		line string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{errors.New("disk full\nsecond line"), 1, "x: disk full second line\n"},
		{Usagef("--station: want an ID"), 2, "x: --station: want an ID\n"},
		{&ExitError{Code: 75, Err: errors.New("reboot")}, 75, "x: reboot\n"},
	} {
		var b strings.Builder
		if code := Report("x", c.err, &b); code != c.code || b.String() != c.line {
			t.Errorf("%v: %d %q, want %d %q", c.err, code, b.String(), c.code, c.line)
		}
	}
}

func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("x serve", flag.ExitOnError)
	n := fs.Int("n", 1, "a number")
	var out strings.Builder
	err := Parse(fs, []string{"-n", "zwei"}, &out)
	var u *UsageError
	if !errors.As(err, &u) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "run x serve -h") {
		t.Fatalf("bad value: %v", err)
	}
	if err := Parse(fs, []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "a number") {
		t.Fatalf("-h: %v %q", err, out.String())
	}
	if err := Parse(fs, []string{"-n", "3"}, &out); err != nil || *n != 3 {
		t.Fatalf("good flags: %v %d", err, *n)
	}
}
