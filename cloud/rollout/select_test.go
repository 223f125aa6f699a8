package rollout

import (
	"fmt"
	"math"
	"testing"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// The same station and release are selected the same way every time (the
// hash is SHA-256, fixed here by known answers), a percentage takes about
// that share of a large fleet, a station taken at a lower percentage is
// taken at every higher one, and another release takes other stations.
func TestSelectionStableAndProportional(t *testing.T) {
	// A known answer, computed apart (Python: int.from_bytes(sha256(
	// b"kiosk-1.2.0-rpi4-arm64.tar\0pe-simao-001").digest()[:8]) % 10000):
	// a change of the hash would reshuffle every rollout in flight.
	for range 3 {
		if got := bucket("pe-simao-001", "kiosk-1.2.0-rpi4-arm64.tar"); got != 3586 {
			t.Fatalf("bucket(pe-simao-001, kiosk-1.2.0-rpi4-arm64.tar) = %d, want 3586", got)
		}
	}
	if !Selected("pe-simao-001", "kiosk-1.2.0-rpi4-arm64.tar", 35.87) || Selected("pe-simao-001", "kiosk-1.2.0-rpi4-arm64.tar", 35.86) {
		t.Error("bucket 3586 is taken from 35.87% on, not before")
	}

	const n = 20000
	stations := make([]string, n)
	for i := range stations {
		stations[i] = fmt.Sprintf("pe-%05d", i)
	}
	const rel = "kiosk-1.2.0-rpi4-arm64.tar"
	prev := map[string]bool{}
	for _, pct := range []float64{1, 10, 50, 100} {
		got := map[string]bool{}
		for _, s := range stations {
			if Selected(s, rel, pct) {
				got[s] = true
			}
		}
		want := float64(n) * pct / 100
		// Binomial: within 4 standard deviations.
		if sd := math.Sqrt(want * (1 - pct/100)); math.Abs(float64(len(got))-want) > 4*sd+1 {
			t.Errorf("%g%%: %d of %d stations, want about %.0f", pct, len(got), n, want)
		}
		for s := range prev {
			if !got[s] {
				t.Errorf("%s selected at a lower percentage but not at %g%%", s, pct)
			}
		}
		prev = got
	}
	same := 0
	for _, s := range stations {
		if Selected(s, rel, 10) && Selected(s, "kiosk-1.3.0-rpi4-arm64.tar", 10) {
			same++
		}
	}
	// Independent draws share about 1% of the fleet, not 10%.
	if same > n*2/100 {
		t.Errorf("two releases' 10%% share %d stations: the hash does not depend on the release", same)
	}
	if Selected("pe-00001", rel, 0) {
		t.Error("0% selected a station")
	}
}

func TestPhaseOf(t *testing.T) {
	phases := []store.RolloutPhase{{Stations: []string{"pe-canary"}}, {Percent: 50}, {Percent: 100}}
	if p := PhaseOf(phases, "pe-canary", "r"); p != 0 {
		t.Errorf("canary in phase %d", p)
	}
	for i := range 200 {
		s := fmt.Sprintf("pe-%03d", i)
		want := 2
		if Selected(s, "r", 50) {
			want = 1
		}
		if p := PhaseOf(phases, s, "r"); p != want {
			t.Fatalf("%s in phase %d, want %d", s, p, want)
		}
	}
	if p := PhaseOf(phases[:1], "pe-other", "r"); p != -1 {
		t.Errorf("a station in no phase: %d", p)
	}
}

func TestStepText(t *testing.T) {
	for _, c := range []struct {
		st   store.RolloutStation
		want string
	}{
		{store.RolloutStation{}, "已提供"},
		{store.RolloutStation{Step: wire.UpdateOffered}, "已提供"},
		{store.RolloutStation{Step: wire.UpdateDownloading, Done: 42, Total: 100}, "下载中 42%"},
		{store.RolloutStation{Step: wire.UpdateVerified}, "已校验"},
		{store.RolloutStation{Step: wire.UpdateInstalled}, "已安装"},
		{store.RolloutStation{Step: wire.UpdateTrying}, "试运行"},
		{store.RolloutStation{Step: wire.UpdateCommitted}, "已生效"},
		{store.RolloutStation{Step: wire.UpdateRolledBack, Reason: "读卡器没有回应"}, "已回滚（读卡器没有回应）"},
		{store.RolloutStation{Step: wire.UpdateFailed, Reason: "签名无效"}, "失败（签名无效）"},
	} {
		if got := StepText(c.st); got != c.want {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
}
