package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/internal/cli"
	"leifeng/reader"
	"leifeng/reader/credential"
)

func runCard(t *testing.T, want int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if got := cli.Report("leifeng-card", run(context.Background(), args, &out, &errb), &errb); got != want {
		t.Fatalf("leifeng-card %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, want, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

func TestIssueReadVerify(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runCard(t, 0, "keygen", "-id", "3", "-out", p("issuer"))
	runCard(t, 0, "keygen", "-sun", "-out", p("sun"))
	for media, uid := range map[string]string{
		"classic1k": "3A5C9107", "ntag213": "046B21C25F7180", "ntag215": "046B21C25F7181",
		"ntag216": "046B21C25F7182", "ntag424": "046B21C25F7183",
	} {
		img := p(media + ".json")
		runCard(t, 0, "issue", "-key", p("issuer.key"), "-volunteer", "PE-530802-000123", "-serial", "C-"+media,
			"-issued", "2026-01-01", "-expires", "2099-12-31", "-media", media, "-uid", uid, "-sun-keys", p("sun.json"), "-out", img)
		out := runCard(t, 0, "verify", "-pub", p("issuer.pub"), "-image", img)
		if !strings.Contains(out, "valid") || !strings.Contains(out, "PE-530802-000123") {
			t.Fatalf("verify %s: %s", media, out)
		}
		out = runCard(t, 0, "read", "-pub", p("issuer.pub"), "-sun-keys", p("sun.json"), "-image", img)
		var tap tapJSON
		if err := json.Unmarshal([]byte(out), &tap); err != nil {
			t.Fatalf("read %s: %v in %q", media, err, out)
		}
		if tap.Volunteer != "PE-530802-000123" || tap.Media != media || tap.Error != "" {
			t.Fatalf("read %s: %+v", media, tap)
		}
		if media == "ntag424" && tap.Counter != 1 {
			t.Fatalf("ntag424 counter %d", tap.Counter)
		}
	}

	// Revoked, another issuer, tampered image.
	os.WriteFile(p("revoked.txt"), []byte("# revoked\nC-ntag215\n"), 0o644)
	out := runCard(t, 1, "read", "-pub", p("issuer.pub"), "-revoked", p("revoked.txt"), "-image", p("ntag215.json"))
	if !strings.Contains(out, `"code":"revoked"`) {
		t.Fatalf("revoked: %s", out)
	}
	runCard(t, 0, "keygen", "-id", "4", "-out", p("other"))
	out = runCard(t, 1, "verify", "-pub", p("other.pub"), "-image", p("ntag215.json"))
	if !strings.Contains(out, "unknown issuer key") {
		t.Fatalf("other issuer: %s", out)
	}
	b, _ := os.ReadFile(p("ntag215.json"))
	var im map[string]any
	json.Unmarshal(b, &im)
	im["uid"] = "046B21C25F71FF" // the genuine payload on another card
	b, _ = json.Marshal(im)
	os.WriteFile(p("copy.json"), b, 0o644)
	out = runCard(t, 1, "read", "-pub", p("issuer.pub"), "-image", p("copy.json"))
	if !strings.Contains(out, "another card UID") {
		t.Fatalf("copied: %s", out)
	}
}

func TestUsage(t *testing.T) {
	runCard(t, 2)
	runCard(t, 2, "frobnicate")
	runCard(t, 1, "issue", "-volunteer", "x")
	runCard(t, 1, "read", "-image", "nope.json")
}

// TestKeySetSignVerify: the root made by keygen -root signs a key set of
// issuer keys; verify accepts it with the root's public key and refuses it
// with another root's.
func TestKeySetSignVerify(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runCard(t, 0, "keygen", "-root", "-root-id", "pe-root-2026", "-out", p("root"))
	runCard(t, 0, "keygen", "-root", "-out", p("other"))
	runCard(t, 0, "keygen", "-id", "3", "-out", p("issuer"))
	if fi, err := os.Stat(p("root.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key file: %v %v", fi, err)
	}
	out := runCard(t, 0, "keyset", "sign", "-root", p("root.key"), "-pub", p("issuer.pub"), "-revoke-key", "2", "-version", "7", "-out", p("keyset.json"))
	if !strings.Contains(out, "key set 7") {
		t.Fatalf("sign: %s", out)
	}
	out = runCard(t, 0, "keyset", "verify", "-root", p("root.pub"), "-in", p("keyset.json"))
	if !strings.Contains(out, "trusts issuer key 3") || !strings.Contains(out, "revokes issuer key 2") || !strings.Contains(out, "valid") {
		t.Fatalf("verify: %s", out)
	}
	if out := runCard(t, 1, "keyset", "verify", "-root", p("other.pub"), "-in", p("keyset.json")); !strings.Contains(out, "not trusted") {
		t.Fatalf("verify with another root: %s", out)
	}
	runCard(t, 1, "keyset", "sign", "-root", p("issuer.key"), "-pub", p("issuer.pub"), "-out", p("bad.json"))
}

// TestWriteCloudCredential: the answer of the cloud's issue call, saved
// to a file, is laid out by `write` on the card it was issued for; the
// card verifies and carries the masked name; a file that is not such an
// answer is refused.
func TestWriteCloudCredential(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runCard(t, 0, "keygen", "-id", "100", "-out", p("cloud"))
	var pk reader.PrivateKeyFile
	if err := reader.ReadJSONFile(p("cloud.key"), &pk); err != nil {
		t.Fatal(err)
	}
	uid := []byte{0x04, 0xA2, 0x3B, 0x1C, 0x55, 0x80, 0x91}
	c := &credential.Credential{UID: uid, Volunteer: "PE-530802-000123", Serial: "C2026-0A1B2C3D4E", Name: "王*明",
		Issued: time.Now(), Expires: time.Now().AddDate(3, 0, 0)}
	b, err := c.Sign(100, ed25519.NewKeyFromSeed(pk.Seed))
	if err != nil {
		t.Fatal(err)
	}
	for _, media := range []string{"ntag215", "classic1k"} {
		answer := map[string]any{"card": map[string]any{"serial": c.Serial}, "write": reader.CredentialFile{
			Format: reader.CredentialFormat, Serial: c.Serial, Volunteer: c.Volunteer, Name: c.Name, UID: uid,
			Media: media, Expires: c.Expires.Format("2006-01-02"), KeyID: 100, Credential: b}}
		j, _ := json.Marshal(answer)
		os.WriteFile(p("answer.json"), j, 0o600)
		out := runCard(t, 0, "write", "-in", p("answer.json"), "-out", p(media+".json"))
		if !strings.Contains(out, "王*明") || !strings.Contains(out, media) {
			t.Fatalf("write: %s", out)
		}
		out = runCard(t, 0, "verify", "-pub", p("cloud.pub"), "-image", p(media+".json"))
		if !strings.Contains(out, "name 王*明, volunteer PE-530802-000123, serial C2026-0A1B2C3D4E") || !strings.Contains(out, "valid") {
			t.Fatalf("verify %s: %s", media, out)
		}
	}
	os.WriteFile(p("bad.json"), []byte(`{"format":"leifeng-card-image/1"}`), 0o600)
	if out := runCard(t, 1, "write", "-in", p("bad.json")); !strings.Contains(out, "leifeng-card-credential/1") {
		t.Fatalf("bad file: %s", out)
	}
}
