package trybootsim

import (
	"os"
	"path/filepath"
	"testing"

	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
)

// TestTrybootRules: the flag boots [tryboot] once; the next reboot, and
// any boot after a power cut, boots [all].
func TestTrybootRules(t *testing.T) {
	p, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := p.Layout(t.TempDir(), slot.OS{})
	boot := func(want int, try bool) {
		t.Helper()
		part, err := p.Boot()
		if err != nil || part != want {
			t.Fatalf("booted %d (%v), want %d", part, err, want)
		}
		b, err := l.Booted()
		if err != nil || b.Partition != want || b.Tryboot != try {
			t.Fatalf("device tree %+v %v, want %d tryboot=%v", b, err, want, try)
		}
	}
	boot(2, false)
	p.Reboot("0 tryboot")
	boot(3, true)
	p.Reboot("")
	boot(2, false)
	p.Reboot("0 tryboot")
	p.PowerCut()
	boot(2, false)
	// A commit rewrites [all].
	os.WriteFile(filepath.Join(p.Dir, "p1", "autoboot.txt"), tryboot.Autoboot{TrybootAB: true, Default: 3, Try: 2}.Format(), 0o644)
	boot(3, false)
	p.Reboot("0 tryboot")
	boot(2, true)
	// No A/B autoboot.txt: nothing boots.
	os.WriteFile(filepath.Join(p.Dir, "p1", "autoboot.txt"), []byte("[all]\nboot_partition=2\n"), 0o644)
	if _, err := p.Boot(); err == nil {
		t.Fatal("booted without tryboot_a_b")
	}
}

func TestParseAutoboot(t *testing.T) {
	a, err := tryboot.ParseAutoboot([]byte("# c\n[all]\ntryboot_a_b=1\nboot_partition=2\n[pi4]\nboot_partition=9\n[tryboot]\nboot_partition=3\n"))
	if err != nil || a.Default != 2 || a.Try != 3 {
		t.Fatalf("%+v %v", a, err)
	}
	b, err := tryboot.ParseAutoboot(a.Format())
	if err != nil || b != a {
		t.Fatalf("round trip %+v %v", b, err)
	}
}
