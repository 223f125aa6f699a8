package reader

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"leifeng/reader/credential"
)

// Hex is a byte string that JSON encodes as hex.
type Hex []byte

// MarshalJSON implements json.Marshaler.
func (h Hex) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		return fmt.Errorf("reader: %q is not hex", s)
	}
	*h = v
	return nil
}

// PrivateKeyFile is the issuer's signing key file (`leifeng-card keygen`
// writes it; keep it offline, mode 0600).
type PrivateKeyFile struct {
	KeyID uint16 `json:"key_id"`
	Seed  Hex    `json:"seed"`
}

// PublicKeyFile is an issuer public key, what kiosks trust.
type PublicKeyFile struct {
	KeyID     uint16 `json:"key_id"`
	PublicKey Hex    `json:"public_key"`
}

// RootKeyFile is the issuer root's signing key file (`leifeng-card keygen
// -root` writes it). The root signs card-issuer key sets; keep it offline,
// mode 0600, never on a networked machine.
type RootKeyFile struct {
	RootID string `json:"root_id"`
	Seed   Hex    `json:"seed"`
}

// RootPublicKeyFile is the issuer root's public key: what a kiosk is
// provisioned with (--issuer-root, or issuer_roots in its bundle).
type RootPublicKeyFile struct {
	RootID    string `json:"root_id"`
	PublicKey Hex    `json:"public_key"`
}

// LoadRoots reads issuer root public key files into the map, by root ID,
// that wire.OpenKeySet takes.
func LoadRoots(paths []string) (map[string]ed25519.PublicKey, error) {
	roots := make(map[string]ed25519.PublicKey, len(paths))
	for _, p := range paths {
		var k RootPublicKeyFile
		if err := ReadJSONFile(p, &k); err != nil {
			return nil, err
		}
		if k.RootID == "" || len(k.PublicKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: not an issuer root public key", p)
		}
		roots[k.RootID] = ed25519.PublicKey(k.PublicKey)
	}
	return roots, nil
}

// SUNKeyFile holds the fleet's NTAG 424 DNA SDM master keys.
type SUNKeyFile struct {
	MetaRead Hex `json:"meta_read"`
	FileRead Hex `json:"file_read"`
}

// ReadJSONFile reads the JSON file at path into v.
func ReadJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadConfig builds the reader's checks from files: the trusted issuer
// public keys (at least one), a revocation list (one serial a line, #
// comments; optional) and the SDM master keys (optional).
func LoadConfig(pubs []string, revoked, sun string) (*Config, error) {
	if len(pubs) == 0 {
		return nil, errors.New("at least one trusted issuer public key is required")
	}
	ver := &credential.Verifier{Keys: map[uint16]ed25519.PublicKey{}, Revoked: map[string]bool{}}
	for _, p := range pubs {
		var k PublicKeyFile
		if err := ReadJSONFile(p, &k); err != nil {
			return nil, err
		}
		if len(k.PublicKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: not a public key", p)
		}
		ver.Keys[k.KeyID] = ed25519.PublicKey(k.PublicKey)
	}
	if revoked != "" {
		b, err := os.ReadFile(revoked)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				ver.Revoked[l] = true
			}
		}
	}
	cfg := &Config{Verifier: ver}
	if sun != "" {
		var k SUNKeyFile
		if err := ReadJSONFile(sun, &k); err != nil {
			return nil, err
		}
		cfg.SUN = &credential.SUNKeys{MetaRead: k.MetaRead, FileRead: k.FileRead}
	}
	return cfg, nil
}
