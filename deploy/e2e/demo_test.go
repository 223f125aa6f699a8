package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The demo's content is a config: deploy/demo/push.sh, as `make demo` runs
// it, pushes the fleet defaults and each station's document through the
// real CLI, and each station then runs a whole config (name of its county,
// the menu) with only its own volunteers, names masked.
func TestDemoContentPushed(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	c.addStation(t, "pe-simao-001", "思茅区")
	c.addStation(t, "pe-ninger-001", "宁洱县")
	script, err := filepath.Abs("../demo/push.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, filepath.Join(bin, "leifeng-cloud"), c.http, c.data)
	cmd.Env = append(os.Environ(), "LEIFENG_TOKEN="+c.token(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("push.sh: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "pushed "); n != 3 {
		t.Fatalf("push.sh pushed %d documents, want 3:\n%s", n, out)
	}
	for station, county := range map[string]string{"pe-simao-001": "思茅区", "pe-ninger-001": "宁洱"} {
		var doc struct {
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
			Menu       []struct{ ID string } `json:"menu"`
			Volunteers []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"volunteers"`
		}
		c.get(t, "/api/v1/config?station="+station, &doc)
		if !strings.HasPrefix(doc.Profile.Name, county) || len(doc.Menu) == 0 || len(doc.Volunteers) != 12 {
			t.Fatalf("%s runs name %q, %d menu categories, %d volunteers", station, doc.Profile.Name, len(doc.Menu), len(doc.Volunteers))
		}
		prefix := map[string]string{"pe-simao-001": "V1", "pe-ninger-001": "V2"}[station]
		for _, v := range doc.Volunteers {
			if !strings.HasPrefix(v.ID, prefix) || !strings.Contains(v.Name, "*") {
				t.Fatalf("%s: roster entry %+v", station, v)
			}
		}
	}
}

var trafficLine = regexp.MustCompile(`(?m)^(\d\d):(\d\d):\d\d  演示 \d\d:\d\d  pe-traffic-001 +V1001  签到 ✓`)

// leifeng-traffic prints the time of each tap in China Standard Time, the
// time the console and the API show for the record.
func TestTrafficPrintsCST(t *testing.T) {
	c := startCloud(t, cloudOpt{})
	k := startKiosk(t, "pe-traffic-001", c.mqtt)
	before := time.Now().In(time.FixedZone("CST", 8*3600))
	out, err := exec.Command(filepath.Join(bin, "leifeng-traffic"), "--station", k.station+"="+k.reader,
		"--volunteers", "1", "--speed", "100000").CombinedOutput()
	after := time.Now().In(time.FixedZone("CST", 8*3600))
	if err != nil {
		t.Fatalf("leifeng-traffic: %v\n%s", err, out)
	}
	m := trafficLine.FindStringSubmatch(string(out))
	if m == nil || !strings.Contains(string(out), "北京时间") {
		t.Fatalf("no check-in line with a CST time:\n%s", out)
	}
	if hm := m[1] + ":" + m[2]; hm != before.Format("15:04") && hm != after.Format("15:04") {
		t.Fatalf("tap printed at %s, China Standard Time was %s to %s:\n%s", hm, before.Format("15:04"), after.Format("15:04"), out)
	}
}

var adviceRE = regexp.MustCompile(`LEIFENG_DEMO_(HTTP|MQTT)=(127\.0\.0\.1:\d+)`)

// make demo on a busy port stops before starting anything and suggests
// ports that are free (the old advice named fixed ports, busy too).
func TestDemoBusyPortAdvice(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	script, err := filepath.Abs("../demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "LEIFENG_DEMO_HTTP="+taken.Addr().String(), "LEIFENG_DEMO_MQTT="+taken.Addr().String(),
		"LEIFENG_DEMO_READER_A="+freeAddr(t), "LEIFENG_DEMO_READER_B="+freeAddr(t))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("demo.sh started on a busy port:\n%s", out)
	}
	m := adviceRE.FindAllStringSubmatch(string(out), -1)
	if len(m) != 2 || m[0][2] == m[1][2] {
		t.Fatalf("want two different ports suggested for HTTP and MQTT:\n%s", out)
	}
	for _, s := range m {
		ln, err := net.Listen("tcp", s[2])
		if err != nil {
			t.Fatalf("suggested %s for %s is not free: %v\n%s", s[2], s[1], err, out)
		}
		ln.Close()
	}
}
