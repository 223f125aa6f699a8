package postgres

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/internal/pgtest"
)

// TestScriptsShellcheck: the setup scripts pass shellcheck.
func TestScriptsShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatal("shellcheck is missing: apt-get install shellcheck")
		}
		t.Skip("shellcheck is missing: apt-get install shellcheck")
	}
	files, _ := filepath.Glob("*.sh")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		if out, err := exec.Command(sc, f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}

// TestUnitRunsKeeper: the systemd unit runs pg_autoctl as postgres on the
// data directory the setup scripts make, and is started again when it dies.
func TestUnitRunsKeeper(t *testing.T) {
	b, err := os.ReadFile("pgautofailover@.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"User=postgres", "Environment=PGDATA=/var/lib/postgresql/15/%i",
		"ExecStart=/usr/bin/pg_autoctl run", "Restart=always"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, f := range []string{"setup-monitor.sh", "setup-node.sh"} {
		s, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(s), "PGDATA=/var/lib/postgresql/15/") {
			t.Errorf("%s makes no data directory where the unit looks", f)
		}
	}
}
