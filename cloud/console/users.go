package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"leifeng/cloud/access"
	"leifeng/cloud/store"
)

// The users page: the city administrator adds users (with an initial
// password they change at the first sign-in) and disables them; an
// auditor of the whole city reads the list. Passwords are never shown.

func (c *Console) userRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"users", c.page("users", c.usersPage))
	mux.HandleFunc("POST "+Prefix+"users", c.change("users", c.addUser))
	mux.HandleFunc("POST "+Prefix+"users/{name}/disable", c.change("users", c.disableUser))
}

type usersData struct {
	Users []store.User
	Roles []choice
	// Form keeps what was typed when an add is refused.
	Name, Role, Scope string
}

func roleChoices() []choice {
	var out []choice
	for _, r := range access.Roles {
		out = append(out, choice{string(r), r.Zh()})
	}
	return out
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	c.showUsers(w, r, http.StatusOK, &page{}, &usersData{Role: string(access.County)})
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, code int, p *page, d *usersData) {
	us, err := c.Store.Users(r.Context())
	if err != nil {
		c.fault(w, r, "users", err)
		return
	}
	d.Users, d.Roles = us, roleChoices()
	p.Title, p.Active, p.Data = "用户", "users", d
	c.render(w, r, code, "users", p)
}

func (c *Console) addUser(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	d := &usersData{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		Scope: strings.TrimSpace(r.PostFormValue("scope"))}
	refuse := func(code int, msg string) { c.showUsers(w, r, code, &page{Error: "未添加：" + msg}, d) }
	role, err := access.ParseRole(d.Role)
	if err != nil || d.Name == "" {
		refuse(http.StatusBadRequest, "请填写用户名并选择角色。")
		return
	}
	if len(d.Name) > 64 || strings.ContainsFunc(d.Name, func(r rune) bool { return r <= ' ' || r == ',' || r == 0x7f }) {
		refuse(http.StatusBadRequest, "用户名最多 64 个字符，不能有空格或逗号。")
		return
	}
	pw := r.PostFormValue("password")
	if err := access.CheckNewPassword(d.Name, pw); err != nil {
		var pe *access.PasswordError
		if errors.As(err, &pe) {
			refuse(http.StatusBadRequest, pe.Zh)
			return
		}
		refuse(http.StatusBadRequest, "初始密码不符合要求，请换一个。")
		return
	}
	hash, err := access.HashPassword(pw)
	if err != nil {
		c.fault(w, r, "add user", err)
		return
	}
	_, err = c.Store.AddUser(r.Context(), store.User{User: access.User{Name: d.Name, Role: role, Scope: d.Scope, MustChangePassword: true},
		PasswordHash: hash, Created: c.now()})
	switch {
	case errors.Is(err, store.ErrExists):
		refuse(http.StatusConflict, fmt.Sprintf("用户 %s 已存在，请换一个用户名。", d.Name))
		return
	case errors.Is(err, store.ErrUnknownScope):
		refuse(http.StatusUnprocessableEntity, "范围不存在：县（区）管理员填已导入的县区代码，站点管理员填已登记的站点编号（多个用逗号分隔），组织管理员填已导入的组织编号，市级管理员不填。")
		return
	case err != nil:
		c.fault(w, r, "add user", err)
		return
	}
	c.audit(r, "user.add", "user "+d.Name, nil, map[string]string{"role": string(role), "scope": d.Scope})
	c.showUsers(w, r, http.StatusOK, &page{Flash: fmt.Sprintf("已添加用户 %s（%s）。请把初始密码当面或电话告诉本人；首次登录时必须修改。", d.Name, role.Zh())},
		&usersData{Role: string(access.County)})
}

func (c *Console) disableUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == user(r).Name {
		c.showUsers(w, r, http.StatusConflict, &page{Error: "不能停用自己。"}, &usersData{Role: string(access.County)})
		return
	}
	err := c.Store.DisableUser(r.Context(), name, c.now())
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.fault(w, r, "disable user", err)
		return
	}
	c.audit(r, "user.disable", "user "+name, nil, nil)
	c.showUsers(w, r, http.StatusOK, &page{Flash: "已停用用户 " + name + "：其登录和 API 令牌立即失效。"}, &usersData{Role: string(access.County)})
}
