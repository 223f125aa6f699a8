package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
	"leifeng/internal/cli"
)

// openData opens the store and the keys a subcommand shares with serve.
func openData(ctx context.Context, data, db string) (*store.Store, *fleet.Keys, error) {
	dsn := db
	if dsn == "" {
		if err := os.MkdirAll(data, 0o750); err != nil {
			return nil, nil, fmt.Errorf("--data %s: %w", data, err)
		}
		dsn = "sqlite:" + filepath.Join(data, "leifeng.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("--db %s: %w", redact(dsn), err)
	}
	keys, err := fleet.LoadKeys(data)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("--data %s: cloud keys: %w", data, err)
	}
	return st, keys, nil
}

// stationCmd is `leifeng-cloud station add`.
func stationCmd(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return cli.Usagef("%s", `usage: leifeng-cloud station add --id ID --broker URL [--name N] [--county C] [--community CODE] [--issuer-root FILE] [--out FILE]`)
	}
	fs := flag.NewFlagSet("leifeng-cloud station add", flag.ContinueOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory (keys, SQLite)")
	db := fs.String("db", "", "the cloud's --db, if not SQLite under --data")
	id := fs.String("id", "", "station ID, e.g. pe-simao-001 (required)")
	name := fs.String("name", "", "station name, e.g. 思茅区某某社区学雷锋志愿服务站")
	county := fs.String("county", "", "county or district, for pushing to a county")
	community := fs.String("community", "", "area code of the community (社区/村) the station belongs to, as imported with `import areas`; county administrators see the stations of their county's communities")
	brokerURL := fs.String("broker", "", "broker URL the kiosk will use, e.g. tcp://cloud.example:1883, or a cluster's nodes separated by commas (required)")
	out := fs.String("out", "", "bundle file to write (default ID.bundle.json); it holds the station's secret")
	natsBundle := fs.Bool("nats", false, "the kiosk joins a NATS cluster (--broker lists its nodes' ssl:// URLs, --tls-dir is nats-config's --out): it subscribes at QoS 0")
	tlsDir := fs.String("tls-dir", "", "directory of `mosquitto-config --tls`: put its CA and a client certificate for the station in the bundle (default for a TLS --broker: serve's own CA under --data/tls, if any)")
	roots := rootFlag{}
	fs.Var(roots, "issuer-root", "issuer root public key file from `leifeng-card keygen -root` (repeatable): the kiosk takes card-issuer keys only in key sets it signed")
	if err := cli.Parse(fs, args[1:], os.Stdout); err != nil {
		return err
	}
	if *id == "" || *brokerURL == "" {
		return errors.New("station add needs --id and --broker")
	}
	if *out == "" {
		*out = *id + ".bundle.json"
	}
	ctx := context.Background()
	st, keys, err := openData(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := fleet.NewService(st, keys, nil, nil)
	b, err := svc.AddStationIn(ctx, *id, *name, *county, *community, *brokerURL)
	if errors.Is(err, store.ErrNotCommunity) {
		return fmt.Errorf("--community %s: 不是已登记的社区（村）编码；请先用 leifeng-cloud import areas 导入区域，或核对编码后再试: %w", *community, err)
	}
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, cliAudit("station.add", "station "+*id,
		map[string]string{"name": *name, "county": *county, "community": *community})); err != nil {
		return err
	}
	if len(roots) > 0 {
		b.IssuerRoots = roots
	}
	b.DownlinkQoS0 = *natsBundle
	if *natsBundle {
		// On NATS a station logs in with its certificate alone
		// (verify_and_map): the server refuses a CONNECT that also
		// carries a password, so the bundle carries none.
		b.Username, b.Password = "", ""
	}
	if *tlsDir == "" && tlsScheme(*brokerURL) {
		// serve's own CA, when it serves TLS: the kiosk gets it and a
		// client certificate.
		if _, err := os.Stat(filepath.Join(serveTLSDir(*data), "ca.key")); err == nil {
			*tlsDir = serveTLSDir(*data)
		}
	}
	if *tlsDir != "" {
		ca, err := fleet.LoadCA(*tlsDir)
		if err != nil {
			return err
		}
		cert, key, err := ca.Issue(*id, false)
		if err != nil {
			return err
		}
		b.CACert, b.ClientCert, b.ClientKey = string(ca.CertPEM), string(cert), string(key)
	}
	if err := wire.WriteBundle(*out, b); err != nil {
		return err
	}
	fmt.Printf("station %s registered; bundle written to %s (keep it secret; leifeng-kiosk --bundle %s)\n", *id, *out, *out)
	return nil
}

// cliAudit is the audit log's entry of a change made on the cloud's
// host, straight to the database: the operating-system user is who.
func cliAudit(action, target string, after any) store.AuditEntry {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	doc, _ := json.Marshal(after)
	return store.AuditEntry{At: time.Now(), User: who, Role: "host", Via: "cli", Action: action,
		Route: "leifeng-cloud " + strings.ReplaceAll(action, ".", " "), Target: target, Status: 200, After: doc}
}

// rootFlag reads issuer root public key files (leifeng-card keygen -root)
// into root ID → public key. The cloud only copies them into the bundle;
// it never holds the root's private half.
type rootFlag map[string][]byte

func (r rootFlag) String() string { return fmt.Sprint(len(r), " issuer roots") }

func (r rootFlag) Set(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f struct {
		RootID    string `json:"root_id"`
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	key, err := hex.DecodeString(f.PublicKey)
	if err != nil || len(key) != ed25519.PublicKeySize || f.RootID == "" {
		return fmt.Errorf("%s: not an issuer root public key (leifeng-card keygen -root)", path)
	}
	r[f.RootID] = key
	return nil
}

// apiFlags are the flags of subcommands that talk to a running cloud.
type apiFlags struct {
	url, data, tokenFile, token string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "api", "http://127.0.0.1:8080", "the running cloud's API")
	fs.StringVar(&a.data, "data", "leifeng-data", "the cloud's --data, to trust its TLS certificate")
	fs.StringVar(&a.tokenFile, "token-file", "", "file holding an API token (leifeng-cloud token create); default: the environment variable "+tokenEnv)
}

// loadToken reads the API token once.
func (a *apiFlags) loadToken() error {
	if a.token != "" {
		return nil
	}
	t, err := apiToken(a.tokenFile)
	a.token = t
	return err
}

func (a *apiFlags) post(path string, body any, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return a.do(http.MethodPost, path, bytes.NewReader(data), out)
}

func (a *apiFlags) get(path string, out any) error { return a.do(http.MethodGet, path, nil, out) }

// do sends a request with the API token and decodes the answer into out.
// An error answer becomes one line: what the cloud said (its "error").
func (a *apiFlags) do(method, path string, body io.Reader, out any) error {
	if err := a.loadToken(); err != nil {
		return err
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(a.url, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cloudTLS(a.data)}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("the cloud's API at %s: %w", a.url, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(text, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (%s)", e.Error, resp.Status)
		}
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(text))
	}
	return json.Unmarshal(text, out)
}

// configCmd is `leifeng-cloud config push`.
func configCmd(args []string) error {
	if len(args) == 0 || args[0] != "push" {
		return cli.Usagef("usage: leifeng-cloud config push (--station ID | --county C | --all) --file FILE [--replace]")
	}
	fs := flag.NewFlagSet("leifeng-cloud config push", flag.ContinueOnError)
	var a apiFlags
	a.register(fs)
	station := fs.String("station", "", "push to this station")
	county := fs.String("county", "", "push to every registered station of this county")
	all := fs.Bool("all", false, "push the fleet defaults (every station merges them under its own)")
	file := fs.String("file", "", "the parts of the config to change (JSON, wire.Config; version, station and signature are set by the cloud)")
	replace := fs.Bool("replace", false, "the file is the whole new document: parts it lacks are removed (default: only the parts it names change, null removes one)")
	fs.Bool("edit", true, "only the parts the file names change: the default (kept for scripts)")
	if err := cli.Parse(fs, args[1:], os.Stdout); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("config push needs --file")
	}
	doc, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var res struct {
		Pushed []api.Pushed `json:"pushed"`
	}
	req := api.PushRequest{Station: *station, County: *county, All: *all, Doc: doc, Replace: *replace}
	if err := a.post("/api/v1/config", req, &res); err != nil {
		return fmt.Errorf("config push refused: %w", err)
	}
	for _, p := range res.Pushed {
		target := p.Station
		if target == "" {
			target = "fleet"
		}
		fmt.Printf("pushed %s version %d\n", target, p.Version)
	}
	return nil
}

// commandCmd is `leifeng-cloud command`.
func commandCmd(args []string) error {
	fs := flag.NewFlagSet("leifeng-cloud command", flag.ContinueOnError)
	var a apiFlags
	a.register(fs)
	station := fs.String("station", "", "the station (required)")
	name := fs.String("name", "", "reboot, resync, reload_config or update_offer (required)")
	ttl := fs.Duration("ttl", 10*time.Minute, "the command expires after this long (whole seconds)")
	wait := fs.Duration("wait", 30*time.Second, "wait this long for the kiosk's answer; 0 sends and returns")
	offer := fs.String("offer-version", "", "update_offer: the firmware version offered")
	offerURL := fs.String("offer-url", "", "update_offer: where the firmware is")
	if err := cli.Parse(fs, args, os.Stdout); err != nil {
		return err
	}
	if *station == "" || *name == "" {
		return errors.New("command needs --station and --name")
	}
	req := api.CommandRequest{Name: *name, TTLSeconds: int(ttl.Seconds())}
	if *name == wire.CmdUpdateOffer {
		raw, err := json.Marshal(wire.UpdateOffer{Version: *offer, URL: *offerURL})
		if err != nil {
			return err
		}
		req.Args = raw
	}
	var c wire.Command
	if err := a.post("/api/v1/stations/"+url.PathEscape(*station)+"/commands", req, &c); err != nil {
		return fmt.Errorf("command %s not sent: %w", *name, err)
	}
	fmt.Printf("sent %s to %s, nonce %s, expires %s\n", c.Name, c.Station, c.Nonce, fleet.LocalTime(c.Expires))
	if *wait <= 0 {
		return nil
	}
	return waitCommand(&a, &c, *wait, os.Stdout, os.Stderr)
}

// waitCommand polls what became of c until the kiosk answers, c expires
// or wait passes, showing progress on progress. Done is a line on out and
// nil; a refusal, no answer, or no answer yet is an error.
func waitCommand(a *apiFlags, c *wire.Command, wait time.Duration, out, progress io.Writer) error {
	start := time.Now()
	deadline := start.Add(wait)
	shown := time.Duration(0)
	for {
		var st fleet.CommandStatus
		if err := a.get("/api/v1/stations/"+url.PathEscape(c.Station)+"/commands/"+url.PathEscape(c.Nonce), &st); err != nil {
			return fmt.Errorf("command %s: %w", c.Name, err)
		}
		switch st.Status {
		case fleet.CommandOK:
			fmt.Fprintf(out, "%s at %s: done (%s)\n", c.Name, c.Station, orOK(st.Outcome))
			return nil
		case fleet.CommandFailed:
			return fmt.Errorf("%s at %s failed: the kiosk refused or could not carry it out: %s", c.Name, c.Station, st.Reason)
		case fleet.CommandUnanswered:
			return fmt.Errorf("%s at %s: no answer before it expired at %s (the station was offline or did not receive it)",
				c.Name, c.Station, fleet.LocalTime(st.Expires))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s at %s: no answer within %s; it stays valid until %s (see the console, or wait longer with --wait)",
				c.Name, c.Station, wait, fleet.LocalTime(st.Expires))
		}
		if waited := time.Since(start).Truncate(time.Second); waited >= shown+2*time.Second {
			fmt.Fprintf(progress, "waiting for %s to answer… %s\n", c.Station, waited)
			shown = waited
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func orOK(outcome string) string {
	if outcome == "" {
		return "the kiosk came back online"
	}
	return outcome
}

// mosquittoCmd is `leifeng-cloud mosquitto-config`.
func mosquittoCmd(args []string) error {
	fs := flag.NewFlagSet("leifeng-cloud mosquitto-config", flag.ContinueOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory (keys, SQLite)")
	db := fs.String("db", "", "the cloud's --db, if not SQLite under --data")
	out := fs.String("out", "mosquitto", "directory to write mosquitto.conf and dynamic-security.json (and the TLS files) into")
	listen := fs.String("listen", fleet.DefaultPlainListen, `plain listener, "PORT ADDRESS" on loopback (for a gateway on this machine); "" for none`)
	insecure := fs.Bool("insecure-plaintext", false, "allow a plain listener on an address other than loopback: passwords and records cross the network in clear text")
	tlsListen := fs.String("tls-listen", "", `TLS listener with client certificates, e.g. "8883"`)
	useTLS := fs.Bool("tls", false, `shorthand for --tls-listen 8883 --listen ""`)
	owner := fs.String("owner", defaultOwner(), `user that owns the files: Mosquitto started as root reads them after dropping to its own user; "" leaves them to whoever runs this (default: mosquitto when run as root)`)
	if err := cli.Parse(fs, args, os.Stdout); err != nil {
		return err
	}
	mo, err := mosquittoOwner(*owner)
	if err != nil {
		return err
	}
	if *useTLS {
		*tlsListen, *listen = "8883", ""
	}
	if err := fleet.CheckPlainListen(*listen, *insecure); err != nil {
		return cli.Usagef("--listen: %w", err)
	}
	ctx := context.Background()
	st, keys, err := openData(ctx, *data, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	regs, err := st.Registrations(ctx, "")
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := fleet.WriteMosquitto(dir, keys, regs, fleet.MosquittoOptions{Listen: *listen, InsecurePlaintext: *insecure, TLSListen: *tlsListen, Owner: mo}); err != nil {
		return err
	}
	fmt.Printf("wrote %s/mosquitto.conf and dynamic-security.json for %d stations; run: mosquitto -c %s/mosquitto.conf\n", dir, len(regs), dir)
	return nil
}
