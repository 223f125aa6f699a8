package fleet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// DynsecPlugin is where Debian's mosquitto package installs the
// dynamic-security plugin (amd64); MosquittoOptions.Plugin overrides it,
// and FindDynsecPlugin looks in the usual places.
const DynsecPlugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"

// FindDynsecPlugin returns the first dynamic-security plugin found in the
// places Debian, Raspberry Pi OS and a source install put it, or
// DynsecPlugin.
func FindDynsecPlugin() string {
	for _, p := range []string{DynsecPlugin, "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
		"/usr/lib/arm-linux-gnueabihf/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so",
		"/usr/local/lib/mosquitto_dynamic_security.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return DynsecPlugin
}

// Mosquitto is held to the same rules as the embedded broker through its
// dynamic-security plugin rather than a password file and ACL file:
//   - a station's account is bound to its client ID (the plugin's
//     "clientid" of a client), so a station's credentials can neither take
//     over another station's session nor the gateway's; the gateways share
//     one account and keep client IDs of their own, which
//     use_username_as_clientid could not give them (every gateway would be
//     "leifeng-cloud" and they would kick each other off);
//   - the plugin checks a SUBSCRIBE against the filter as sent, "$share/…"
//     included, and denies what no role allows: a station cannot join the
//     gateways' shared subscription and swallow other stations' batches.
//     The acl_file lets any SUBSCRIBE through and checks only delivery, so
//     a station in the share group got its turn of every batch and dropped
//     it;
//   - on the certificate listener the plugin's password check (and with
//     it the client ID binding) does not run: there use_username_as_clientid
//     makes the certificate's CN the client ID as well as the user name, so
//     a station's certificate opens only its own session. A client ID per
//     certificate means one gateway per cloud certificate on that
//     listener; gateways that scale out on the shared subscription log in
//     with the cloud's password on the plain listener (kept on an internal
//     address) or a TLS one without client certificates;
//   - each station's role names its own topics literally, the same rule
//     as broker.StationMay. A station added later needs the configuration
//     generated again and Mosquitto restarted (the plugin reads its file at
//     start).
//
// The hashes are the stored ones: mosquitto_passwd's $7$ (PBKDF2-SHA512)
// is the plugin's format split into its fields.

type dynsecConfig struct {
	DefaultACLAccess map[string]bool `json:"defaultACLAccess"`
	Clients          []dynsecClient  `json:"clients"`
	Groups           []struct{}      `json:"groups"`
	Roles            []dynsecRole    `json:"roles"`
}

type dynsecClient struct {
	Username   string           `json:"username"`
	ClientID   string           `json:"clientid,omitempty"`
	Password   string           `json:"password"`
	Salt       string           `json:"salt"`
	Iterations int              `json:"iterations"`
	Roles      []dynsecRoleName `json:"roles"`
}

type dynsecRoleName struct {
	Rolename string `json:"rolename"`
}

type dynsecRole struct {
	Rolename string      `json:"rolename"`
	ACLs     []dynsecACL `json:"acls"`
}

type dynsecACL struct {
	Type  string `json:"acltype"`
	Topic string `json:"topic"`
	Allow bool   `json:"allow"`
}

// MosquittoDynsec returns the dynamic-security plugin's configuration for
// the cloud and the registered stations.
func MosquittoDynsec(keys *Keys, regs []store.Registration) ([]byte, error) {
	h, err := HashPassword(keys.GatewayPassword)
	if err != nil {
		return nil, err
	}
	cloud, err := dynsecUser(GatewayUser, "", h)
	if err != nil {
		return nil, err
	}
	p := wire.Prefix
	conf := dynsecConfig{
		DefaultACLAccess: map[string]bool{"publishClientSend": false, "publishClientReceive": true, "subscribe": false, "unsubscribe": true},
		Clients:          []dynsecClient{cloud},
		Groups:           []struct{}{},
		Roles: []dynsecRole{{Rolename: GatewayUser, ACLs: []dynsecACL{
			{"publishClientSend", p + "/#", true},
			{"subscribePattern", p + "/#", true},
			{"subscribePattern", "$share/+/" + p + "/#", true},
		}}},
	}
	for _, r := range regs {
		c, err := dynsecUser(r.ID, r.ID, r.SecretHash)
		if err != nil {
			return nil, fmt.Errorf("station %s: %w", r.ID, err)
		}
		conf.Clients = append(conf.Clients, c)
		conf.Roles = append(conf.Roles, dynsecRole{Rolename: "station-" + r.ID, ACLs: []dynsecACL{
			{"publishClientSend", wire.StationTopic(r.ID, wire.LeafRecords), true},
			{"publishClientSend", wire.StationTopic(r.ID, wire.LeafState), true},
			{"subscribeLiteral", wire.StationTopic(r.ID, wire.LeafAck), true},
			{"subscribeLiteral", wire.StationTopic(r.ID, wire.LeafConfig), true},
			{"subscribeLiteral", wire.StationTopic(r.ID, wire.LeafCommands), true},
			{"subscribeLiteral", wire.FleetConfigTopic, true},
		}})
	}
	return json.MarshalIndent(conf, "", "  ")
}

func dynsecUser(user, clientID, hash string) (dynsecClient, error) {
	iter, salt, sum, err := splitHash(hash)
	if err != nil {
		return dynsecClient{}, err
	}
	role := GatewayUser
	if clientID != "" {
		role = "station-" + user
	}
	return dynsecClient{Username: user, ClientID: clientID, Password: sum, Salt: salt, Iterations: iter,
		Roles: []dynsecRoleName{{role}}}, nil
}

// MosquittoOptions shape the generated configuration.
type MosquittoOptions struct {
	// Listen is the plain listener's "PORT" or "PORT ADDRESS"; empty for
	// none (a TLS-only broker). It must be on loopback unless
	// InsecurePlaintext (CheckPlainListen).
	Listen string
	// InsecurePlaintext allows a plain listener reachable from the
	// network.
	InsecurePlaintext bool
	// TLSListen is the TLS listener's "PORT" or "PORT ADDRESS"; empty for
	// none. Clients then authenticate with certificates from the CA in
	// Dir (require_certificate, use_identity_as_username), and their
	// client ID is their certificate's CN (use_username_as_clientid).
	TLSListen string
	// Plugin is the dynamic-security plugin's path; empty means
	// FindDynsecPlugin().
	Plugin string
	// Owner, if set, owns the files Mosquitto reads (they stay 0600), and
	// its group may enter dir: Mosquitto started as root reads them after
	// it has dropped to its own user.
	Owner *Owner
}

// ErrPlaintextExposed is returned for a plain (unencrypted) listener on
// an address other than loopback without InsecurePlaintext: passwords and
// every record would cross the network in clear text.
var ErrPlaintextExposed = errors.New("plaintext MQTT listener reachable from the network")

// DefaultPlainListen is the plain listener mosquitto-config writes unless
// told otherwise: on loopback only, for a gateway on the same machine.
const DefaultPlainListen = "1883 127.0.0.1"

// CheckPlainListen refuses a plain listener ("PORT" or "PORT ADDRESS")
// that is not bound to a loopback address unless insecure is set. A bare
// "PORT" is Mosquitto's every interface, so it is refused too; so is a
// host name, which Mosquitto resolves at start to whatever it names then.
func CheckPlainListen(listen string, insecure bool) error {
	if listen == "" || insecure {
		return nil
	}
	f := strings.Fields(listen)
	if len(f) == 2 {
		if ip := net.ParseIP(f[1]); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%w: %q; bind it to loopback (e.g. %q), use a TLS listener for stations, or accept clear text on purpose with --insecure-plaintext",
		ErrPlaintextExposed, listen, DefaultPlainListen)
}

// Owner is a file owner, numeric.
type Owner struct{ UID, GID int }

// MosquittoConf returns the configuration for files written in dir: the
// plugin that authenticates and authorises, then the listeners.
func MosquittoConf(dir string, o MosquittoOptions) string {
	if o.Plugin == "" {
		o.Plugin = FindDynsecPlugin()
	}
	var b strings.Builder
	b.WriteString("# Generated by leifeng-cloud mosquitto-config. Do not edit; generate again.\n")
	b.WriteString("per_listener_settings false\nallow_anonymous false\n")
	fmt.Fprintf(&b, "plugin %s\nplugin_opt_config_file %s\n", o.Plugin, filepath.Join(dir, "dynamic-security.json"))
	if o.Listen != "" {
		fmt.Fprintf(&b, "\nlistener %s\n", o.Listen)
	}
	if o.TLSListen != "" {
		fmt.Fprintf(&b, "\nlistener %s\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nuse_identity_as_username true\nuse_username_as_clientid true\n",
			o.TLSListen, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	}
	return b.String()
}

// WriteMosquitto writes dynamic-security.json and mosquitto.conf into dir,
// and with o.TLSListen the CA (created once, kept after), the server
// certificate and a client certificate for the cloud (cloud.crt, cloud.key)
// and for every registered station (clients/ID.crt, clients/ID.key).
func WriteMosquitto(dir string, keys *Keys, regs []store.Registration, o MosquittoOptions) error {
	if err := CheckPlainListen(o.Listen, o.InsecurePlaintext); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	dynsec, err := MosquittoDynsec(keys, regs)
	if err != nil {
		return err
	}
	files := map[string]string{"dynamic-security.json": string(dynsec), "mosquitto.conf": MosquittoConf(dir, o)}
	if o.TLSListen != "" {
		ca, err := LoadCA(dir)
		if errors.Is(err, fs.ErrNotExist) {
			ca, err = CreateCA(dir)
		}
		if err != nil {
			return err
		}
		cert, key, err := ca.Issue("localhost", true)
		if err != nil {
			return err
		}
		files["server.crt"], files["server.key"] = string(cert), string(key)
		if cert, key, err = ca.Issue(GatewayUser, false); err != nil {
			return err
		}
		files["cloud.crt"], files["cloud.key"] = string(cert), string(key)
		if err := os.MkdirAll(filepath.Join(dir, "clients"), 0o700); err != nil {
			return err
		}
		for _, r := range regs {
			if cert, key, err = ca.Issue(r.ID, false); err != nil {
				return err
			}
			files[filepath.Join("clients", r.ID+".crt")], files[filepath.Join("clients", r.ID+".key")] = string(cert), string(key)
		}
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	if o.Owner == nil {
		return nil
	}
	// Mosquitto gets what it reads and nothing more: not the CA's key
	// (with which it could mint a station's or the cloud's certificate),
	// not the clients' keys. The directory stays its creator's; Mosquitto
	// enters it through the group.
	if err := os.Chown(dir, -1, o.Owner.GID); err != nil {
		return err
	}
	reads := []string{"dynamic-security.json", "mosquitto.conf"}
	if o.TLSListen != "" {
		reads = append(reads, "ca.crt", "server.crt", "server.key")
	}
	for _, name := range reads {
		if err := os.Chown(filepath.Join(dir, name), o.Owner.UID, o.Owner.GID); err != nil {
			return err
		}
	}
	return nil
}

// CA is the certificate authority of a fleet's TLS broker.
type CA struct {
	CertPEM []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// CreateCA makes a new CA in dir (ca.crt, ca.key).
func CreateCA(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "Leifeng Station fleet CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "ca.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), certPEM, 0o644); err != nil {
		return nil, err
	}
	return LoadCA(dir)
}

// LoadCA reads the CA in dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("CA in %s: not PEM", dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: certPEM, cert: cert, key: key}, nil
}

// Issue makes a certificate and key (PEM) for cn: a server certificate for
// localhost and 127.0.0.1, or a client certificate whose CN is the broker
// user name.
func (ca *CA) Issue(cn string, server bool) (certPEM, keyPEM []byte, err error) {
	if server {
		return ca.IssueServer([]string{cn, "127.0.0.1"})
	}
	return ca.issue(cn, nil, false)
}

// IssueServer makes a server certificate valid for names, each a DNS name
// or an IP address; the first is its CN.
func (ca *CA) IssueServer(names []string) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, errors.New("fleet: a server certificate needs a name")
	}
	return ca.issue(names[0], names, true)
}

func (ca *CA) issue(cn string, names []string, server bool) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if server {
		// Client authentication too: a NATS node presents it when it
		// dials another node's route, which verifies it.
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		for _, n := range names {
			if ip := net.ParseIP(n); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, n)
			}
		}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
