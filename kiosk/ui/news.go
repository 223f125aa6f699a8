package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

func (u *UI) showNews() {
	u.show(ScreenNews, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		for _, a := range u.cfg.Announcements {
			objs = append(objs, u.sub(a.Title))
			if a.Body != "" {
				objs = append(objs, u.label(a.Body))
			}
			if !a.When.IsZero() {
				at := a.When.In(ChinaTime)
				when := at.Format("2006-01-02 15:04")
				if u.lang == Zh {
					when = fmt.Sprintf("%d月%d日 %s", at.Month(), at.Day(), at.Format("15:04"))
				}
				objs = append(objs, u.label(u.t("news_when", when)))
			}
			if a.Where != "" {
				objs = append(objs, u.label(u.t("news_where", a.Where)))
			}
			objs = append(objs, widget.NewSeparator())
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("news_empty")))
		}
		return u.page(u.t("news_title"), nil, container.NewVBox(objs...))
	})
}
