// Package gateway holds the systemd unit of a province's gateways
// (leifeng-gateway@.service) and its environment file; the tests check
// them. That `leifeng-cloud gateway` takes the unit's command line is
// checked in cloud/cmd/leifeng-cloud (TestGatewayUnitCommandLine).
package gateway

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"leifeng/internal/pgtest"
)

const (
	unitFile = "leifeng-gateway@.service"
	envFile  = "gateway.env.example"
)

// TestUnitRunsGateway: the unit runs `leifeng-cloud gateway --nats` with
// the database from its environment file, as an unprivileged user, and
// is started again whenever it stops, without a limit.
func TestUnitRunsGateway(t *testing.T) {
	unit := read(t, unitFile)
	for _, want := range []string{"User=leifeng", "EnvironmentFile=/etc/leifeng/gateway.env",
		"ExecStart=/usr/local/bin/leifeng-cloud gateway --nats ${NATS_URLS} --nats-ca ${NATS_CA} --db ${LEIFENG_DB} --data ${LEIFENG_DATA} --gateway-workers ${GATEWAY_WORKERS}",
		"Restart=always", "StartLimitIntervalSec=0", "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	// StartLimitIntervalSec is a [Unit] setting: in [Service] systemd
	// ignores it, and a gateway that failed five times in ten seconds
	// (the database failing over) would stay stopped.
	if i, j := strings.Index(unit, "StartLimitIntervalSec="), strings.Index(unit, "[Service]"); i < 0 || i > j {
		t.Error("StartLimitIntervalSec= is not in [Unit]")
	}
}

// TestEnvironmentExample: every variable the unit uses is set in the
// example environment file, and nothing else is.
func TestEnvironmentExample(t *testing.T) {
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)\}`).FindAllStringSubmatch(read(t, unitFile), -1) {
		used[m[1]] = true
	}
	set := env(t)
	for v := range used {
		if set[v] == "" {
			t.Errorf("%s sets no %s, which the unit uses", envFile, v)
		}
	}
	for v := range set {
		if !used[v] {
			t.Errorf("%s sets %s, which the unit does not use", envFile, v)
		}
	}
	if db := set["LEIFENG_DB"]; !strings.Contains(db, "target_session_attrs=read-write") {
		t.Errorf("LEIFENG_DB %q does not ask for the machine that takes writes", db)
	}
}

// TestSystemdVerify: systemd reads the unit without a complaint (an
// unknown or misplaced setting, a bad value). The program is replaced by
// one that exists here.
func TestSystemdVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatal("systemd-analyze is missing: apt-get install systemd")
		}
		t.Skip("systemd-analyze is missing: apt-get install systemd")
	}
	unit := strings.ReplaceAll(read(t, unitFile), "/usr/local/bin/leifeng-cloud", "/bin/true")
	path := filepath.Join(t.TempDir(), "leifeng-gateway@1.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), path) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// env reads the example environment file as systemd does (KEY=VALUE,
// double quotes around a value removed).
func env(t *testing.T) map[string]string {
	t.Helper()
	set := map[string]string{}
	for _, line := range strings.Split(read(t, envFile), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", envFile, line)
		}
		set[k] = strings.Trim(v, `"`)
	}
	return set
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
