package cardimage

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"leifeng/reader/credential"
)

func TestIssueSaveLoad(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	uid := []byte{0x04, 1, 2, 3, 4, 5, 6}
	c := &credential.Credential{UID: uid, Volunteer: "V1", Serial: "S1", Issued: time.Now(), Expires: time.Now().AddDate(1, 0, 0)}
	cred, err := c.Sign(1, priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, media := range []string{"classic1k", "ntag213", "ntag215", "ntag216", "ntag424"} {
		im, err := Issue(media, uid, cred, IssueOptions{SUNMaster: credential.SUNKeys{MetaRead: make([]byte, 16), FileRead: make([]byte, 16)}})
		if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		b, err := im.Save()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Load(b)
		if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		msg, err := got.NDEF()
		if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		p, _, err := credential.FromNDEF(msg)
		if err != nil || !bytes.Equal(p, cred) {
			t.Fatalf("%s: %v", media, err)
		}
	}
	if _, err := Load([]byte(`{"format":"leifeng-card-image/1","media":"floppy","uid":"01020304","memory":""}`)); err == nil {
		t.Fatal("unknown media loaded")
	}
}
