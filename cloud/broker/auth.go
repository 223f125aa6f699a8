package broker

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"log/slog"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"leifeng/gateway/wire"
)

// Credentials answer who may connect.
type Credentials interface {
	// StationSecret returns the password hash of registered station id,
	// ok false if there is none.
	StationSecret(ctx context.Context, id string) (hash string, ok bool, err error)
	// CheckPassword reports whether password matches hash.
	CheckPassword(hash, password string) bool
}

// Auth is the broker's authentication and ACL: the cloud's own client
// (user Cloud.User) has every topic; a station, whose user name and
// client ID are both its station ID, may publish only its records and
// state, and subscribe only to its ack, config and commands and to the
// fleet config. Everyone else is refused at CONNECT.
type Auth struct {
	mqtt.HookBase
	// CloudUser and CloudPassword are the gateway's credential.
	CloudUser, CloudPassword string
	Creds                    Credentials
	Log                      *slog.Logger
}

// ID implements mqtt.Hook.
func (a *Auth) ID() string { return "leifeng-auth" }

// Provides implements mqtt.Hook.
func (a *Auth) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate implements mqtt.Hook.
func (a *Auth) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user, pass := string(pk.Connect.Username), string(pk.Connect.Password)
	var ok bool
	if cn, has := clientCN(cl); has {
		// A client certificate the TLS listener verified against the
		// fleet CA names the client: the cloud, or a station connecting
		// under its own client ID. A user name, if sent, must agree.
		// A station must still be registered: removing it revokes its
		// certificate too.
		ok = (user == "" || user == cn) && (cn == a.CloudUser || (cl.ID == cn && a.registered(cn)))
		if ok {
			user = cn
			cl.Properties.Username = []byte(cn)
		}
		if ok && cn == a.CloudUser {
			return true
		}
	} else if user == a.CloudUser && a.CloudPassword != "" {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(a.CloudPassword)) == 1
	} else {
		ok = a.station(cl.ID, user, pass)
	}
	if ok && pk.Connect.WillFlag && !a.OnACLCheck(&mqtt.Client{ID: cl.ID, Properties: mqtt.ClientProperties{Username: []byte(user)}}, pk.Connect.WillTopic, true) {
		// A last will is published by the broker on the client's behalf;
		// it must be a topic the client could publish itself.
		ok = false
	}
	if !ok {
		a.Log.Warn("broker refused a client", "client", cl.ID, "user", user, "remote", cl.Net.Remote)
	}
	return ok
}

func (a *Auth) registered(id string) bool {
	if !wire.ValidStationID(id) || a.Creds == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, ok, err := a.Creds.StationSecret(ctx, id)
	if err != nil {
		a.Log.Error("broker cannot read station credentials", "station", id, "err", err)
	}
	return ok && err == nil
}

func (a *Auth) station(clientID, user, pass string) bool {
	if !wire.ValidStationID(user) || clientID != user || a.Creds == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hash, ok, err := a.Creds.StationSecret(ctx, user)
	if err != nil {
		a.Log.Error("broker cannot read station credentials", "station", user, "err", err)
		return false
	}
	return ok && a.Creds.CheckPassword(hash, pass)
}

// clientCN returns the CN of the client certificate a TLS listener
// verified, if there is one.
func clientCN(cl *mqtt.Client) (string, bool) {
	c, ok := cl.Net.Conn.(interface {
		ConnectionState() (tls.ConnectionState, bool)
	})
	if !ok {
		return "", false
	}
	st, isTLS := c.ConnectionState()
	if !isTLS || len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return "", false
	}
	return st.VerifiedChains[0][0].Subject.CommonName, true
}

// OnACLCheck implements mqtt.Hook.
func (a *Auth) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	if user == a.CloudUser && a.CloudPassword != "" {
		return true
	}
	return StationMay(user, topic, write)
}

// StationMay is the station ACL: whether station may publish (write) or
// subscribe to topic. Wildcards are never granted.
func StationMay(station, topic string, write bool) bool {
	if !wire.ValidStationID(station) || strings.ContainsAny(topic, "+#") {
		return false
	}
	if write {
		return topic == wire.StationTopic(station, wire.LeafRecords) || topic == wire.StationTopic(station, wire.LeafState)
	}
	switch topic {
	case wire.StationTopic(station, wire.LeafAck), wire.StationTopic(station, wire.LeafConfig),
		wire.StationTopic(station, wire.LeafCommands), wire.FleetConfigTopic:
		return true
	}
	return false
}
