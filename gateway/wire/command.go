package wire

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Command names a kiosk obeys.
const (
	// CmdReboot restarts the kiosk program (it exits with ExitReboot and
	// its service manager starts it again).
	CmdReboot = "reboot"
	// CmdResync sends every record still in the outbox again, now.
	CmdResync = "resync"
	// CmdReloadConfig re-reads the stored configs and applies them again.
	CmdReloadConfig = "reload_config"
	// CmdUpdateOffer tells the kiosk a firmware version is available; its
	// Args are an UpdateOffer.
	CmdUpdateOffer = "update_offer"
)

// KnownCommand reports whether name is a command this version defines.
func KnownCommand(name string) bool {
	switch name {
	case CmdReboot, CmdResync, CmdReloadConfig, CmdUpdateOffer:
		return true
	}
	return false
}

// UpdateOffer is the argument of CmdUpdateOffer.
type UpdateOffer struct {
	Version string `json:"version"`
	URL     string `json:"url,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// NewCommand makes a command for station with a random nonce, expiring
// after ttl. args, if not nil, is marshalled into Args.
func NewCommand(station, name string, ttl time.Duration, now time.Time, args any) (*Command, error) {
	if !ValidStationID(station) || !KnownCommand(name) {
		return nil, fmt.Errorf("%w: command %q for %q", ErrInvalid, name, station)
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	c := &Command{V: Version, Station: station, Name: name, Nonce: hex.EncodeToString(nonce), Expires: now.Add(ttl)}
	if args != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return nil, err
		}
		c.Args = raw
	}
	return c, nil
}

// EncodeCommand marshals c: the bytes a cloud signs with Seal.
func EncodeCommand(c *Command) ([]byte, error) {
	c.V = Version
	return json.Marshal(c)
}
