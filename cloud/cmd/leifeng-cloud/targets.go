package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"leifeng/internal/cli"
)

const targetsUsage = `usage:
  leifeng-cloud targets rebuild [--check] [--data DIR | --db DSN]

The plan's figures (GET /api/v1/targets) are read from rollups that every
change of a service record keeps up to date. rebuild recounts them from
the service records, volunteers and stations, prints how the stored
rollups differ from the recount (a table per line: rows missing or
different, rows extra), and replaces them with the recount. --check only
compares, changes nothing, and exits with status 1 when they differ.

Run it after moving a station to another community (records already
final keep their organisation visits where the station was), after
restoring a backup of only some tables, or when --check says so. It
holds the write lock of service records while it runs: changes wait.
`

// targetsCmd is `leifeng-cloud targets rebuild`.
func targetsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, targetsUsage)
			return nil
		}
		fmt.Fprint(stderr, targetsUsage)
		return cli.Usagef("targets needs rebuild")
	}
	fs := flag.NewFlagSet("leifeng-cloud targets rebuild", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	check := fs.Bool("check", false, "only compare the rollups with a recount; exit 1 when they differ")
	fs.Usage = func() { fmt.Fprint(fs.Output(), targetsUsage); fs.PrintDefaults() }
	if err := cli.Parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("targets rebuild: unexpected %q", fs.Arg(0))
	}
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	diffs, err := st.RebuildTargets(ctx, *check)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tMISSING\tEXTRA\tEXAMPLES")
	differ := 0
	for _, df := range diffs {
		if df.Missing+df.Extra > 0 {
			differ++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\n", df.Table, df.Missing, df.Extra, df.Examples)
	}
	tw.Flush()
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case differ == 0:
		fmt.Fprintf(stdout, "rollups equal the recount (%s)\n", took)
	case *check:
		fmt.Fprintf(stdout, "%d tables differ from the recount (%s); run without --check to replace them\n", differ, took)
		return errors.New("targets: rollups differ from a recount (汇总数据与重新统计的结果不一致，请运行 leifeng-cloud targets rebuild 修复)")
	default:
		fmt.Fprintf(stdout, "%d tables differed from the recount and were replaced by it (%s)\n", differ, took)
	}
	if !*check {
		if err := st.Audit(ctx, cliAudit("targets.rebuild", "target rollups", map[string]int{"tables_differing": differ})); err != nil {
			return fmt.Errorf("done, but the audit log entry was not written: %w", err)
		}
	}
	return nil
}
