package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"leifeng/cloud/stars"
	"leifeng/cloud/store"
)

// Objections to a star award in public notice (星级认定公示, issue 12
// point 6). A user who sees the award's subject objects with a reason
// (POST /api/v1/stars/{id}/objection); the award goes back to its
// approver's queue (state applied, with its open objections) and is not
// awarded until the approver resolves them: POST /api/v1/stars/{id}/dismiss
// (the notice resumes, or the star is awarded when the period is over) or
// /uphold (the award is rejected with the reason). Kiosks' objections by
// card tap come in through the notice pass (store.ApplyKioskObjections).

// starForUser reads award id if r's user sees it (its subject's areas)
// or decides it; else ErrNotFound.
func (a *api) starForUser(r *http.Request) (int64, *store.StarAward, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, nil, store.ErrNotFound
	}
	x, err := a.f.Store.StarAward(r.Context(), id)
	if err != nil {
		return id, nil, err
	}
	if sc := scopeOf(r); !starVisible(sc, x) && !sc.ApprovesStars(x.Approver, x.Areas) {
		return id, nil, store.ErrNotFound
	}
	return id, x, nil
}

func (a *api) raiseStarObjection(w http.ResponseWriter, r *http.Request) {
	id, x, err := a.starForUser(r)
	if err != nil {
		a.failStars(w, "star award "+r.PathValue("id"), err)
		return
	}
	reason, ok := a.reasonBody(w, r, true)
	if !ok {
		return
	}
	o, after, err := a.stars().Object(r.Context(), id, userOf(r).Name, reason)
	if err != nil {
		a.failStars(w, "objection to star award "+r.PathValue("id"), err)
		return
	}
	a.refreshStarNotice(r, after)
	noteChange(r, fmt.Sprintf("star award %d", id), map[string]string{"state": x.State},
		map[string]any{"state": after.State, "objection": o.ID, "reason": reason})
	localAward(after)
	o.Raised = local(o.Raised)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"objection": o, "award": after})
}

// resolveStarObjection is decideStar's dismiss and uphold: only the
// award's approver resolves its objections.
func (a *api) resolveStarObjection(w http.ResponseWriter, r *http.Request, uphold bool) {
	id, x, err := a.starForUser(r)
	if err != nil {
		a.failStars(w, "star award "+r.PathValue("id"), err)
		return
	}
	if !scopeOf(r).ApprovesStars(x.Approver, x.Areas) {
		level := map[string]string{stars.ApproveCounty: "县级", stars.ApproveCity: "市级"}[x.Approver]
		a.failReview(w, http.StatusForbidden, "resolved by the "+x.Approver,
			fmt.Sprintf("对%s认定的异议由%s审批管理员处理。", stars.Name(x.Level), level), nil)
		return
	}
	reason, ok := a.reasonBody(w, r, true)
	if !ok {
		return
	}
	after, done, err := a.stars().Resolve(r.Context(), id, uphold, userOf(r).Name, reason)
	var refusal *stars.Refusal
	if errors.As(err, &refusal) && !refusal.Conflict {
		a.failReview(w, http.StatusForbidden, "objection to star award "+r.PathValue("id")+": "+err.Error(), refusal.Zh, nil)
		return
	}
	if err != nil {
		a.failStars(w, "objections to star award "+r.PathValue("id"), err)
		return
	}
	a.refreshStarNotice(r, after)
	ids := make([]int64, len(done))
	for i := range done {
		ids[i] = done[i].ID
		done[i].Raised, done[i].Resolved = local(done[i].Raised), local(done[i].Resolved)
	}
	noteChange(r, fmt.Sprintf("star award %d", id), map[string]any{"state": x.State, "objections": x.Objections},
		map[string]any{"state": after.State, "reason": reason, "objections_resolved": ids, "uphold": uphold})
	localAward(after)
	writeJSON(w, map[string]any{"award": after, "objections": done})
}

// refreshStarNotice sends the stations showing award x their config
// again (failures are logged: the roster refresh sends it later).
func (a *api) refreshStarNotice(r *http.Request, x *store.StarAward) {
	if a.f.Service == nil {
		return
	}
	stations, err := a.f.Store.StarStations(r.Context(), x)
	if err == nil {
		err = a.f.Service.RefreshStations(r.Context(), stations)
	}
	if err != nil {
		a.log.Warn("cannot send the stations their star notice", "award", x.ID, "err", err)
	}
}
