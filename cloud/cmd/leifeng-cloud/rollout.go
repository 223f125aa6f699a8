package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"leifeng/internal/cli"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
	"leifeng/firmware/repo"
)

// rolloutFlags are serve's flags for the firmware repository and rollouts.
type rolloutFlags struct {
	repo, keys, url string
	every, refresh  time.Duration
	uploadMax       int64
}

func (f *rolloutFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.repo, "firmware-repo", "", "TUF firmware repository served to kiosks under /firmware/ (default: --data/firmware); signed releases are uploaded there (rollout upload) or copied")
	fs.StringVar(&f.keys, "firmware-keys", "", "directory with the repository's online snapshot and timestamp keys: the cloud then re-signs them before they expire (never the targets key)")
	fs.StringVar(&f.url, "firmware-url", "", "the repository's URL as kiosks reach it, carried in update offers (default: this API's address + /firmware)")
	fs.DurationVar(&f.every, "rollout-interval", 30*time.Second, "check the rollouts (offers due, phases complete) this often")
	fs.Int64Var(&f.uploadMax, "firmware-upload-max", rollout.DefaultUploadMax, "largest release upload (POST /api/v1/releases) in bytes: metadata and bundles together")
	fs.DurationVar(&f.refresh, "firmware-refresh", time.Minute, "check this often whether the firmware metadata needs re-signing")
}

// start prepares the repository directory, starts the re-signing and the
// rollout loop (owned by wg, stopped by ctx) and returns what the API serves.
func (f *rolloutFlags) start(ctx context.Context, wg *sync.WaitGroup, data string, db *store.Store, cmd rollout.Commander,
	https bool, addr string, log *slog.Logger) (*api.Rollouts, error) {
	dir := f.repo
	if dir == "" {
		dir = filepath.Join(data, "firmware")
	}
	for _, d := range []string{"metadata", "targets"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("--firmware-repo %s: %w", dir, err)
		}
	}
	url := f.url
	if url == "" {
		url = "http://" + addr + "/firmware"
		if https {
			url = "https://" + addr + "/firmware"
		}
	}
	r := repo.Open(dir, f.keys)
	svc := rollout.NewService(db, cmd, url, log.With("part", "rollout"))
	svc.Repo = r
	up := &rollout.Uploader{Repo: r}
	if f.keys != "" {
		fr := &rollout.Freshener{Repo: r, Log: log.With("part", "firmware")}
		up.Fresh = fr
		wg.Go(func() { fr.Run(ctx, f.refresh) })
	}
	if f.every > 0 {
		wg.Go(func() { svc.Run(ctx, f.every) })
	}
	return &api.Rollouts{Service: svc, Repo: dir, Upload: up, UploadMax: f.uploadMax}, nil
}

const rolloutUsage = `usage: leifeng-cloud rollout COMMAND [flags]

  upload --repo DIR --target NAME[,NAME]
  create --target NAME --version V [--canary ID,ID] [--percents 1,10,50,100]
         [--max-failed N] [--max-failed-pct P] [--hold-county C,C] [--hold-station ID,ID]
  list
  show ID
  pause ID | resume ID | abort ID | advance ID
  hold ID (--county C | --station ID) [--off]

Every command takes --api, --data and --token (see "leifeng-cloud config push").
A release is signed on the release host with the offline targets key
(leifeng-firmware sign); "upload" sends its targets metadata, any new root
versions and the bundle from that repository directory, and the cloud
serves it once it verifies against the trusted root.`

// rolloutCmd is `leifeng-cloud rollout`.
func rolloutCmd(args []string) error {
	return runRollout(args, os.Stdout, os.Stderr)
}

// runRollout runs a rollout command; progress (of an upload) goes to errOut.
func runRollout(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("%s", rolloutUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("leifeng-cloud rollout "+verb, flag.ContinueOnError)
	var a apiFlags
	a.register(fs)
	var v rollout.View
	switch verb {
	case "upload":
		dir := fs.String("repo", "", "the release host's repository directory (metadata/ and targets/) (required)")
		target := fs.String("target", "", "the TUF target name(s) of the bundle(s) to upload, comma-separated (required)")
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		if *dir == "" || *target == "" {
			return fmt.Errorf("rollout upload needs --repo and --target\n\n%s", rolloutUsage)
		}
		res, err := a.upload(*dir, list(*target), errOut)
		if err != nil {
			return fmt.Errorf("release not uploaded: %w", err)
		}
		for _, b := range res.Bundles {
			fmt.Fprintf(out, "uploaded %s: %d bytes, sha256 %s\n", b.Target, b.Length, b.SHA256)
		}
		state := "published: kiosks see it now"
		if !res.Published {
			state = "not published: the cloud has no online keys; publish snapshot and timestamp from the release host"
		}
		fmt.Fprintf(out, "targets version %d accepted, %s\n", res.TargetsVersion, state)
		return nil
	case "create":
		target := fs.String("target", "", "the release's TUF target name (required)")
		version := fs.String("version", "", "the release's version (required)")
		url := fs.String("url", "", "the repository URL kiosks use (default: the cloud's)")
		canary := fs.String("canary", "", "comma-separated canary stations, the first phase")
		percents := fs.String("percents", "1,10,50,100", "comma-separated percentages of the fleet, one phase each")
		maxFailed := fs.Int("max-failed", 0, "pause when more stations than this of a phase fail or roll back (-1: no count limit)")
		maxPct := fs.Int("max-failed-pct", 0, "pause when more than this percentage of a phase's offered stations fail or roll back (0: none)")
		holdCounty := fs.String("hold-county", "", "comma-separated counties to hold back")
		holdStation := fs.String("hold-station", "", "comma-separated stations to hold back")
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		spec := rollout.Spec{Target: *target, Version: *version, URL: *url, Canary: list(*canary),
			MaxFailed: maxFailed, MaxFailedPct: *maxPct}
		for _, p := range list(*percents) {
			f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
			if err != nil {
				return fmt.Errorf("--percents: %q is not a number", p)
			}
			spec.Percents = append(spec.Percents, f)
		}
		for _, c := range list(*holdCounty) {
			spec.Holds = append(spec.Holds, store.RolloutHold{Kind: "county", Value: c})
		}
		for _, s := range list(*holdStation) {
			spec.Holds = append(spec.Holds, store.RolloutHold{Kind: "station", Value: s})
		}
		if err := a.post("/api/v1/rollouts", spec, &v); err != nil {
			return fmt.Errorf("rollout not created: %w", err)
		}
	case "list":
		if err := cli.Parse(fs, args[1:], out); err != nil {
			return err
		}
		var res struct {
			Rollouts []rollout.View `json:"rollouts"`
		}
		if err := a.get("/api/v1/rollouts", &res); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTARGET\tVERSION\tPHASE\tSTATE\tREASON")
		for _, r := range res.Rollouts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", r.ID, r.Target, r.Version, r.Phase+1, len(r.Phases), r.StateText, r.Reason)
		}
		return tw.Flush()
	case "show", "pause", "resume", "abort", "advance", "hold":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return fmt.Errorf("rollout %s needs the rollout's ID first\n\n%s", verb, rolloutUsage)
		}
		id := args[1]
		county := fs.String("county", "", "hold: the county")
		station := fs.String("station", "", "hold: the station")
		off := fs.Bool("off", false, "hold: let it back in")
		if err := cli.Parse(fs, args[2:], out); err != nil {
			return err
		}
		path := "/api/v1/rollouts/" + id
		var err error
		switch verb {
		case "show":
			err = a.get(path, &v)
		case "hold":
			h := api.HoldRequest{Kind: "county", Value: *county, Off: *off}
			if *station != "" {
				h = api.HoldRequest{Kind: "station", Value: *station, Off: *off}
			}
			err = a.post(path+"/hold", h, &v)
		default:
			err = a.post(path+"/"+verb, struct{}{}, &v)
		}
		if err != nil {
			return fmt.Errorf("rollout %s %s: %w", verb, id, err)
		}
	default:
		return fmt.Errorf("unknown rollout command %q\n\n%s", verb, rolloutUsage)
	}
	return printRollout(out, &v)
}

func printRollout(out io.Writer, v *rollout.View) error {
	fmt.Fprintf(out, "rollout %d: %s %s, phase %d of %d, %s", v.ID, v.Target, v.Version, v.Phase+1, len(v.Phases), v.StateText)
	if v.Reason != "" {
		fmt.Fprintf(out, " — %s", v.Reason)
	}
	fmt.Fprintln(out)
	var holds []string
	for _, h := range v.Holds {
		holds = append(holds, h.Kind+" "+h.Value)
	}
	if len(holds) > 0 {
		fmt.Fprintf(out, "held back: %s\n", strings.Join(holds, ", "))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATION\tPHASE\tSTATUS\tOFFERED")
	for _, s := range v.Stations {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Station, s.Phase+1, s.Text, fleet.LocalTime(s.Offered))
	}
	return tw.Flush()
}

// upload streams the release host's repository dir (metadata and the
// named bundles) to POST /api/v1/releases without holding it in memory,
// reporting progress on progress every tenth of each bundle.
func (a *apiFlags) upload(dir string, names []string, progress io.Writer) (*rollout.UploadResult, error) {
	if err := a.loadToken(); err != nil {
		return nil, err
	}
	// Check the directory before connecting, so a wrong --repo or
	// --target is said plainly rather than as a broken upload.
	if err := rollout.WriteRelease(multipart.NewWriter(io.Discard), dir, nil, nil); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := rollout.WriteRelease(mw, dir, names, func(name string, size int64, r io.Reader) io.Reader {
			return &progressReader{r: r, name: name, size: size, w: progress}
		})
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(a.url, "/")+"/api/v1/releases", pr)
	if err != nil {
		pr.Close()
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.token)
	// No overall timeout: a large bundle over a slow link takes as long
	// as it takes; the server bounds the size.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cloudTLS(a.data), ResponseHeaderTimeout: 5 * time.Minute}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	pr.Close()
	if err != nil {
		return nil, fmt.Errorf("the cloud's API at %s: %w", a.url, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error     string `json:"error"`
			MessageZh string `json:"message_zh"`
		}
		if json.Unmarshal(text, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s (%s)", e.Error, e.MessageZh)
		}
		return nil, fmt.Errorf("the cloud answered %s", resp.Status)
	}
	var res rollout.UploadResult
	if err := json.Unmarshal(text, &res); err != nil {
		return nil, fmt.Errorf("the cloud's answer: %w", err)
	}
	return &res, nil
}

// progressReader reports how much of a bundle has been sent, every tenth.
type progressReader struct {
	r          io.Reader
	name       string
	size, done int64
	step       int64
	w          io.Writer
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.size > 0 && p.w != nil {
		if s := p.done * 10 / p.size; s > p.step {
			p.step = s
			fmt.Fprintf(p.w, "uploading %s: %d%% (%.1f of %.1f MiB)\n", p.name, s*10, float64(p.done)/(1<<20), float64(p.size)/(1<<20))
		}
	}
	return n, err
}

// list splits a comma-separated flag, dropping empty items.
func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
