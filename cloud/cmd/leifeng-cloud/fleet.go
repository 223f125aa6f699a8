package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"leifeng/cloud/api"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/wire"
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
		return errors.New(`usage: leifeng-cloud station add --id ID --broker URL [--name N] [--county C] [--out FILE]`)
	}
	fs := flag.NewFlagSet("station add", flag.ExitOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory (keys, SQLite)")
	db := fs.String("db", "", "the cloud's --db, if not SQLite under --data")
	id := fs.String("id", "", "station ID, e.g. pe-simao-001 (required)")
	name := fs.String("name", "", "station name, e.g. 思茅区某某社区学雷锋志愿服务站")
	county := fs.String("county", "", "county or district, for pushing to a county")
	brokerURL := fs.String("broker", "", "broker URL the kiosk will use, e.g. tcp://cloud.example:1883 (required)")
	out := fs.String("out", "", "bundle file to write (default ID.bundle.json); it holds the station's secret")
	tlsDir := fs.String("tls-dir", "", "directory of `mosquitto-config --tls`: put its CA and a client certificate for the station in the bundle (default for a TLS --broker: serve's own CA under --data/tls, if any)")
	fs.Parse(args[1:])
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
	b, err := svc.AddStation(ctx, *id, *name, *county, *brokerURL)
	if err != nil {
		return err
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

// apiFlags are the flags of subcommands that talk to a running cloud.
type apiFlags struct {
	url, data, token string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "api", "http://127.0.0.1:8080", "the running cloud's API")
	fs.StringVar(&a.data, "data", "leifeng-data", "the cloud's --data, to read the admin token")
	fs.StringVar(&a.token, "token", "", "admin token (default: from cloud-keys.json under --data)")
}

func (a *apiFlags) post(path string, body any, out any) error {
	if a.token == "" {
		keys, err := fleet.LoadKeys(a.data)
		if err != nil {
			return fmt.Errorf("admin token: %w (give --token or --data)", err)
		}
		a.token = keys.AdminToken
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(a.url, "/")+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cloudTLS(a.data)}}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(text))
	}
	return json.Unmarshal(text, out)
}

// configCmd is `leifeng-cloud config push`.
func configCmd(args []string) error {
	if len(args) == 0 || args[0] != "push" {
		return errors.New("usage: leifeng-cloud config push (--station ID | --county C | --all) --file FILE [--edit]")
	}
	fs := flag.NewFlagSet("config push", flag.ExitOnError)
	var a apiFlags
	a.register(fs)
	station := fs.String("station", "", "push to this station")
	county := fs.String("county", "", "push to every registered station of this county")
	all := fs.Bool("all", false, "push the fleet defaults (every station merges them under its own)")
	file := fs.String("file", "", "the config document (JSON, wire.Config; version, station and signature are set by the cloud)")
	edit := fs.Bool("edit", false, "set only the fields the file has, keeping the rest of the last pushed document")
	fs.Parse(args[1:])
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
	req := api.PushRequest{Station: *station, County: *county, All: *all, Doc: doc, Replace: !*edit}
	if err := a.post("/api/v1/config", req, &res); err != nil {
		return err
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
	fs := flag.NewFlagSet("command", flag.ExitOnError)
	var a apiFlags
	a.register(fs)
	station := fs.String("station", "", "the station (required)")
	name := fs.String("name", "", "reboot, resync, reload_config or update_offer (required)")
	ttl := fs.Duration("ttl", 10*time.Minute, "the command expires after this long")
	offer := fs.String("offer-version", "", "update_offer: the firmware version offered")
	offerURL := fs.String("offer-url", "", "update_offer: where the firmware is")
	fs.Parse(args)
	req := api.CommandRequest{Name: *name, TTLSeconds: int(ttl.Seconds())}
	if *name == wire.CmdUpdateOffer {
		raw, err := json.Marshal(wire.UpdateOffer{Version: *offer, URL: *offerURL})
		if err != nil {
			return err
		}
		req.Args = raw
	}
	var c wire.Command
	if err := a.post("/api/v1/stations/"+*station+"/commands", req, &c); err != nil {
		return err
	}
	fmt.Printf("sent %s to %s, nonce %s, expires %s\n", c.Name, c.Station, c.Nonce, c.Expires.Format(time.RFC3339))
	return nil
}

// mosquittoCmd is `leifeng-cloud mosquitto-config`.
func mosquittoCmd(args []string) error {
	fs := flag.NewFlagSet("mosquitto-config", flag.ExitOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory (keys, SQLite)")
	db := fs.String("db", "", "the cloud's --db, if not SQLite under --data")
	out := fs.String("out", "mosquitto", "directory to write mosquitto.conf and dynamic-security.json (and the TLS files) into")
	listen := fs.String("listen", "1883", `plain listener, "PORT" or "PORT ADDRESS"; "" for none`)
	tlsListen := fs.String("tls-listen", "", `TLS listener with client certificates, e.g. "8883"`)
	useTLS := fs.Bool("tls", false, `shorthand for --tls-listen 8883 --listen ""`)
	owner := fs.String("owner", defaultOwner(), `user that owns the files: Mosquitto started as root reads them after dropping to its own user; "" leaves them to whoever runs this (default: mosquitto when run as root)`)
	fs.Parse(args)
	mo, err := mosquittoOwner(*owner)
	if err != nil {
		return err
	}
	if *useTLS {
		*tlsListen, *listen = "8883", ""
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
	if err := fleet.WriteMosquitto(dir, keys, regs, fleet.MosquittoOptions{Listen: *listen, TLSListen: *tlsListen, Owner: mo}); err != nil {
		return err
	}
	fmt.Printf("wrote %s/mosquitto.conf and dynamic-security.json for %d stations; run: mosquitto -c %s/mosquitto.conf\n", dir, len(regs), dir)
	return nil
}
