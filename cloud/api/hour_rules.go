package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/hours"
)

// The hour rules (issue 12): every version, the highest in force. Anyone
// signed in may read them (they are printed on every record); only the
// city administrator makes a new version, which counts the records made
// from then on and changes none counted already.

func (a *api) hourRuleRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/hour-rules", a.view(hourRulesWhat, a.hourRules))
	mux.HandleFunc("PUT /api/v1/hour-rules", a.change("hours.rules", a.setHourRules))
}

func hourRulesWhat(*http.Request) string { return "hour rules" }

// HourRulesVersion is one stored version of the hour rules.
type HourRulesVersion struct {
	Version int64       `json:"version"`
	Rules   hours.Rules `json:"rules"`
	By      string      `json:"created_by"`
	Created time.Time   `json:"created"`
}

// HourRules is the body of GET /api/v1/hour-rules: the version in force
// and its rules, and every version, oldest first.
type HourRules struct {
	Current  int64              `json:"current"`
	Rules    hours.Rules        `json:"rules"`
	Versions []HourRulesVersion `json:"versions"`
}

func (a *api) readHourRules(r *http.Request) (*HourRules, error) {
	ctx := r.Context()
	cur, v, err := hours.CurrentRules(ctx, a.f.Store, a.now())
	if err != nil {
		return nil, err
	}
	docs, err := a.f.Store.HourRules(ctx)
	if err != nil {
		return nil, err
	}
	out := &HourRules{Current: v, Rules: cur, Versions: make([]HourRulesVersion, 0, len(docs))}
	for _, d := range docs {
		x := HourRulesVersion{Version: d.Version, By: d.By, Created: d.Created}
		if err := json.Unmarshal([]byte(d.Doc), &x.Rules); err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, x)
	}
	return out, nil
}

func (a *api) hourRules(w http.ResponseWriter, r *http.Request) {
	out, err := a.readHourRules(r)
	if err != nil {
		a.failInternal(w, "cannot read the hour rules", err)
		return
	}
	writeJSON(w, out)
}

// setHourRules is PUT /api/v1/hour-rules with a whole hours.Rules: the
// city administrator stores it as the next version.
func (a *api) setHourRules(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if u == nil || u.Role != access.City {
		a.failReview(w, http.StatusForbidden, "only a city administrator may change the hour rules",
			"工时规则只有市级管理员可以修改。如需修改，请联系市级管理员。", nil)
		return
	}
	var req hours.Rules
	if !a.decodeStrict(w, r, &req, `请求内容有误：请提交完整的工时规则（JSON，字段见 GET /api/v1/hour-rules 的 rules）。`) {
		return
	}
	if err := hours.Validate(req); err != nil {
		a.failReview(w, http.StatusBadRequest, "invalid hour rules", err.Error(), nil)
		return
	}
	before, err := a.readHourRules(r)
	if err == nil {
		_, err = hours.SetRules(r.Context(), a.f.Store, req, u.Name, a.now())
	}
	after, err2 := a.readHourRules(r)
	if err = errors.Join(err, err2); err != nil {
		a.failInternal(w, "cannot store the hour rules", err)
		return
	}
	noteChange(r, "hour rules", map[string]any{"version": before.Current, "rules": before.Rules},
		map[string]any{"version": after.Current, "rules": after.Rules})
	writeJSON(w, after)
}
