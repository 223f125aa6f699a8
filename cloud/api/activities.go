package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"leifeng/cloud/activities"
	"leifeng/cloud/store"
)

// The activity list (活动预告), scoped by the rules of cloud/activities:
// everyone in scope reads the activities for their stations and areas;
// the city announces for any station, a county for its stations and
// areas, a station manager for its stations. Each change is audited with
// the activity before and after, and the stations concerned get their new
// documents at once.

func (a *api) activityRoutes(mux *router) {
	mux.HandleFunc("GET /api/v1/activities", a.view(activitiesWhat, a.listActivities))
	mux.HandleFunc("POST /api/v1/activities", a.change("activity.create", a.createActivity))
	mux.HandleFunc("PATCH /api/v1/activities/{id}", a.change("activity.edit", a.editActivity))
	mux.HandleFunc("DELETE /api/v1/activities/{id}", a.change("activity.delete", a.deleteActivity))
}

func activitiesWhat(*http.Request) string { return "activities" }

// activityList is the list as the API's handlers use it.
func (a *api) activityList() *activities.List {
	return &activities.List{Store: a.f.Store, Fleet: a.f.Service, Now: a.now, Log: a.log}
}

// localActivity is x with its times in China Standard Time.
func localActivity(x store.Activity) store.Activity {
	x.Start, x.End, x.Created, x.Updated = local(x.Start), local(x.End), local(x.Created), local(x.Updated)
	return x
}

// failActivity answers a refusal of cloud/activities, or a failure.
func (a *api) failActivity(w http.ResponseWriter, err error) {
	var ae *activities.Error
	if errors.As(err, &ae) {
		a.failReview(w, ae.Status, ae.En, ae.Zh, nil)
		return
	}
	a.failInternal(w, "cannot change the activities", err)
}

// listActivities is GET /api/v1/activities[?ended=1]: those not ended
// yet (with ended=1, all), soonest first.
func (a *api) listActivities(w http.ResponseWriter, r *http.Request) {
	list, err := a.activityList().Visible(r.Context(), scopeOf(r), r.URL.Query().Get("ended") == "1")
	if err != nil {
		a.failInternal(w, "cannot list activities", err)
		return
	}
	out := make([]store.Activity, len(list))
	for i, x := range list {
		out[i] = localActivity(x)
	}
	writeJSON(w, map[string]any{"activities": out})
}

// decodeActivity reads a JSON activity from r's body over x: the fields
// it names change, the rest stay.
func (a *api) decodeActivity(w http.ResponseWriter, r *http.Request, x *store.Activity) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil {
		id, by, created := x.ID, x.CreatedBy, x.Created
		err = json.NewDecoder(bytes.NewReader(body)).Decode(x)
		x.ID, x.CreatedBy, x.Created = id, by, created
	}
	if err != nil {
		a.failReview(w, http.StatusBadRequest, "bad request body: "+err.Error(),
			"请求内容不是有效的 JSON（时间请写成 2026-12-01T09:00:00+08:00 的格式），请检查后重试。", nil)
		return false
	}
	return true
}

// createActivity is POST /api/v1/activities.
func (a *api) createActivity(w http.ResponseWriter, r *http.Request) {
	var x store.Activity
	if !a.decodeActivity(w, r, &x) {
		return
	}
	who := ""
	if u := userOf(r); u != nil {
		who = u.Name
	}
	if err := a.activityList().Create(r.Context(), scopeOf(r), who, &x); err != nil {
		a.failActivity(w, err)
		return
	}
	noteChange(r, "activity "+strconv.FormatInt(x.ID, 10), nil, x)
	created(w, "/api/v1/activities/"+strconv.FormatInt(x.ID, 10), localActivity(x))
}

// activityID is the activity ID of r's path, or 0.
func activityID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// editActivity is PATCH /api/v1/activities/{id}: the fields the body
// names change.
func (a *api) editActivity(w http.ResponseWriter, r *http.Request) {
	l := a.activityList()
	cur, err := l.Get(r.Context(), scopeOf(r), activityID(r))
	if err != nil {
		a.failActivity(w, err)
		return
	}
	x := *cur
	if !a.decodeActivity(w, r, &x) {
		return
	}
	before, err := l.Update(r.Context(), scopeOf(r), &x)
	if err != nil {
		a.failActivity(w, err)
		return
	}
	noteChange(r, "activity "+strconv.FormatInt(x.ID, 10), before, x)
	writeJSON(w, localActivity(x))
}

// deleteActivity is DELETE /api/v1/activities/{id}.
func (a *api) deleteActivity(w http.ResponseWriter, r *http.Request) {
	before, err := a.activityList().Delete(r.Context(), scopeOf(r), activityID(r))
	if err != nil {
		a.failActivity(w, err)
		return
	}
	noteChange(r, "activity "+strconv.FormatInt(before.ID, 10), before, nil)
	w.WriteHeader(http.StatusNoContent)
}
