package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"leifeng/gateway/wire"
)

func (u *UI) showMenu() {
	u.show(ScreenMenu, func() fyne.CanvasObject {
		var cs []choice
		for _, c := range u.cfg.Menu {
			cs = append(cs, choice{c.Name, true, func() { u.showItems(c) }})
		}
		if len(cs) == 0 {
			return u.page(u.t("menu_title"), nil, u.label(u.t("menu_empty")))
		}
		return u.page(u.t("menu_title"), nil, u.choices(3, u.bodyWidth(), cs...))
	})
}

func (u *UI) showItems(c wire.MenuCategory) {
	u.show(ScreenItems, func() fyne.CanvasObject {
		var cs []choice
		for _, it := range c.Items {
			cs = append(cs, choice{it.Name, true, func() { u.showDetail(c, it) }})
		}
		if len(cs) == 0 {
			return u.page(c.Name, func() { u.showMenu() }, u.label(u.t("menu_empty")))
		}
		return u.page(c.Name, func() { u.showMenu() }, u.choices(2, u.bodyWidth(), cs...))
	})
}

func (u *UI) showDetail(c wire.MenuCategory, it wire.MenuItem) {
	u.show(ScreenDetail, func() fyne.CanvasObject {
		var lines []fyne.CanvasObject
		add := func(key Key, v string) {
			if v != "" {
				lines = append(lines, u.label(u.t(key, v)))
			}
		}
		add("item_what", it.What)
		add("item_when", it.When)
		add("item_where", it.Where)
		add("item_who", it.Who)
		add("item_contact", it.Contact)
		lines = append(lines, u.button(u.t("btn_service"), false, func() { u.service = it.ID; u.showHome() }))
		var qr fyne.CanvasObject
		if it.URL != "" {
			if q, err := EncodeQR([]byte(it.URL)); err == nil {
				img := canvas.NewImageFromImage(q.Image(6, 4))
				img.ScaleMode = canvas.ImageScalePixels
				img.FillMode = canvas.ImageFillContain
				cap := u.label(u.t("item_qr"))
				cap.Alignment = fyne.TextAlignCenter
				side := min(float32(200), u.canvasSize().Height/3)
				qr = container.NewVBox(container.NewCenter(container.NewGridWrap(fyne.NewSize(side, side), img)), cap)
			} else {
				u.log.Warn("menu item URL too long for a QR code", "item", it.ID, "err", err)
			}
		}
		body := fyne.CanvasObject(container.NewVBox(lines...))
		switch {
		case qr == nil:
		case u.bodyWidth() >= 700:
			body = container.NewBorder(nil, nil, nil, qr, body)
		default: // narrow, or large text: the code below the details
			body = container.NewVBox(body, qr)
		}
		return u.page(it.Name, func() { u.showItems(c) }, body)
	})
}
