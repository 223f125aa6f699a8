package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"leifeng/gateway/wire"
)

// The rollout tables on both databases: a reported state moves the
// station's step only for the version its rollout offers, only for an
// offered station, never back to an older report; the failure threshold
// pauses an active rollout in the state's own transaction, and a report
// that only repeats a failure already counted does not pause it again.
func TestRolloutTables(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.dsn(t))
			id, err := s.CreateRollout(ctx, &Rollout{Target: "k-1.2.0.tar", Version: "1.2.0", URL: "https://c/firmware",
				Phases: []RolloutPhase{{Stations: []string{"pe-a", "pe-b"}}, {Percent: 100}}, MaxFailed: 1,
				Holds: []RolloutHold{{"county", "宁洱县"}}, Created: t0})
			if err != nil || id != 1 {
				t.Fatalf("create: %d %v", id, err)
			}
			for _, st := range []string{"pe-a", "pe-b", "pe-c"} {
				if ok, err := s.OfferedRollout(ctx, RolloutStation{Rollout: id, Station: st, Offered: t0}); !ok || err != nil {
					t.Fatalf("offer %s: %v %v", st, ok, err)
				}
			}
			if ok, _ := s.OfferedRollout(ctx, RolloutStation{Rollout: id, Station: "pe-a", Offered: t0}); ok {
				t.Fatal("offered pe-a twice")
			}
			report := func(station, version, step string, at time.Duration) {
				t.Helper()
				err := s.SaveState(ctx, &wire.State{V: wire.Version, Station: station, Online: true,
					Update: &wire.UpdateStatus{Version: version, Step: step, Reason: "原因 " + step}}, t0.Add(at))
				if err != nil {
					t.Fatal(err)
				}
			}
			steps := func() map[string]string {
				t.Helper()
				sts, err := s.RolloutStations(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]string{}
				for _, st := range sts {
					out[st.Station] = st.Step
				}
				return out
			}
			report("pe-a", "1.1.0", wire.UpdateFailed, time.Second) // another version
			report("pe-z", "1.2.0", wire.UpdateFailed, time.Second) // not offered
			report("pe-a", "1.2.0", wire.UpdateTrying, 3*time.Second)
			report("pe-a", "1.2.0", wire.UpdateDownloading, 2*time.Second) // older
			if got := steps(); got["pe-a"] != wire.UpdateTrying || got["pe-b"] != "" || len(got) != 3 {
				t.Fatalf("steps %v", got)
			}
			report("pe-a", "1.2.0", wire.UpdateRolledBack, 4*time.Second)
			r, _ := s.Rollout(ctx, id)
			if r.State != RolloutActive || len(r.Holds) != 1 || r.Phases[1].Percent != 100 {
				t.Fatalf("one failure of max 1: %+v", r)
			}
			report("pe-b", "1.2.0", wire.UpdateFailed, 5*time.Second)
			r, _ = s.Rollout(ctx, id)
			if r.State != RolloutPaused || !strings.Contains(r.Reason, "2 个站点") {
				t.Fatalf("two failures of max 1: %s %q", r.State, r.Reason)
			}
			if err := s.SetRolloutState(ctx, id, []string{RolloutPaused}, RolloutActive, "", t0); err != nil {
				t.Fatal(err)
			}
			report("pe-b", "1.2.0", wire.UpdateFailed, 6*time.Second)
			if r, _ = s.Rollout(ctx, id); r.State != RolloutActive {
				t.Fatalf("a repeated failure paused it again: %q", r.Reason)
			}
			if ok, err := s.AdvanceRollout(ctx, id, 0, 2, t0); !ok || err != nil {
				t.Fatalf("advance: %v %v", ok, err)
			}
			if ok, _ := s.AdvanceRollout(ctx, id, 0, 2, t0); ok {
				t.Fatal("advanced twice from phase 0")
			}
			if ok, _ := s.AdvanceRollout(ctx, id, 1, 2, t0); !ok {
				t.Fatal("not done after the last phase")
			}
			if r, _ = s.Rollout(ctx, id); r.State != RolloutDone || r.Phase != 1 {
				t.Fatalf("after the last phase: %s %d", r.State, r.Phase)
			}
			if err := s.SetRolloutState(ctx, id, []string{RolloutPaused}, RolloutActive, "", t0); !errors.Is(err, ErrRolloutState) {
				t.Fatalf("resume of a done rollout: %v", err)
			}
			if _, err := s.Rollout(ctx, 42); !errors.Is(err, ErrNotFound) {
				t.Fatalf("rollout 42: %v", err)
			}
		})
	}
}
