package model

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// verdict is one pan run: the model built with define (a variant, or
// NOCLAIM for a run without LTL), the pan flags, and whether spin must
// find an error.
type verdict struct {
	name    string
	variant string // -D for spin: "" is the gateway as built
	claim   string // LTL claim to check; "" checks assertions and end states
	fair    bool
	fails   bool
}

// TestProtocolModel has spin check outbox.pml: the protocol as the code
// implements it holds both properties, and each broken gateway breaks
// safety.
func TestProtocolModel(t *testing.T) {
	spin, errSpin := exec.LookPath("spin")
	cc, errCC := exec.LookPath("gcc")
	if errSpin != nil || errCC != nil {
		if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
			t.Fatalf("spin and gcc are needed (make deps): %v %v", errSpin, errCC)
		}
		t.Skip("spin or gcc not installed (make deps); LEIFENG_REQUIRE_SERVICES=1 makes this a failure")
	}
	src, err := os.ReadFile("outbox.pml")
	if err != nil {
		t.Fatal(err)
	}
	// One pan per build; the runs of a build share it.
	pans := map[string]string{}
	root := t
	build := func(t *testing.T, v verdict) string {
		key := v.variant + "/" + boolTag(v.claim == "")
		if pan, ok := pans[key]; ok {
			return pan
		}
		dir := root.TempDir() // outlives the subtest: later ones reuse the build
		if err := os.WriteFile(filepath.Join(dir, "outbox.pml"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		spinArgs := []string{"-a"}
		if v.variant != "" {
			spinArgs = append(spinArgs, "-D"+v.variant)
		}
		// Memory bounded (MEMLIM, MB): a model grown past it fails here
		// instead of swapping the machine.
		ccArgs := []string{"-DNFAIR=3", "-DMEMLIM=1024", "-o", "pan", "pan.c"}
		if v.claim == "" {
			ccArgs = append(ccArgs, "-DNOCLAIM")
		}
		for _, c := range [][]string{append([]string{spin}, append(spinArgs, "outbox.pml")...), append([]string{cc}, ccArgs...)} {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
		pans[key] = filepath.Join(dir, "pan")
		return pans[key]
	}
	for _, v := range []verdict{
		{name: "safe", claim: "safe"},
		{name: "drains", claim: "drains", fair: true},
		{name: "assertions and end states"},
		{name: "ack before commit loses a record", variant: "ACK_BEFORE_COMMIT", claim: "safe", fails: true},
		{name: "no de-duplication stores twice", variant: "NO_DEDUP", claim: "safe", fails: true},
	} {
		t.Run(v.name, func(t *testing.T) {
			pan := build(t, v)
			panArgs := []string{"-m200000"}
			if v.claim != "" {
				panArgs = append(panArgs, "-a", "-N", v.claim)
			}
			if v.fair {
				panArgs = append(panArgs, "-f")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, pan, panArgs...)
			// pan writes its trail beside itself, not in the package.
			cmd.Dir = filepath.Dir(pan)
			outb, err := cmd.CombinedOutput()
			out := string(outb)
			if err != nil && !v.fails {
				t.Fatalf("pan %s: %v\n%s", strings.Join(panArgs, " "), err, out)
			}
			m := regexp.MustCompile(`errors: (\d+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("pan gave no verdict:\n%s", out)
			}
			if strings.Contains(out, "max search depth too small") {
				t.Fatalf("pan's depth bound cut the search short:\n%s", out)
			}
			if found := m[1] != "0"; found != v.fails {
				t.Fatalf("spin found errors: %v, want %v:\n%s", found, v.fails, out)
			}
			if !v.fails && !strings.Contains(out, "Full statespace search") {
				t.Fatalf("not a full search:\n%s", out)
			}
			if states := regexp.MustCompile(`(\d+) states, stored`).FindStringSubmatch(out); states != nil {
				t.Logf("%s states stored, errors: %s", states[1], m[1])
			}
		})
	}
}

func boolTag(b bool) string {
	if b {
		return "noclaim"
	}
	return "ltl"
}
