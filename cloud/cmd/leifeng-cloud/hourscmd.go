package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"leifeng/cloud/hours"
	"leifeng/internal/cli"
)

const hoursUsage = `usage:
  leifeng-cloud hours rules [show] [--data DIR | --db DSN]
  leifeng-cloud hours rules set FILE [--data DIR | --db DSN]
  leifeng-cloud hours recount (--volunteer ID | --all) [--data DIR | --db DSN]

rules show prints the hour rules in force (JSON, as GET /api/v1/hour-rules
gives them: version, rules, every version). rules set stores FILE (the
rules as JSON, every field; "-" for standard input) as a new version,
after checking it; it counts the records made from then on and changes
none counted already. recount counts again, under the rules in force,
the card-tap records of one volunteer (or all) that are still in review
or in public notice and that nobody has decided on; final, objected and
rejected records stay as they are. It prints each record it changed.
`

// hoursCmd is `leifeng-cloud hours rules|recount`.
func hoursCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, hoursUsage)
			return cli.Usagef("hours needs rules or recount")
		}
		fmt.Fprint(stdout, hoursUsage)
		return nil
	}
	verb := args[0]
	if verb != "rules" && verb != "recount" {
		fmt.Fprint(stderr, hoursUsage)
		return cli.Usagef("unknown hours command %q", verb)
	}
	fs := flag.NewFlagSet("leifeng-cloud hours "+verb, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	volunteer, all := "", false
	if verb == "recount" {
		fs.StringVar(&volunteer, "volunteer", "", "the volunteer whose records to count again")
		fs.BoolVar(&all, "all", false, "count again the records of every volunteer")
	}
	fs.Usage = func() { fmt.Fprint(fs.Output(), hoursUsage); fs.PrintDefaults() }
	var pos []string
	for rest := args[1:]; ; {
		if err := cli.Parse(fs, rest, stdout); err != nil {
			return err
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	switch {
	case verb == "rules" && len(pos) == 0:
		pos = []string{"show"}
	case verb == "recount" && (len(pos) > 0 || (volunteer == "") == !all):
		fmt.Fprint(stderr, hoursUsage)
		return cli.Usagef("hours recount needs --volunteer ID or --all")
	}
	if verb == "rules" && !(pos[0] == "show" && len(pos) == 1) && !(pos[0] == "set" && len(pos) == 2) {
		fmt.Fprint(stderr, hoursUsage)
		return cli.Usagef("hours rules: show, or set FILE")
	}
	var newRules *hours.Rules
	if verb == "rules" && pos[0] == "set" {
		var (
			doc []byte
			err error
		)
		if pos[1] == "-" {
			doc, err = io.ReadAll(os.Stdin)
		} else {
			doc, err = os.ReadFile(pos[1])
		}
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		newRules = new(hours.Rules)
		if err := dec.Decode(newRules); err != nil {
			return fmt.Errorf("工时规则文件 %s 无法读取（应为 JSON，字段见 hours rules show）：%w", pos[1], err)
		}
		if err := hours.Validate(*newRules); err != nil {
			return err
		}
	}
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch {
	case verb == "rules" && newRules == nil:
		cur, v, err := hours.CurrentRules(ctx, st, now)
		if err != nil {
			return err
		}
		docs, err := st.HourRules(ctx)
		if err != nil {
			return err
		}
		type version struct {
			Version int64           `json:"version"`
			Rules   json.RawMessage `json:"rules"`
			By      string          `json:"created_by"`
			Created time.Time       `json:"created"`
		}
		out := struct {
			Current  int64       `json:"current"`
			Rules    hours.Rules `json:"rules"`
			Versions []version   `json:"versions"`
		}{Current: v, Rules: cur}
		for _, d := range docs {
			out.Versions = append(out.Versions, version{d.Version, json.RawMessage(d.Doc), d.By, d.Created})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case verb == "rules":
		before, bv, err := hours.CurrentRules(ctx, st, now)
		if err != nil {
			return err
		}
		e := cliAudit("hours.rules", "hour rules", map[string]any{"rules": newRules})
		v, err := hours.SetRules(ctx, st, *newRules, e.User, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hour rules: version %d in force (was %d); records counted already keep theirs\n", v, bv)
		e.After, _ = json.Marshal(map[string]any{"version": v, "rules": newRules})
		e.Before, _ = json.Marshal(map[string]any{"version": bv, "rules": before})
		if err := st.Audit(ctx, e); err != nil {
			return fmt.Errorf("done, but the audit log entry was not written: %w", err)
		}
		return nil
	}
	vols := []string{volunteer}
	if all {
		if vols, err = st.VolunteersWithSessions(ctx); err != nil {
			return err
		}
	}
	_, version, err := hours.CurrentRules(ctx, st, now)
	if err != nil {
		return err
	}
	res, err := hours.Recount(ctx, st, vols, now)
	if err != nil {
		return err
	}
	for _, c := range res.Changes {
		switch c.Action {
		case "recount":
			fmt.Fprintf(stdout, "%s\t%s\t%s h → %s h\t%s → %s\t%s\n", c.ID, c.After.Day, hoursText(c.Before.CountedCents),
				hoursText(c.After.CountedCents), c.Before.Status, c.After.Status, c.After.RuleNote)
		case "create":
			fmt.Fprintf(stdout, "%s\t%s\tnew: %s h\t%s\t%s\n", c.ID, c.After.Day, hoursText(c.After.CountedCents), c.After.Status, c.After.RuleNote)
		case "delete":
			fmt.Fprintf(stdout, "%s\t%s\tremoved (%s h, %s)\n", c.ID, c.Before.Day, hoursText(c.Before.CountedCents), c.Before.Status)
		}
	}
	fmt.Fprintf(stdout, "recount under rules version %d: %d volunteer(s), %d day(s), %d changed, %d new, %d removed\n",
		version, len(vols), res.Days, res.Recounted, res.Created, res.Deleted)
	e := cliAudit("hours.recount", "hours of "+volunteer, map[string]any{"volunteers": len(vols), "all": all,
		"rule_version": version, "recounted": res.Recounted, "created": res.Created, "deleted": res.Deleted})
	if err := st.Audit(ctx, e); err != nil {
		return fmt.Errorf("done, but the audit log entry was not written: %w", err)
	}
	return nil
}

func hoursText(cents int64) string { return fmt.Sprintf("%g", float64(cents)/100) }
