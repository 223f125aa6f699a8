package fleet

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$7$101$") || !CheckPassword(h, "s3cret") || CheckPassword(h, "s3cret!") {
		t.Fatalf("hash %q", h)
	}
	for _, bad := range []string{"", "$6$x$y", "$7$0$AAAA$BBBB", "$7$101$!!$x"} {
		if CheckPassword(bad, "s3cret") {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A hash made by mosquitto_passwd itself verifies here, when the tool is
// installed (Mosquitto's end-to-end tests check the other direction).
func TestPasswordFromMosquittoPasswd(t *testing.T) {
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not installed (apt-get install mosquitto)")
	}
	file := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command(tool, "-c", "-b", file, "st-a", "pw-of-a").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, _ := exec.Command("cat", file).Output()
	_, hash, _ := strings.Cut(strings.TrimSpace(string(data)), ":")
	if !CheckPassword(hash, "pw-of-a") || CheckPassword(hash, "other") {
		t.Fatalf("mosquitto_passwd hash %q not verified", hash)
	}
}

func TestAlerts(t *testing.T) {
	now := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	th := Thresholds{OfflineAfter: time.Minute, OutboxRising: 3, OutboxMax: 100}
	kinds := func(st store.Station) string {
		var k []string
		for _, a := range Alerts(st, now, th) {
			k = append(k, a.Kind)
		}
		return strings.Join(k, ",")
	}
	for _, c := range []struct {
		st   store.Station
		want string
	}{
		{store.Station{ID: "a", Reported: true, Online: true, ClockSynced: true, Reader: wire.ReaderOK}, ""},
		{store.Station{ID: "a", Reported: true, Online: false, Since: now.Add(-30 * time.Second), ClockSynced: true}, ""},
		{store.Station{ID: "a", Reported: true, Online: false, Since: now.Add(-2 * time.Minute), ClockSynced: true}, AlertOffline},
		{store.Station{ID: "a", Registered: true, Since: now.Add(-2 * time.Minute)}, AlertOffline},
		{store.Station{ID: "a", Records: 5}, ""},
		{store.Station{ID: "a", Reported: true, Online: true, ClockSynced: true, OutboxRising: 3, Outbox: 7}, AlertOutboxGrowing},
		{store.Station{ID: "a", Reported: true, Online: true, ClockSynced: true, Outbox: 100}, AlertOutboxGrowing},
		{store.Station{ID: "a", Reported: true, Online: true, ClockSynced: true, Reader: wire.ReaderFailing}, AlertReaderFailing},
		{store.Station{ID: "a", Reported: true, Online: true}, AlertClockUnsynced},
	} {
		if got := kinds(c.st); got != c.want {
			t.Errorf("%+v: alerts %q, want %q", c.st, got, c.want)
		}
	}
}

func TestKeysCreatedOnceAndShared(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.KeyID != k2.KeyID || !k1.ConfigKey.Equal(k2.ConfigKey) || k1.GatewayPassword != k2.GatewayPassword {
		t.Fatal("keys changed between loads")
	}
}

// A keys file written before the cloud had users, with its admin_token,
// still loads: the token is ignored.
func TestKeysWithOldAdminToken(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, KeysFile))
	json.Unmarshal(data, &m)
	m["admin_token"] = "an old shared token"
	data, _ = json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, KeysFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.KeyID != k2.KeyID || !k1.ConfigKey.Equal(k2.ConfigKey) {
		t.Fatal("keys changed")
	}
}
