package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"leifeng/cloud/api"
	"leifeng/cloud/history"
	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

// importCmd runs `leifeng-cloud import areas|orgs|volunteers|records FILE`: the
// per-row report and the summary go to stdout, progress to stderr. Bad
// rows make the exit status 1 after the good ones are imported; running
// the same file again after fixing them imports only those.
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("leifeng-cloud import", flag.ContinueOnError)
	data := fs.String("data", "leifeng-data", "directory of the cloud's data: the SQLite database and the ID-number key ("+people.KeyFile+")")
	db := fs.String("db", "", "database DSN: postgres://... for PostgreSQL, sqlite:PATH for SQLite (default: SQLite under --data)")
	batch := fs.Int("batch", 500, "rows stored in one transaction")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: leifeng-cloud import areas|orgs|volunteers|records [--data DIR | --db DSN] FILE

FILE is CSV (UTF-8 or GB18030) or XLSX (by its .xlsx name), with a header
row in English or Chinese:
  areas       code, name, parent, level (city|county|township|community), population
  orgs        id, name, type, county, community, parent
  volunteers  id, name, gender, birth_date, id_number, community, phone, skills,
              service_types, group, orgs, national_id, guardian_consent, registered_on
  records     id, volunteer, org, community, station, activity, content, date,
              start, end, hours, lead, recorder
              (service records held in other systems: final at once, ledger
              imported; community is where the service took place, station
              may be empty; hours may exceed end - start by half an hour)
`)
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.SetOutput(stderr)
		fs.Usage()
		return cli.Usagef("import needs a kind: areas, orgs, volunteers or records")
	}
	kind := people.Kind(args[0])
	switch kind {
	case people.KindAreas, people.KindOrgs, people.KindVolunteers, kindRecords:
	case "-h", "--help", "help":
		fs.SetOutput(stdout)
		fs.Usage()
		return nil
	default:
		return cli.Usagef("import %q: the kind is areas, orgs, volunteers or records", args[0])
	}
	if err := cli.Parse(fs, args[1:], stdout); err != nil {
		return err
	}
	// Flags may also follow FILE.
	rest := fs.Args()
	if len(rest) > 1 {
		if err := cli.Parse(fs, rest[1:], stdout); err != nil {
			return err
		}
		rest = append(rest[:1], fs.Args()...)
	}
	if len(rest) != 1 {
		return cli.Usagef("import %s needs one FILE", kind)
	}
	path := rest[0]

	st, err := (&dataFlags{data: *data, db: *db}).open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Progress at most every two seconds, so a long file shows it is
	// moving without flooding the terminal.
	start, last := time.Now(), time.Now()
	progress := func(rows int) {
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(stderr, "leifeng-cloud import: 已读 %d 行 / %d rows read (%.0f rows/s)\n",
				rows, rows, float64(rows)/time.Since(start).Seconds())
		}
	}
	if kind == kindRecords {
		return importRecords(ctx, st, f, path, *data, *batch, progress, stdout)
	}
	opts := people.Options{Batch: *batch, TmpDir: *data, Progress: progress}
	if kind == people.KindVolunteers {
		if opts.Vault, err = peopleVault(ctx, *data, st); err != nil {
			return err
		}
	}
	rep, err := people.Import(ctx, st, kind, people.FormatOf(path), f, opts)
	if rep != nil {
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintln(stdout, rep.Summary())
		if rep.Added+rep.Updated > 0 {
			aerr := st.Audit(ctx, cliAudit("import."+string(kind), "file "+filepath.Base(path), map[string]int{
				"rows": rep.Rows, "added": rep.Added, "updated": rep.Updated, "unchanged": rep.Unchanged, "refused": len(rep.Problems)}))
			err = errors.Join(err, aerr)
		}
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	return refusedRows(len(rep.Problems))
}

// refusedRows is the command's error when n rows were refused.
func refusedRows(n int) error {
	if n > 0 {
		return fmt.Errorf("%d 行未导入，请按上面的原因改正后再导入同一文件 / %d rows not imported: fix them and import the same file again", n, n)
	}
	return nil
}

// kindRecords is `import records`: service records' history (issue 12).
const kindRecords people.Kind = "records"

// importRecords imports the service records of f, named path, as the
// people import does its rows: the report on stdout, an audit row when
// any was added, exit status 1 while any row is refused.
func importRecords(ctx context.Context, st *store.Store, f io.Reader, path, data string, batch int, progress func(int), stdout io.Writer) error {
	audit := cliAudit("import.records", "file "+filepath.Base(path), nil)
	rep, err := history.Import(ctx, st, people.FormatOf(path), f, history.Options{
		Who: "cli:" + audit.User, Batch: batch, Progress: progress, TmpDir: data})
	if rep != nil {
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintln(stdout, rep.Summary())
		if rep.Added > 0 {
			audit.At = time.Now()
			audit.After, _ = json.Marshal(map[string]int{"rows": rep.Rows, "added": rep.Added, "unchanged": rep.Unchanged, "refused": len(rep.Problems)})
			err = errors.Join(err, st.Audit(ctx, audit))
		}
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	return refusedRows(len(rep.Problems))
}

// peopleVault loads the ID-number key under data and checks it is the one
// the database's numbers were sealed with.
func peopleVault(ctx context.Context, data string, st *store.Store) (*people.Vault, error) {
	v, err := people.LoadVault(data)
	if err != nil {
		return nil, fmt.Errorf("--data %s: ID-number key: %w", data, err)
	}
	if err := st.CheckPeopleKey(ctx, v.Check(), time.Now()); errors.Is(err, store.ErrWrongKey) {
		return nil, fmt.Errorf("--data %s: %s 与数据库中已登记的身份证件号码所用的密钥不同，请使用云端原来的 %s / the key differs from the one the database's ID numbers were sealed with: %w",
			data, people.KeyFile, people.KeyFile, err)
	} else if err != nil {
		return nil, err
	}
	return v, nil
}

// volunteers is the volunteer register the API serves.
func volunteers(ctx context.Context, data string, st *store.Store) (*api.Volunteers, error) {
	v, err := peopleVault(ctx, data, st)
	if err != nil {
		return nil, err
	}
	return &api.Volunteers{Store: st, Vault: v}, nil
}
