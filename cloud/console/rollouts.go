package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"leifeng/cloud/rollout"
	"leifeng/cloud/store"
)

// Firmware rollouts: the city administrator watches each rollout phase by
// phase, pauses, resumes, advances or aborts it, and uploads a release
// the release host signed. Auditors see the page without the buttons.

func (c *Console) rolloutRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"rollouts", c.page("rollouts", c.rolloutsPage))
	mux.HandleFunc("POST "+Prefix+"rollouts/{id}/{action}", c.change("rollouts", c.rolloutAction))
	if c.Upload != nil {
		mux.HandleFunc("POST "+Prefix+"releases", c.change("rollouts", c.uploadRelease))
	}
}

type rolloutsData struct {
	Rollouts []rollout.View
	Upload   bool
	// Result is the last upload's outcome.
	Result *rollout.UploadResult
}

func (c *Console) rolloutsPage(w http.ResponseWriter, r *http.Request) {
	c.showRollouts(w, r, http.StatusOK, &page{})
}

func (c *Console) showRollouts(w http.ResponseWriter, r *http.Request, code int, p *page) {
	vs, err := c.Rollouts.List(r.Context())
	if err != nil {
		c.fault(w, r, "rollouts", err)
		return
	}
	for i := range vs {
		v, err := c.Rollouts.View(r.Context(), vs[i].ID)
		if err != nil {
			c.fault(w, r, "rollout", err)
			return
		}
		vs[i] = *v
	}
	p.Title, p.Active = "固件发布", "rollouts"
	d, _ := p.Data.(*rolloutsData)
	if d == nil {
		d = &rolloutsData{}
	}
	d.Rollouts, d.Upload = vs, c.Upload != nil
	p.Data = d
	c.render(w, r, code, "rollouts", p)
}

func (c *Console) rolloutAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r)
		return
	}
	ctx, svc := r.Context(), c.Rollouts
	err = svc.Act(ctx, id, r.PathValue("action"))
	if errors.Is(err, rollout.ErrInvalid) {
		c.notFound(w, r)
		return
	}
	p := &page{}
	code := http.StatusOK
	switch {
	case err == nil:
		c.audit(r, "rollout."+r.PathValue("action"), fmt.Sprint("rollout ", id), nil, nil)
		v, verr := svc.View(ctx, id)
		if verr != nil {
			c.fault(w, r, "rollout", verr)
			return
		}
		p.Flash = "操作成功，发布计划现在" + v.StateText + "。"
	case errors.Is(err, store.ErrRolloutState):
		code, p.Error = http.StatusConflict, "这个发布计划当前的状态不允许这样操作（例如已中止的不能继续，暂停的要先继续才能推进）。"
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r)
		return
	default:
		c.fault(w, r, "rollout", err)
		return
	}
	c.showRollouts(w, r, code, p)
}

// uploadRelease takes a release the release host signed, as the API's
// POST /api/v1/releases does: the form's first part is the CSRF token,
// then the metadata and bundle files, streamed to the uploader, which
// serves them only once they verify.
func (c *Console) uploadRelease(w http.ResponseWriter, r *http.Request) {
	p := &page{}
	mr := formParts(r)
	if mr == nil {
		p.Error = "上传的内容不完整：请选择元数据文件和固件包后再上传。"
		c.showRollouts(w, r, http.StatusBadRequest, p)
		return
	}
	res, err := c.Upload.Receive(mr)
	if err != nil {
		code, zh := rollout.UploadRefusal(err)
		if code >= 500 {
			c.fault(w, r, "upload release", err)
			return
		}
		p.Error = "上传失败：" + zh
		c.showRollouts(w, r, code, p)
		return
	}
	c.audit(r, "release.upload", fmt.Sprint("release ", res.TargetsVersion), nil, res)
	var names []string
	for _, b := range res.Bundles {
		names = append(names, b.Target)
	}
	p.Flash = fmt.Sprintf("上传成功：%s（目标元数据版本 %d）", strings.Join(names, "、"), res.TargetsVersion)
	if res.Published {
		p.Flash += "，站点现在可以下载。可以用 leifeng-cloud rollout create 创建发布计划。"
	} else {
		p.Flash += "。云端没有在线密钥，请在发布主机上发布 snapshot 和 timestamp。"
	}
	c.showRollouts(w, r, http.StatusOK, p)
}
