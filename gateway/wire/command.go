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

// UpdateOffer is the argument of CmdUpdateOffer. The command's signature
// only says the cloud wants the kiosk to update; what is installed is
// decided by the release's own TUF metadata, signed by the offline
// targets key (firmware/repo).
type UpdateOffer struct {
	Version string `json:"version"`
	// URL is the TUF repository's base URL (metadata/ and targets/
	// under it).
	URL string `json:"url,omitempty"`
	// SHA256, if set, must equal the signed target's hash.
	SHA256 string `json:"sha256,omitempty"`
	// Target is the release's TUF target name.
	Target string `json:"target,omitempty"`
}

// Update steps a kiosk reports in State.Update.
const (
	UpdateOffered     = "offered"
	UpdateDownloading = "downloading"
	UpdateVerified    = "verified"
	UpdateInstalled   = "installed"
	UpdateTrying      = "trying"
	UpdateCommitted   = "committed"
	UpdateRolledBack  = "rolled_back"
	UpdateFailed      = "failed"
)

// UpdateStatus is where a kiosk's firmware update stands.
type UpdateStatus struct {
	Version string `json:"version"`
	// Step is one of the Update* steps.
	Step string `json:"step"`
	// Done and Total are the bytes downloaded so far and the bundle's size.
	Done  int64 `json:"done,omitempty"`
	Total int64 `json:"total,omitempty"`
	// Reason says why it failed or was rolled back (Chinese, for the console).
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
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
