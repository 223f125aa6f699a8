package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leifeng/gateway/wire"
	"leifeng/kiosk/ui/catalog"
)

func (u *UI) serviceName(id string) string {
	for _, c := range u.cfg.Menu {
		for _, it := range c.Items {
			if it.ID == id {
				return it.Name
			}
		}
	}
	return id
}

// showTap shows the outcome of a tap, or feeds the admin's reader test:
// a card tapped for the test is read and verified by the reader, and the
// reader loop hands it here without recording anything.
func (u *UI) showTap(ev TapEvent) {
	if ev.Err != nil && u.takeObjectionTap(ev) {
		return // a refused card while an objection waits: said there
	}
	if u.readerTest && u.screen == ScreenAdmin {
		u.readerTest = false
		if ev.Err != nil {
			u.testLine = u.t("admin_test_err", u.t(errorKey(ev.Err)))
		} else {
			u.testLine = u.t("admin_test_ok", ev.Tap.Volunteer, ev.Tap.Media)
		}
		u.refresh()
		return
	}
	ok := ev.Err == nil
	if ok && ev.Result.ID == "" {
		return // not recorded: a card the reader test took
	}
	var title string
	var lines []string
	var words string
	var task func()
	var notes []string
	switch {
	case !ok:
		title = u.t("tap_failed")
		lines = []string{u.t(errorKey(ev.Err))}
		words = tr(Zh, "retap")
		if u.lang == En {
			words = tr(En, "retap")
		}
	case ev.Result.Kind == wire.KindCheckOut:
		r := ev.Result
		title = u.t("checkout_ok")
		words = title
		lines = append(lines, maskName(u.volunteerName(r.Volunteer, ev.Tap.Name)))
		if r.Service != "" {
			lines = append(lines, u.t("service_line", u.serviceName(r.Service)))
		}
		if !r.Repeat {
			notes = u.noteLines(r.Volunteer)
			lines = append(lines, notes...)
		}
		lines = append(lines, u.t("today_duration", formatDuration(u.lang, r.Duration)))
		lines = append(lines, u.hoursLines(r.Volunteer, true)...)
	default:
		r := ev.Result
		title = u.t("checkin_ok")
		words = title
		lines = append(lines, maskName(u.volunteerName(r.Volunteer, ev.Tap.Name)))
		if r.Service != "" {
			lines = append(lines, u.t("service_line", u.serviceName(r.Service)))
		}
		switch {
		case r.Activity != 0:
			lines = append(lines, u.t("activity_chosen", u.activityName(r.Activity)))
		case len(u.currentActivities()) > 0:
			lines = append(lines, u.t("activity_default_line"))
		}
		if !r.Repeat {
			notes = u.noteLines(r.Volunteer)
			lines = append(lines, notes...)
		}
		if r.AutoCheckOut != "" {
			lines = append(lines, u.t("auto_closed"))
		}
		if tasks := u.tasksOf(r.Volunteer); len(tasks) > 0 {
			lines = append(lines, u.taskLines(r.Volunteer)...)
			if !r.Repeat {
				t := tasks[0]
				task = func() { u.startTask(r.Volunteer, r.ID, t) }
			}
		}
		lines = append(lines, u.hoursLines(r.Volunteer, false)...)
		u.service = ""
		u.activity = 0
	}
	if ok && ev.Result.Repeat {
		lines = append([]string{u.t("repeat_tap")}, lines...)
	}
	if len(notes) > 0 {
		// Read aloud with the result when voice is on, and left up long
		// enough to read; 确定 dismisses it.
		words += "。" + strings.Join(notes, "。")
	}
	if u.opt.Sound != nil {
		u.opt.Sound.Feedback(ok, words, string(u.lang))
	}
	u.resultEnd = time.Now().Add(u.opt.ResultFor)
	if len(notes) > 0 {
		u.resultEnd = time.Now().Add(3 * u.opt.ResultFor)
	}
	u.show(ScreenResult, func() fyne.CanvasObject {
		key := resultKey{lang: u.lang, large: u.large, contrast: u.contrast, size: u.canvasSize()}
		if u.result == nil || u.result.key != key {
			u.result = u.buildResult(key)
		}
		u.result.fill(u, ok, title, lines)
		u.result.setTask(u, task, u.tasksOf(ev.Result.Volunteer))
		return u.result.root
	})
}

// maskName masks a volunteer's name for a public screen (张*三, 王*) when
// the cloud sent it unmasked; an ID or an already masked name stays.
func maskName(name string) string {
	rs := []rune(name)
	if len(rs) < 2 || strings.ContainsRune(name, '*') || rs[0] < 0x2E80 {
		return name
	}
	if len(rs) == 2 {
		return string(rs[0]) + "*"
	}
	return string(rs[0]) + "*" + string(rs[len(rs)-1])
}

// resultView is the tap result screen, built once and updated in place
// for each tap: at a busy station the result screen follows tap after
// tap, and new widgets for each would pile up in Fyne's caches. It is
// rebuilt only for a new language, text size or window size.
type resultView struct {
	key           resultKey
	root          fyne.CanvasObject
	icon          *widget.Icon
	okRes, errRes fyne.Resource
	head          *fyne.Container
	body          *fyne.Container
	top           fyne.CanvasObject
	lines         []*widget.Label
	ok            *touchButton
	// task starts the volunteer's assigned order with this check-in;
	// hidden unless there is one.
	task    *touchButton
	taskFor func()
	cue     *scrollCue
}

type resultKey struct {
	lang            Lang
	large, contrast bool
	size            fyne.Size
}

func (u *UI) buildResult(key resultKey) *resultView {
	r := &resultView{
		key:    key,
		okRes:  theme.NewColoredResource(theme.ConfirmIcon(), themeColorName(true)),
		errRes: theme.NewColoredResource(theme.ErrorIcon(), themeColorName(false)),
		head:   container.NewVBox(),
	}
	r.icon = widget.NewIcon(r.okRes)
	r.top = container.NewBorder(nil, nil, container.NewCenter(container.NewGridWrap(fyne.NewSize(72, 72), r.icon)), nil, container.NewCenter(r.head))
	r.body = container.NewVBox(r.top)
	r.ok = u.button("", true, func() { u.showHome() })
	r.task = u.button("", true, func() {
		if r.taskFor != nil {
			f := r.taskFor
			r.taskFor = nil
			f()
		}
	})
	r.task.Hide()
	sc := u.scroller(container.NewPadded(r.body))
	r.cue = sc.(*fyne.Container).Layout.(*scrollCue)
	r.root = container.NewBorder(nil, container.NewPadded(container.NewGridWithRows(1, r.task, r.ok)), nil, nil, sc)
	return r
}

// fill shows one tap's outcome: title and lines.
func (r *resultView) fill(u *UI, ok bool, title string, lines []string) {
	res, c := r.okRes, theme.Color(theme.ColorNameSuccess)
	if !ok {
		res, c = r.errRes, theme.Color(theme.ColorNameError)
	}
	if r.icon.Resource != res {
		r.icon.SetResource(res)
	}
	// The heading is large, and shrinks or wraps rather than being cut
	// off beside the icon on a small screen.
	size := theme.Size(theme.SizeNameHeadingText) * 1.4
	room := r.key.size.Width - 72 - 8*theme.Padding() - theme.ScrollBarSize()
	block := u.textBlock(title, size, theme.Size(theme.SizeNameHeadingText), true, c, room)
	r.head.Objects = block.Objects
	r.head.Refresh()
	// The name, then the other lines in one label: one label's line
	// spacing, not each label's padding, so a check-out in large text
	// fits a 7" screen.
	if len(lines) > 2 {
		lines = []string{lines[0], strings.Join(lines[1:], "\n")}
	}
	for len(r.lines) < len(lines) {
		w := u.label("")
		if len(r.lines) == 0 {
			w.SizeName = theme.SizeNameSubHeadingText
			w.TextStyle.Bold = true
		}
		r.lines = append(r.lines, w)
	}
	objs := append(make([]fyne.CanvasObject, 0, len(lines)+1), r.top)
	for i, l := range lines {
		theFont.check(l)
		r.lines[i].SetText(l)
		objs = append(objs, r.lines[i])
	}
	r.body.Objects = objs
	r.body.Refresh()
	r.cue.scroll.ScrollToTop()
	r.cue.update()
	r.ok.SetText(u.t("btn_ok"))
}

// setTask shows the start-task button for f (the first of tasks), or
// hides it when f is nil.
func (r *resultView) setTask(u *UI, f func(), tasks []wire.Task) {
	r.taskFor = f
	if f == nil || len(tasks) == 0 {
		r.task.SetText("")
		r.task.Hide()
		return
	}
	r.task.SetText(u.t("btn_start_task", tasks[0].Ref))
	r.task.Show()
}

func themeColorName(ok bool) fyne.ThemeColorName {
	if ok {
		return theme.ColorNameSuccess
	}
	return theme.ColorNameError
}

// hoursLines are the volunteer's hours as the cloud last counted them,
// with their date when older than a day, the star level and the progress
// to the next star. A volunteer the kiosk has no figure for gets none:
// the kiosk never makes one up, and it does not add this session's time
// to the cloud's figure either (the cloud counts it once the record
// arrives, after review where it is flagged).
func (u *UI) hoursLines(volunteer string, checkout bool) []string {
	total, asOf, known := u.opt.Hours.Hours(volunteer)
	if !known {
		return nil
	}
	now := u.opt.Now()
	var lines []string
	if !asOf.IsZero() && now.Sub(asOf) > 24*time.Hour {
		at := asOf.In(ChinaTime)
		lines = append(lines, u.t("total_hours_asof", catalog.Hours(total), u.date(at)))
	} else {
		lines = append(lines, u.t("total_hours", catalog.Hours(total)))
	}
	if checkout {
		lines = append(lines, u.t("hours_pending"))
	}
	level, next := starLevel(u.stars(), total)
	if star, ok := u.awardedStar(volunteer); ok {
		// The star awarded, not the one the hours reach: the next is
		// the next level's threshold (reached already: the note 可申请升级
		// says so, no hours to go).
		level, next = star, 0
		if st := u.stars(); star < len(st) {
			next = st[star]
		}
	}
	if level > 0 {
		lines = append(lines, u.t("star_level", u.starName(level)))
	} else {
		lines = append(lines, u.t("no_star"))
	}
	switch {
	case next > total:
		lines = append(lines, u.t("to_next_star", u.starName(level+1), catalog.HoursToGo(next-total)))
	case next > 0:
	default:
		lines = append(lines, u.t("top_star"))
	}
	return lines
}

// date is a day as a person reads it: 11月29日, or 29 Nov.
func (u *UI) date(t time.Time) string {
	t = t.In(ChinaTime)
	if u.lang == En {
		return t.Format("2 Jan 2006")
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}
