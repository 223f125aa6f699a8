package people

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the file under the cloud's --data directory that holds the key
// of ID numbers: 32 random bytes, hex-encoded. Every cloud process that
// reads or writes volunteers (serve, import, each node sharing one
// PostgreSQL) needs the same file; without it the stored numbers cannot
// be read and the same person is no longer recognised.
const KeyFile = "people-key"

// ErrSealed is returned by Open for a sealed number that does not open
// with this key and volunteer (another key, or another row's value).
var ErrSealed = errors.New("people: sealed ID number does not open with this key")

// Vault seals and hashes ID numbers with one key. Two keys are derived
// from it with HKDF, one for AES-256-GCM and one for HMAC-SHA256, so that
// neither use weakens the other. It is safe for concurrent use.
type Vault struct {
	aead cipher.AEAD
	mac  []byte
}

// Sealed is an ID number as stored: Cipher to read it back (with the key),
// Hash to find the same person, Masked to show it.
type Sealed struct {
	Cipher string `json:"-"`
	Hash   string `json:"-"`
	Masked string `json:"id_number_masked"`
}

// NewVault makes a Vault of a 32-byte key.
func NewVault(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("people: key of %d bytes, want 32", len(key))
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, "leifeng people id-number aes-256-gcm", 32)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, key, nil, "leifeng people id-number hmac-sha256", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead, mac: macKey}, nil
}

// LoadVault reads the key under dir (KeyFile), creating it on first use
// with mode 0600. Two processes creating it at once agree: the file is
// created exclusively and the loser reads the winner's.
func LoadVault(dir string) (*Vault, error) {
	path := filepath.Join(dir, KeyFile)
	v, err := readVault(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readVault(path)
	}
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("people: write %s: %w", path, err)
	}
	return NewVault(key)
}

func readVault(path string) (*Vault, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("people: %s: %w", path, err)
	}
	v, err := NewVault(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Hash is the keyed hash of an ID number: equal for the same number under
// the same key, and without the key no guess of a number can be checked
// against it (ID numbers are few enough to enumerate, so a plain hash
// would hide nothing).
func (v *Vault) Hash(id IDNumber) string {
	m := hmac.New(sha256.New, v.mac)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// Check is a value that tells this key from another without revealing it.
// The store keeps the first one it sees, so a process started with the
// wrong key file is refused before it registers anyone twice.
func (v *Vault) Check() string {
	m := hmac.New(sha256.New, v.mac)
	m.Write([]byte("leifeng people key check"))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// Seal encrypts id for the volunteer volunteerID: the ciphertext is bound
// to that ID, so it cannot be copied to another row and read as theirs.
func (v *Vault) Seal(volunteerID string, id IDNumber) Sealed {
	nonce := make([]byte, v.aead.NonceSize())
	rand.Read(nonce)
	ct := v.aead.Seal(nonce, nonce, []byte(id), []byte(volunteerID))
	return Sealed{
		Cipher: "v1:" + base64.RawStdEncoding.EncodeToString(ct),
		Hash:   v.Hash(id),
		Masked: id.Masked(),
	}
}

// Open decrypts the number sealed for volunteerID.
func (v *Vault) Open(volunteerID, sealed string) (IDNumber, error) {
	b64, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", fmt.Errorf("%w: unknown format", ErrSealed)
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(ct) < v.aead.NonceSize() {
		return "", fmt.Errorf("%w: malformed", ErrSealed)
	}
	n := v.aead.NonceSize()
	pt, err := v.aead.Open(nil, ct[:n], ct[n:], []byte(volunteerID))
	if err != nil {
		return "", ErrSealed
	}
	return IDNumber(pt), nil
}

// SealText encrypts a personal value other than the ID number (a field's
// value in the volunteer's history) for the volunteer volunteerID and
// the purpose what, both bound to the ciphertext. "" stays "".
func (v *Vault) SealText(volunteerID, what, value string) string {
	if value == "" {
		return ""
	}
	nonce := make([]byte, v.aead.NonceSize())
	rand.Read(nonce)
	ct := v.aead.Seal(nonce, nonce, []byte(value), []byte(volunteerID+"\x00"+what))
	return "t1:" + base64.RawStdEncoding.EncodeToString(ct)
}

// OpenText decrypts a value sealed by SealText with the same volunteerID
// and what.
func (v *Vault) OpenText(volunteerID, what, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b64, ok := strings.CutPrefix(sealed, "t1:")
	if !ok {
		return "", fmt.Errorf("%w: unknown format", ErrSealed)
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	n := v.aead.NonceSize()
	if err != nil || len(ct) < n {
		return "", fmt.Errorf("%w: malformed", ErrSealed)
	}
	pt, err := v.aead.Open(nil, ct[:n], ct[n:], []byte(volunteerID+"\x00"+what))
	if err != nil {
		return "", ErrSealed
	}
	return string(pt), nil
}
