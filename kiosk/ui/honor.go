package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

func (u *UI) showHonor() {
	u.show(ScreenHonor, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		if p := u.cfg.HonorRollPeriod; p != "" && len(u.cfg.HonorRoll) > 0 {
			objs = append(objs, u.sub(u.t("honor_period", p)))
		}
		for i, h := range u.cfg.HonorRoll {
			stars := u.t("no_star")
			if h.Stars > 0 {
				stars = u.t("star_level", u.starName(h.Stars))
			}
			objs = append(objs, u.label(u.t("honor_line", i+1, maskName(h.Name), h.Hours, stars)))
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("honor_empty")))
		}
		return u.page(u.t("honor_title"), nil, container.NewVBox(objs...))
	})
}
