package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/cloud/store"
)

// `station add --community CODE` puts the station in an imported
// community, and the audit log says who did; a code that is not one
// registers nothing and says what to do.
func TestStationAddCommunity(t *testing.T) {
	ctx := context.Background()
	dir, data := t.TempDir(), t.TempDir()
	areas := filepath.Join(dir, "areas.csv")
	if err := os.WriteFile(areas, []byte("code,name,parent,level,population\n5308,普洱市,,city,2404954\n"+
		"530802,思茅区,5308,county,300000\n530802001,思茅街道,530802,township,80000\n"+
		"530802001001,茶源社区,530802001,community,12000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"import", "areas", "--data", data, areas}, &out, &errOut); err != nil {
		t.Fatalf("import areas: %v\n%s%s", err, &out, &errOut)
	}
	add := func(id, community string) error {
		return run(ctx, []string{"station", "add", "--data", data, "--id", id, "--broker", "tcp://127.0.0.1:1883",
			"--community", community, "--out", filepath.Join(dir, id+".bundle.json")}, &out, &errOut)
	}
	if err := add("pe-simao-001", "530802001001"); err != nil {
		t.Fatal(err)
	}
	err := add("pe-simao-002", "530802001")
	if err == nil || !strings.Contains(err.Error(), "不是已登记的社区（村）编码") {
		t.Fatalf("a township as community: %v", err)
	}
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(data, "leifeng.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Registration(ctx, "pe-simao-001"); err != nil || r.Community != "530802001001" {
		t.Errorf("pe-simao-001: %+v, %v", r, err)
	}
	if _, err := s.Registration(ctx, "pe-simao-002"); err == nil {
		t.Error("pe-simao-002 registered with a bad community")
	}
	imp, err := s.AuditLog(ctx, store.AuditFilter{Action: "import.areas"})
	if err != nil || len(imp) != 1 || imp[0].Target != "file areas.csv" || string(imp[0].After) != `{"added":4,"refused":0,"rows":4,"unchanged":0,"updated":0}` {
		t.Errorf("audit log of the import: %+v, %v", imp, err)
	}
	log, err := s.AuditLog(ctx, store.AuditFilter{Action: "station.add"})
	if err != nil || len(log) != 1 || log[0].Via != "cli" || log[0].Target != "station pe-simao-001" ||
		!strings.Contains(string(log[0].After), `"community":"530802001001"`) {
		t.Errorf("audit log of station add: %+v, %v", log, err)
	}
}
