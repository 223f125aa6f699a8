package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
)

// Rollouts adds the firmware repository and staged rollouts to the API.
type Rollouts struct {
	Service *rollout.Service
	// Repo is the TUF repository directory served as plain files under
	// /firmware/ (none when empty). The kiosks fetch from there without
	// logging in: the files are signed metadata and the bundles it names.
	Repo string
	// Upload, when set, takes signed releases at POST /api/v1/releases
	// and verifies them before they are served; UploadMax bounds the
	// body (rollout.DefaultUploadMax when zero).
	Upload    *rollout.Uploader
	UploadMax int64
}

// HoldRequest is the body of POST /api/v1/rollouts/{id}/hold: keep a
// county or a station out of the rollout, or (Off) let it back in.
type HoldRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Off   bool   `json:"off,omitempty"`
}

func (a *api) rolloutRoutes(mux *router, ro *Rollouts) {
	if ro.Repo != "" {
		// GET covers HEAD.
		mux.Handle("GET /firmware/", rollout.Files("/firmware/", ro.Repo))
	}
	// Fleet-wide: a city administrator's (a city-wide auditor reads).
	if ro.Upload != nil {
		mux.HandleFunc("POST /api/v1/releases", a.change("release.upload", a.cityOnly(a.uploadRelease)))
	}
	mux.HandleFunc("POST /api/v1/rollouts", a.change("rollout.create", a.cityOnly(a.createRollout)))
	mux.HandleFunc("GET /api/v1/rollouts", a.view(allStations, a.cityWide(a.listRollouts)))
	mux.HandleFunc("GET /api/v1/rollouts/{id}", a.view(allStations, a.cityWide(a.showRollout)))
	mux.HandleFunc("POST /api/v1/rollouts/{id}/{action}", a.change("rollout.action", a.cityOnly(a.rolloutAction)))
}

func (a *api) rollouts() *rollout.Service { return a.f.Rollouts.Service }

func (a *api) createRollout(w http.ResponseWriter, r *http.Request) {
	var spec rollout.Spec
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&spec); err != nil {
		a.failRollout(w, "create rollout", errors.Join(rollout.ErrInvalid, err))
		return
	}
	ro, err := a.rollouts().Create(r.Context(), spec)
	if err != nil {
		a.failRollout(w, "create rollout", err)
		return
	}
	a.log.Info("rollout created", "rollout", ro.ID, "target", ro.Target, "version", ro.Version, "by", who(r))
	noteChange(r, fmt.Sprint("rollout ", ro.ID), nil, spec)
	a.writeRollout(w, r, ro.ID)
}

// uploadRelease takes a release the release host signed (multipart:
// "metadata" and "bundle" files, see rollout.Uploader) and serves it only
// once it verifies against the trusted root. The body is bounded and the
// bundles stream to disk.
func (a *api) uploadRelease(w http.ResponseWriter, r *http.Request) {
	ro := a.f.Rollouts
	max := ro.UploadMax
	if max <= 0 {
		max = rollout.DefaultUploadMax
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	mr, err := r.MultipartReader()
	if err != nil {
		a.failUpload(w, errors.Join(rollout.ErrInvalid, err))
		return
	}
	res, err := ro.Upload.Receive(mr)
	if err != nil {
		a.failUpload(w, err)
		return
	}
	a.log.Info("release uploaded", "targets_version", res.TargetsVersion, "bundles", len(res.Bundles),
		"published", res.Published, "by", who(r))
	noteChange(r, fmt.Sprint("release ", res.TargetsVersion), nil, res)
	writeJSON(w, res)
}

// failUpload answers a refused upload with the reason in English and in
// Chinese; nothing of it was written.
func (a *api) failUpload(w http.ResponseWriter, err error) {
	code, zh := rollout.UploadRefusal(err)
	if code >= 500 {
		a.failRollout(w, "upload release", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": "upload release: " + err.Error(), "message_zh": zh})
}

func (a *api) listRollouts(w http.ResponseWriter, r *http.Request) {
	vs, err := a.rollouts().List(r.Context())
	if err != nil {
		a.failRollout(w, "list rollouts", err)
		return
	}
	for i := range vs {
		localRollout(&vs[i])
	}
	writeJSON(w, map[string]any{"rollouts": vs})
}

func (a *api) showRollout(w http.ResponseWriter, r *http.Request) {
	id, ok := a.rolloutID(w, r)
	if ok {
		a.writeRollout(w, r, id)
	}
}

func (a *api) writeRollout(w http.ResponseWriter, r *http.Request, id int64) {
	v, err := a.rollouts().View(r.Context(), id)
	if err != nil {
		a.failRollout(w, "rollout", err)
		return
	}
	localRollout(v)
	writeJSON(w, v)
}

func (a *api) rolloutID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.failRollout(w, "rollout", errors.Join(rollout.ErrInvalid, errors.New("the rollout ID is a number")))
		return 0, false
	}
	return id, true
}

func (a *api) rolloutAction(w http.ResponseWriter, r *http.Request) {
	id, ok := a.rolloutID(w, r)
	if !ok {
		return
	}
	ctx, svc, action := r.Context(), a.rollouts(), r.PathValue("action")
	var err error
	var hold *HoldRequest
	defer func() { noteChange(r, fmt.Sprint("rollout ", id), nil, map[string]any{"action": action, "hold": hold}) }()
	if action == "hold" {
		var h HoldRequest
		if err = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&h); err != nil {
			err = errors.Join(rollout.ErrInvalid, err)
		} else {
			hold = &h
			err = svc.Hold(ctx, id, store.RolloutHold{Kind: h.Kind, Value: h.Value}, !h.Off)
		}
	} else {
		err = svc.Act(ctx, id, action)
	}
	if err != nil {
		a.failRollout(w, "rollout "+action, err)
		return
	}
	a.log.Info("rollout "+action, "rollout", id, "by", who(r))
	a.writeRollout(w, r, id)
}

func who(r *http.Request) string {
	w, _ := whoFrom(r.Context())
	return w
}

// localRollout writes a rollout's times in China Standard Time.
func localRollout(v *rollout.View) {
	v.Created, v.Updated = local(v.Created), local(v.Updated)
	for i := range v.Stations {
		v.Stations[i].Offered, v.Stations[i].Updated = local(v.Stations[i].Offered), local(v.Stations[i].Updated)
	}
}

// failRollout answers a rollout request that went wrong, with the reason
// in English (error) and in Chinese (message_zh, what the console shows).
func (a *api) failRollout(w http.ResponseWriter, what string, err error) {
	code, zh := http.StatusInternalServerError, "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"
	switch {
	case errors.Is(err, rollout.ErrInvalid):
		code, zh = http.StatusBadRequest, "发布计划填写有误，请按提示修改后再提交："+err.Error()
	case errors.Is(err, rollout.ErrUnknownTarget):
		code, zh = http.StatusUnprocessableEntity, "固件仓库里没有这个版本：请先在发布主机签名，再上传到云端（leifeng-cloud rollout upload，或控制台“上传新版本”）后再试。"
	case errors.Is(err, store.ErrRolloutState):
		code, zh = http.StatusConflict, "这个发布计划当前的状态不允许这样操作（例如已中止的不能继续，暂停的要先继续才能推进）。"
	case errors.Is(err, store.ErrNotFound):
		code, zh = http.StatusNotFound, "找不到这个发布计划，请核对编号后再试。"
	}
	msg := what + ": " + err.Error()
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "message_zh": zh})
}
