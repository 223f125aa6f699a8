package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The province's gateway unit (deploy/province/gateway) runs a command
// line `leifeng-cloud gateway` takes: each ${VAR} one argument, with the
// values of its example environment file.
func TestGatewayUnitCommandLine(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "deploy", "province", "gateway")
	unit, err := os.ReadFile(filepath.Join(dir, "leifeng-gateway@.service"))
	if err != nil {
		t.Fatal(err)
	}
	envText, err := os.ReadFile(filepath.Join(dir, "gateway.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(envText), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	var exec string
	for _, line := range strings.Split(string(unit), "\n") {
		if s, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = s
		}
	}
	// systemd splits at spaces first; "${VAR}" is then one argument.
	var args []string
	for _, f := range strings.Fields(exec) {
		if v, ok := strings.CutPrefix(f, "${"); ok {
			f = env[strings.TrimSuffix(v, "}")]
		}
		args = append(args, f)
	}
	if len(args) < 2 || filepath.Base(args[0]) != "leifeng-cloud" || args[1] != "gateway" {
		t.Fatalf("ExecStart %q does not run leifeng-cloud gateway", exec)
	}
	c, err := parseServe(args[2:], true, io.Discard)
	if err != nil {
		t.Fatalf("leifeng-cloud gateway %q: %v", args[2:], err)
	}
	got := map[string]string{"NATS_URLS": c.natsURLs, "NATS_CA": c.natsCA, "LEIFENG_DB": c.db, "LEIFENG_DATA": c.data,
		"GATEWAY_WORKERS": strconv.Itoa(c.workers)}
	for k, v := range got {
		if v != env[k] || v == "" {
			t.Errorf("%s: the gateway got %q, the environment file sets %q", k, v, env[k])
		}
	}
}
