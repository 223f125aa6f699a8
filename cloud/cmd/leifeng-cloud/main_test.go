package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A port already in use is a one-line error naming the flag to change.
func TestPortInUse(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "leifeng-cloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	for _, flagName := range []string{"--http", "--mqtt-listen"} {
		args := []string{"serve", "--data", t.TempDir(), "--http", free(), "--mqtt-listen", free()}
		for i := range args {
			if args[i] == flagName {
				args[i+1] = taken.Addr().String()
			}
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Fatalf("%s on a taken port: no error", flagName)
		}
		want := "leifeng-cloud: " + flagName + " " + taken.Addr().String() + ": address already in use; choose another with " + flagName
		if got := strings.TrimSpace(string(out)); got != want {
			t.Fatalf("%s: want the one line\n%s\ngot:\n%s", flagName, want, got)
		}
	}
}
