package update

import (
	"context"
	"fmt"
	"strings"
	"time"

	"leifeng/firmware/slot"
	"leifeng/gateway/wire"
)

// Check is one health check the kiosk supplies: the reader answers, bbolt
// opens and the outbox is intact, the broker is reached or the outbox is
// kept, the config verifies, the UI is up.
type Check interface {
	Name() string
	Check(ctx context.Context) error
}

// CheckFunc makes a Check of a function.
func CheckFunc(name string, f func(ctx context.Context) error) Check { return checkFunc{name, f} }

type checkFunc struct {
	name string
	f    func(ctx context.Context) error
}

func (c checkFunc) Name() string                    { return c.name }
func (c checkFunc) Check(ctx context.Context) error { return c.f(ctx) }

// Confirm runs on every start. If the running version is on trial it
// runs every check, again and again, until all pass in one round, then
// commits; if the deadline passes first it rolls back with the failing
// checks as the reason and returns ErrRolledBack (the kiosk then exits,
// and starts the old version). Nothing is committed before all checks
// pass. Off trial it does nothing.
func (u *Updater) Confirm(ctx context.Context, checks []Check, deadline, every time.Duration) error {
	version, ok := u.Target.Trial()
	if !ok {
		// Report how the last update ended: a trial that restarted
		// without confirming was rolled back before this start.
		v, outcome, reason := u.Target.Outcome()
		steps := map[string]string{slot.Committed: wire.UpdateCommitted, slot.RolledBack: wire.UpdateRolledBack, slot.Failed: wire.UpdateFailed}
		if step, ok := steps[outcome]; ok {
			if reason != "" && outcome != slot.Committed {
				reason = "新版本未能通过启动检查，已退回原版本（" + reason + "）"
			}
			u.report(wire.UpdateStatus{Version: v, Step: step, Reason: reason})
		}
		return nil
	}
	u.report(wire.UpdateStatus{Version: version, Step: wire.UpdateTrying})
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var failing []string
	for {
		failing = failing[:0]
		for _, c := range checks {
			if err := c.Check(ctx); err != nil {
				failing = append(failing, c.Name()+": "+err.Error())
			}
		}
		if len(failing) == 0 {
			if err := u.Target.Commit(); err != nil {
				return err
			}
			u.report(wire.UpdateStatus{Version: version, Step: wire.UpdateCommitted})
			// The bundle is installed for good: free the data partition.
			if err := u.Fetch.Clean(); err != nil && u.Log != nil {
				u.Log.Warn("update: downloads not removed", "err", err)
			}
			return nil
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			if ctx.Err() == context.Canceled {
				// The kiosk is stopping: neither commit nor roll back;
				// the next start decides (it rolls back).
				return ctx.Err()
			}
			reason := "新版本自检未通过，已退回原版本：" + strings.Join(failing, "; ")
			if err := u.Target.Rollback(reason); err != nil {
				return err
			}
			u.report(wire.UpdateStatus{Version: version, Step: wire.UpdateRolledBack, Reason: reason})
			return fmt.Errorf("%w: %s", ErrRolledBack, strings.Join(failing, "; "))
		case <-t.C:
		}
	}
}
