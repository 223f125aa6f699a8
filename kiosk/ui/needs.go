package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"leifeng/kiosk/attendance"
)

func (u *UI) showNeedCategory() {
	u.show(ScreenNeedCat, func() fyne.CanvasObject {
		var cs []choice
		for _, c := range u.cfg.Menu {
			cs = append(cs, choice{c.Name, true, func() { u.need.service = c.Name; u.showNeedPhone() }})
		}
		// Without a menu a resident can still ask: the station calls back.
		other := u.t("need_other")
		cs = append(cs, choice{other, len(cs) == 0, func() { u.need.service = tr(Zh, "need_other"); u.showNeedPhone() }})
		lookup := u.button(u.t("btn_order_lookup"), false, func() { u.order = orderDraft{}; u.showOrderRef() })
		return u.page(u.t("need_title"), nil, container.NewVBox(u.sub(u.t("need_step_cat")), u.choices(3, u.bodyWidth(), cs...), lookup))
	})
}

func validPhone(s string) bool {
	switch {
	case len(s) == 11 && s[0] == '1':
		return true
	case s != "" && s[0] == '0' && len(s) >= 10 && len(s) <= 12:
		return true
	}
	return false
}

func (u *UI) showNeedPhone() {
	u.show(ScreenNeedTel, func() fyne.CanvasObject {
		shown := u.heading(u.need.phone)
		shown.Alignment = fyne.TextAlignCenter
		next := u.button(u.t("btn_next"), true, func() {
			if !validPhone(u.need.phone) {
				u.need.badPhone = true
				u.refresh()
				return
			}
			u.showNeedNote()
		})
		pad := u.keypad(&u.need.phone, 12, func() {
			shown.SetText(u.need.phone)
			if u.need.badPhone {
				u.need.badPhone = false
				u.refresh()
			}
		})
		width, _ := u.columns(pad)
		left := []fyne.CanvasObject{
			u.textCol(u.t("need_chosen", u.need.service), theme.TextSize(), false, width),
			u.textCol(u.t("need_step_phone"), theme.Size(theme.SizeNameSubHeadingText), true, width),
			container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)), shown),
		}
		// The hint takes room only when it has something to say: in large
		// text on a 7" screen the Next button must stay in view.
		if u.need.badPhone {
			left = append(left, u.textCol(u.t("need_phone_bad"), theme.TextSize(), false, width))
		}
		left = append(left, next)
		return u.page(u.t("need_title"), func() { u.need.badPhone = false; u.showNeedCategory() }, u.besideOrBelow(container.NewVBox(left...), pad))
	})
}

func (u *UI) showNeedNote() {
	u.show(ScreenNeedNote, func() fyne.CanvasObject {
		var bs []fyne.CanvasObject
		for _, k := range []Key{"preset_urgent", "preset_home", "preset_morning", "preset_afternoon", "preset_family", "preset_none"} {
			text := u.t(k)
			primary := u.need.note == tr(Zh, k) || (k == "preset_none" && u.need.note == "")
			bs = append(bs, u.button(text, primary, func() {
				u.need.note = tr(Zh, k) // stored in Chinese for the station
				if k == "preset_none" {
					u.need.note = ""
				}
				u.refresh()
			}))
		}
		submit := u.button(u.t("btn_submit"), true, func() { u.submitNeed() })
		return u.page(u.t("need_title"), func() { u.showNeedPhone() }, container.NewVBox(
			u.label(u.t("need_chosen", u.need.service+" · "+u.need.phone)), u.sub(u.t("need_step_note")), u.tiles(2, u.bodyWidth(), bs...), submit))
	})
}

// submitNeed writes the request off the UI thread and shows the reference
// number when it is durable.
func (u *UI) submitNeed() {
	if u.need.saving {
		return
	}
	u.need.saving = true
	req := attendance.ServiceRequest{Service: u.need.service, Phone: u.need.phone, Note: u.need.note}
	ctx := u.ctx
	u.showNeedDone()
	go func() {
		res, err := u.core.Request(ctx, req)
		u.do(func() {
			u.need.saving = false
			if err != nil {
				u.log.Error("service request not stored", "err", err)
				u.need.failed = u.t("need_failed")
			} else {
				u.need.ref = fmt.Sprintf("XQ-%04d", res.Seq)
			}
			u.touched()
			if u.screen == ScreenNeedDone {
				u.showNeedDone()
			}
		})
	}()
}

func (u *UI) showNeedDone() {
	u.show(ScreenNeedDone, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		switch {
		case u.need.saving:
			objs = append(objs, u.heading(u.t("need_saving")))
		case u.need.failed != "":
			objs = append(objs, u.heading(u.need.failed))
		default:
			objs = append(objs, u.heading(u.t("need_done")), u.sub(u.t("need_ref", u.need.ref)), u.label(u.t("need_callback")))
		}
		objs = append(objs, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		return u.page(u.t("need_title"), nil, container.NewVBox(objs...))
	})
}
