// Package fleet is the cloud's side of running the stations: the config
// signing key and the gateway's broker credential kept under --data,
// station registration with broker credentials and the bundle a kiosk
// joins with, pushing signed configs retained and sending signed commands,
// the alerts computed from what stations report, and the Mosquitto
// configuration (password file, ACL, TLS certificates) generated from the
// registered stations.
package fleet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeysFile is the file under --data that holds the cloud's secrets.
const KeysFile = "cloud-keys.json"

// GatewayUser is the broker user name of the cloud's own MQTT client (the
// gateway, which also publishes configs and commands).
const GatewayUser = "leifeng-cloud"

// Keys are the cloud's secrets: the Ed25519 key that signs configs and
// commands, and the gateway's broker password. (A file written before the
// cloud had users also holds an "admin_token", which is ignored: the API
// now answers only users and their tokens, kept in the database.)
type Keys struct {
	KeyID           string             `json:"config_key_id"`
	ConfigKey       ed25519.PrivateKey `json:"config_key"`
	GatewayPassword string             `json:"gateway_password"`
}

// LoadKeys reads the keys under dir, creating them on first use (mode
// 0600). Two processes creating them at once agree: the file is created
// exclusively and the loser reads the winner's.
func LoadKeys(dir string) (*Keys, error) {
	path := filepath.Join(dir, KeysFile)
	k, err := readKeys(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	k = &Keys{KeyID: "cloud-" + hex.EncodeToString(sum[:4]), ConfigKey: priv, GatewayPassword: NewSecret()}
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKeys(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// ReadKeys reads the keys under dir without creating them (a gateway on
// another host, given a copy of the file).
func ReadKeys(dir string) (*Keys, error) { return readKeys(filepath.Join(dir, KeysFile)) }

func readKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := new(Keys)
	if err := json.Unmarshal(data, k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if k.KeyID == "" || len(k.ConfigKey) != ed25519.PrivateKeySize || k.GatewayPassword == "" {
		return nil, fmt.Errorf("%s: incomplete keys", path)
	}
	return k, nil
}

// Public returns the config public key by key ID, as a bundle carries it.
func (k *Keys) Public() map[string][]byte {
	return map[string][]byte{k.KeyID: k.ConfigKey.Public().(ed25519.PublicKey)}
}
