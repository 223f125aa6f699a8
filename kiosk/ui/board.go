package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"leifeng/gateway/wire"
)

func (u *UI) showBoard() {
	u.show(ScreenBoard, func() fyne.CanvasObject {
		b := u.cfg.Board
		if b == nil {
			b = &wire.Board{}
		}
		notice := u.t("btn_notice")
		if n := len(u.cfg.Notice); n > 0 {
			notice = fmt.Sprintf("%s（%d）", notice, n)
		}
		objs := []fyne.CanvasObject{container.NewCenter(u.button(notice, true, func() { u.notice = noticeDraft{}; u.showNotice() }))}
		if served := u.servedLines(); served != nil {
			objs = append(objs, u.sub(served[0]), u.label(served[1]))
		}
		if len(b.Workflow) > 0 {
			objs = append(objs, u.sub(u.t("board_workflow")))
			for i, s := range b.Workflow {
				objs = append(objs, u.label(fmt.Sprintf("%d. %s", i+1, s)))
			}
		}
		if len(b.Services) > 0 {
			objs = append(objs, u.sub(u.t("board_services")), u.label(strings.Join(b.Services, "、")))
		}
		// The contact person is a public contact, named in full as the
		// station posts it: only volunteers' names are masked.
		if b.ContactPerson != "" {
			objs = append(objs, u.label(u.t("board_contact", b.ContactPerson)))
		}
		if b.Phone != "" {
			objs = append(objs, u.label(u.t("board_phone", b.Phone)))
		}
		if b.OpeningHours != "" {
			objs = append(objs, u.label(u.t("board_hours", b.OpeningHours)))
		}
		if p := u.cfg.Profile; p != nil && len(p.Checklist) > 0 {
			objs = append(objs, u.sub(u.t("board_checklist")))
			cols := 2
			if u.large || u.bodyWidth() < 700 {
				cols = 1
			}
			width := (u.bodyWidth()-float32(cols-1)*theme.Padding())/float32(cols) - 2*theme.InnerPadding()
			var items []fyne.CanvasObject
			for _, c := range p.Checklist {
				mark, state := "●", u.t("done")
				if !c.Done {
					mark, state = "○", u.t("not_done")
				}
				line := fmt.Sprintf("%s %s（%s）", mark, c.Item, state)
				if c.Note != "" {
					line += " " + c.Note
				}
				items = append(items, u.textCol(line, theme.TextSize(), false, width))
			}
			objs = append(objs, container.NewGridWithColumns(cols, items...))
		}
		if len(objs) == 1 {
			objs = append(objs, u.label(u.t("board_empty")))
		}
		return u.page(u.t("board_title"), nil, container.NewVBox(objs...))
	})
}
