// Command leifeng-cloud is the cloud of Leifeng Station.
//
//	leifeng-cloud serve     broker + gateway + API in one process (embedded defaults)
//	leifeng-cloud gateway   a gateway alone, one of several sharing the record stream
//	leifeng-cloud station add        register a station, write its bundle
//	leifeng-cloud config push        push a signed config (API)
//	leifeng-cloud command            send a signed command (API)
//	leifeng-cloud mosquitto-config   generate Mosquitto's config, passwords, ACL (and TLS)
//	leifeng-cloud nats-config        generate a NATS cluster's configs, accounts and certificates
//
// On first start `serve` creates cloud-keys.json under --data: the config
// signing key and the gateway's broker password. Users and their API
// tokens are in the database: leifeng-cloud admin add, token create.
// Every other subcommand that needs them reads them from the same --data.
//
// `serve` with no flags runs on an embedded MQTT broker and SQLite under
// --data; --mqtt points it at an external broker (Mosquitto, EMQX) and
// --db at PostgreSQL.
//
// Exit status: 0 on success and after SIGINT or SIGTERM; 1 when a command
// fails (a taken port, an unreachable database or broker, a refused push);
// 2 for an unknown command or bad flags.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"leifeng/cloud/api"
	"leifeng/cloud/broker"
	"leifeng/cloud/cards"
	"leifeng/cloud/fleet"
	"leifeng/cloud/hours"
	"leifeng/cloud/notice"
	"leifeng/cloud/orders"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
	"leifeng/cloud/targets"
	"leifeng/gateway/ingest"
	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
)

func usage(w io.Writer) {
	fmt.Fprintf(w, `leifeng-cloud %s — the cloud of Leifeng Station (学雷锋志愿服务站)

usage:
  leifeng-cloud serve   [flags]   embedded broker + gateway + API (one command, no setup)
  leifeng-cloud gateway [flags]   one more gateway on a shared subscription (scale out);
                                  with --nats URLS, on a NATS JetStream cluster's durable consumer
  leifeng-cloud station add --id ID --broker URL [--name N --county C --community CODE --out FILE]
                                  register a station, write the bundle leifeng-kiosk --bundle reads
  leifeng-cloud config push (--station ID | --county C | --all) --file FILE
                                  push a signed config through the running cloud's API
  leifeng-cloud command --station ID --name reboot|resync|reload_config|update_offer
                                  send a signed command through the API
  leifeng-cloud rollout create|list|show|pause|resume|abort|advance|hold|upload
                                  staged firmware rollouts through the API
  leifeng-cloud review list|approve ID|reject ID|rejected|clones
                                  sessions flagged for review, refused records, clone alerts
  leifeng-cloud import areas|orgs|volunteers [--data DIR | --db DSN] FILE
                                  import a CSV or XLSX file; each refused row is reported by line
  leifeng-cloud admin add --user NAME --role city|county|station|org|auditor [--scope ID]
  leifeng-cloud admin list | disable --user NAME | password --user NAME
                                  users of the console and the API (first: a city administrator)
  leifeng-cloud token create --user NAME | list | revoke --id N
                                  API tokens for scripts, acting with a user's rights
  leifeng-cloud settings get [leading-office] | set leading-office NAME [--data DIR | --db DSN]
                                  the city's settings: the name of the leading office the console shows
  leifeng-cloud holidays set --year Y FILE | list [--year Y] [--data DIR | --db DSN]
                                  the public-holiday calendar (CSV day,kind,name) the notice period counts in
  leifeng-cloud hours rules [show|set FILE] | recount --volunteer ID|--all [--data DIR | --db DSN]
                                  the hour rules (versions) and counting a volunteer's records again
  leifeng-cloud targets rebuild [--check] [--data DIR | --db DSN]
                                  recount the rollups of the plan's figures and report differences
  leifeng-cloud issuer-key [--data DIR] [--id N] [--out FILE]
                                  the cloud's card issuer public key, for leifeng-card keyset sign
  leifeng-cloud mosquitto-config --out DIR [--tls]
                                  Mosquitto config, password file and ACL for the registered stations
  leifeng-cloud nats-config --out DIR --nodes n1=HOST,n2=HOST,n3=HOST
                                  NATS cluster configs, accounts and certificates for the registered stations
  leifeng-cloud version

run "leifeng-cloud serve -h" for the flags. The commands that call the API
(config, command, rollout, review) send an API token from --token-file FILE
or the environment variable LEIFENG_TOKEN.
`, buildinfo.Get())
}

func main() { cli.Main("leifeng-cloud", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		usage(stderr)
		return cli.Usagef("no command")
	}
	switch args[0] {
	case "serve", "gateway":
		c, err := parseServe(args[1:], args[0] == "gateway", stdout)
		if err != nil {
			return err
		}
		c.stderr = stderr
		return serve(ctx, c)
	case "station":
		return stationCmd(args[1:])
	case "config":
		return configCmd(args[1:])
	case "command":
		return commandCmd(args[1:])
	case "mosquitto-config":
		return mosquittoCmd(args[1:])
	case "nats-config":
		return natsConfigCmd(args[1:], stdout)
	case "rollout":
		return runRollout(args[1:], stdout, stderr)
	case "review":
		return reviewCmd(args[1:], stdout)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "admin":
		return adminCmd(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "settings":
		return settingsCmd(ctx, args[1:], stdout, stderr)
	case "holidays":
		return holidaysCmd(ctx, args[1:], stdout, stderr)
	case "hours":
		return hoursCmd(ctx, args[1:], stdout, stderr)
	case "targets":
		return targetsCmd(ctx, args[1:], stdout, stderr)
	case "issuer-key":
		return issuerKeyCmd(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-cloud"))
		return nil
	case "-h", "--help", "help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return cli.Usagef("unknown command %q", args[0])
}

type config struct {
	data, httpAddr, mqttListen, mqttURL, db string
	mqttUser, mqttPass, gatewayID           string
	mqttCA, mqttCert, mqttKey               string
	// natsURLs, with gatewayOnly, makes the gateway consume a NATS
	// JetStream cluster instead of an MQTT shared subscription.
	natsURLs, natsCA string
	workers          int
	verbose          bool
	offlineAlert     time.Duration
	outboxAlert      int
	rosterRefresh    time.Duration
	ordersEvery      time.Duration
	noticeEvery      time.Duration
	hoursEvery       time.Duration
	targetsEvery     time.Duration
	orderPolicy      orders.Policy
	// rollout holds the firmware repository and rollout flags.
	rollout rolloutFlags

	// The cloud's own listeners: TLS, names, limits.
	tlsOn, insecure           bool
	tlsCert, tlsKey           string
	publicNames               string
	publicURL                 string
	httpIdle                  time.Duration
	connectTimeout            time.Duration
	maxConns, maxConnsPerAddr int

	gatewayOnly bool
	// stderr takes the logs and the ready line.
	stderr io.Writer
	// ready, if set, is called once the cloud serves, with its API's URL
	// and its broker's (tests listen on port 0 and learn them here).
	ready func(httpURL, mqttURL string)
}

// parseServe reads the flags of `serve` (or, gatewayOnly, `gateway`).
func parseServe(args []string, gatewayOnly bool, stdout io.Writer) (*config, error) {
	name := "leifeng-cloud serve"
	if gatewayOnly {
		name = "leifeng-cloud gateway"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := config{gatewayOnly: gatewayOnly, stderr: io.Discard}
	fs.StringVar(&c.data, "data", "leifeng-data", "directory for the embedded SQLite database and the cloud's keys (cloud-keys.json)")
	fs.StringVar(&c.db, "db", "", "database DSN: postgres://... for PostgreSQL, sqlite:PATH for SQLite (default: SQLite under --data)")
	fs.StringVar(&c.mqttURL, "mqtt", "", "external broker URL, e.g. tcp://127.0.0.1:1883 (default: run the embedded broker)")
	fs.StringVar(&c.mqttUser, "mqtt-user", "", "username at the external broker")
	fs.StringVar(&c.mqttPass, "mqtt-pass", "", "password at the external broker")
	fs.StringVar(&c.mqttCA, "mqtt-ca", "", "CA certificate (PEM) of an ssl:// broker")
	fs.StringVar(&c.mqttCert, "mqtt-cert", "", "client certificate (PEM) at an ssl:// broker that requires one (cloud.crt of mosquitto-config --tls)")
	fs.StringVar(&c.mqttKey, "mqtt-key", "", "the client certificate's key (PEM)")
	fs.StringVar(&c.gatewayID, "gateway-id", "", "the gateway's MQTT client ID; each gateway needs its own (default: leifeng-gateway- and 128 random bits, which no one can guess to take it over)")
	fs.IntVar(&c.workers, "gateway-workers", 8, "batches committed at once")
	fs.BoolVar(&c.verbose, "v", false, "log every committed batch")
	if gatewayOnly {
		fs.StringVar(&c.natsURLs, "nats", "", "NATS cluster URLs, comma-separated, e.g. tls://nats1:4222,tls://nats2:4222,tls://nats3:4222: consume the stations' records from the cluster's durable JetStream consumer instead of --mqtt")
		fs.StringVar(&c.natsCA, "nats-ca", "", "CA certificate (PEM) of the NATS cluster (ca.crt of nats-config)")
	}
	if !gatewayOnly {
		fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "address of the API, the console and /metrics; an address other than loopback needs TLS (or --insecure-plaintext)")
		fs.StringVar(&c.mqttListen, "mqtt-listen", "127.0.0.1:1883", "address of the embedded broker (ignored with --mqtt); an address other than loopback needs TLS (or --insecure-plaintext)")
		fs.BoolVar(&c.tlsOn, "tls", false, "serve the API and the embedded broker over TLS even on loopback (implied by --tls-cert and by an address other than loopback)")
		fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate (PEM) of the API and the embedded broker (default: one made under --data/tls by the cloud's own CA)")
		fs.StringVar(&c.tlsKey, "tls-key", "", "the --tls-cert's key (PEM)")
		fs.BoolVar(&c.insecure, "insecure-plaintext", false, "allow plain HTTP and MQTT on an address other than loopback: passwords and personal data cross the network readable by anyone on the path")
		fs.StringVar(&c.publicURL, "public-url", "", "the cloud's address as the public reaches it (https://host), which the QR codes of certificates point at (/verify/NUMBER); default: the public-url setting (leifeng-cloud settings), else the address a request came in on")
		fs.StringVar(&c.publicNames, "public-name", "", "comma-separated DNS names clients use to reach the cloud: the API answers only these (and IP addresses, localhost), and the generated certificate covers them")
		fs.DurationVar(&c.httpIdle, "http-idle-timeout", 2*time.Minute, "close an idle HTTP keep-alive connection after this long")
		fs.DurationVar(&c.connectTimeout, "mqtt-connect-timeout", broker.DefaultConnectTimeout, "a broker client must finish TLS and CONNECT within this long")
		fs.IntVar(&c.maxConns, "mqtt-max-conns", broker.DefaultMaxConns, "broker connections open at once")
		fs.IntVar(&c.maxConnsPerAddr, "mqtt-max-conns-per-addr", broker.DefaultMaxConnsPerAddr, "broker connections open at once from one remote address")
		fs.DurationVar(&c.offlineAlert, "offline-alert", fleet.DefaultThresholds.OfflineAfter, "alert when a station is offline longer than this")
		fs.IntVar(&c.outboxAlert, "outbox-alert", fleet.DefaultThresholds.OutboxMax, "alert when a station's outbox holds this many records")
		fs.DurationVar(&c.rosterRefresh, "roster-refresh", 10*time.Minute, "send each station its volunteers' hours again this often, when they changed")
		fs.DurationVar(&c.ordersEvery, "orders-every", 30*time.Second, "take residents' needs in as orders, apply kiosks' order records and the order time limits this often")
		fs.DurationVar(&c.noticeEvery, "notice-every", time.Minute, "make service records final after their public notice (公示), take kiosks' objections in and award stars after their notice this often")
		fs.DurationVar(&c.hoursEvery, "hours-every", 30*time.Second, "turn new tap sessions into service records under the hour rules this often (0: never)")
		fs.DurationVar(&c.targetsEvery, "targets-every", time.Minute, "apply volunteers' changes to the plan's figures' rollups this often, recounting them when many changed at once (0: never)")
		fs.DurationVar(&c.orderPolicy.AnswerWithin, "order-answer-within", orders.DefaultPolicy.AnswerWithin, "raise an unanswered order to the next level (station → county → city) after this long")
		fs.DurationVar(&c.orderPolicy.AcceptWithin, "order-accept-within", orders.DefaultPolicy.AcceptWithin, "return a dispatched order nobody accepted to the queue after this long")
		c.rollout.register(fs)
	}
	if err := cli.Parse(fs, args, stdout); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if gatewayOnly && c.mqttURL == "" && c.natsURLs == "" {
		return nil, cli.Usagef("gateway needs --mqtt, the broker the other gateways use, or --nats, the NATS cluster's URLs")
	}
	if c.mqttURL != "" && c.natsURLs != "" {
		return nil, cli.Usagef("gateway takes --mqtt or --nats, not both")
	}
	u, err := store.CheckPublicURL(c.publicURL)
	if err != nil {
		return nil, cli.Usagef("--public-url %q: want https://host[:port][/path]", c.publicURL)
	}
	c.publicURL = u
	return &c, nil
}

// serve runs the cloud as c says (`serve`: broker, gateway, API; with
// gatewayOnly, `gateway`: a gateway alone) until ctx is done. It returns
// nil after a clean shutdown; a port it cannot take is a one-line error
// naming the flag.
func serve(ctx context.Context, c *config) error {
	gatewayOnly := c.gatewayOnly
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))

	dsn := c.db
	if dsn == "" {
		if err := os.MkdirAll(c.data, 0o750); err != nil {
			return fmt.Errorf("--data %s: %w", c.data, err)
		}
		dsn = "sqlite:" + filepath.Join(c.data, "leifeng.db")
	}
	db, err := openStore(ctx, dsn, log)
	if err != nil {
		return err
	}
	defer db.Close()
	var keys *fleet.Keys
	if gatewayOnly {
		// A gateway on its own needs a copy of the cloud's keys: kiosks
		// obey only acks sealed with the config key (without it their
		// outboxes would never drain), and it uses the cloud's broker
		// account. It never makes new keys.
		keys, err = fleet.ReadKeys(c.data)
		if errors.Is(err, iofs.ErrNotExist) {
			return fmt.Errorf("--data %s: no %s: copy the cloud's keys file there, so the gateway can sign its acks", c.data, fleet.KeysFile)
		}
		if err != nil {
			return fmt.Errorf("--data %s: cloud keys: %w", c.data, err)
		}
	} else if keys, err = fleet.LoadKeys(c.data); err != nil {
		return fmt.Errorf("--data %s: cloud keys: %w", c.data, err)
	}
	if c.mqttUser == "" && keys != nil {
		// The cloud's own account: on the embedded broker, and on a
		// Mosquitto configured by mosquitto-config from the same --data.
		c.mqttUser, c.mqttPass = fleet.GatewayUser, keys.GatewayPassword
	}

	// Listen before anything starts, so a taken port is a one-line error
	// naming the flag to change.
	var httpLn net.Listener
	var tl *transport
	if !gatewayOnly {
		if tl, err = c.transport(log); err != nil {
			return err
		}
		if httpLn, err = net.Listen("tcp", c.httpAddr); err != nil {
			return listenErr("--http", c.httpAddr, err)
		}
		defer httpLn.Close()
		if tl.server != nil {
			httpLn = tls.NewListener(httpLn, tl.server)
		}
	}
	brokerURL, publicMQTT := c.mqttURL, c.mqttURL
	if brokerURL == "" {
		o := broker.Options{
			Addr: c.mqttListen, TLS: tl.mqtt(),
			Auth:           &broker.Auth{CloudUser: fleet.GatewayUser, CloudPassword: keys.GatewayPassword, Creds: fleet.Creds{Store: db}},
			ConnectTimeout: c.connectTimeout, MaxConns: c.maxConns, MaxConnsPerAddr: c.maxConnsPerAddr, Log: log,
		}
		if o.TLS != nil {
			// The in-process gateway needs no certificate: it uses a
			// plain listener that only this host can reach.
			o.Local = "127.0.0.1:0"
		}
		b, err := broker.StartOptions(o)
		if err != nil {
			return listenErr("--mqtt-listen", c.mqttListen, err)
		}
		defer b.Close()
		brokerURL, publicMQTT = b.LocalURL(), b.URL()
	}

	if c.natsURLs != "" {
		// Monthly record partitions on PostgreSQL, made ahead, as below.
		var kwg sync.WaitGroup
		defer kwg.Wait()
		kctx, stop := context.WithCancel(ctx)
		defer stop()
		kwg.Go(func() { db.KeepPartitions(kctx, log) })
		return natsGateway(ctx, c, db, keys, dsn, log)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg)
	// Kiosks obey only acks sealed by the config key their bundle trusts.
	gw := ingest.New(db, nil, ingest.Options{Workers: c.workers, Logger: log.With("part", "gateway"), Metrics: metrics,
		AckKey: keys.ConfigKey, AckKeyID: keys.KeyID})
	var wg sync.WaitGroup
	defer wg.Wait()
	// Cancelled before wg.Wait runs (defers run last first), so an early
	// return stops every goroutine started below.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { gw.Run(ctx) })
	// Monthly record partitions on PostgreSQL, made ahead (Open made
	// them at start; this keeps them coming).
	wg.Go(func() { db.KeepPartitions(ctx, log) })
	connectCtx, cancelConnect := context.WithTimeout(ctx, 30*time.Second)
	tlsConf, err := c.tls()
	if err != nil {
		cancelConnect()
		return err
	}
	client, err := ingest.Connect(connectCtx, gw, ingest.ClientConfig{
		Broker: brokerURL, ClientID: c.gatewayID, Username: c.mqttUser, Password: c.mqttPass, TLS: tlsConf,
	})
	cancelConnect()
	if err != nil {
		return fmt.Errorf("gateway cannot reach the broker at %s: %w", brokerURL, err)
	}
	defer client.Close()

	if gatewayOnly {
		log.Info("gateway running", "broker", brokerURL, "db", redact(dsn))
		fmt.Fprintf(c.stderr, "leifeng-cloud: gateway running mqtt=%s\n", brokerURL)
		if c.ready != nil {
			c.ready("", brokerURL)
		}
		<-ctx.Done()
		return nil
	}
	svc := fleet.NewService(db, keys, client, log.With("part", "fleet"))
	// 可申请升级 at the tap: the star each roster volunteer may apply for.
	svc.StarEligible = (&stars.Service{Store: db}).Eligible
	if err := svc.Republish(ctx); err != nil {
		log.Error("cannot republish the stored configs", "err", err)
	}
	if c.rosterRefresh > 0 {
		wg.Go(func() { svc.RunRosterRefresh(ctx, c.rosterRefresh) })
	}
	if c.ordersEvery > 0 {
		wg.Go(func() { svc.RunOrders(ctx, c.ordersEvery, c.orderPolicy) })
	}
	// The shipped holiday calendar for a year nobody entered, before the
	// first notice period is counted.
	if years, err := notice.EnsureHolidays(ctx, db); err != nil {
		log.Error("cannot store the shipped holiday calendar", "err", err)
	} else if len(years) > 0 {
		log.Info("stored the shipped holiday calendar; check it against the State Council's notice (leifeng-cloud holidays list)", "years", years)
	}
	if c.noticeEvery > 0 {
		p := &notice.Pass{Store: db, Log: log.With("part", "notice"), Changed: svc.RefreshStations}
		wg.Go(func() { p.Run(ctx, c.noticeEvery) })
	}
	// The first start stores the default hour rules as version 1.
	if _, _, err := hours.CurrentRules(ctx, db, time.Now()); err != nil {
		log.Error("cannot read the hour rules", "err", err)
	}
	if c.targetsEvery > 0 {
		wg.Go(func() { targets.RunSync(ctx, db, c.targetsEvery, log.With("part", "targets")) })
	}
	if c.hoursEvery > 0 {
		wg.Go(func() { hours.Run(ctx, db, c.hoursEvery, time.Now, log.With("part", "hours"), svc.RefreshStations) })
	}
	if us, err := db.Users(ctx); err == nil && len(us) == 0 {
		log.Warn("no users yet: create the first city administrator with `leifeng-cloud admin add --user NAME --role city`")
	}
	issuer, created, err := cards.LoadKey(c.data, cards.DefaultKeyID)
	if err != nil {
		return fmt.Errorf("--data %s: card issuer key: %w", c.data, err)
	}
	if created {
		log.Warn("created the cloud's card issuer key: kiosks refuse the cards it signs until the issuer root signs it into the key set (leifeng-cloud issuer-key, then leifeng-card keyset sign)",
			"file", filepath.Join(c.data, cards.KeyFile), "key_id", issuer.KeyID)
	}
	fl := &api.Fleet{Service: svc, Store: db, OrderPolicy: c.orderPolicy, PublicURL: c.publicURL,
		Thresholds: fleet.Thresholds{OfflineAfter: c.offlineAlert, OutboxMax: c.outboxAlert},
		Cards:      cards.NewService(db, issuer, svc, log.With("part", "cards"))}
	if fl.Volunteers, err = volunteers(ctx, c.data, db); err != nil {
		return err
	}
	if fl.Volunteers != nil {
		// A deregistered volunteer's cards stop working everywhere.
		desk := fl.Cards
		fl.Volunteers.OnDeregister = func(ctx context.Context, id string) error {
			_, err := desk.RevokeAll(ctx, id, "志愿者注销", api.Actor(ctx))
			return err
		}
	}
	if fl.Rollouts, err = c.rollout.start(ctx, &wg, c.data, db, svc, tl.server != nil, httpLn.Addr().String(), log); err != nil {
		return err
	}
	opts := []api.Option{api.WithHosts(tl.names...)}
	if tl.server != nil {
		opts = append(opts, api.WithTLS())
	}
	srv := &http.Server{
		Handler: api.New(db, reg, log.With("part", "api"), fl, opts...),
		// A client that sends its request slowly, reads the answer slowly
		// or keeps an idle connection open gives its slot back.
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute,
		IdleTimeout: c.httpIdle, MaxHeaderBytes: 64 << 10,
	}
	wg.Go(func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	scheme := "http://"
	if tl.server != nil {
		scheme = "https://"
	}
	log.Info("serving", "http", scheme+httpLn.Addr().String(), "mqtt", publicMQTT, "db", redact(dsn))
	fmt.Fprintf(c.stderr, "leifeng-cloud: serving http=%s%s mqtt=%s\n", scheme, httpLn.Addr(), publicMQTT)
	if c.ready != nil {
		c.ready(scheme+httpLn.Addr().String(), publicMQTT)
	}
	if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// tls builds the client TLS config of --mqtt-ca, --mqtt-cert, --mqtt-key,
// or nil without --mqtt-ca.
func (c *config) tls() (*tls.Config, error) {
	if c.mqttCA == "" {
		return nil, nil
	}
	ca, err := os.ReadFile(c.mqttCA)
	if err != nil {
		return nil, fmt.Errorf("--mqtt-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("--mqtt-ca %s: no certificate", c.mqttCA)
	}
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if c.mqttCert != "" {
		cert, err := tls.LoadX509KeyPair(c.mqttCert, c.mqttKey)
		if err != nil {
			return nil, fmt.Errorf("--mqtt-cert: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// openStore opens the database, retrying while it is not up yet (a cloud
// and its PostgreSQL often start together).
func openStore(ctx context.Context, dsn string, log *slog.Logger) (*store.Store, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := store.Open(ctx, dsn)
		if err == nil {
			return db, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("--db %s: %w", redact(dsn), err)
		}
		log.Warn("database not ready, retrying", "err", err)
		time.Sleep(time.Second)
	}
}

func listenErr(flagName, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, broker.ErrAddrInUse) {
		return fmt.Errorf("%s %s: address already in use; choose another with %s", flagName, addr, flagName)
	}
	return fmt.Errorf("%s %s: %w", flagName, addr, err)
}

// redact hides a password in a DSN for the logs.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
