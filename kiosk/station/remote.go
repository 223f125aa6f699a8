package station

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/config"
	"leifeng/kiosk/uplink"
	"leifeng/reader"
)

// bundleTLS builds the TLS config of a bundle with a CA (and a client
// certificate), or nil for a plain-TCP bundle.
func bundleTLS(b *wire.Bundle) (*tls.Config, error) {
	if b.CACert == "" {
		return nil, nil
	}
	c, err := uplink.TLSConfig(b.CACert, b.ClientCert, b.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return c, nil
}

// inbox carries out what arrives from the cloud: configs go to the
// manager, commands are verified by it and then obeyed.
type inbox struct {
	station string
	mgr     *config.Manager
	up      *uplink.Uplink
	log     *slog.Logger
	// fw applies update offers (nil: offers are only recorded).
	fw *firmware
	// counts gives the refused records and reader recoveries to report.
	counts func() (rejected, recoveries int)
	// reboot ends Run with ErrReboot.
	reboot func()

	last chan lastCommand // the last command's outcome, for the state
}

// lastCommand is the last command's outcome and its nonce.
type lastCommand struct{ outcome, nonce string }

func newInbox(station string, mgr *config.Manager, log *slog.Logger, reboot func()) *inbox {
	return &inbox{station: station, mgr: mgr, log: log, reboot: reboot, last: make(chan lastCommand, 1)}
}

// Message implements uplink.Inbox.
func (in *inbox) Message(topic string, payload []byte) {
	switch topic {
	case wire.FleetConfigTopic:
		in.mgr.Offer(config.Fleet, payload)
	case wire.StationTopic(in.station, wire.LeafConfig):
		in.mgr.Offer(config.Station, payload)
	case wire.StationTopic(in.station, wire.LeafCommands):
		in.command(payload)
	}
	in.up.Refresh()
}

func (in *inbox) command(payload []byte) {
	nonce := wire.PeekCommandNonce(payload)
	setLast := func(s string) { in.setLast(lastCommand{s, nonce}) }
	c, err := in.mgr.Command(payload)
	if err != nil {
		in.log.Warn("command refused", "err", err, "reason", wire.Reason(err))
		setLast("refused: " + err.Error())
		return
	}
	in.log.Info("command", "name", c.Name, "nonce", c.Nonce)
	switch c.Name {
	case wire.CmdReboot:
		setLast(c.Name + ": ok")
		in.reboot()
	case wire.CmdResync:
		in.up.Resync()
		setLast(c.Name + ": ok")
	case wire.CmdReloadConfig:
		if err := in.mgr.Reload(); err != nil {
			setLast(c.Name + ": " + err.Error())
			return
		}
		setLast(c.Name + ": ok")
	case wire.CmdUpdateOffer:
		var o wire.UpdateOffer
		if err := json.Unmarshal(c.Args, &o); err != nil {
			setLast(c.Name + ": bad offer: " + err.Error())
			return
		}
		if err := in.mgr.RecordOffer(o); err != nil {
			setLast(c.Name + ": " + err.Error())
			return
		}
		if in.fw.offer(o) {
			// Progress and outcome are reported in the state's update.
			setLast(c.Name + ": applying " + o.Version)
			return
		}
		setLast(c.Name + ": recorded " + o.Version)
	}
}

func (in *inbox) setLast(s lastCommand) {
	select {
	case <-in.last:
	default:
	}
	in.last <- s
}

// report fills the state's configuration and command fields.
func (in *inbox) report(st *wire.State) {
	s := in.mgr.Status()
	st.ConfigVersion, st.ConfigError = s.StationVersion, s.StationError
	st.FleetConfigVersion, st.FleetConfigError = s.FleetVersion, s.FleetError
	st.UpdateOffered = s.UpdateOffered
	in.fw.report(st)
	if in.counts != nil {
		st.Rejected, st.ReaderRecoveries = in.counts()
	}
	select {
	case last := <-in.last:
		in.last <- last
		st.LastCommand, st.LastCommandNonce = last.outcome, last.nonce
	default:
	}
}

// applyRules sets the attendance rules from cfg.
func applyRules(book *attendance.Book, cfg *wire.Config, log *slog.Logger) {
	var debounce, maxSession time.Duration
	if cfg.Reader != nil {
		debounce = time.Duration(cfg.Reader.DebounceMillis) * time.Millisecond
	}
	if cfg.Rules != nil {
		maxSession = time.Duration(cfg.Rules.MaxSessionMinutes) * time.Minute
	}
	book.SetRules(debounce, maxSession)
	d, m := book.Rules()
	log.Info("rules from config", "config", cfg.Version, "debounce", d, "max_session", m)
}

// addCardKeys sets the card verifier's issuer keys and revocations: the
// keys the kiosk was provisioned with (--issuer-key, the bundle's issuer
// keys) and those of ks, the root-signed key set in use (nil for none),
// less every key ks revokes; the serials of --revoked and of cfg, the
// config in use. The online config itself adds no issuer key: its
// trusted_keys never get this far (the config manager refuses them). It
// runs at start and again on every config applied, while the reader runs:
// the verifier swaps the whole set at once, so the next tap sees it. It
// returns how many issuer keys are trusted.
func addCardKeys(cards *reader.Config, b *wire.Bundle, ks *wire.KeySet, cfg *wire.Config) int {
	// The fields are the start-up set; Update never changes them.
	keys := maps.Clone(cards.Verifier.Keys)
	if keys == nil {
		keys = map[uint16]ed25519.PublicKey{}
	}
	var add []wire.TrustedKey
	if b != nil {
		add = append(add, b.IssuerKeys...)
	}
	if ks != nil {
		add = append(add, ks.Keys...)
	}
	for _, k := range add {
		if len(k.PublicKey) == ed25519.PublicKeySize {
			keys[k.ID] = ed25519.PublicKey(k.PublicKey)
		}
	}
	if ks != nil {
		for _, id := range ks.RevokedKeys {
			delete(keys, id)
		}
	}
	revoked := maps.Clone(cards.Verifier.Revoked)
	if revoked == nil {
		revoked = map[string]bool{}
	}
	for _, s := range cfg.Revoked {
		revoked[s] = true
	}
	cards.Verifier.Update(keys, revoked)
	return len(keys)
}
