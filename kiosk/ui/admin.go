package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

func (u *UI) showPIN(msg string) {
	u.show(ScreenPIN, func() fyne.CanvasObject {
		if u.opt.AdminPIN == "" {
			// Without a PIN the screen stays locked: say so, and how to
			// open it, rather than calling every PIN wrong.
			return u.page(u.t("btn_admin"), nil, container.NewVBox(
				u.sub(u.t("pin_unset")), u.label(u.t("pin_unset_how"))))
		}
		dots := u.heading(strings.Repeat("●", len(u.pin)))
		dots.Alignment = fyne.TextAlignCenter
		ok := u.button(u.t("btn_ok"), true, func() {
			if u.pin == u.opt.AdminPIN {
				u.pin = ""
				u.testLine = ""
				u.showAdmin()
				return
			}
			u.pin = ""
			u.showPIN(u.t("pin_wrong"))
		})
		pad := u.keypad(&u.pin, 8, func() { dots.SetText(strings.Repeat("●", len(u.pin))) })
		width, _ := u.columns(pad)
		items := []fyne.CanvasObject{u.textCol(u.t("pin_title"), theme.Size(theme.SizeNameSubHeadingText), true, width), dots}
		if msg != "" {
			items = append(items, u.textCol(msg, theme.TextSize(), false, width))
		}
		left := container.NewVBox(append(items, ok)...)
		return u.page(u.t("btn_admin"), nil, u.besideOrBelow(left, pad))
	})
}

func (u *UI) showAdmin() {
	u.show(ScreenAdmin, func() fyne.CanvasObject {
		st := u.core.Status()
		u.adminSeen = st
		sync := u.t("admin_never")
		if !st.LastSync.IsZero() {
			sync = u.t("admin_sync_at", st.LastSync.In(ChinaTime).Format("2006-01-02 15:04:05"), st.Acked)
		}
		broker := st.Broker
		if broker == "" {
			broker = u.t("none")
		}
		onOff := func(b bool) string {
			if b {
				return u.t("on")
			}
			return u.t("off")
		}
		lines := []fyne.CanvasObject{
			u.label(u.t("admin_station", st.Station)),
			u.label(u.t("admin_network", u.linkWords(st.Link))),
			u.label(u.t("admin_broker", broker)),
			u.label(u.t("admin_outbox", st.Outbox, st.Rejected)),
			u.label(u.t("admin_sync", sync)),
			u.label(u.t("admin_reader", st.Reader, st.ReaderRecoveries)),
			u.label(u.t("admin_config", u.cfg.Version)),
			u.label(u.t("admin_software", st.Software)),
		}
		test := u.testLine
		if u.readerTest {
			test = u.t("admin_test_wait")
		}
		if test != "" {
			lines = append(lines, u.sub(test))
		}
		buttons := u.tiles(2, u.bodyWidth(),
			u.button(u.t("admin_test"), true, func() { u.readerTest = true; u.testLine = ""; u.refresh() }),
			u.button(u.t("admin_refresh"), false, func() { u.refresh() }),
			u.button(u.t("admin_sound", onOff(u.sound)), false, func() { u.sound = !u.sound; u.soundChanged() }),
			u.button(u.t("admin_voice", onOff(u.voice)), false, func() { u.voice = !u.voice; u.soundChanged() }),
		)
		return u.page(u.t("admin_title"), nil, container.NewVBox(append(lines, buttons)...))
	})
}

func (u *UI) soundChanged() {
	if u.opt.Sound != nil {
		u.opt.Sound.SetEnabled(u.sound, u.voice)
	}
	u.refresh()
}
