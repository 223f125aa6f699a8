package wire

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// The nonce is read from any command envelope, signed well or not, and
// nothing else yields one.
func TestPeekCommandNonce(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	c, err := NewCommand("pe-a", CmdResync, time.Minute, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := EncodeCommand(c)
	env, err := Seal(priv, "k1", payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := PeekCommandNonce(env); got != c.Nonce {
		t.Fatalf("nonce %q, want %q", got, c.Nonce)
	}
	for _, bad := range []string{"", "{", `{"payload":"bm90IGpzb24="}`, `[1]`} {
		if got := PeekCommandNonce([]byte(bad)); got != "" {
			t.Errorf("%q: nonce %q", bad, got)
		}
	}
}
