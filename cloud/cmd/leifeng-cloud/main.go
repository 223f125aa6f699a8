// Command leifeng-cloud is the cloud of Leifeng Station.
//
//	leifeng-cloud serve     broker + gateway + API in one process (embedded defaults)
//	leifeng-cloud gateway   a gateway alone, one of several sharing the record stream
//
// `serve` with no flags runs on an embedded MQTT broker and SQLite under
// --data; --mqtt points it at an external broker (Mosquitto, EMQX) and
// --db at PostgreSQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"leifeng/cloud/api"
	"leifeng/cloud/broker"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func usage() {
	fmt.Fprintf(os.Stderr, `leifeng-cloud %s — the cloud of Leifeng Station (学雷锋志愿服务站)

usage:
  leifeng-cloud serve   [flags]   embedded broker + gateway + API (one command, no setup)
  leifeng-cloud gateway [flags]   one more gateway on a shared subscription (scale out)
  leifeng-cloud version

run "leifeng-cloud serve -h" for the flags.
`, version)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:], false)
	case "gateway":
		err = serve(os.Args[2:], true)
	case "version", "--version":
		fmt.Println(version)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "leifeng-cloud: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leifeng-cloud:", err)
		os.Exit(1)
	}
}

type config struct {
	data, httpAddr, mqttListen, mqttURL, db string
	mqttUser, mqttPass, gatewayID           string
	workers                                 int
	verbose                                 bool
}

func serve(args []string, gatewayOnly bool) error {
	name := "serve"
	if gatewayOnly {
		name = "gateway"
	}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var c config
	host, _ := os.Hostname()
	fs.StringVar(&c.data, "data", "leifeng-data", "directory for the embedded SQLite database")
	fs.StringVar(&c.db, "db", "", "database DSN: postgres://... for PostgreSQL, sqlite:PATH for SQLite (default: SQLite under --data)")
	fs.StringVar(&c.mqttURL, "mqtt", "", "external broker URL, e.g. tcp://127.0.0.1:1883 (default: run the embedded broker)")
	fs.StringVar(&c.mqttUser, "mqtt-user", "", "username at the external broker")
	fs.StringVar(&c.mqttPass, "mqtt-pass", "", "password at the external broker")
	fs.StringVar(&c.gatewayID, "gateway-id", "leifeng-gateway-"+host, "the gateway's MQTT client ID; keep it stable so its session survives restarts")
	fs.IntVar(&c.workers, "gateway-workers", 4, "batches committed at once")
	fs.BoolVar(&c.verbose, "v", false, "log every committed batch")
	if !gatewayOnly {
		fs.StringVar(&c.httpAddr, "http", ":8080", "address of the API, the console and /metrics")
		fs.StringVar(&c.mqttListen, "mqtt-listen", ":1883", "address of the embedded broker (ignored with --mqtt)")
	}
	fs.Parse(args)
	if gatewayOnly && c.mqttURL == "" {
		return errors.New("gateway needs --mqtt, the broker the other gateways use")
	}

	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

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

	// Listen before anything starts, so a taken port is a one-line error
	// naming the flag to change.
	var httpLn net.Listener
	if !gatewayOnly {
		if httpLn, err = net.Listen("tcp", c.httpAddr); err != nil {
			return listenErr("--http", c.httpAddr, err)
		}
		defer httpLn.Close()
	}
	brokerURL := c.mqttURL
	if brokerURL == "" {
		b, err := broker.Start(c.mqttListen, log)
		if err != nil {
			return listenErr("--mqtt-listen", c.mqttListen, err)
		}
		defer b.Close()
		brokerURL = b.URL()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg)
	gw := ingest.New(db, nil, ingest.Options{Workers: c.workers, Logger: log.With("part", "gateway"), Metrics: metrics})
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { gw.Run(ctx) })
	connectCtx, cancelConnect := context.WithTimeout(ctx, 30*time.Second)
	client, err := ingest.Connect(connectCtx, gw, ingest.ClientConfig{
		Broker: brokerURL, ClientID: c.gatewayID, Username: c.mqttUser, Password: c.mqttPass,
	})
	cancelConnect()
	if err != nil {
		stop()
		return fmt.Errorf("gateway cannot reach the broker at %s: %w", brokerURL, err)
	}
	defer client.Close()

	if gatewayOnly {
		log.Info("gateway running", "broker", brokerURL, "db", redact(dsn))
		fmt.Fprintf(os.Stderr, "leifeng-cloud: gateway running mqtt=%s\n", brokerURL)
		<-ctx.Done()
		return nil
	}
	srv := &http.Server{Handler: api.New(db, reg, log.With("part", "api")), ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	log.Info("serving", "http", httpLn.Addr().String(), "mqtt", brokerURL, "db", redact(dsn))
	fmt.Fprintf(os.Stderr, "leifeng-cloud: serving http=%s mqtt=%s\n", httpLn.Addr(), brokerURL)
	if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
