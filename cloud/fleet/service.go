package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// FleetScope is the scope of the fleet defaults; a station's is
// StationScope(id).
const FleetScope = "fleet"

// StationScope is the config scope of station id.
func StationScope(id string) string { return "station:" + id }

// Publisher sends to the broker; the gateway's MQTT client is one.
type Publisher interface {
	// Publish sends with QoS 1 and waits for the broker to take it.
	Publish(ctx context.Context, topic string, payload []byte) error
	// PublishRetained is Publish with the retain flag.
	PublishRetained(ctx context.Context, topic string, payload []byte) error
}

// Service pushes configs and commands and registers stations.
type Service struct {
	// mu serialises the read-modify-write of pushes and roster refreshes,
	// so two edits never both start from the same document and lose one.
	mu   sync.Mutex
	st   *store.Store
	keys *Keys
	pub  Publisher
	log  *slog.Logger
	// Now is the clock; tests may set it.
	Now func() time.Time
	// StarEligible, if set, is the star level (1–5) each of volunteers
	// may apply for now, for "可申请升级" at their tap; a volunteer
	// missing from the map may apply for none. Nil: no eligibility is
	// shown. Set it before the first refresh.
	StarEligible func(ctx context.Context, volunteers []string) (map[string]int, error)
}

// NewService returns a Service. pub may be nil for a process that only
// registers stations (the CLI); pushing then fails.
func NewService(st *store.Store, keys *Keys, pub Publisher, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, keys: keys, pub: pub, log: log, Now: time.Now}
}

// Push signs doc as the next version of station's config (the fleet
// defaults when station is ""), stores it and publishes it retained. It
// returns the version. Names of volunteers leave masked, and the fleet
// defaults never carry a roster (see sanitize). Every document, the fleet's
// and each station's, carries the revocation list of the cards table as it
// stands (see revocations): whichever push reaches a kiosk next brings it. The version is above every
// earlier one on the scope and at least the Unix time, so that even a cloud
// whose database was restored from an old backup still publishes versions
// the kiosks accept. Push does not check that the station is registered:
// Apply does, for what an administrator pushes.
func (s *Service) Push(ctx context.Context, station string, doc *wire.Config) (uint64, error) {
	if s.pub == nil {
		return 0, errors.New("fleet: not connected to the broker")
	}
	scope, topic := FleetScope, wire.FleetConfigTopic
	if station != "" {
		if !wire.ValidStationID(station) {
			return 0, fmt.Errorf("fleet: bad station ID %q", station)
		}
		scope, topic = StationScope(station), wire.StationTopic(station, wire.LeafConfig)
	}
	now := s.Now()
	prev, err := s.st.Config(ctx, scope)
	var last uint64
	switch {
	case err == nil:
		last = prev.Version
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	c := *doc
	sanitize(&c, station)
	if c.Revoked, err = s.revocations(ctx, c.Revoked, now); err != nil {
		return 0, err
	}
	c.Version = max(last+1, uint64(now.Unix()))
	c.Station = station
	c.Issued = now.UTC()
	payload, err := wire.EncodeConfig(&c)
	if err != nil {
		return 0, err
	}
	sealed, err := wire.Seal(s.keys.ConfigKey, s.keys.KeyID, payload)
	if err != nil {
		return 0, err
	}
	if err := s.st.SaveConfig(ctx, store.ConfigDoc{Scope: scope, Version: c.Version, Doc: payload, Sealed: sealed, Pushed: now}); err != nil {
		return 0, err
	}
	s.carried(ctx, &c, now)
	if err := s.pub.PublishRetained(ctx, topic, sealed); err != nil {
		// Stored: Republish at the next start, or the next push, sends it.
		return c.Version, fmt.Errorf("fleet: config %s version %d stored but not published: %w", scope, c.Version, err)
	}
	s.log.Info("config pushed", "scope", scope, "version", c.Version)
	return c.Version, nil
}

// Targets resolves a push target: one station, every registered station
// of a county, or (all) the fleet defaults, returned as the station "".
func (s *Service) Targets(ctx context.Context, station, county string, all bool) ([]string, error) {
	switch {
	case all:
		return []string{""}, nil
	case station != "":
		return []string{station}, nil
	case county != "":
		regs, err := s.st.Registrations(ctx, county)
		if err != nil {
			return nil, err
		}
		if len(regs) == 0 {
			return nil, fmt.Errorf("%w: no station registered in county %q", ErrUnknownStation, county)
		}
		ids := make([]string, len(regs))
		for i, r := range regs {
			ids[i] = r.ID
		}
		return ids, nil
	}
	return nil, errors.New("fleet: say which station, which county, or all")
}

// Republish publishes every stored config again, retained: a broker
// without persistence (the embedded one) forgets retained messages when
// the cloud restarts.
func (s *Service) Republish(ctx context.Context) error {
	docs, err := s.st.Configs(ctx)
	if err != nil {
		return err
	}
	for _, d := range docs {
		topic := wire.FleetConfigTopic
		if id, ok := cutScope(d.Scope); ok {
			topic = wire.StationTopic(id, wire.LeafConfig)
		}
		if err := s.pub.PublishRetained(ctx, topic, d.Sealed); err != nil {
			return fmt.Errorf("fleet: republish %s: %w", d.Scope, err)
		}
	}
	return nil
}

func cutScope(scope string) (string, bool) {
	const p = "station:"
	if len(scope) > len(p) && scope[:len(p)] == p {
		return scope[len(p):], true
	}
	return "", false
}

// Command signs a command for station, valid for ttl, records it and
// publishes it (QoS 1, not retained: a kiosk offline gets it from its
// persistent session if it returns before the command expires). A station
// never registered gets nothing: ErrUnknownStation. CommandStatus tells
// what became of it.
func (s *Service) Command(ctx context.Context, station, name string, args any, ttl time.Duration) (*wire.Command, error) {
	if s.pub == nil {
		return nil, errors.New("fleet: not connected to the broker")
	}
	if err := s.Known(ctx, station); err != nil {
		return nil, err
	}
	now := s.Now()
	c, err := wire.NewCommand(station, name, ttl, now, args)
	if err != nil {
		return nil, err
	}
	sealed, err := s.SealCommand(c)
	if err != nil {
		return nil, err
	}
	// Recorded before it is sent, so an answer that comes at once finds it.
	if err := s.st.SaveCommand(ctx, store.Command{Nonce: c.Nonce, Station: station, Name: name, Sent: now, Expires: c.Expires}); err != nil {
		return nil, err
	}
	if err := s.pub.Publish(ctx, wire.StationTopic(station, wire.LeafCommands), sealed); err != nil {
		return nil, err
	}
	s.log.Info("command sent", "station", station, "name", name, "nonce", c.Nonce, "expires", c.Expires)
	return c, nil
}

// SealCommand signs c with the config key.
func (s *Service) SealCommand(c *wire.Command) ([]byte, error) {
	payload, err := wire.EncodeCommand(c)
	if err != nil {
		return nil, err
	}
	return wire.Seal(s.keys.ConfigKey, s.keys.KeyID, payload)
}

// AddStation registers station id with new broker credentials and returns
// its bundle. broker is the URL the kiosk will use.
func (s *Service) AddStation(ctx context.Context, id, name, county, broker string) (*wire.Bundle, error) {
	return s.AddStationIn(ctx, id, name, county, "", broker)
}

// AddStationIn is AddStation for a station that belongs to community (an
// area code of level community; "" for none yet), which fails with
// store.ErrNotCommunity for a code that is not one.
func (s *Service) AddStationIn(ctx context.Context, id, name, county, community, broker string) (*wire.Bundle, error) {
	if !wire.ValidStationID(id) {
		return nil, fmt.Errorf("station ID %q: need 1 to 64 lowercase letters, digits and inner hyphens", id)
	}
	if id == GatewayUser {
		return nil, fmt.Errorf("station ID %q is reserved for the cloud", id)
	}
	secret := NewSecret()
	hash, err := HashPassword(secret)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddStation(ctx, store.Registration{ID: id, Name: name, County: county, Community: community, SecretHash: hash, Created: s.Now()}); err != nil {
		return nil, err
	}
	b := &wire.Bundle{
		V: wire.Version, Station: id, Broker: broker, Username: id, Password: secret, ConfigKeys: s.keys.Public(),
	}
	// The kiosk refuses configs older than those in force now: a broker
	// cannot hand a fresh kiosk an old document with an old revocation list.
	for scope, min := range map[string]*uint64{FleetScope: &b.MinFleetConfig, StationScope(id): &b.MinStationConfig} {
		d, err := s.st.Config(ctx, scope)
		if err == nil {
			*min = d.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return b, nil
}

// Creds are the registered stations' broker credentials, for the embedded
// broker's auth hook.
type Creds struct{ Store *store.Store }

// StationSecret implements broker.Credentials.
func (c Creds) StationSecret(ctx context.Context, id string) (string, bool, error) {
	r, err := c.Store.Registration(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return r.SecretHash, true, nil
}

// CheckPassword implements broker.Credentials.
func (Creds) CheckPassword(hash, password string) bool { return CheckPassword(hash, password) }
