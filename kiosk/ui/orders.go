package ui

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
)

// A resident looks up a registered need (an order) with its reference
// number and the last four digits of the phone given with it, offline,
// from the orders in the station's last config; and rates the service
// once it is done. A need registered at another station is not in this
// kiosk's config: its rating is taken all the same and checked by the
// cloud, which holds the phone number.

// Order lookup limits: after maxOrderTries wrong digit entries for orders
// this kiosk knows, lookups pause for orderLockout.
const (
	maxOrderTries = 5
	orderLockout  = 5 * time.Minute
	refDigits     = 6
)

// orderDraft is a resident's lookup and rating in progress.
type orderDraft struct {
	ref, digits string
	found       *wire.OrderStatus
	// unknown: no order of this kiosk has this reference.
	unknown bool
	rating  int
	comment string
	saving  bool
	done    bool
	failed  string
}

// orderTries counts wrong digit entries across residents; a lookup is no
// secret worth much, but guessing should still be slow.
type orderTries struct {
	n     int
	until time.Time
}

// ratingKeys are the rating buttons' words, 1 to 5: the words, not a
// colour, say what each means.
var ratingKeys = []Key{"rate_1", "rate_2", "rate_3", "rate_4", "rate_5"}

// commentKeys are the preset comments a resident can add.
var commentKeys = []Key{"comment_good", "comment_on_time", "comment_warm", "comment_solved", "comment_unsolved", "comment_late"}

func (u *UI) fullRef() string { return "XQ-" + u.order.ref }

func (u *UI) showOrderRef() {
	u.show(ScreenOrderRef, func() fyne.CanvasObject {
		shown := u.heading(u.fullRef())
		shown.Alignment = fyne.TextAlignCenter
		next := u.button(u.t("btn_next"), true, func() {
			if u.order.ref != "" {
				u.showOrderPhone()
			}
		})
		pad := u.keypad(&u.order.ref, refDigits, func() { shown.SetText(u.fullRef()) })
		width, _ := u.columns(pad)
		left := container.NewVBox(
			u.textCol(u.t("order_step_ref"), theme.Size(theme.SizeNameSubHeadingText), true, width),
			container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)), shown),
			next)
		return u.page(u.t("order_title"), func() { u.showNeedCategory() }, u.besideOrBelow(left, pad))
	})
}

func (u *UI) showOrderPhone() {
	u.show(ScreenOrderTel, func() fyne.CanvasObject {
		shown := u.heading(u.order.digits)
		shown.Alignment = fyne.TextAlignCenter
		look := u.button(u.t("btn_lookup"), true, func() {
			if len(u.order.digits) == 4 {
				u.lookupOrder()
			}
		})
		pad := u.keypad(&u.order.digits, 4, func() { shown.SetText(u.order.digits) })
		width, _ := u.columns(pad)
		left := container.NewVBox(
			u.textCol(u.t("need_chosen", u.fullRef()), theme.TextSize(), false, width),
			u.textCol(u.t("order_step_phone"), theme.Size(theme.SizeNameSubHeadingText), true, width),
			container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)), shown),
			look)
		return u.page(u.t("order_title"), func() { u.order.digits = ""; u.showOrderRef() }, u.besideOrBelow(left, pad))
	})
}

// lookupOrder finds the order in the config. A reference this kiosk knows
// with the wrong digits counts against the tries.
func (u *UI) lookupOrder() {
	now := time.Now()
	if now.Before(u.orderTries.until) {
		u.order.found, u.order.unknown = nil, false
		u.showOrderState()
		return
	}
	u.order.found, u.order.unknown = nil, true
	ref := u.fullRef()
	check := wire.OrderCheck(u.cfg.Station, ref, u.order.digits)
	for i := range u.cfg.Orders {
		o := &u.cfg.Orders[i]
		if !strings.EqualFold(o.Ref, ref) {
			continue
		}
		u.order.unknown = false
		if subtle.ConstantTimeCompare([]byte(o.Check), []byte(check)) == 1 {
			u.order.found = o
			break
		}
	}
	if u.order.found == nil && !u.order.unknown {
		u.orderTries.n++
		if u.orderTries.n >= maxOrderTries {
			u.orderTries = orderTries{until: now.Add(orderLockout)}
		}
	}
	if u.order.found != nil {
		u.orderTries.n = 0
	}
	u.showOrderState()
}

// stateWords is what an order's state means to the resident.
func (u *UI) stateWords(state string) (name, meaning string) {
	return u.t(Key("order_state_" + state)), u.t(Key("order_means_" + state))
}

func (u *UI) showOrderState() {
	u.show(ScreenOrderState, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		width := u.bodyWidth() - 2*theme.InnerPadding()
		line := func(s string, bold bool) {
			size := theme.TextSize()
			if bold {
				size = theme.Size(theme.SizeNameSubHeadingText)
			}
			objs = append(objs, u.textCol(s, size, bold, width))
		}
		var buttons []fyne.CanvasObject
		retry := u.button(u.t("btn_retype"), false, func() { u.order = orderDraft{}; u.showOrderRef() })
		switch o := u.order.found; {
		case time.Now().Before(u.orderTries.until):
			line(u.t("order_locked"), true)
			buttons = append(buttons, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		case o != nil:
			name, meaning := u.stateWords(o.State)
			line(u.t("order_ref_line", o.Ref), false)
			if o.Category != "" {
				line(u.t("service_line", o.Category), false)
			}
			line(u.t("order_state_line", name), true)
			line(meaning, false)
			if o.Reason != "" {
				line(u.t("order_reason", o.Reason), false)
			}
			if !o.Updated.IsZero() {
				line(u.t("order_updated", u.date(o.Updated)), false)
			}
			if o.State == "completed" {
				buttons = append(buttons, u.button(u.t("btn_rate"), true, func() { u.showOrderRate() }))
			}
			buttons = append(buttons, u.button(u.t("btn_home"), o.State != "completed", func() { u.showHome() }))
		case u.order.unknown:
			line(u.t("order_not_here"), true)
			line(u.t("order_not_here_how"), false)
			buttons = append(buttons, retry, u.button(u.t("btn_rate"), true, func() { u.showOrderRate() }))
		default:
			line(u.t("order_wrong_digits"), true)
			buttons = append(buttons, retry, u.button(u.t("btn_home"), false, func() { u.showHome() }))
		}
		objs = append(objs, u.tiles(2, u.bodyWidth(), buttons...))
		return u.page(u.t("order_title"), nil, container.NewVBox(objs...))
	})
}

func (u *UI) showOrderRate() {
	u.show(ScreenOrderRate, func() fyne.CanvasObject {
		var stars []choice
		for i, k := range ratingKeys {
			n := i + 1
			text := u.t(k)
			if u.order.rating == n {
				text = "✓ " + text
			}
			stars = append(stars, choice{text, u.order.rating == n, func() { u.order.rating = n; u.refresh() }})
		}
		var comments []choice
		for _, k := range commentKeys {
			zh := tr(Zh, k) // stored in Chinese for the station
			text := u.t(k)
			if u.order.comment == zh {
				text = "✓ " + text
			}
			comments = append(comments, choice{text, u.order.comment == zh, func() {
				if u.order.comment == zh {
					u.order.comment = ""
				} else {
					u.order.comment = zh
				}
				u.refresh()
			}})
		}
		objs := []fyne.CanvasObject{
			u.sub(u.t("rate_step_score")), u.choices(5, u.bodyWidth(), stars...),
			u.sub(u.t("rate_step_comment")), u.choices(3, u.bodyWidth(), comments...),
		}
		if u.order.rating == 0 {
			objs = append(objs, u.label(u.t("rate_choose_first")))
		} else {
			objs = append(objs, u.button(u.t("btn_submit_rating"), true, func() { u.submitRating() }))
		}
		return u.page(u.t("rate_title"), func() { u.showOrderState() }, container.NewVBox(objs...))
	})
}

// submitRating writes the rating off the UI thread and says thank you when
// it is durable.
func (u *UI) submitRating() {
	if u.order.saving || u.order.rating == 0 {
		return
	}
	u.order.saving, u.order.done, u.order.failed = true, false, ""
	a := attendance.OrderAction{Kind: wire.KindOrderRating, Order: u.fullRef(), Digits: u.order.digits,
		Rating: u.order.rating, Comment: u.order.comment}
	ctx := u.ctx
	u.showOrderDone()
	go func() {
		_, err := u.core.Order(ctx, a)
		u.do(func() {
			u.order.saving = false
			if err != nil {
				u.log.Error("rating not stored", "err", err)
				u.order.failed = u.t("rate_failed")
			} else {
				u.order.done = true
			}
			u.touched()
			if u.screen == ScreenOrderDone {
				u.showOrderDone()
			}
		})
	}()
}

func (u *UI) showOrderDone() {
	u.show(ScreenOrderDone, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		switch {
		case u.order.saving:
			objs = append(objs, u.heading(u.t("need_saving")))
		case u.order.failed != "":
			objs = append(objs, u.heading(u.order.failed))
		default:
			objs = append(objs, u.heading(u.t("rate_done")), u.label(u.t("rate_done_how")))
		}
		objs = append(objs, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		return u.page(u.t("rate_title"), nil, container.NewVBox(objs...))
	})
}

// tasksOf is the open orders the config says volunteer is assigned to.
func (u *UI) tasksOf(volunteer string) []wire.Task {
	for _, v := range u.cfg.Volunteers {
		if v.ID == volunteer {
			return v.Tasks
		}
	}
	return nil
}

// taskLines tell a volunteer at their tap of the orders they are assigned
// to: "您有一项待服务任务".
func (u *UI) taskLines(volunteer string) []string {
	tasks := u.tasksOf(volunteer)
	if len(tasks) == 0 {
		return nil
	}
	lines := []string{u.t("task_pending", len(tasks))}
	if len(tasks) == 1 {
		lines[0] = u.t("task_pending_one")
	}
	for _, t := range tasks {
		lines = append(lines, fmt.Sprintf("%s（%s）", ellipsize(t.Category, 10), t.Ref))
	}
	return lines
}

// ellipsize cuts s to at most n characters, marking the cut: the result
// screen's lines do not wrap.
func ellipsize(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// startTask records that the volunteer's check-in checkIn serves the
// order ref; the check-out that closes it completes the order.
func (u *UI) startTask(volunteer, checkIn string, t wire.Task) {
	a := attendance.OrderAction{Kind: wire.KindOrderStart, Order: t.Ref, Volunteer: volunteer, CheckIn: checkIn}
	ctx := u.ctx
	go func() {
		_, err := u.core.Order(ctx, a)
		u.do(func() {
			if err != nil {
				u.log.Error("order start not stored", "order", t.Ref, "err", err)
			}
			u.touched()
			u.showTaskStarted(t, err)
		})
	}()
}

func (u *UI) showTaskStarted(t wire.Task, err error) {
	u.show(ScreenTaskStart, func() fyne.CanvasObject {
		var objs []fyne.CanvasObject
		if err != nil {
			objs = append(objs, u.heading(u.t("task_failed")))
		} else {
			width := u.bodyWidth() - 2*theme.InnerPadding()
			objs = append(objs, u.heading(u.t("task_started")),
				u.textCol(fmt.Sprintf("%s（%s）", t.Category, t.Ref), theme.TextSize(), false, width),
				u.textCol(u.t("task_checkout"), theme.TextSize(), false, width))
		}
		objs = append(objs, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		return u.page(u.t("task_title"), nil, container.NewVBox(objs...))
	})
}

// servedLines are the contact board's counts of this month's served
// orders per category, no names.
func (u *UI) servedLines() []string {
	s := u.cfg.Served
	if s == nil || len(s.Counts) == 0 {
		return nil
	}
	var parts []string
	for _, c := range s.Counts {
		parts = append(parts, u.t("served_count", c.Category, c.Count))
	}
	return []string{u.t("served_title", s.Period), strings.Join(parts, "、")}
}

// stepWords is what a screen's step says, to be read aloud; "" for a
// screen that is not a step of a resident's task.
func (u *UI) stepWords(screen string) string {
	switch screen {
	case ScreenNeedCat:
		return u.t("need_step_cat")
	case ScreenNeedTel:
		return u.t("need_step_phone")
	case ScreenNeedNote:
		return u.t("need_step_note")
	case ScreenNeedDone:
		switch {
		case u.need.saving:
			return u.t("need_saving")
		case u.need.failed != "":
			return u.need.failed
		}
		return u.t("need_done") + "。" + u.t("need_ref", u.need.ref) + "。" + u.t("need_callback")
	case ScreenOrderRef:
		return u.t("order_step_ref")
	case ScreenOrderTel:
		return u.t("order_step_phone")
	case ScreenOrderState:
		switch o := u.order.found; {
		case time.Now().Before(u.orderTries.until):
			return u.t("order_locked")
		case o != nil:
			name, meaning := u.stateWords(o.State)
			words := u.t("order_state_line", name) + "。" + meaning
			if o.Reason != "" {
				words += u.t("order_reason", o.Reason)
			}
			return words
		case u.order.unknown:
			return u.t("order_not_here")
		}
		return u.t("order_wrong_digits")
	case ScreenOrderRate:
		return u.t("rate_step_score")
	case ScreenOrderDone:
		switch {
		case u.order.saving:
			return u.t("need_saving")
		case u.order.failed != "":
			return u.order.failed
		}
		return u.t("rate_done")
	}
	return u.hoursStepWords(screen)
}

// sayStep reads the step of the screen just shown aloud when voice is on
// and the sound player can speak, once per step.
func (u *UI) sayStep(screen string) {
	sp, ok := u.opt.Sound.(Speaker)
	if !ok || !u.voice {
		return
	}
	words := u.stepWords(screen)
	if words == "" || words == u.said {
		if words == "" {
			u.said = ""
		}
		return
	}
	u.said = words
	sp.Say(words, string(u.lang))
}
