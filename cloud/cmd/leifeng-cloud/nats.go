package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
	"leifeng/gateway/ingest/natsjs"
	"leifeng/internal/cli"
)

// natsGateway is `leifeng-cloud gateway --nats`: a gateway consuming the
// NATS cluster's durable consumer, sharing it with any other gateway.
func natsGateway(ctx context.Context, c *config, db *store.Store, keys *fleet.Keys, dsn string, log *slog.Logger) error {
	var tlsConf *tls.Config
	if c.natsCA != "" {
		ca, err := os.ReadFile(c.natsCA)
		if err != nil {
			return fmt.Errorf("--nats-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return fmt.Errorf("--nats-ca %s: no certificate", c.natsCA)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	dialCtx, cancelDial := context.WithTimeout(ctx, 60*time.Second)
	cl, err := natsjs.Dial(dialCtx, natsjs.Config{
		URLs: c.natsURLs, User: c.mqttUser, Password: c.mqttPass, TLS: tlsConf,
		Name: "leifeng-gateway", Logger: log.With("part", "nats"),
	})
	cancelDial()
	if err != nil {
		return fmt.Errorf("gateway cannot use the NATS cluster at %s: %w", c.natsURLs, err)
	}
	defer cl.Close()
	gw := ingest.New(db, cl, ingest.Options{Workers: c.workers, Logger: log.With("part", "gateway"),
		AckKey: keys.ConfigKey, AckKeyID: keys.KeyID})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { gw.Run(ctx) })
	log.Info("gateway running", "nats", c.natsURLs, "db", redact(dsn))
	fmt.Fprintf(c.stderr, "leifeng-cloud: gateway running nats=%s\n", c.natsURLs)
	if c.ready != nil {
		c.ready("", c.natsURLs)
	}
	err = cl.Run(ctx, gw)
	cancel()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// natsConfigCmd is `leifeng-cloud nats-config`.
func natsConfigCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-cloud nats-config", flag.ContinueOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory (keys, SQLite)")
	db := fs.String("db", "", "the cloud's --db, if not SQLite under --data")
	out := fs.String("out", "nats", "directory to write the nodes' configs, accounts.conf and the certificates into")
	nodes := fs.String("nodes", "", "the cluster's servers, NAME=HOST comma-separated, e.g. n1=nats1.example,n2=nats2.example,n3=nats3.example (required)")
	store := fs.String("store", "/var/lib/nats", "directory under which each node keeps its JetStream files (STORE/NAME)")
	var n fleet.NATSNode
	fs.IntVar(&n.Client, "client-port", 4222, "NATS port of every node (the gateways; TLS)")
	fs.IntVar(&n.MQTT, "mqtt-port", 8883, "MQTT port of every node (the kiosks; TLS with client certificates)")
	fs.IntVar(&n.Route, "route-port", 6222, "route port of every node (the other nodes)")
	fs.IntVar(&n.HTTP, "http-port", 8222, "monitoring port of every node, on loopback")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	list, err := fleet.ParseNATSNodes(*nodes)
	if err != nil {
		return cli.Usagef("--nodes: %v", err)
	}
	for i := range list {
		list[i].Client, list[i].MQTT, list[i].Route, list[i].HTTP = n.Client, n.MQTT, n.Route, n.HTTP
		list[i].Store = filepath.Join(*store, list[i].Name)
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
	if err := fleet.WriteNATS(dir, keys, regs, fleet.NATSOptions{Nodes: list}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: a config per node (%s.conf, …) and the certificates, for %d stations; on each node run: nats-server -c %s/NAME.conf\n",
		dir, list[0].Name, len(regs), dir)
	return nil
}
