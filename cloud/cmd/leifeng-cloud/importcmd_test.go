package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

// `leifeng-cloud import` against SQLite under --data and PostgreSQL by
// --db: good rows in, bad rows reported by line on stdout, exit status 1
// while any row is refused, the same file twice changes nothing, and a
// key file other than the database's is refused.
func TestImportCommand(t *testing.T) {
	for _, be := range cliBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dir, data := t.TempDir(), t.TempDir()
			db := be.db(t)
			file := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			importFile := func(kind, path string, extra ...string) (string, string, int) {
				var out, errOut bytes.Buffer
				args := append([]string{"import", kind, "--data", data}, db...)
				args = append(append(args, path), extra...)
				code := cli.Report("leifeng-cloud", run(ctx, args, &out, &errOut), &errOut)
				return out.String(), errOut.String(), code
			}
			areas := file("areas.csv", "代码,名称,上级,层级,常住人口\n5308,普洱市,,市,2404954\n530802,思茅区,5308,县,300000\n"+
				"530802001,思茅街道,530802,街道,80000\n530802001001,茶源社区,530802001,社区,12000\n")
			if out, errOut, code := importFile("areas", areas); code != 0 {
				t.Fatalf("areas: exit %d\n%s%s", code, out, errOut)
			}
			vols := file("volunteers.csv", "id,name,id_number,community,phone\n"+
				"V1,王小明,11010519491231002X,530802001001,13987912345\n"+
				"V2,李四,11010519491231002X,530802001001,13987912346\n"+
				"V3,,530802199003071236,530802001001,13987912347\n")
			for range 2 {
				out, errOut, code := importFile("volunteers", vols)
				if code != 1 {
					t.Errorf("exit %d with refused rows, want 1", code)
				}
				for _, want := range []string{
					"第 3 行：此身份证件号码已登记为另一名志愿者，同一人不能重复注册（registered as V1） / line 3: duplicate ID number",
					"第 4 行：缺少姓名（名称），请填写 / line 4: missing name",
				} {
					if !strings.Contains(out, want) {
						t.Errorf("stdout lacks %q:\n%s", want, out)
					}
				}
				if !strings.Contains(errOut, "2 行未导入") {
					t.Errorf("stderr: %s", errOut)
				}
			}
			dsn := "sqlite:" + filepath.Join(data, "leifeng.db")
			if db != nil {
				dsn = db[1]
			}
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.CountVolunteers(ctx)
			s.Close()
			if err != nil || n != 1 {
				t.Errorf("CountVolunteers = %d, %v", n, err)
			}
			if _, err := os.Stat(filepath.Join(data, people.KeyFile)); err != nil {
				t.Errorf("no key file under --data: %v", err)
			}

			// Another --data (another key) on the same database.
			if db != nil {
				data = t.TempDir()
				_, errOut, code := importFile("volunteers", vols)
				if code != 1 || !strings.Contains(errOut, "密钥不同") {
					t.Errorf("another key: exit %d, %s", code, errOut)
				}
			}
		})
	}
}

func TestImportCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"import"}, {"import", "people", "x.csv"}, {"import", "areas"}} {
		var out, errOut bytes.Buffer
		if code := cli.Report("leifeng-cloud", run(context.Background(), args, &out, &errOut), &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// `leifeng-cloud import records` on both databases: good rows in, a bad
// row by line on stdout, exit status 1, one audit row for the import
// that added records, and the same file again adds nothing.
func TestImportRecordsCommand(t *testing.T) {
	for _, be := range cliBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			dir, data := t.TempDir(), t.TempDir()
			db := be.db(t)
			file := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			importFile := func(kind, path string) (string, string, int) {
				var out, errOut bytes.Buffer
				args := append(append([]string{"import", kind, "--data", data}, db...), path)
				code := cli.Report("leifeng-cloud", run(ctx, args, &out, &errOut), &errOut)
				return out.String(), errOut.String(), code
			}
			// Areas before the organisations that name them (a map would
			// import them in random order).
			for _, f := range []struct{ kind, body string }{
				{"areas", "代码,名称,上级,层级\n5308,普洱市,,市\n530802,思茅区,5308,县\n530802001,思茅街道,530802,街道\n530802001001,茶源社区,530802001,社区\n"},
				{"orgs", "编号,名称,县区\nO1,思茅区青年志愿者协会,530802\n"},
			} {
				kind := f.kind
				if out, errOut, code := importFile(kind, file(kind+".csv", f.body)); code != 0 {
					t.Fatalf("%s: exit %d\n%s%s", kind, code, out, errOut)
				}
			}
			if out, errOut, code := importFile("volunteers", file("v.csv", "id,name,id_number,community,phone\nV1,王小明,11010519491231002X,530802001001,13987912345\n")); code != 0 {
				t.Fatalf("volunteers: exit %d\n%s%s", code, out, errOut)
			}
			recs := file("records.csv", "编号,志愿者,组织,社区,站点,活动名称,服务内容,日期,开始时间,结束时间,服务时长,活动负责人,记录人\n"+
				"H1,V1,O1,530802001001,,社区助老,陪老人聊天,2024-03-05,09:00,11:00,2,张三,李四\n"+
				"H2,V1,O1,530802001001,,社区助老,陪老人聊天,2024-03-06,09:00,11:00,5,张三,李四\n")
			for i, want := range []string{"共 2 行：新增 1，已有 0，未导入 1", "共 2 行：新增 0，已有 1，未导入 1"} {
				out, errOut, code := importFile("records", recs)
				if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "1 行未导入") ||
					!strings.Contains(out, "第 3 行：服务时长超过开始到结束的时间（最多可多出半小时），请核对时长或时间") {
					t.Errorf("import %d: exit %d\n%s%s", i+1, code, out, errOut)
				}
			}
			dsn := "sqlite:" + filepath.Join(data, "leifeng.db")
			if db != nil {
				dsn = db[1]
			}
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if r, err := s.ServiceRecord(ctx, "imp:H1"); err != nil || r.Status != store.StatusFinal || r.CountedCents != 200 {
				t.Errorf("imp:H1 = %+v, %v", r, err)
			}
			log, err := s.AuditLog(ctx, store.AuditFilter{Action: "import.records"})
			if err != nil || len(log) != 1 || log[0].Via != "cli" || !strings.Contains(string(log[0].After), `"added":1`) {
				t.Errorf("audit: %+v, %v", log, err)
			}
		})
	}
}
