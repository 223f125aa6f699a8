package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// ErrNoCA is returned by TLSConfig for a CA that holds no certificate.
var ErrNoCA = errors.New("uplink: the CA holds no certificate")

// TLSConfig is the TLS config for a broker dialled as tls://, ssl:// or
// mqtts://: the server's certificate must chain to caPEM (the cloud's own
// CA, from the station's bundle) or to a CA the system trusts (a cloud with
// a public certificate), and certPEM/keyPEM, if given, are the station's
// client certificate, with which the broker knows the station without its
// password. TLS 1.2 at least.
func TLSConfig(caPEM, certPEM, keyPEM string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caPEM != "" && !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, ErrNoCA
	}
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certPEM != "" {
		cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
		if err != nil {
			return nil, fmt.Errorf("uplink: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// tlsScheme reports whether the broker URL is dialled with TLS (the
// schemes paho dials with TLS).
func tlsScheme(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	switch scheme {
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		return true
	}
	return false
}

// dialTLS is the TLS config the client dials broker with: Config.TLS,
// held to TLS 1.2 at least, for a TLS URL; none for a plain one.
func (u *Uplink) dialTLS(broker string) *tls.Config {
	if !tlsScheme(broker) {
		return nil
	}
	if u.cfg.TLS == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := u.cfg.TLS.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	return c
}
