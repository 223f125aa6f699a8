package cards

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"leifeng/reader"
)

// KeyFile is the file under --data that holds the cloud's online card
// issuer key, in the format of `leifeng-card keygen` (reader.PrivateKeyFile).
const KeyFile = "cloud-issuer.key"

// DefaultKeyID is the issuer key ID the cloud's key gets when nobody chose
// one: high enough not to meet the small IDs given to desk keys made with
// `leifeng-card keygen -id N`.
const DefaultKeyID = 100

// LoadKey reads the cloud's issuer key under dir, creating it with key ID
// id on first use (mode 0600). Two processes creating it at once agree:
// the file is created exclusively and the loser reads the winner's. An
// existing key keeps its ID whatever id says; created reports a new key.
func LoadKey(dir string, id uint16) (k *reader.PrivateKeyFile, created bool, err error) {
	path := filepath.Join(dir, KeyFile)
	k, err = readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, false, err
	}
	k = &reader.PrivateKeyFile{KeyID: id, Seed: make([]byte, ed25519.SeedSize)}
	rand.Read(k.Seed)
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return nil, false, err
	}
	// Written whole to a temporary file and linked into place: a second
	// process starting at the same moment either links first (and this
	// one reads its key) or finds the whole file, never a partial one.
	tmp, err := os.CreateTemp(dir, KeyFile+".*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		k, err = readKey(path)
		return k, false, err
	} else if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

func readKey(path string) (*reader.PrivateKeyFile, error) {
	k := new(reader.PrivateKeyFile)
	if err := reader.ReadJSONFile(path, k); err != nil {
		return nil, err
	}
	if len(k.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not an issuer key", path)
	}
	return k, nil
}

// PublicKey is k's public half as `leifeng-card keyset sign -pub` takes it.
func PublicKey(k *reader.PrivateKeyFile) reader.PublicKeyFile {
	return reader.PublicKeyFile{KeyID: k.KeyID, PublicKey: reader.Hex(ed25519.NewKeyFromSeed(k.Seed).Public().(ed25519.PublicKey))}
}
