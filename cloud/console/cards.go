package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/cards"
	"leifeng/cloud/store"
)

// The card desk on a volunteer's page: issue a card (the cloud signs the
// credential; the page gives the file `leifeng-card write -in FILE` lays
// on the blank card), revoke one (the revocation leaves with a push of the
// fleet defaults at once), re-issue a lost one (the old one is revoked).
// City and county administrators do this; the rest see the cards.

func (c *Console) cardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/cards", c.change("volunteers", c.issueCard))
	mux.HandleFunc("POST "+Prefix+"volunteers/{id}/cards/{serial}/{action}", c.change("volunteers", c.withdrawCard))
}

// issuesCards says whether u's role runs the card desk.
func issuesCards(u *access.User) bool {
	return u.CanChange() && (u.Role == access.City || u.Role == access.County)
}

// cardStates are the states in Chinese.
var cardStates = map[store.CardState]string{
	store.CardActive: "有效", store.CardRevoked: "已停用", store.CardLost: "已挂失", store.CardReplaced: "已补办",
}

// cardView is the card desk's part of the volunteer page.
type cardView struct {
	Cards []store.Card
	Desk  bool
	Media []string
	// Write is the answer of the last issue, for leifeng-card write, and
	// Download the same as a file to save.
	Write    string
	Download template.URL
	Serial   string
}

func (c *Console) issueCard(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	if !issuesCards(user(r)) {
		c.failPage(w, r, http.StatusForbidden, "只有市级和县（区）管理员可以办理志愿服务证。")
		return
	}
	req := cards.Request{UID: strings.TrimSpace(r.PostFormValue("uid")), Media: r.PostFormValue("media"),
		Expires: strings.TrimSpace(r.PostFormValue("expires"))}
	var out *cards.Issued
	var err error
	if old := r.PostFormValue("replaces"); old != "" {
		if _, ok := c.ownCard(w, r, v.ID, old); !ok {
			return
		}
		var wd *cards.Withdrawn
		out, wd, err = c.Cards.Reissue(r.Context(), old, req, r.PostFormValue("reason"), r.PostFormValue("lost") == "yes", user(r).Name)
		if err == nil {
			c.audit(r, "card.reissue", "card "+old, wd.Card, out.Card)
		}
	} else {
		out, err = c.Cards.Issue(r.Context(), v.ID, req, user(r).Name)
		if err == nil {
			c.audit(r, "card.issue", "volunteer "+v.ID, nil, out.Card)
		}
	}
	if err != nil {
		c.refuseCard(w, r, v.ID, err)
		return
	}
	ans, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		c.fault(w, r, "card", err)
		return
	}
	c.showVolunteer(w, r, v, http.StatusOK, &page{Flash: fmt.Sprintf("已签发志愿服务证 %s。请把下面的写卡文件保存后，在发证台用 leifeng-card write -in 文件名 写入这张空白卡。", out.Card.Serial)},
		&cardView{Write: string(ans), Serial: out.Card.Serial,
			// Built here from JSON the cloud made, not from input.
			Download: template.URL("data:application/json;charset=utf-8," + url.PathEscape(string(ans)))})
}

// withdrawCard revokes a card (action revoke).
func (c *Console) withdrawCard(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volunteerOf(w, r)
	if !ok {
		return
	}
	if !issuesCards(user(r)) {
		c.failPage(w, r, http.StatusForbidden, "只有市级和县（区）管理员可以停用志愿服务证。")
		return
	}
	serial := r.PathValue("serial")
	if r.PathValue("action") != "revoke" {
		c.notFound(w, r)
		return
	}
	if _, ok := c.ownCard(w, r, v.ID, serial); !ok {
		return
	}
	wd, err := c.Cards.Revoke(r.Context(), serial, r.PostFormValue("reason"), r.PostFormValue("lost") == "yes", user(r).Name)
	if err != nil {
		c.refuseCard(w, r, v.ID, err)
		return
	}
	c.audit(r, "card.revoke", "card "+serial, nil, wd)
	msg := fmt.Sprintf("志愿服务证 %s 已停用，已随全部站点默认配置（版本 %d）推送到各站点；站点应用后即拒绝这张卡。", serial, wd.Config)
	if wd.Config == 0 {
		msg = fmt.Sprintf("志愿服务证 %s 已停用，但这次没能推送到站点（%s），会随下一次配置推送送达。", serial, wd.PushError)
	}
	c.showVolunteer(w, r, v, http.StatusOK, &page{Flash: msg}, nil)
}

// ownCard is serial if it is one of the volunteer's cards; else 404.
func (c *Console) ownCard(w http.ResponseWriter, r *http.Request, volunteer, serial string) (*store.Card, bool) {
	cd, err := c.Cards.Card(r.Context(), serial)
	if errors.Is(err, store.ErrNotFound) || err == nil && cd.Volunteer != volunteer {
		c.notFound(w, r)
		return nil, false
	}
	if err != nil {
		c.fault(w, r, "card", err)
		return nil, false
	}
	return cd, true
}

// refuseCard shows why the desk refused, in Chinese.
func (c *Console) refuseCard(w http.ResponseWriter, r *http.Request, volunteer string, err error) {
	code, zh := cards.Refusal(err)
	switch {
	case code == http.StatusNotFound:
		c.notFound(w, r)
		return
	case code >= 500:
		c.fault(w, r, "card", err)
		return
	}
	v, err := c.Store.Volunteer(r.Context(), volunteer)
	if err != nil {
		c.fault(w, r, "volunteer", err)
		return
	}
	c.showVolunteer(w, r, v, code, &page{Error: "未办理：" + zh}, nil)
}
