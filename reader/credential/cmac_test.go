package credential

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 4493, section 4.
func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhex(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		got, err := CMAC(key, msg[:c.n])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, unhex(t, c.want)) {
			t.Errorf("len %d: %x, want %s", c.n, got, c.want)
		}
	}
}

// NXP AN10922, AES-128 example.
func TestDiversifyAN10922(t *testing.T) {
	got, err := DiversifyKey(unhex(t, "00112233445566778899AABBCCDDEEFF"),
		unhex(t, "04782E21801D80"), unhex(t, "3042F5"), unhex(t, "4E585020416275"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "A8DD63A3B89D54B37CA802473FDA9175"); !bytes.Equal(got, want) {
		t.Fatalf("%X, want %X", got, want)
	}
}
