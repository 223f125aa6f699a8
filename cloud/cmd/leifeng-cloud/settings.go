package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

const settingsUsage = `usage:
  leifeng-cloud settings get [leading-office | public-url] [--data DIR | --db DSN]
  leifeng-cloud settings set leading-office NAME [--data DIR | --db DSN]
  leifeng-cloud settings set public-url URL [--data DIR | --db DSN]

leading-office is the name of the office that leads the city's volunteer
work, shown in the console (the plan names the 文明办; since 2024 it is
often the 党委社会工作部). Until it is set the console says "` + people.DefaultLeadingOffice + `";
set it to "" to go back to that. The city administrator can also set it on
the console's settings page. Certificates of service (志愿服务证明) issued
by users other than an organisation's administrators name it as issuer.

public-url is the cloud's address as the public reaches it, e.g.
https://leifeng.puer.gov.cn: the QR code of every certificate points at
<public-url>/verify/<number>. serve --public-url overrides it; until either
is set, the address a request came in on is used. Set it to "" to unset.
`

// settingKeys are the settings the command knows, in the order get
// prints them.
var settingKeys = []string{"leading-office", "public-url"}

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
	if len(pos) > 0 && !slices.Contains(settingKeys, pos[0]) {
		return cli.Usagef("settings: unknown setting %q (there are %s)", pos[0], strings.Join(settingKeys, ", "))
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
	read := func(key string) (string, error) {
		if key == "public-url" {
			return st.PublicURL(ctx)
		}
		return st.LeadingOffice(ctx)
	}
	if verb == "get" {
		keys := settingKeys
		if len(pos) == 1 {
			keys = pos
		}
		for _, k := range keys {
			v, err := read(k)
			if err != nil {
				return err
			}
			if len(pos) == 0 {
				fmt.Fprint(stdout, k+"\t")
			}
			fmt.Fprintln(stdout, v)
		}
		return nil
	}
	key := pos[0]
	before, err := read(key)
	if err != nil {
		return err
	}
	value := strings.TrimSpace(pos[1])
	action, target := "settings.leading_office", "setting leading_office"
	switch key {
	case "public-url":
		if value, err = store.CheckPublicURL(value); err != nil {
			return fmt.Errorf("公开地址要写成 https://域名 这样的网址 / public-url: want https://host[:port][/path]")
		}
		err = st.SetPublicURL(ctx, value, time.Now())
		action, target = "settings.public_url", "setting public_url"
	default:
		if len([]rune(value)) > 60 {
			return fmt.Errorf("主管部门名称不能超过 60 个字 / the leading office's name has at most 60 characters")
		}
		err = st.SetLeadingOffice(ctx, value, time.Now())
	}
	if err != nil {
		return err
	}
	after, err := read(key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", key, after)
	field := "name"
	if key == "public-url" {
		field = "url"
	}
	e := cliAudit(action, target, map[string]string{field: after})
	e.Before, _ = json.Marshal(map[string]string{field: before})
	if err := st.Audit(ctx, e); err != nil {
		return fmt.Errorf("done, but the audit log entry was not written: %w", err)
	}
	return nil
}
