package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"leifeng/cloud/access"
	"leifeng/cloud/people"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
)

// Star ratings (星级认定, issue 12 point 6). A user who sees a volunteer
// (or an organisation) applies for its next star when it is eligible;
// the queue routes each application to the level the rules name for the
// star — the county of the subject's community, or the city — and
// nobody else; the approver is never the applicant; approved, the star
// is in public notice for the rules' working days, then the notice pass
// awards it. The rules are a city setting: anyone signed in reads them,
// only a city administrator changes them.

func (a *api) starRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/star-rules", a.view(starRulesWhat, a.starRules))
	mux.HandleFunc("PUT /api/v1/star-rules", a.change("stars.rules", a.cityRule(a.putStarRules)))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/stars", a.read("stars.read", volunteerPath, a.volunteerStars))
	mux.HandleFunc("POST /api/v1/volunteers/{id}/stars/apply", a.change("stars.apply", a.applyVolunteerStar))
	mux.HandleFunc("GET /api/v1/organisations/{id}/stars", a.view(orgPath, a.orgStars))
	mux.HandleFunc("POST /api/v1/organisations/{id}/stars/apply", a.change("stars.apply", a.applyOrgStar))
	mux.HandleFunc("GET /api/v1/stars/queue", a.read("stars.read", starQueueWhat, a.starQueue))
	mux.HandleFunc("POST /api/v1/stars/{id}/{action}", a.change("stars.decide", a.decideStar))
	mux.HandleFunc("POST /api/v1/stars/{id}/objection", a.change("stars.objection", a.raiseStarObjection))
}

func starRulesWhat(*http.Request) string { return "star rules" }

func starQueueWhat(*http.Request) string { return "star applications" }

func (a *api) stars() *stars.Service { return &stars.Service{Store: a.f.Store, Now: a.now} }

func (a *api) starRules(w http.ResponseWriter, r *http.Request) {
	rules, err := a.stars().Rules(r.Context())
	if err != nil {
		a.failInternal(w, "cannot read the star rules", err)
		return
	}
	writeJSON(w, rules)
}

func (a *api) putStarRules(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		a.failReview(w, http.StatusRequestEntityTooLarge, "body too large", "内容太长了，请检查后再提交。", err)
		return
	}
	svc := a.stars()
	before, err := svc.Rules(r.Context())
	if err != nil {
		a.failInternal(w, "cannot read the star rules", err)
		return
	}
	rules, err := stars.Parse(body)
	if err == nil {
		err = svc.SetRules(r.Context(), rules)
	}
	var re *stars.RuleError
	if errors.As(err, &re) {
		a.failReview(w, http.StatusUnprocessableEntity, err.Error(), re.Zh, nil)
		return
	}
	if err != nil {
		a.failInternal(w, "cannot store the star rules", err)
		return
	}
	noteChange(r, "star rules", before, rules)
	writeJSON(w, rules)
}

// failStars answers a star request that went wrong.
func (a *api) failStars(w http.ResponseWriter, what string, err error) {
	var refusal *stars.Refusal
	switch {
	case errors.As(err, &refusal) && refusal.Conflict:
		a.failReview(w, http.StatusConflict, what+": "+err.Error(), refusal.Zh, nil)
	case errors.As(err, &refusal):
		a.failReview(w, http.StatusUnprocessableEntity, what+": "+err.Error(), refusal.Zh, nil)
	case errors.Is(err, store.ErrNotFound):
		a.failReview(w, http.StatusNotFound, what+": not found", "找不到：编号可能写错了，或不在您的管理范围内。", nil)
	default:
		a.failInternal(w, what, err)
	}
}

func localStanding(s *stars.Standing) *stars.Standing {
	s.From = local(s.From)
	for i := range s.Awards {
		localAward(&s.Awards[i])
	}
	return s
}

func localAward(x *store.StarAward) {
	x.Applied, x.NoticeUntil, x.Decided = local(x.Applied), local(x.NoticeUntil), local(x.Decided)
}

func (a *api) volunteerStars(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if ok, err := a.volunteerVisible(r, id); err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	s, err := a.stars().Volunteer(r.Context(), id)
	if err != nil {
		a.failStars(w, "stars of volunteer "+id, err)
		return
	}
	writeJSON(w, localStanding(s))
}

func (a *api) applyVolunteerStar(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if ok, err := a.volunteerVisible(r, id); err != nil || !ok {
		a.failVolunteer(w, id, err)
		return
	}
	a.applyStar(w, r, store.SubjectVolunteer, id)
}

func (a *api) applyStar(w http.ResponseWriter, r *http.Request, kind, id string) {
	award, err := a.stars().Apply(r.Context(), kind, id, userOf(r).Name)
	if err != nil {
		a.failStars(w, "star application of "+id, err)
		return
	}
	noteChange(r, fmt.Sprintf("%s %s", kind, id), nil, award)
	localAward(award)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(award)
}

// orgVisible reads organisation id if r's user sees it (else ErrNotFound).
func (a *api) orgVisible(r *http.Request, id string) (*people.Organisation, error) {
	o, err := a.f.Store.Organisation(r.Context(), id)
	if err == nil && !scopeOf(r).Organisation(o.ID, o.County, o.Community) {
		err = store.ErrNotFound
	}
	return o, err
}

func (a *api) orgStars(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.orgVisible(r, id); err != nil {
		a.failStars(w, "stars of organisation "+id, err)
		return
	}
	s, err := a.stars().Org(r.Context(), id)
	if err != nil {
		a.failStars(w, "stars of organisation "+id, err)
		return
	}
	writeJSON(w, localStanding(s))
}

func (a *api) applyOrgStar(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.orgVisible(r, id); err != nil {
		a.failStars(w, "star application of organisation "+id, err)
		return
	}
	a.applyStar(w, r, store.SubjectOrg, id)
}

// starVisible reports whether sc sees award x's subject by its areas.
func starVisible(sc *access.Scope, x *store.StarAward) bool {
	return sc.All() || slices.ContainsFunc(x.Areas, sc.Area)
}

// StarQueueItem is an application in an approver's queue, with the
// subject's name (a volunteer's masked: the approver opens the record
// for more).
type StarQueueItem struct {
	store.StarAward
	Name  string `json:"name"`
	Stars string `json:"stars"`
	// OpenObjections are the objections raised during its notice that
	// sent it back here (resolve them: dismiss or uphold).
	OpenObjections []store.StarObjection `json:"open_objections,omitempty"`
}

// starQueue is the applications waiting for the user's decision, oldest
// first.
func (a *api) starQueue(w http.ResponseWriter, r *http.Request) {
	list, err := a.f.Store.StarAwards(r.Context(), store.StarFilter{States: []string{store.StarApplied}})
	if err != nil {
		a.failInternal(w, "cannot list star applications", err)
		return
	}
	sc := scopeOf(r)
	out := []StarQueueItem{}
	for _, x := range list {
		if !sc.ApprovesStars(x.Approver, x.Areas) {
			continue
		}
		item := StarQueueItem{StarAward: x, Stars: stars.Name(x.Level)}
		localAward(&item.StarAward)
		if x.Objections > 0 {
			objs, err := a.f.Store.StarObjections(r.Context(), x.ID)
			if err != nil {
				a.failInternal(w, "cannot list objections to star applications", err)
				return
			}
			for _, o := range objs {
				if o.State == store.ObjectionOpen {
					o.Raised = local(o.Raised)
					item.OpenObjections = append(item.OpenObjections, o)
				}
			}
		}
		if x.SubjectKind == store.SubjectOrg {
			if o, err := a.f.Store.Organisation(r.Context(), x.Subject); err == nil {
				item.Name = o.Name
			}
		} else if v, err := a.f.Store.Volunteer(r.Context(), x.Subject); err == nil {
			item.Name = people.MaskName(v.Name)
		}
		out = append(out, item)
	}
	writeJSON(w, map[string]any{"applications": out})
}

func (a *api) decideStar(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action == "dismiss" || action == "uphold" {
		a.resolveStarObjection(w, r, action == "uphold") // star_notice.go
		return
	}
	if action != "approve" && action != "reject" {
		a.failReview(w, http.StatusNotFound, "action: approve, reject, dismiss or uphold",
			"操作只能是 approve（通过）、reject（不通过）、dismiss（异议不成立）或 uphold（异议成立）。", nil)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var x *store.StarAward
	if err == nil {
		x, err = a.f.Store.StarAward(r.Context(), id)
	} else {
		err = store.ErrNotFound
	}
	sc := scopeOf(r)
	if err == nil && !starVisible(sc, x) && !sc.ApprovesStars(x.Approver, x.Areas) {
		err = store.ErrNotFound
	}
	if err != nil {
		a.failStars(w, "star application "+r.PathValue("id"), err)
		return
	}
	if !sc.ApprovesStars(x.Approver, x.Areas) {
		level := map[string]string{stars.ApproveCounty: "县级", stars.ApproveCity: "市级"}[x.Approver]
		a.failReview(w, http.StatusForbidden, "decided by the "+x.Approver,
			fmt.Sprintf("%s申请由%s管理员审批。", stars.Name(x.Level), level), nil)
		return
	}
	reason, ok := a.reasonBody(w, r, action == "reject")
	if !ok {
		return
	}
	svc, who := a.stars(), userOf(r).Name
	var after *store.StarAward
	if action == "approve" {
		after, err = svc.Approve(r.Context(), id, who, reason)
	} else {
		after, err = svc.Reject(r.Context(), id, who, reason)
	}
	if err != nil {
		a.failStars(w, "star application "+r.PathValue("id"), err)
		return
	}
	if after.State == store.StarNotice {
		a.refreshStarNotice(r, after) // its stations' kiosks show it now
	}
	noteChange(r, fmt.Sprintf("star application %d", id), map[string]string{"state": x.State},
		map[string]string{"state": after.State, "reason": reason})
	localAward(after)
	writeJSON(w, after)
}
