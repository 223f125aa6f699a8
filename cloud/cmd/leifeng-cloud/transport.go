package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"leifeng/cloud/broker"
	"leifeng/cloud/fleet"
)

// transport is how serve's own listeners speak: plain on loopback, TLS
// otherwise.
type transport struct {
	// server is the TLS config of the API and the broker; nil for plain.
	server *tls.Config
	// clientCAs verify station client certificates at the broker: the
	// cloud's CA under --data/tls, which `station add` issues them from.
	clientCAs *x509.CertPool
	// names are the DNS names clients use (--public-name).
	names []string
}

// serveTLSDir is where serve keeps its CA and generated certificate; `station
// add` finds the CA there.
func serveTLSDir(data string) string { return filepath.Join(data, "tls") }

// transport decides TLS: on with --tls or --tls-cert, and required for an
// address other than loopback unless --insecure-plaintext says otherwise,
// which it then says loudly in the log.
func (c *config) transport(log *slog.Logger) (*transport, error) {
	t := &transport{}
	for n := range strings.SplitSeq(c.publicNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			t.names = append(t.names, n)
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	public := !broker.IsLoopback(c.httpAddr) || (c.mqttURL == "" && !broker.IsLoopback(c.mqttListen))
	useTLS := c.tlsOn || c.tlsCert != ""
	if public && !useTLS {
		if c.insecure {
			log.Warn("INSECURE: --insecure-plaintext: the API and the broker listen without TLS on an address other than loopback; station passwords, users' passwords and API tokens and personal data cross the network in plain text",
				"http", c.httpAddr, "mqtt", c.mqttListen)
			fmt.Fprintf(os.Stderr, "leifeng-cloud: WARNING: --insecure-plaintext: passwords, API tokens and personal data travel unencrypted on %s and %s\n", c.httpAddr, c.mqttListen)
			return t, nil
		}
		useTLS = true
	}
	if !useTLS {
		return t, nil
	}
	dir := serveTLSDir(c.data)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data %s: %w", c.data, err)
	}
	ca, err := fleet.LoadCA(dir)
	if errors.Is(err, iofs.ErrNotExist) {
		ca, err = fleet.CreateCA(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: the cloud's CA: %w", dir, err)
	}
	var cert tls.Certificate
	if c.tlsCert != "" {
		if cert, err = tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
	} else {
		// A new certificate at every start, so that it always covers the
		// names and addresses of this start; the CA the kiosks trust stays.
		certPEM, keyPEM, err := ca.IssueServer(c.serverNames(t.names))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "server.crt"), certPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "server.key"), keyPEM, 0o600); err != nil {
			return nil, err
		}
		if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return nil, err
		}
	}
	t.clientCAs = x509.NewCertPool()
	t.clientCAs.AppendCertsFromPEM(ca.CertPEM)
	t.server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	log.Info("TLS on", "ca", filepath.Join(dir, "ca.crt"), "names", t.names)
	return t, nil
}

// serverNames are what a generated certificate covers: the public names,
// loopback, and the listen addresses (every interface's address for a
// wildcard one).
func (c *config) serverNames(public []string) []string {
	names := append(slices.Clone(public), "localhost", "127.0.0.1", "::1")
	for _, addr := range []string{c.httpAddr, c.mqttListen} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		switch {
		case host == "" || (ip != nil && ip.IsUnspecified()):
			ifs, _ := net.InterfaceAddrs()
			for _, a := range ifs {
				if n, ok := a.(*net.IPNet); ok {
					names = append(names, n.IP.String())
				}
			}
		default:
			names = append(names, host)
		}
	}
	slices.Sort(names[len(public):])
	return slices.Compact(names)
}

// mqtt is the broker's TLS config: the server's, also asking for a client
// certificate of the cloud's CA (a station may then log in by it), or nil
// for a plain broker.
func (t *transport) mqtt() *tls.Config {
	if t == nil || t.server == nil {
		return nil
	}
	m := t.server.Clone()
	m.ClientCAs = t.clientCAs
	m.ClientAuth = tls.VerifyClientCertIfGiven
	return m
}

// tlsScheme reports whether a broker URL is one a kiosk dials with TLS.
func tlsScheme(url string) bool {
	scheme, _, _ := strings.Cut(url, "://")
	switch scheme {
	case "ssl", "tls", "mqtts", "tcps", "mqtt+ssl":
		return true
	}
	return false
}

// cloudTLS is the TLS config of a subcommand talking to serve's API: the
// system's CAs and serve's own CA under --data, if there is one.
func cloudTLS(data string) *tls.Config {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if ca, err := os.ReadFile(filepath.Join(serveTLSDir(data), "ca.crt")); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
