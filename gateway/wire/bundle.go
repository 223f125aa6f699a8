package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
)

// Bundle is everything a kiosk needs to join the fleet, written by
// `leifeng-cloud station add` and read by `leifeng-kiosk --bundle`: who it
// is, how it reaches the broker, and whose signatures it trusts. It holds
// the station's broker secret (and TLS key): keep it mode 0600.
type Bundle struct {
	V       int    `json:"v"`
	Station string `json:"station"`
	// Broker is the broker URL (tcp:// or ssl://).
	Broker   string `json:"broker"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// DownlinkQoS0 makes the kiosk subscribe to acks, configs and
	// commands at QoS 0: on a NATS cluster, where each QoS 1 subscription
	// is a JetStream consumer.
	DownlinkQoS0 bool `json:"downlink_qos0,omitempty"`
	// ConfigKeys are the cloud's config and command signing keys, by key
	// ID: the only signatures the kiosk obeys.
	ConfigKeys map[string][]byte `json:"config_keys"`
	// IssuerKeys are card issuer keys, if the cloud knows any.
	IssuerKeys []TrustedKey `json:"issuer_keys,omitempty"`
	// IssuerRoots are the public issuer root keys, by root key ID, that
	// sign card-issuer key sets (Config.KeySet). They are set only here, at
	// provisioning; no online message changes them.
	IssuerRoots map[string][]byte `json:"issuer_roots,omitempty"`
	// MinFleetConfig and MinStationConfig are the versions of the fleet and
	// station configs in force when the bundle was written: a fresh kiosk
	// refuses anything older, such as an old document (with an old
	// revocation list) replayed to it by a broker.
	MinFleetConfig   uint64 `json:"min_fleet_config,omitempty"`
	MinStationConfig uint64 `json:"min_station_config,omitempty"`
	// CACert, ClientCert and ClientKey (PEM) are set for a TLS broker with
	// client certificates.
	CACert     string `json:"ca_cert,omitempty"`
	ClientCert string `json:"client_cert,omitempty"`
	ClientKey  string `json:"client_key,omitempty"`
}

// Roots returns the bundle's issuer root keys in the form OpenKeySet takes.
func (b *Bundle) Roots() map[string]ed25519.PublicKey {
	m := make(map[string]ed25519.PublicKey, len(b.IssuerRoots))
	for id, k := range b.IssuerRoots {
		m[id] = ed25519.PublicKey(k)
	}
	return m
}

// Trusted returns the bundle's config keys in the form Open takes.
func (b *Bundle) Trusted() map[string]ed25519.PublicKey {
	m := make(map[string]ed25519.PublicKey, len(b.ConfigKeys))
	for id, k := range b.ConfigKeys {
		m[id] = ed25519.PublicKey(k)
	}
	return m
}

// ReadBundle reads and checks a bundle file.
func ReadBundle(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b := new(Bundle)
	if err := decode(data, b, &b.V); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	if !ValidStationID(b.Station) || b.Broker == "" || len(b.ConfigKeys) == 0 {
		return nil, fmt.Errorf("%w: bundle %s needs station, broker and config keys", ErrInvalid, path)
	}
	for id, k := range b.ConfigKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: bundle %s: config key %q is not an Ed25519 public key", ErrInvalid, path, id)
		}
	}
	for id, k := range b.IssuerRoots {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: bundle %s: issuer root %q is not an Ed25519 public key", ErrInvalid, path, id)
		}
	}
	return b, nil
}

// WriteBundle writes b to path, readable by its owner only.
func WriteBundle(path string, b *Bundle) error {
	b.V = Version
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}
