package uplink

import (
	"crypto/tls"
	"errors"
	"testing"
)

func TestTLSConfig(t *testing.T) {
	if _, err := TLSConfig("not a certificate", "", ""); !errors.Is(err, ErrNoCA) {
		t.Fatalf("a CA without a certificate: %v, want ErrNoCA", err)
	}
	for _, c := range []struct {
		broker string
		tls    bool
	}{{"tcp://127.0.0.1:1883", false}, {"ssl://cloud:8883", true}, {"tls://cloud:8883", true}, {"mqtts://cloud:8883", true}} {
		u := &Uplink{cfg: Config{Broker: c.broker, TLS: &tls.Config{MinVersion: tls.VersionTLS10}}}
		got := u.dialTLS(c.broker)
		if (got != nil) != c.tls {
			t.Fatalf("%s: TLS config %v, want TLS %v", c.broker, got, c.tls)
		}
		if got != nil && got.MinVersion < tls.VersionTLS12 {
			t.Fatalf("%s: dials TLS below 1.2", c.broker)
		}
	}
}
