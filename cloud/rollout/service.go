package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"leifeng/cloud/store"
	"leifeng/firmware/release"
	"leifeng/firmware/repo"
	"leifeng/gateway/wire"
)

// Errors a caller branches on.
var (
	// ErrInvalid: the rollout asked for is not well formed; the message
	// says what is wrong.
	ErrInvalid = errors.New("rollout: invalid")
	// ErrUnknownTarget: the hosted repository has no such signed target.
	ErrUnknownTarget = errors.New("rollout: the firmware repository has no such release")
)

// Commander sends a signed command to a station; *fleet.Service is one.
type Commander interface {
	Command(ctx context.Context, station, name string, args any, ttl time.Duration) (*wire.Command, error)
}

// Service runs the staged rollouts.
type Service struct {
	st  *store.Store
	cmd Commander
	log *slog.Logger
	// URL is the firmware repository's base URL offers carry unless a
	// rollout names its own.
	URL string
	// Repo, if set, is the hosted repository: a rollout must name one of
	// its signed targets.
	Repo *repo.Repo
	// OfferTTL is how long an offer stays valid for a kiosk that is
	// offline when it is sent.
	OfferTTL time.Duration
	// Now is the clock; tests may set it.
	Now func() time.Time

	// mu serialises ticks, so two never offer the same station at once.
	mu sync.Mutex
}

// NewService returns a Service that offers through cmd.
func NewService(st *store.Store, cmd Commander, url string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, cmd: cmd, log: log, URL: url, OfferTTL: 7 * 24 * time.Hour, Now: time.Now}
}

// Spec is what an administrator asks for.
type Spec struct {
	Target  string `json:"target"`
	Version string `json:"version"`
	// URL overrides the service's repository URL.
	URL string `json:"url,omitempty"`
	// Canary stations form the first phase, then one phase per
	// percentage.
	Canary   []string  `json:"canary,omitempty"`
	Percents []float64 `json:"percents,omitempty"`
	// MaxFailed: pause when more stations than this of a phase fail or
	// roll back (nil: 0, the first failure pauses; -1: no count limit).
	MaxFailed *int `json:"max_failed,omitempty"`
	// MaxFailedPct: pause when more than this percentage of a phase's
	// offered stations fail or roll back (0: no percentage limit).
	MaxFailedPct int                 `json:"max_failed_pct,omitempty"`
	Holds        []store.RolloutHold `json:"holds,omitempty"`
}

// Create starts a rollout of spec and makes its first offers.
func (s *Service) Create(ctx context.Context, spec Spec) (*store.Rollout, error) {
	r := &store.Rollout{Target: strings.TrimSpace(spec.Target), Version: strings.TrimSpace(spec.Version),
		URL: spec.URL, MaxFailed: 0, MaxFailedPct: spec.MaxFailedPct, Holds: spec.Holds, Created: s.Now()}
	if r.URL == "" {
		r.URL = s.URL
	}
	if spec.MaxFailed != nil {
		r.MaxFailed = *spec.MaxFailed
	}
	switch {
	case r.Target == "" || r.Version == "":
		return nil, fmt.Errorf("%w: give the release's target name and version", ErrInvalid)
	case r.URL == "":
		return nil, fmt.Errorf("%w: no firmware repository URL", ErrInvalid)
	case r.MaxFailed < -1 || r.MaxFailedPct < 0 || r.MaxFailedPct > 100:
		return nil, fmt.Errorf("%w: max_failed is -1 or more, max_failed_pct 0 to 100", ErrInvalid)
	}
	if len(spec.Canary) > 0 {
		for _, id := range spec.Canary {
			if !wire.ValidStationID(id) {
				return nil, fmt.Errorf("%w: canary station %q", ErrInvalid, id)
			}
		}
		r.Phases = append(r.Phases, store.RolloutPhase{Stations: spec.Canary})
	}
	for _, p := range spec.Percents {
		if p <= 0 || p > 100 {
			return nil, fmt.Errorf("%w: a phase's percentage is above 0 and at most 100, not %g", ErrInvalid, p)
		}
		r.Phases = append(r.Phases, store.RolloutPhase{Percent: p})
	}
	if len(r.Phases) == 0 {
		return nil, fmt.Errorf("%w: give canary stations or percentages", ErrInvalid)
	}
	for _, h := range r.Holds {
		if err := checkHold(h); err != nil {
			return nil, err
		}
	}
	if s.Repo != nil {
		if err := s.checkTarget(r.Target, r.Version); err != nil {
			return nil, err
		}
	}
	id, err := s.st.CreateRollout(ctx, r)
	if err != nil {
		return nil, err
	}
	s.log.Info("rollout created", "rollout", id, "target", r.Target, "version", r.Version, "phases", len(r.Phases))
	if err := s.Tick(ctx); err != nil {
		// Created: the loop makes the offers at its next tick.
		s.log.Warn("rollout created, first offers not all made", "rollout", id, "err", err)
	}
	return s.st.Rollout(ctx, id)
}

// checkTarget makes sure the hosted repository signed target name and
// that its manifest says version.
func (s *Service) checkTarget(name, version string) error {
	ts, err := s.Repo.List()
	if err != nil {
		return fmt.Errorf("rollout: read the firmware repository: %w", err)
	}
	for _, t := range ts {
		if t.Path != name {
			continue
		}
		var m release.Manifest
		if t.Custom == nil || json.Unmarshal(*t.Custom, &m) != nil {
			return fmt.Errorf("%w: %s has no release manifest", ErrUnknownTarget, name)
		}
		if m.Version != version {
			return fmt.Errorf("%w: %s is version %s, not %s", ErrUnknownTarget, name, m.Version, version)
		}
		return nil
	}
	return fmt.Errorf("%w: %s", ErrUnknownTarget, name)
}

func checkHold(h store.RolloutHold) error {
	switch {
	case h.Kind == "station" && wire.ValidStationID(h.Value):
	case h.Kind == "county" && h.Value != "" && len(h.Value) <= 64:
	default:
		return fmt.Errorf("%w: hold a county or a station, not %s %q", ErrInvalid, h.Kind, h.Value)
	}
	return nil
}

// Pause stops new offers of an active rollout.
func (s *Service) Pause(ctx context.Context, id int64) error {
	return s.st.SetRolloutState(ctx, id, []string{store.RolloutActive}, store.RolloutPaused, "管理员已暂停", s.Now())
}

// Resume lets a paused rollout carry on, and makes the offers it held.
func (s *Service) Resume(ctx context.Context, id int64) error {
	if err := s.st.SetRolloutState(ctx, id, []string{store.RolloutPaused}, store.RolloutActive, "", s.Now()); err != nil {
		return err
	}
	return s.Tick(ctx)
}

// Abort stops a rollout for good. Stations already updating carry on: an
// installed version stays, and kiosks roll back only on a failed check.
func (s *Service) Abort(ctx context.Context, id int64) error {
	return s.st.SetRolloutState(ctx, id, []string{store.RolloutActive, store.RolloutPaused}, store.RolloutAborted,
		"管理员已中止", s.Now())
}

// Advance moves an active rollout to its next phase now, whether or not
// the current phase's stations have committed, and makes the offers.
func (s *Service) Advance(ctx context.Context, id int64) error {
	r, err := s.st.Rollout(ctx, id)
	if err != nil {
		return err
	}
	if r.State != store.RolloutActive {
		return fmt.Errorf("%w: rollout %d is %s; resume it first", store.ErrRolloutState, id, r.State)
	}
	if _, err := s.st.AdvanceRollout(ctx, id, r.Phase, len(r.Phases), s.Now()); err != nil {
		return err
	}
	return s.Tick(ctx)
}

// Hold keeps a county or a station out of rollout id (on), or lets it
// back in.
func (s *Service) Hold(ctx context.Context, id int64, h store.RolloutHold, on bool) error {
	if err := checkHold(h); err != nil {
		return err
	}
	if err := s.st.HoldRollout(ctx, id, h, on); err != nil {
		return err
	}
	if on {
		return nil
	}
	// A rollout done without the held stations takes them up again.
	err := s.st.SetRolloutState(ctx, id, []string{store.RolloutDone}, store.RolloutActive, "", s.Now())
	if err != nil && !errors.Is(err, store.ErrRolloutState) {
		return err
	}
	return s.Tick(ctx)
}

// Run ticks every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("rollout tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick makes every active rollout's due offers and advances the phases
// whose stations have all committed.
func (s *Service) Tick(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.st.Rollouts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		// A phase that advances at once (no station in it, all already
		// on the version) is followed by the next in the same tick.
		for range len(r.Phases) + 1 {
			if r.State != store.RolloutActive {
				break
			}
			advanced, err := s.tick(ctx, &r)
			if err != nil {
				errs = append(errs, fmt.Errorf("rollout %d: %w", r.ID, err))
				break
			}
			if !advanced {
				break
			}
			next, err := s.st.Rollout(ctx, r.ID)
			if err != nil {
				errs = append(errs, err)
				break
			}
			r = *next
		}
	}
	return errors.Join(errs...)
}

// tick offers r to the stations of its phases reached, and advances it
// when its current phase is complete.
func (s *Service) tick(ctx context.Context, r *store.Rollout) (bool, error) {
	regs, err := s.st.Registrations(ctx, "")
	if err != nil {
		return false, err
	}
	offered, err := s.st.RolloutStations(ctx, r.ID)
	if err != nil {
		return false, err
	}
	step := map[string]string{}
	now := s.Now()
	for _, o := range offered {
		// An offer that expired unanswered (the kiosk was offline all
		// along) is made again.
		if o.Step == "" && o.Nonce != "" && now.Sub(o.Offered) > s.OfferTTL {
			if err := s.st.ForgetRolloutOffer(ctx, r.ID, o.Station); err != nil {
				return false, err
			}
			continue
		}
		step[o.Station] = o.Step
	}
	complete := true
	for _, reg := range regs {
		if held(r.Holds, reg) {
			continue
		}
		p := PhaseOf(r.Phases, reg.ID, r.Target)
		if p < 0 || p > r.Phase {
			continue
		}
		st, ok := step[reg.ID]
		if !ok {
			if st, err = s.offer(ctx, r, reg.ID, p); err != nil {
				return false, err
			}
			// A rollout paused by a report that came in meanwhile makes
			// no more offers.
			if cur, err := s.st.Rollout(ctx, r.ID); err != nil || cur.State != store.RolloutActive {
				return false, err
			}
		}
		// The last phase is complete when every station offered so far
		// has committed, so a rollout an admin advanced is done only
		// once the stations of the phases it skipped are.
		if (p == r.Phase || r.Phase == len(r.Phases)-1) && st != wire.UpdateCommitted {
			complete = false
		}
	}
	if !complete {
		return false, nil
	}
	ok, err := s.st.AdvanceRollout(ctx, r.ID, r.Phase, len(r.Phases), s.Now())
	if ok {
		s.log.Info("rollout phase complete", "rollout", r.ID, "phase", r.Phase+1, "of", len(r.Phases))
	}
	return ok, err
}

// offer sends r's update_offer to station, recorded first so that a
// report that comes at once finds it. A station that already runs the
// version is recorded as committed and sent nothing.
func (s *Service) offer(ctx context.Context, r *store.Rollout, station string, phase int) (string, error) {
	rec := store.RolloutStation{Rollout: r.ID, Station: station, Phase: phase, Offered: s.Now()}
	state, _, err := s.st.State(ctx, station)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if state != nil && state.Firmware == r.Version {
		rec.Step = wire.UpdateCommitted
		_, err := s.st.OfferedRollout(ctx, rec)
		return rec.Step, err
	}
	if fresh, err := s.st.OfferedRollout(ctx, rec); err != nil || !fresh {
		return "", err
	}
	c, err := s.cmd.Command(ctx, station, wire.CmdUpdateOffer,
		wire.UpdateOffer{Version: r.Version, URL: r.URL, Target: r.Target}, s.OfferTTL)
	if err != nil {
		// Not sent: forgotten, so the next tick tries again.
		s.log.Warn("update offer not sent", "rollout", r.ID, "station", station, "err", err)
		return "", s.st.ForgetRolloutOffer(ctx, r.ID, station)
	}
	s.log.Info("update offered", "rollout", r.ID, "station", station, "version", r.Version, "phase", phase+1, "nonce", c.Nonce)
	return "", s.st.RolloutOfferSent(ctx, r.ID, station, c.Nonce)
}

func held(holds []store.RolloutHold, reg store.Registration) bool {
	return slices.Contains(holds, store.RolloutHold{Kind: "station", Value: reg.ID}) ||
		(reg.County != "" && slices.Contains(holds, store.RolloutHold{Kind: "county", Value: reg.County}))
}

// View is a rollout as the console and the CLI show it.
type View struct {
	store.Rollout
	// StateText is the state in Chinese.
	StateText string        `json:"state_text"`
	Stations  []StationView `json:"stations"`
}

// StationView is one station's progress in a rollout.
type StationView struct {
	store.RolloutStation
	// Text is the step in Chinese, with the percentage or the reason:
	// 已提供, 下载中 42%, 已校验, 已安装, 试运行, 已生效, 已回滚（…）, 失败（…）.
	Text string `json:"text"`
}

// Act does what a button of the console (or a command) names: pause,
// resume, abort or advance rollout id; another name is ErrInvalid.
func (s *Service) Act(ctx context.Context, id int64, action string) error {
	switch action {
	case "pause":
		return s.Pause(ctx, id)
	case "resume":
		return s.Resume(ctx, id)
	case "abort":
		return s.Abort(ctx, id)
	case "advance":
		return s.Advance(ctx, id)
	}
	return fmt.Errorf("%w: action is pause, resume, abort, advance or hold", ErrInvalid)
}

// View returns rollout id with its stations.
func (s *Service) View(ctx context.Context, id int64) (*View, error) {
	r, err := s.st.Rollout(ctx, id)
	if err != nil {
		return nil, err
	}
	sts, err := s.st.RolloutStations(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &View{Rollout: *r, StateText: StateText(r.State), Stations: make([]StationView, len(sts))}
	for i, st := range sts {
		v.Stations[i] = StationView{RolloutStation: st, Text: StepText(st)}
	}
	return v, nil
}

// List returns every rollout, newest first, without its stations.
func (s *Service) List(ctx context.Context) ([]View, error) {
	rs, err := s.st.Rollouts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rs))
	for i, r := range rs {
		out[i] = View{Rollout: r, StateText: StateText(r.State), Stations: []StationView{}}
	}
	return out, nil
}

// StateText is a rollout state in Chinese.
func StateText(state string) string {
	switch state {
	case store.RolloutActive:
		return "进行中"
	case store.RolloutPaused:
		return "已暂停"
	case store.RolloutAborted:
		return "已中止"
	case store.RolloutDone:
		return "已完成"
	}
	return state
}

// StepText is a station's step in Chinese, as the console shows it.
func StepText(st store.RolloutStation) string {
	reason := func(s string) string {
		if st.Reason == "" {
			return s
		}
		return s + "（" + st.Reason + "）"
	}
	switch st.Step {
	case "", wire.UpdateOffered:
		return "已提供"
	case wire.UpdateDownloading:
		if st.Total > 0 {
			return fmt.Sprintf("下载中 %d%%", st.Done*100/st.Total)
		}
		return "下载中"
	case wire.UpdateVerified:
		return "已校验"
	case wire.UpdateInstalled:
		return "已安装"
	case wire.UpdateTrying:
		return "试运行"
	case wire.UpdateCommitted:
		return "已生效"
	case wire.UpdateRolledBack:
		return reason("已回滚")
	case wire.UpdateFailed:
		return reason("失败")
	}
	return st.Step
}
