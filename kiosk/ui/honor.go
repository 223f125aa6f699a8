package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"leifeng/kiosk/ui/catalog"
)

func (u *UI) showHonor() {
	u.show(ScreenHonor, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		if len(u.cfg.HonorRoll) > 0 {
			objs = append(objs, u.sub(u.honorPeriod()))
		}
		for i, h := range u.cfg.HonorRoll {
			stars := u.t("no_star")
			if h.Stars > 0 {
				stars = u.t("star_level", u.starName(h.Stars))
			}
			objs = append(objs, u.label(u.t("honor_line", i+1, maskName(h.Name), catalog.Hours(h.Hours), stars)))
		}
		if len(objs) == 0 {
			objs = append(objs, u.label(u.t("honor_empty")))
		}
		return u.page(u.t("honor_title"), nil, container.NewVBox(objs...))
	})
}

// honorPeriod says what period the honor roll covers. A roll without a
// period would read as this month's or as all-time figures, neither of
// which it may be; without the config's words for it, the roll is dated by
// the config that carried it, as its figures are the cloud's at that time.
func (u *UI) honorPeriod() string {
	switch {
	case u.cfg.HonorRollPeriod != "":
		return u.t("honor_period", u.cfg.HonorRollPeriod)
	case !u.cfg.Issued.IsZero():
		return u.t("honor_period_asof", u.fullDate(u.cfg.Issued))
	}
	return u.t("honor_period_none")
}

// fullDate is a day with its year, as a person reads it: 2026年11月29日,
// or 29 Nov 2026.
func (u *UI) fullDate(t time.Time) string {
	t = t.In(ChinaTime)
	if u.lang == En {
		return t.Format("2 Jan 2006")
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}
