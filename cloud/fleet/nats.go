package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// A NATS cluster is held to the same rules as Mosquitto, by accounts and
// users in the servers' configuration:
//   - stations authenticate with their client certificate on the MQTT
//     listener (verify_and_map: the certificate's subject, CN=ID, is the
//     user). NATS checks passwords only in clear text or bcrypt, and the
//     cloud keeps stations' passwords only as mosquitto_passwd's PBKDF2
//     hashes, so station passwords cannot be carried over: each station
//     gets a certificate from the CA in the output directory (the one
//     `station add --tls-dir` issues from);
//   - a station's user may publish only its own records and state and
//     subscribe only to its own ack, config and commands and the fleet
//     config, literally, as broker.StationMay says; it may connect only
//     over MQTT, since a user without a password could otherwise log in
//     on the NATS port with an empty one;
//   - the gateways log in on the NATS port (TLS) as the cloud's user with
//     its password (bcrypt), only there;
//   - nodes dial each other's routes with route certificates from a CA
//     of their own (route/ca.crt), which the other side verifies: a
//     station's certificate, from the fleet's CA, does not join the
//     cluster.
//
// NATS binds no client ID to a user: a station's certificate can open a
// session under another station's client ID, which disconnects that
// station (it reconnects, and the two take turns). The subscriptions of
// the session it takes are refused by the permissions, so it reads and
// sends nothing it could not before. Mosquitto binds them.

// NATSNode is one server of the cluster.
type NATSNode struct {
	// Name is its server_name and the name of its files (NAME.conf,
	// NAME.crt, NAME.key).
	Name string
	// Host is the name or address the others, the gateways and the kiosks
	// reach it by; its certificate is issued for it.
	Host string
	// Listen is the address its listeners bind; empty means every
	// interface.
	Listen string
	// Client, MQTT, Route and HTTP are its ports: NATS clients (the
	// gateways, TLS), MQTT clients (the kiosks, TLS with client
	// certificates), routes, and monitoring (on loopback). Zero means
	// 4222, 8883, 6222 and 8222.
	Client, MQTT, Route, HTTP int
	// Store is its JetStream directory; empty means /var/lib/nats/NAME.
	Store string
}

func (n *NATSNode) fill() {
	if n.Client == 0 {
		n.Client = 4222
	}
	if n.MQTT == 0 {
		n.MQTT = 8883
	}
	if n.Route == 0 {
		n.Route = 6222
	}
	if n.HTTP == 0 {
		n.HTTP = 8222
	}
	if n.Store == "" {
		n.Store = "/var/lib/nats/" + n.Name
	}
	if n.Listen == "" {
		n.Listen = "0.0.0.0"
	}
}

// NATSOptions shape the generated configuration.
type NATSOptions struct {
	// Nodes are the cluster's servers; three survive the loss of one.
	Nodes []NATSNode
	// Cluster is the cluster's name; empty means "leifeng".
	Cluster string
	// MaxFileStore caps each node's JetStream files; empty means "20GB".
	MaxFileStore string
}

// ErrNATSNodes is returned for a cluster without nodes, or with two of
// the same name.
var ErrNATSNodes = errors.New("fleet: a NATS cluster needs nodes with distinct names")

// ParseNATSNodes reads "NAME=HOST,NAME=HOST,…" (nats-config --nodes).
func ParseNATSNodes(list string) ([]NATSNode, error) {
	var nodes []NATSNode
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, host, ok := strings.Cut(item, "=")
		if !ok || !wire.ValidStationID(name) || host == "" || seen[name] {
			return nil, fmt.Errorf("%w: %q (want NAME=HOST, e.g. n1=nats1.example)", ErrNATSNodes, item)
		}
		seen[name] = true
		nodes = append(nodes, NATSNode{Name: name, Host: host})
	}
	if len(nodes) == 0 {
		return nil, ErrNATSNodes
	}
	return nodes, nil
}

// NATSAccounts returns the accounts block of every node: one
// account for the cloud and the stations (MQTT topics cross only within
// an account), with JetStream.
func NATSAccounts(keys *Keys, regs []store.Registration) (string, error) {
	// The gateways connect a few times a day; a slow hash costs nothing.
	h, err := bcrypt.GenerateFromPassword([]byte(keys.GatewayPassword), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# One account for the cloud and the stations: MQTT topics cross only within one.\n")
	b.WriteString("accounts {\n  LEIFENG {\n    jetstream: enabled\n    users: [\n")
	fmt.Fprintf(&b, "      {user: %s, password: %s, allowed_connection_types: [\"STANDARD\"]}\n", strconv.Quote(GatewayUser), strconv.Quote(string(h)))
	for _, r := range regs {
		if !wire.ValidStationID(r.ID) {
			return "", fmt.Errorf("fleet: bad station ID %q", r.ID)
		}
		fmt.Fprintf(&b, "      {user: %s, allowed_connection_types: [\"MQTT\"], permissions: {\n", strconv.Quote(NATSStationUser(r.ID)))
		fmt.Fprintf(&b, "        publish: {allow: [%s, %s]}\n", natsSubject(wire.StationTopic(r.ID, wire.LeafRecords)), natsSubject(wire.StationTopic(r.ID, wire.LeafState)))
		fmt.Fprintf(&b, "        subscribe: {allow: [%s, %s, %s, %s]}}}\n", natsSubject(wire.StationTopic(r.ID, wire.LeafAck)),
			natsSubject(wire.StationTopic(r.ID, wire.LeafConfig)), natsSubject(wire.StationTopic(r.ID, wire.LeafCommands)), natsSubject(wire.FleetConfigTopic))
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String(), nil
}

// NATSStationUser is a station's user in the NATS configuration: the
// subject of its certificate.
func NATSStationUser(id string) string { return "CN=" + id }

// natsSubject is topic as NATS names it, quoted.
func natsSubject(topic string) string { return strconv.Quote(strings.ReplaceAll(topic, "/", ".")) }

// NATSConf returns node n's configuration for files written in dir,
// with accounts (NATSAccounts) inline: nats-server resolves an include
// relative to the including file, which an operator may move.
func NATSConf(dir string, n NATSNode, o NATSOptions, accounts string) string {
	n.fill()
	if o.Cluster == "" {
		o.Cluster = "leifeng"
	}
	if o.MaxFileStore == "" {
		o.MaxFileStore = "20GB"
	}
	var routes []string
	for _, m := range o.Nodes {
		m.fill()
		if m.Name != n.Name {
			routes = append(routes, strconv.Quote(fmt.Sprintf("nats-route://%s:%d", m.Host, m.Route)))
		}
	}
	q := func(name string) string { return strconv.Quote(filepath.Join(dir, name)) }
	tls := fmt.Sprintf("cert_file: %s, key_file: %s, ca_file: %s", q(n.Name+".crt"), q(n.Name+".key"), q("ca.crt"))
	routeTLS := fmt.Sprintf("cert_file: %s, key_file: %s, ca_file: %s", q(n.Name+"-route.crt"), q(n.Name+"-route.key"), q(filepath.Join("route", "ca.crt")))
	replicas := min(3, len(o.Nodes))
	var b strings.Builder
	b.WriteString("# Generated by leifeng-cloud nats-config. Do not edit; generate again.\n")
	fmt.Fprintf(&b, "server_name: %s\n", strconv.Quote(n.Name))
	b.WriteString("# The gateways: TLS, the cloud's password.\n")
	fmt.Fprintf(&b, "listen: %s\ntls { %s }\n", strconv.Quote(fmt.Sprintf("%s:%d", n.Listen, n.Client)), tls)
	fmt.Fprintf(&b, "http: %s\n", strconv.Quote(fmt.Sprintf("127.0.0.1:%d", n.HTTP)))
	fmt.Fprintf(&b, "jetstream { store_dir: %s, max_file_store: %s }\n", strconv.Quote(n.Store), o.MaxFileStore)
	b.WriteString("# The other nodes: each side verifies the other's route certificate.\n")
	fmt.Fprintf(&b, "cluster {\n  name: %s\n  listen: %s\n  routes: [%s]\n  tls { %s, verify: true }\n}\n",
		strconv.Quote(o.Cluster), strconv.Quote(fmt.Sprintf("%s:%d", n.Listen, n.Route)), strings.Join(routes, ", "), routeTLS)
	b.WriteString("# The kiosks: TLS with a client certificate whose subject is the station's user.\n")
	b.WriteString("# Every MQTT stream on three replicas: with fewer than the routes, losing a node\n# stops new MQTT sessions.\n")
	fmt.Fprintf(&b, "mqtt {\n  listen: %s\n  stream_replicas: %d\n  tls { %s, verify_and_map: true }\n}\n",
		strconv.Quote(fmt.Sprintf("%s:%d", n.Listen, n.MQTT)), replicas, tls)
	b.WriteString(accounts)
	return b.String()
}

// WriteNATS writes into dir every node's configuration (NAME.conf, the
// accounts inline), the fleet's CA and the routes'
// CA (route/; both created once, kept after), each node's certificates
// and keys (NAME.crt, NAME.key; NAME-route.crt, NAME-route.key), and a
// client certificate for every registered station (clients/ID.crt,
// clients/ID.key). Stations registered later get theirs from `station add
// --tls-dir DIR`; generate again and reload the servers (SIGHUP) to let
// them in.
func WriteNATS(dir string, keys *Keys, regs []store.Registration, o NATSOptions) error {
	if len(o.Nodes) == 0 {
		return ErrNATSNodes
	}
	if err := os.MkdirAll(filepath.Join(dir, "clients"), 0o700); err != nil {
		return err
	}
	ca, err := loadOrCreateCA(dir)
	if err != nil {
		return err
	}
	routeDir := filepath.Join(dir, "route")
	if err := os.MkdirAll(routeDir, 0o700); err != nil {
		return err
	}
	routeCA, err := loadOrCreateCA(routeDir)
	if err != nil {
		return err
	}
	accounts, err := NATSAccounts(keys, regs)
	if err != nil {
		return err
	}
	files := map[string]string{}
	for _, n := range o.Nodes {
		n.fill()
		cert, key, err := ca.IssueServer(natsNames(n.Host))
		if err != nil {
			return err
		}
		files[n.Name+".crt"], files[n.Name+".key"] = string(cert), string(key)
		if cert, key, err = routeCA.IssueServer(natsNames(n.Host)); err != nil {
			return err
		}
		files[n.Name+"-route.crt"], files[n.Name+"-route.key"] = string(cert), string(key)
		files[n.Name+".conf"] = NATSConf(dir, n, o, accounts)
	}
	for _, r := range regs {
		cert, key, err := ca.Issue(r.ID, false)
		if err != nil {
			return err
		}
		files[filepath.Join("clients", r.ID+".crt")], files[filepath.Join("clients", r.ID+".key")] = string(cert), string(key)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func loadOrCreateCA(dir string) (*CA, error) {
	ca, err := LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return CreateCA(dir)
	}
	return ca, err
}

// natsNames are the names a node's certificate covers: its host, and
// loopback for a gateway or a check on the node itself.
func natsNames(host string) []string {
	names := []string{host}
	for _, n := range []string{"localhost", "127.0.0.1"} {
		if n != host {
			names = append(names, n)
		}
	}
	return names
}
