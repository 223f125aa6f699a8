package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"leifeng/gateway/wire"
)

// Rollout states.
const (
	// RolloutActive: offers go out to the stations of the phases reached.
	RolloutActive = "active"
	// RolloutPaused: no new offers; stations already offered carry on and
	// keep reporting. Paused by a person or by the failure threshold.
	RolloutPaused = "paused"
	// RolloutAborted: stopped for good; no new offers.
	RolloutAborted = "aborted"
	// RolloutDone: every phase reached and its stations committed.
	RolloutDone = "done"
)

// ErrRolloutState is returned for a transition a rollout's state does not
// allow (resuming an aborted rollout, advancing a paused one).
var ErrRolloutState = errors.New("store: the rollout is not in a state that allows this")

// RolloutPhase is one phase of a rollout: named stations (a canary
// phase), or a percentage of the fleet chosen by a stable hash of station
// and release (cloud/rollout).
type RolloutPhase struct {
	Stations []string `json:"stations,omitempty"`
	Percent  float64  `json:"percent,omitempty"`
}

// RolloutHold keeps a county or a station out of a rollout.
type RolloutHold struct {
	// Kind is "county" or "station".
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Rollout is a release being offered to the fleet phase by phase.
type Rollout struct {
	ID      int64  `json:"id"`
	Target  string `json:"target"`
	Version string `json:"version"`
	// URL is the TUF repository's base URL the offers carry.
	URL    string         `json:"url"`
	Phases []RolloutPhase `json:"phases"`
	// Phase is the index in Phases reached so far; every phase up to it
	// is offered.
	Phase int    `json:"phase"`
	State string `json:"state"`
	// Reason says why it is paused or aborted (Chinese, for the console).
	Reason string `json:"reason,omitempty"`
	// MaxFailed pauses the rollout when more stations than this of the
	// current phase failed or rolled back; -1: no count threshold.
	MaxFailed int `json:"max_failed"`
	// MaxFailedPct pauses it when more than this percentage of the
	// current phase's offered stations failed or rolled back; 0: none.
	MaxFailedPct int           `json:"max_failed_pct"`
	Holds        []RolloutHold `json:"holds"`
	Created      time.Time     `json:"created"`
	Updated      time.Time     `json:"updated"`
}

// RolloutStation is where one station stands in a rollout: the step it
// last reported for the rollout's version (wire.Update*), or "" while
// the offer is sent and unanswered.
type RolloutStation struct {
	Rollout int64  `json:"-"`
	Station string `json:"station"`
	Phase   int    `json:"phase"`
	Step    string `json:"step"`
	Done    int64  `json:"done,omitempty"`
	Total   int64  `json:"total,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Nonce is the update_offer command's.
	Nonce   string    `json:"nonce,omitempty"`
	Offered time.Time `json:"offered"`
	Updated time.Time `json:"updated"`
}

// CreateRollout stores r as a new active rollout and returns its ID.
func (s *Store) CreateRollout(ctx context.Context, r *Rollout) (int64, error) {
	phases, err := json.Marshal(r.Phases)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM rollouts`, nil,
			func(rw rows) error { return rw.Scan(&id) }); err != nil {
			return err
		}
		now := nanos(r.Created)
		if _, err := q.exec(ctx, `INSERT INTO rollouts (id, target, version, url, phases, phase, state, reason,
				max_failed, max_failed_pct, created_ns, updated_ns)
			VALUES ($1, $2, $3, $4, $5, 0, $6, '', $7, $8, $9, $9)`,
			id, r.Target, r.Version, r.URL, string(phases), RolloutActive, r.MaxFailed, r.MaxFailedPct, now); err != nil {
			return err
		}
		for _, h := range r.Holds {
			if _, err := q.exec(ctx, `INSERT INTO rollout_holds (rollout, kind, value) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, id, h.Kind, h.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: create rollout of %s: %w", r.Target, err)
	}
	return id, nil
}

const rolloutCols = `id, target, version, url, phases, phase, state, reason, max_failed, max_failed_pct, created_ns, updated_ns`

func scanRollout(rw rows) (Rollout, error) {
	var r Rollout
	var phases string
	var created, updated int64
	if err := rw.Scan(&r.ID, &r.Target, &r.Version, &r.URL, &phases, &r.Phase, &r.State, &r.Reason,
		&r.MaxFailed, &r.MaxFailedPct, &created, &updated); err != nil {
		return r, err
	}
	r.Created, r.Updated = fromNanos(created), fromNanos(updated)
	return r, json.Unmarshal([]byte(phases), &r.Phases)
}

// Rollouts returns every rollout, newest first, with its holds.
func (s *Store) Rollouts(ctx context.Context) ([]Rollout, error) {
	var out []Rollout
	err := s.b.query(ctx, `SELECT `+rolloutCols+` FROM rollouts ORDER BY id DESC`, nil, func(rw rows) error {
		r, err := scanRollout(rw)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: rollouts: %w", err)
	}
	for i := range out {
		if out[i].Holds, err = s.rolloutHolds(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rollout returns rollout id with its holds, or ErrNotFound.
func (s *Store) Rollout(ctx context.Context, id int64) (*Rollout, error) {
	var out *Rollout
	err := s.b.query(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE id = $1`, []any{id}, func(rw rows) error {
		r, err := scanRollout(rw)
		out = &r
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: rollout %d: %w", id, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: rollout %d", ErrNotFound, id)
	}
	if out.Holds, err = s.rolloutHolds(ctx, id); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) rolloutHolds(ctx context.Context, id int64) ([]RolloutHold, error) {
	out := []RolloutHold{}
	err := s.b.query(ctx, `SELECT kind, value FROM rollout_holds WHERE rollout = $1 ORDER BY kind, value`, []any{id},
		func(rw rows) error {
			var h RolloutHold
			err := rw.Scan(&h.Kind, &h.Value)
			out = append(out, h)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: holds of rollout %d: %w", id, err)
	}
	return out, nil
}

// SetRolloutState moves rollout id to state to, with reason, if its state
// is one of from; otherwise ErrRolloutState (ErrNotFound for no such
// rollout).
func (s *Store) SetRolloutState(ctx context.Context, id int64, from []string, to, reason string, now time.Time) error {
	r, err := s.Rollout(ctx, id)
	if err != nil {
		return err
	}
	args := []any{to, reason, nanos(now), id}
	in := ""
	for i, f := range from {
		if i > 0 {
			in += ", "
		}
		args = append(args, f)
		in += fmt.Sprintf("$%d", len(args))
	}
	n, err := s.b.exec(ctx, `UPDATE rollouts SET state = $1, reason = $2, updated_ns = $3
		WHERE id = $4 AND state IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: rollout %d to %s: %w", id, to, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: rollout %d is %s, cannot become %s", ErrRolloutState, id, r.State, to)
	}
	return nil
}

// AdvanceRollout moves an active rollout id from phase from to the next,
// or marks it done when from is its last phase. It is a no-op returning
// false when the rollout is no longer active at phase from (another
// advance came first).
func (s *Store) AdvanceRollout(ctx context.Context, id int64, from, phases int, now time.Time) (bool, error) {
	var n int64
	var err error
	if from+1 >= phases {
		n, err = s.b.exec(ctx, `UPDATE rollouts SET state = $1, updated_ns = $2 WHERE id = $3 AND phase = $4 AND state = $5`,
			RolloutDone, nanos(now), id, from, RolloutActive)
	} else {
		n, err = s.b.exec(ctx, `UPDATE rollouts SET phase = phase + 1, updated_ns = $1 WHERE id = $2 AND phase = $3 AND state = $4`,
			nanos(now), id, from, RolloutActive)
	}
	if err != nil {
		return false, fmt.Errorf("store: advance rollout %d: %w", id, err)
	}
	return n > 0, nil
}

// HoldRollout keeps (on) or lets back (off) a county or a station in
// rollout id. A held station gets no new offer; one already offered is
// not called back.
func (s *Store) HoldRollout(ctx context.Context, id int64, h RolloutHold, on bool) error {
	if _, err := s.Rollout(ctx, id); err != nil {
		return err
	}
	var err error
	if on {
		_, err = s.b.exec(ctx, `INSERT INTO rollout_holds (rollout, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			id, h.Kind, h.Value)
	} else {
		_, err = s.b.exec(ctx, `DELETE FROM rollout_holds WHERE rollout = $1 AND kind = $2 AND value = $3`, id, h.Kind, h.Value)
	}
	if err != nil {
		return fmt.Errorf("store: hold %s %s in rollout %d: %w", h.Kind, h.Value, id, err)
	}
	return nil
}

// OfferedRollout records that station was sent the rollout's offer in
// phase, at st.Offered. A station is offered once per rollout: a second
// call changes nothing and returns false.
func (s *Store) OfferedRollout(ctx context.Context, st RolloutStation) (bool, error) {
	n, err := s.b.exec(ctx, `INSERT INTO rollout_stations (rollout, station, phase, step, done, total, reason, nonce, offered_ns, updated_ns)
		VALUES ($1, $2, $3, $4, 0, 0, '', $5, $6, $6) ON CONFLICT DO NOTHING`,
		st.Rollout, st.Station, st.Phase, st.Step, st.Nonce, nanos(st.Offered))
	if err != nil {
		return false, fmt.Errorf("store: offer of rollout %d to %s: %w", st.Rollout, st.Station, err)
	}
	return n > 0, nil
}

// RolloutOfferSent records the nonce of the update_offer command sent to
// station for rollout id.
func (s *Store) RolloutOfferSent(ctx context.Context, id int64, station, nonce string) error {
	if _, err := s.b.exec(ctx, `UPDATE rollout_stations SET nonce = $1 WHERE rollout = $2 AND station = $3`,
		nonce, id, station); err != nil {
		return fmt.Errorf("store: offer of rollout %d to %s: %w", id, station, err)
	}
	return nil
}

// ForgetRolloutOffer removes station's offer of rollout id, one that
// could not be sent, so that it is offered again.
func (s *Store) ForgetRolloutOffer(ctx context.Context, id int64, station string) error {
	if _, err := s.b.exec(ctx, `DELETE FROM rollout_stations WHERE rollout = $1 AND station = $2`, id, station); err != nil {
		return fmt.Errorf("store: forget offer of rollout %d to %s: %w", id, station, err)
	}
	return nil
}

// RolloutStations returns the stations offered rollout id, by phase and
// station.
func (s *Store) RolloutStations(ctx context.Context, id int64) ([]RolloutStation, error) {
	out := []RolloutStation{}
	err := s.b.query(ctx, `SELECT rollout, station, phase, step, done, total, reason, nonce, offered_ns, updated_ns
		FROM rollout_stations WHERE rollout = $1 ORDER BY phase, station`, []any{id}, func(rw rows) error {
		var st RolloutStation
		var off, up int64
		err := rw.Scan(&st.Rollout, &st.Station, &st.Phase, &st.Step, &st.Done, &st.Total, &st.Reason, &st.Nonce, &off, &up)
		st.Offered, st.Updated = fromNanos(off), fromNanos(up)
		out = append(out, st)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: stations of rollout %d: %w", id, err)
	}
	return out, nil
}

// rolloutReport is SaveState's hook: a state whose update progress names
// the version of a rollout, not aborted, that offered the station
// moves the station's step there, and a failure or a rollback that takes
// the current phase over its threshold pauses the rollout, in the same
// transaction as the state, so no report is counted twice or lost.
func rolloutReport(ctx context.Context, q querier, st *wire.State, seen time.Time) error {
	u := st.Update
	if u == nil || u.Version == "" || u.Step == "" {
		return nil
	}
	var ids []int64
	err := q.query(ctx, `SELECT r.id FROM rollouts r JOIN rollout_stations s ON s.rollout = r.id
		WHERE s.station = $1 AND r.version = $2 AND r.state <> $3`,
		[]any{st.Station, u.Version, RolloutAborted}, func(rw rows) error {
			var id int64
			err := rw.Scan(&id)
			ids = append(ids, id)
			return err
		})
	if err != nil {
		return err
	}
	for _, id := range ids {
		prev := ""
		if err := q.query(ctx, `SELECT step FROM rollout_stations WHERE rollout = $1 AND station = $2`, []any{id, st.Station},
			func(rw rows) error { return rw.Scan(&prev) }); err != nil {
			return err
		}
		// The station's clock may be wrong (a Pi has no RTC): the order
		// of reports is the gateway's, as for the state itself.
		n, err := q.exec(ctx, `UPDATE rollout_stations SET step = $1, done = $2, total = $3, reason = $4, updated_ns = $5
			WHERE rollout = $6 AND station = $7 AND updated_ns <= $5`,
			u.Step, u.Done, u.Total, u.Reason, nanos(seen), id, st.Station)
		if err != nil {
			return err
		}
		// Every state repeats the last step: only a new failure counts,
		// or a resumed rollout would pause again at the next report.
		if n > 0 && prev != u.Step && (u.Step == wire.UpdateFailed || u.Step == wire.UpdateRolledBack) {
			if err := checkThreshold(ctx, q, id, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkThreshold pauses active rollout id when its current phase has more
// failed or rolled-back stations than its threshold allows.
func checkThreshold(ctx context.Context, q querier, id int64, now time.Time) error {
	var phase, maxFailed, maxPct int
	var state string
	err := q.query(ctx, `SELECT phase, state, max_failed, max_failed_pct FROM rollouts WHERE id = $1`, []any{id},
		func(rw rows) error { return rw.Scan(&phase, &state, &maxFailed, &maxPct) })
	if err != nil || state != RolloutActive {
		return err
	}
	var offered, failed int64
	err = q.query(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN step IN ($1, $2) THEN 1 ELSE 0 END), 0)
		FROM rollout_stations WHERE rollout = $3 AND phase = $4`,
		[]any{wire.UpdateFailed, wire.UpdateRolledBack, id, phase}, func(rw rows) error { return rw.Scan(&offered, &failed) })
	if err != nil {
		return err
	}
	reason := ""
	switch {
	case maxFailed >= 0 && failed > int64(maxFailed):
		reason = fmt.Sprintf("自动暂停：第 %d 阶段已有 %d 个站点更新失败或回滚，超过上限 %d 个。请查看各站点的原因，处理后再继续。", phase+1, failed, maxFailed)
	case maxPct > 0 && failed*100 > int64(maxPct)*offered:
		reason = fmt.Sprintf("自动暂停：第 %d 阶段已提供的 %d 个站点中有 %d 个更新失败或回滚，超过 %d%%。请查看各站点的原因，处理后再继续。", phase+1, offered, failed, maxPct)
	default:
		return nil
	}
	_, err = q.exec(ctx, `UPDATE rollouts SET state = $1, reason = $2, updated_ns = $3 WHERE id = $4 AND state = $5`,
		RolloutPaused, reason, nanos(now), id, RolloutActive)
	return err
}
