package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/gateway/ingest/natsjs"
	"leifeng/internal/pgtest"
)

// benchNATS is BenchmarkScale's cluster side: three nats-server nodes
// running what nats-config generates (TLS, a certificate per station,
// accounts), two `leifeng-cloud gateway --nats` sharing the durable
// consumer, both on one private PostgreSQL with fsync, and the kiosks
// spread over the nodes by their broker lists (every node's ssl:// URL,
// tried from a random one), subscribing at QoS 0. The storm restarts the
// whole cluster (all three nodes at once); the gateways stay up and
// reconnect. Every confirmed record is then looked up in PostgreSQL
// itself: gateway --nats has no API.
func benchNATS(b *testing.B, n int, day time.Duration) *scaleResult {
	pg := pgtest.Start(b, pgtest.WithFsync())
	db := pgtest.NewDatabase(b, pg)
	start := time.Now()
	f := startNATSFleet(b, db, n)
	bundles := f.writeBundles(b)
	fmt.Printf("nats: %d stations registered, their certificates and the cluster's configuration made, cluster up in %s\n",
		n, time.Since(start).Round(time.Second))
	gateways := []*proc{f.startGateway(b), f.startGateway(b)}

	// The bench's own connection, as a gateway's: the consumer count.
	ctx := context.Background()
	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	cl, err := natsjs.Dial(dialCtx, natsjs.Config{URLs: f.cluster.ClientURLs(), User: fleet.GatewayUser, Password: f.keys.GatewayPassword,
		TLS: &tls.Config{RootCAs: f.caPool(b), MinVersion: tls.VersionTLS12}, Name: "bench-scale", Logger: slog.New(slog.DiscardHandler)})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()

	nodePids := func() []int {
		var p []int
		for _, node := range f.cluster.Nodes {
			p = append(p, node.Pid())
		}
		return p
	}
	// The gateways run through the whole run (the storm restarts the
	// cluster, not them).
	gwPids := func() []int {
		var p []int
		for _, g := range gateways {
			p = append(p, g.cmd.Process.Pid)
		}
		return p
	}
	brokerBase, gwBase := sumRSS(nodePids()), sumRSS(gwPids())
	stop := make(chan struct{})
	brokerPeak, gwPeak := peakRSS(nodePids, stop), peakRSS(gwPids, stop)

	shards := loadgenShards(n)
	kdata := kioskData(b)
	var runs []*loadRun
	for k := range shards {
		runs = append(runs, runLoadgen(b, bundles, append([]string{"--db", db}, loadgenArgs(k, shards, day, kdata)...)...))
	}
	var (
		dayConsumers      int
		conns             []string
		natsCPU, gwDayCPU float64
		waiting, unacked  = uint64(0), 0
		pendingErr, cErr  error
	)
	storm(b, runs, day+15*time.Minute, func() {
		// The day's figures, before the cluster goes down.
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		dayConsumers, cErr = cl.ConsumerCount(cctx)
		waiting, unacked, pendingErr = cl.Pending(cctx)
		for _, node := range f.cluster.Nodes {
			conns = append(conns, fmt.Sprintf("%s %d", node.Name, nodeConnections(node.HTTP)))
		}
		natsCPU, gwDayCPU = cpuSeconds(nodePids()), cpuSeconds(gwPids())
		f.cluster.Stop()
	}, f.cluster.Restart)
	stormStart := time.Now()
	rep := &loadReport{}
	for _, r := range runs {
		rep.add(r.wait(b, 20*time.Minute))
	}
	close(stop)
	brokerTop, gwTop := <-brokerPeak, <-gwPeak
	// The consumers after the storm: every kiosk back, on new sessions.
	var afterConsumers int
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		afterConsumers, err = cl.ConsumerCount(cctx)
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if cErr != nil || err != nil {
		b.Errorf("consumer count: over the day %v, after the storm %v", cErr, err)
	}
	for i, g := range gateways {
		select {
		case <-g.exited:
			b.Errorf("gateway %d exited during the run:\n%s", i+1, tail(g.log.String(), 20))
		default:
		}
	}

	brokerKB := (brokerTop - brokerBase) * 1024 / float64(n)
	gwKB := (gwTop - gwBase) * 1024 / float64(n)
	fmt.Printf("NATS cluster (3 nodes, nats-config's TLS and accounts) + 2 gateways + PostgreSQL: %d stations, a day of %s: %d taps, %d records, lost %d, duplicated %d, left in outboxes %d (%s)\n",
		rep.Stations, day, rep.Taps, rep.Records, rep.Lost, rep.Duplicates, rep.Undrained, rep.Check)
	fmt.Printf("  tap to ack (online taps) p50 %.3fs p90 %.3fs p99 %.3fs; %.0f records/s; storm of %d records after restarting all three nodes: every outbox empty %.1fs after the first kiosk came back (%.0fs after the restart began)\n",
		rep.Latency.P50, rep.Latency.P90, rep.Latency.P99, rep.RecordsPerSecond, rep.StormRecords, rep.StormSeconds, time.Since(stormStart).Seconds())
	fmt.Printf("  nats-server ×3 RSS %.0f MB idle, %.0f MB peak: %.1f KB per connected station; gateways ×2 RSS %.0f MB idle, %.0f MB peak: %.1f KB per connected station; loadgen %.0f MB (%.0f KB per kiosk)\n",
		brokerBase, brokerTop, brokerKB, gwBase, gwTop, gwKB, rep.LoadgenRSSMB, rep.LoadgenRSSMB*1024/float64(n))
	fmt.Printf("  over the day: clients per node at its end (kiosks, gateways, this benchmark) %s; CPU nats-server ×3 %.0f s, gateways ×2 %.0f s; consumer %s: %d waiting, %d unacked (%v)\n",
		strings.Join(conns, ", "), natsCPU, gwDayCPU, natsjs.Consumer, waiting, unacked, pendingErr)
	fmt.Printf("  JetStream consumers on %s: %d at the end of the day, %d after the storm (kiosks downlink at QoS 0)\n",
		natsjs.Stream, dayConsumers, afterConsumers)
	res := &scaleResult{side: "nats", deployment: "NATS cluster (3 nodes, TLS) + 2 `gateway --nats`", day: day, rep: rep,
		brokerKB: brokerKB, gatewayKB: gwKB, consumers: fmt.Sprintf("%d (day), %d (after the storm)", dayConsumers, afterConsumers)}
	reportScale(b, res)
	b.ReportMetric(float64(dayConsumers), "consumers")
	b.ReportMetric(gwKB, "gateway-KB/station")
	return res
}

// nodeConnections is how many clients a node holds (its /varz), -1 when
// it does not say.
func nodeConnections(httpPort int) int {
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/varz", httpPort))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var v struct {
		Connections int `json:"connections"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return -1
	}
	return v.Connections
}
