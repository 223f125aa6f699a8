package stars

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
)

// Standing is where a volunteer or an organisation stands: the star
// held, the hours counted, the next star and whether they may apply for
// it now — and if not, why (Why, in Chinese, for the console and the
// kiosk).
type Standing struct {
	Subject string  `json:"subject"`
	Kind    string  `json:"kind"`
	Level   int     `json:"level"`
	Hours   float64 `json:"hours"`
	// Next is the star above Level (0 at the top); NextHours what it
	// needs, Short how many hours are missing (0 when enough).
	Next      int     `json:"next"`
	NextHours float64 `json:"next_hours,omitempty"`
	Short     float64 `json:"short,omitempty"`
	Eligible  bool    `json:"eligible"`
	// From is when the tenure for Next is complete (zero: no tenure).
	From    time.Time `json:"from,omitzero"`
	Pending int       `json:"pending,omitempty"`
	Why     string    `json:"why"`
	// Facts are what the rules judged (an organisation's members,
	// visits and rating).
	Facts store.StarFacts `json:"facts"`
	// Awards are the subject's star awards, oldest first.
	Awards []store.StarAward `json:"awards"`
}

// Judge is a volunteer's standing under r at now, from f.
func (r Rules) Judge(id string, f store.StarFacts, now time.Time) Standing {
	s := Standing{Subject: id, Kind: store.SubjectVolunteer, Level: f.Level, Hours: hours(f.Cents), Pending: f.Pending, Facts: f}
	if f.Level >= Levels {
		s.Why = "已是五星志愿者。"
		return s
	}
	s.Next = f.Level + 1
	s.NextHours = r.Hours[s.Next-1]
	s.Short = math.Max(0, math.Round((s.NextHours-s.Hours)*100)/100)
	from := f.Registered
	if r.TenureFrom == FromPrevious && f.Level > 0 {
		from = f.LevelAt
	}
	if m := r.TenureMonths[s.Next-1]; m > 0 && !from.IsZero() {
		s.From = from.AddDate(0, m, 0)
	}
	what := "累计"
	if r.Annual {
		what = "本年度"
	}
	switch {
	case f.Pending > 0:
		s.Why = fmt.Sprintf("%s申请正在审批或公示中。", Name(f.Pending))
	case s.Short > 0:
		s.Why = fmt.Sprintf("%s服务 %s 小时，距%s志愿者还差 %s 小时。", what, num(s.Hours), Name(s.Next), num(s.Short))
	case s.From.After(now):
		s.Why = fmt.Sprintf("时长已够，%s起可申请%s。", s.From.In(cst).Format("2006年1月2日"), Name(s.Next))
	default:
		s.Eligible = true
		s.Why = fmt.Sprintf("%s服务 %s 小时，可申请升级为%s志愿者。", what, num(s.Hours), Name(s.Next))
	}
	return s
}

// JudgeOrg is an organisation's standing under r from f.
func (r Rules) JudgeOrg(id string, f store.StarFacts) Standing {
	s := Standing{Subject: id, Kind: store.SubjectOrg, Level: f.Level, Hours: hours(f.Cents), Pending: f.Pending, Facts: f}
	if f.Level >= Levels {
		s.Why = "已是五星志愿服务组织。"
		return s
	}
	s.Next = f.Level + 1
	l := r.Org.Levels[s.Next-1]
	s.NextHours = l.Hours
	s.Short = math.Max(0, math.Round((l.Hours-s.Hours)*100)/100)
	var missing []string
	if f.Members < l.Members {
		missing = append(missing, fmt.Sprintf("注册志愿者 %d 人（需 %d 人）", f.Members, l.Members))
	}
	if s.Short > 0 {
		missing = append(missing, fmt.Sprintf("服务 %s 小时（需 %s 小时）", num(s.Hours), num(l.Hours)))
	}
	if f.VisitMonths < l.VisitMonths {
		missing = append(missing, fmt.Sprintf("近12个月到结对社区服务 %d 个月（需 %d 个月）", f.VisitMonths, l.VisitMonths))
	}
	if l.MinRating > 0 && (f.Rating == nil || *f.Rating < l.MinRating) {
		got := "尚无评价"
		if f.Rating != nil {
			got = fmt.Sprintf("%.2f 分", *f.Rating)
		}
		missing = append(missing, fmt.Sprintf("群众评价平均 %s（需 %.1f 分）", got, l.MinRating))
	}
	switch {
	case f.Pending > 0:
		s.Why = fmt.Sprintf("%s申请正在审批或公示中。", Name(f.Pending))
	case len(missing) > 0:
		s.Why = fmt.Sprintf("距%s组织还差：%s。", Name(s.Next), strings.Join(missing, "；"))
	default:
		s.Eligible = true
		s.Why = fmt.Sprintf("条件已满足，可申请%s志愿服务组织。", Name(s.Next))
	}
	return s
}

func hours(cents int64) float64 { return float64(cents) / 100 }

// num writes hours without trailing zeros: 312.5, 100.
func num(h float64) string {
	s := fmt.Sprintf("%.2f", h)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// Refusal is a refused application or decision, in Chinese. Conflict
// marks a refusal by the state of things (an application already open or
// already decided) rather than by the subject's standing or the request.
type Refusal struct {
	Zh       string
	Conflict bool
}

func (e *Refusal) Error() string { return "stars: " + e.Zh }

// ErrNotVolunteer is a star asked for someone who is not a registered
// volunteer.
var ErrNotVolunteer = fmt.Errorf("stars: not a registered volunteer: %w", store.ErrNotFound)

// Service applies the rules to the store: standings, applications,
// decisions and the award after notice.
type Service struct {
	Store *store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (v *Service) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Rules are the rules in force: the stored setting, or Default.
func (v *Service) Rules(ctx context.Context) (Rules, error) {
	doc, found, err := v.Store.StarRulesDoc(ctx)
	if err != nil || !found {
		return Default(), err
	}
	return Parse([]byte(doc))
}

// SetRules checks and stores r.
func (v *Service) SetRules(ctx context.Context, r Rules) error {
	if err := r.Check(); err != nil {
		return err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return v.Store.SetStarRulesDoc(ctx, string(doc), v.now())
}

// Volunteer is volunteer id's standing, with their awards; a volunteer
// not registered is ErrNotVolunteer.
func (v *Service) Volunteer(ctx context.Context, id string) (*Standing, error) {
	r, err := v.Rules(ctx)
	if err != nil {
		return nil, err
	}
	now := v.now()
	facts, err := v.Store.VolunteerStarFacts(ctx, []string{id}, r.hoursFrom(now))
	if err != nil {
		return nil, err
	}
	f, ok := facts[id]
	if !ok {
		return nil, ErrNotVolunteer
	}
	s := r.Judge(id, *f, now)
	if s.Awards, err = v.Store.StarAwards(ctx, store.StarFilter{SubjectKind: store.SubjectVolunteer, Subject: id}); err != nil {
		return nil, err
	}
	return &s, nil
}

// Standings are the standings of those of volunteers who are registered
// (without their awards), for a station's roster: the star held, the
// hours, what is missing to the next ("距三星志愿者还差 42 小时").
func (v *Service) Standings(ctx context.Context, volunteers []string) (map[string]Standing, error) {
	r, err := v.Rules(ctx)
	if err != nil {
		return nil, err
	}
	now := v.now()
	facts, err := v.Store.VolunteerStarFacts(ctx, volunteers, r.hoursFrom(now))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Standing, len(facts))
	for id, f := range facts {
		out[id] = r.Judge(id, *f, now)
	}
	return out, nil
}

// Eligible is, for each of volunteers, the star they may apply for now
// (0 none: not enough hours or tenure, an application open, at the top,
// or not registered) — the kiosk's "可申请升级".
func (v *Service) Eligible(ctx context.Context, volunteers []string) (map[string]int, error) {
	st, err := v.Standings(ctx, volunteers)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(volunteers))
	for _, id := range volunteers {
		out[id] = 0
		if s, ok := st[id]; ok && s.Eligible {
			out[id] = s.Next
		}
	}
	return out, nil
}

// Org is organisation id's standing, with its awards (store.ErrNotFound
// for an unknown one).
func (v *Service) Org(ctx context.Context, id string) (*Standing, error) {
	r, err := v.Rules(ctx)
	if err != nil {
		return nil, err
	}
	now := v.now()
	f, err := v.Store.OrgStarFacts(ctx, id, r.hoursFrom(now), now)
	if err != nil {
		return nil, err
	}
	s := r.JudgeOrg(id, *f)
	if s.Awards, err = v.Store.StarAwards(ctx, store.StarFilter{SubjectKind: store.SubjectOrg, Subject: id}); err != nil {
		return nil, err
	}
	return &s, nil
}

// Apply files an application of subject (a volunteer, or kind org an
// organisation) for its next star, by who, if it is eligible now; the
// award waits for the approver the rules name for that star.
func (v *Service) Apply(ctx context.Context, kind, subject, who string) (*store.StarAward, error) {
	r, err := v.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var (
		s        *Standing
		approver []string
	)
	if kind == store.SubjectOrg {
		s, err = v.Org(ctx, subject)
		approver = r.Org.Approvers
	} else {
		s, err = v.Volunteer(ctx, subject)
		approver = r.Approvers
	}
	if err != nil {
		return nil, err
	}
	if !s.Eligible {
		return nil, &Refusal{Zh: "现在还不能申请：" + s.Why, Conflict: s.Pending > 0}
	}
	now := v.now()
	basis := fmt.Sprintf("截至%s，%s", now.In(cst).Format("2006年1月2日"), s.Why)
	if kind == store.SubjectOrg {
		rating := "尚无评价"
		if s.Facts.Rating != nil {
			rating = fmt.Sprintf("%.2f 分", *s.Facts.Rating)
		}
		basis = fmt.Sprintf("截至%s，注册志愿者 %d 人，服务 %s 小时，近12个月到结对社区服务 %d 个月，群众评价平均 %s。",
			now.In(cst).Format("2006年1月2日"), s.Facts.Members, num(s.Hours), s.Facts.VisitMonths, rating)
	}
	a, err := v.Store.ApplyStar(ctx, store.StarAward{SubjectKind: kind, Subject: subject, Level: s.Next,
		Basis: basis, Approver: approver[s.Next-1], AppliedBy: who}, now)
	if errors.Is(err, store.ErrStarPending) {
		return nil, &Refusal{Zh: "已有一份星级申请正在审批或公示中，请等它办结后再申请。", Conflict: true}
	}
	return a, err
}

// Approve approves award id by who: it goes into public notice for the
// rules' NoticeDays working days (the calendar's), then the award pass
// awards it. The applicant cannot approve their own application.
func (v *Service) Approve(ctx context.Context, id int64, who, note string) (*store.StarAward, error) {
	r, err := v.Rules(ctx)
	if err != nil {
		return nil, err
	}
	cal, err := calendar.Load(ctx, v.Store)
	if err != nil {
		return nil, err
	}
	now := v.now()
	return v.Store.DecideStar(ctx, id, func(a *store.StarAward) error {
		if err := decidable(a, who); err != nil {
			return err
		}
		a.State, a.ApprovedBy, a.NoticeUntil, a.Reason = store.StarNotice, who, cal.After(now, r.NoticeDays), note
		return nil
	})
}

// Reject rejects award id by who, with reason (required).
func (v *Service) Reject(ctx context.Context, id int64, who, reason string) (*store.StarAward, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, &Refusal{Zh: "不通过时请写明原因，申请人会看到。"}
	}
	now := v.now()
	return v.Store.DecideStar(ctx, id, func(a *store.StarAward) error {
		if err := decidable(a, who); err != nil {
			return err
		}
		a.State, a.ApprovedBy, a.Decided, a.Reason = store.StarRejected, who, now, reason
		return nil
	})
}

func decidable(a *store.StarAward, who string) error {
	switch {
	case a.State == store.StarApplied && a.Objections > 0:
		return &Refusal{Zh: "这项星级认定在公示期间收到异议，请先处理异议：异议不成立则恢复公示，异议成立则不予认定。", Conflict: true}
	case a.State != store.StarApplied:
		return &Refusal{Zh: "这份申请已经审批过了，请刷新列表。", Conflict: true}
	case a.AppliedBy == who:
		return &Refusal{Zh: "申请人不能审批自己提交的申请，请由另一位管理员审批。"}
	}
	return nil
}

// AwardDue awards the stars whose notice ended, returning how many.
func (v *Service) AwardDue(ctx context.Context) (int, error) {
	return v.Store.AwardDueStars(ctx, v.now())
}

// Object records an objection by who (a console user) to award id in
// public notice, with reason (required): the award goes back to its
// approver's queue and is not awarded until the objection is resolved.
func (v *Service) Object(ctx context.Context, id int64, who, reason string) (*store.StarObjection, *store.StarAward, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, nil, &Refusal{Zh: "请写明异议的理由，审批人会据此核实。"}
	}
	o, a, err := v.Store.RaiseStarObjection(ctx, store.StarObjection{Award: id, Via: store.ViaConsole, RaisedBy: who,
		Reason: strings.TrimSpace(reason)}, v.now())
	switch {
	case errors.Is(err, store.ErrStarNotInNotice):
		return nil, nil, &Refusal{Zh: "这项星级认定不在公示期，不能提出异议；如有疑问，请联系审批的管理员。", Conflict: true}
	case errors.Is(err, store.ErrAlreadyObjected):
		return nil, nil, &Refusal{Zh: "您对这项星级认定的异议还在处理中，不必重复提出。", Conflict: true}
	}
	return o, a, err
}

// Resolve decides the open objections to award id by who, its approver,
// with reason (required). Dismissed (uphold false): the notice resumes,
// or the star is awarded if the notice period is over. Upheld: the
// award is rejected with the reason.
func (v *Service) Resolve(ctx context.Context, id int64, uphold bool, who, reason string) (*store.StarAward, []store.StarObjection, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, nil, &Refusal{Zh: "处理异议时请写明理由，提出异议的人和申请人会看到。"}
	}
	a, done, err := v.Store.ResolveStarObjections(ctx, id, uphold, who, strings.TrimSpace(reason), v.now())
	switch {
	case errors.Is(err, store.ErrNoOpenObjection):
		return nil, nil, &Refusal{Zh: "这项星级认定没有待处理的异议，请刷新列表。", Conflict: true}
	case errors.Is(err, store.ErrOwnObjection):
		return nil, nil, &Refusal{Zh: "您提出的异议需由另一位管理员处理。"}
	}
	return a, done, err
}
