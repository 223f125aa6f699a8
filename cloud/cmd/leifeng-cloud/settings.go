package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"leifeng/cloud/people"
	"leifeng/internal/cli"
)

const settingsUsage = `usage:
  leifeng-cloud settings get [leading-office] [--data DIR | --db DSN]
  leifeng-cloud settings set leading-office NAME [--data DIR | --db DSN]

leading-office is the name of the office that leads the city's volunteer
work, shown in the console (the plan names the 文明办; since 2024 it is
often the 党委社会工作部). Until it is set the console says "` + people.DefaultLeadingOffice + `";
set it to "" to go back to that. The city administrator can also set it on
the console's settings page.
`

// settingsCmd is `leifeng-cloud settings get|set`.
func settingsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verb, err := commandVerb("settings", settingsUsage, []string{"get", "set"}, args, stdout, stderr)
	if err != nil || verb == "" {
		return err
	}
	fs := flag.NewFlagSet("leifeng-cloud settings "+verb, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	fs.Usage = func() { fmt.Fprint(fs.Output(), settingsUsage); fs.PrintDefaults() }
	// Flags may come before, between or after the key and the value.
	pos, err := parseAnywhere(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 && pos[0] != "leading-office" {
		return cli.Usagef("settings: unknown setting %q (there is leading-office)", pos[0])
	}
	switch {
	case verb == "get" && len(pos) > 1, verb == "set" && len(pos) != 2:
		fmt.Fprint(stderr, settingsUsage)
		return cli.Usagef("settings %s: wrong arguments", verb)
	}
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.LeadingOffice(ctx)
	if err != nil {
		return err
	}
	if verb == "get" {
		if len(pos) == 0 {
			fmt.Fprint(stdout, "leading-office\t")
		}
		fmt.Fprintln(stdout, before)
		return nil
	}
	name := strings.TrimSpace(pos[1])
	if len([]rune(name)) > 60 {
		return fmt.Errorf("主管部门名称不能超过 60 个字 / the leading office's name has at most 60 characters")
	}
	if err := st.SetLeadingOffice(ctx, name, time.Now()); err != nil {
		return err
	}
	after, err := st.LeadingOffice(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "leading-office: %s\n", after)
	e := cliAudit("settings.leading_office", "setting leading_office", map[string]string{"name": after})
	e.Before, _ = json.Marshal(map[string]string{"name": before})
	if err := st.Audit(ctx, e); err != nil {
		return fmt.Errorf("done, but the audit log entry was not written: %w", err)
	}
	return nil
}
