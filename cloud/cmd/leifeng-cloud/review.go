package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

const reviewUsage = `usage: leifeng-cloud review COMMAND [flags]

  list [--since DATE]             flagged sessions no one has decided on yet
  approve CHECK_IN [--note N]     count a flagged session (named by its check-in record)
  reject CHECK_IN [--note N]      keep a flagged session out of the hours
  rejected [--station ID]         records the database refused
  clones [--card CARD]            taps that a cloned or replayed card would make

Every command takes --api, --data and --token (see "leifeng-cloud config push").
The reviewer recorded is the account the token logs in as.`

// reviewCmd is `leifeng-cloud review`: the review queue of the running
// cloud, through its API.
func reviewCmd(args []string, out io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("%s", reviewUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("leifeng-cloud review "+verb, flag.ContinueOnError)
	var a apiFlags
	a.register(fs)
	switch verb {
	case "list":
		since := fs.String("since", "", "only sessions that started on or after this date (2026-03-01, China Standard Time)")
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		path := "/api/v1/review/sessions"
		if *since != "" {
			path += "?since=" + url.QueryEscape(*since)
		}
		var res struct {
			Sessions []store.FlaggedSession `json:"sessions"`
		}
		if err := a.get(path, &res); err != nil {
			return fmt.Errorf("review list: %w", err)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK-IN\tVOLUNTEER\tSTATION\tSTART\tHOURS\tFLAGS")
		for _, s := range res.Sessions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", s.CheckIn, s.Volunteer, s.Station, fleet.LocalTime(s.Start),
				s.Seconds/3600, strings.Join(s.Flags, ","))
		}
		return tw.Flush()
	case "approve", "reject":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return cli.Usagef("review %s needs the session's check-in record ID first (see leifeng-cloud review list)", verb)
		}
		checkIn := args[1]
		note := fs.String("note", "", "why (kept with the decision)")
		if err := cli.Parse(fs, args[2:], out); err != nil {
			return err
		}
		approve := verb == "approve"
		var res api.ReviewResult
		if err := a.post("/api/v1/review/sessions/"+url.PathEscape(checkIn), api.ReviewRequest{Approve: &approve, Note: *note}, &res); err != nil {
			return fmt.Errorf("review %s %s: %w", verb, checkIn, err)
		}
		decision := "approved: it counts"
		if !res.Approved {
			decision = "not approved: it does not count"
		}
		fmt.Fprintf(out, "session %s %s (by %s, %s)\n", res.CheckIn, decision, res.Reviewer, fleet.LocalTime(res.At))
		return nil
	case "rejected":
		station := fs.String("station", "", "only this station's refused records")
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		var res struct {
			Records []store.RejectedRecord `json:"records"`
		}
		if err := a.get("/api/v1/review/rejected?station="+url.QueryEscape(*station), &res); err != nil {
			return fmt.Errorf("review rejected: %w", err)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECORD\tSTATION\tREFUSED\tREASON")
		for _, r := range res.Records {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Station, fleet.LocalTime(r.Rejected), r.Reason)
		}
		return tw.Flush()
	case "clones":
		card := fs.String("card", "", "only this card's alerts")
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		var res struct {
			Alerts []store.CloneAlert `json:"alerts"`
		}
		if err := a.get("/api/v1/review/clone-alerts?card="+url.QueryEscape(*card), &res); err != nil {
			return fmt.Errorf("review clones: %w", err)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CARD\tVOLUNTEER\tREASON\tRECORDS\tSTATIONS\tCOUNTERS\tDETECTED")
		for _, c := range res.Alerts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s %s\t%d %d\t%s\n", c.Card, c.Volunteer, c.Reason, c.RecordA, c.RecordB,
				c.StationA, c.StationB, c.CounterA, c.CounterB, fleet.LocalTime(c.Detected))
		}
		return tw.Flush()
	}
	return cli.Usagef("unknown review command %q\n\n%s", verb, reviewUsage)
}
