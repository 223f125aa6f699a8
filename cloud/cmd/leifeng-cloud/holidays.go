package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"leifeng/cloud/notice"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

const holidaysUsage = `usage:
  leifeng-cloud holidays set --year Y FILE [--data DIR | --db DSN]
  leifeng-cloud holidays list [--year Y] [--data DIR | --db DSN]

The public-holiday calendar the notice period (公示) and the entry
deadline count working days in, as the State Council announces it each
year. FILE is CSV, one day a line: day,kind,name — kind holiday (or 休)
for a weekday off, workday (or 班) for a weekend day worked (调休):

  day,kind,name
  2026-10-01,休,国庆节
  2026-10-10,班,国庆节调休上班

Days not listed are working days Monday to Friday. set replaces the
whole year; a bad line is reported with its line number and nothing is
stored. The cloud ships the 2026 calendar and loads it on first start.
`

// holidaysCmd is `leifeng-cloud holidays set|list`.
func holidaysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verb, err := commandVerb("holidays", holidaysUsage, []string{"set", "list"}, args, stdout, stderr)
	if err != nil || verb == "" {
		return err
	}
	fs := flag.NewFlagSet("leifeng-cloud holidays "+verb, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	year := fs.Int("year", 0, "the year, e.g. 2026")
	fs.Usage = func() { fmt.Fprint(fs.Output(), holidaysUsage); fs.PrintDefaults() }
	pos, err := parseAnywhere(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if *year != 0 && (*year < 2000 || *year > 2100) {
		return cli.Usagef("holidays: --year %d is not a year like 2026", *year)
	}
	switch {
	case verb == "set" && (len(pos) != 1 || *year == 0):
		fmt.Fprint(stderr, holidaysUsage)
		return cli.Usagef("holidays set needs --year Y and one FILE")
	case verb == "list" && len(pos) != 0:
		return cli.Usagef("holidays list takes no argument (%q)", pos[0])
	}
	var days []store.Holiday
	if verb == "set" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		days, err = notice.ParseHolidays(f, *year)
		f.Close()
		var fe *notice.FileError
		if errors.As(err, &fe) {
			for _, l := range fe.Lines {
				fmt.Fprintln(stdout, l)
			}
			return fmt.Errorf("%d 行有误，整份未保存，请按上面的原因改正后再导入 / %d lines refused, nothing stored", len(fe.Lines), len(fe.Lines))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	}
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.Holidays(ctx)
	if err != nil {
		return err
	}
	if verb == "list" {
		if *year != 0 {
			before = notice.YearOf(before, *year)
		}
		for _, h := range before {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", h.Day, h.Kind, h.Name)
		}
		return nil
	}
	if err := st.SetHolidays(ctx, *year, days); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d 年：%d 天已保存 / %d days stored for %d\n", *year, len(days), len(days), *year)
	e := cliAudit("holidays.set", "holidays "+strconv.Itoa(*year), days)
	e.Before, _ = json.Marshal(notice.YearOf(before, *year))
	if err := st.Audit(ctx, e); err != nil {
		return fmt.Errorf("done, but the audit log entry was not written: %w", err)
	}
	return nil
}

// commandVerb is the verb of `leifeng-cloud NAME VERB ...`, one of verbs:
// no verb or an unknown one is a usage error (usage on stderr); -h, --help
// or help prints usage on stdout and returns "".
func commandVerb(name, usage string, verbs, args []string, stdout, stderr io.Writer) (string, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", cli.Usagef("%s needs %s", name, strings.Join(verbs, " or "))
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return "", nil
	}
	if !slices.Contains(verbs, args[0]) {
		fmt.Fprint(stderr, usage)
		return "", cli.Usagef("unknown %s command %q", name, args[0])
	}
	return args[0], nil
}

// parseAnywhere parses fs's flags wherever they stand among args (before,
// between or after the others) and returns the other arguments in order.
func parseAnywhere(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := cli.Parse(fs, rest, stdout); err != nil {
			return nil, err
		}
		if rest = fs.Args(); len(rest) == 0 {
			return pos, nil
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
}
