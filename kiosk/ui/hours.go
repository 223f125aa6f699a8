package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
)

// Hours at the kiosk (issue 12).
//
// Activity at check-in: the station's document lists its activities; when
// one is on (wire.StationActivity.Current, by the kiosk's clock, so an
// offline kiosk still offers the right ones from its last document), the
// home screen offers "参加活动签到". The volunteer picks the activity (one
// tap on a large button), then taps their card, as with a menu service:
// the check-in record carries it. Choosing comes first because a tap is
// recorded, durably, the moment the card is read: a question after the
// tap could not change the record. Who just taps checks in to the
// station's default activity ("不选择（站点日常服务）", a choice on the
// same screen); a choice left unused returns to none after the idle
// timeout, so the next volunteer does not inherit it.
//
// Public notice (公示): the contact board leads to the station's service
// records in notice, a page at a time. A volunteer who disagrees picks a
// record, picks a reason, and taps their card: the tap is taken for the
// objection (like the admin's reader test, it records no check-in) and
// becomes an objection record in the outbox.
//
// At the tap: review outcomes the volunteer has not seen yet and "可申请
// 升级" are shown on the result screen (and spoken when voice is on), once
// per kiosk run; the cloud drops them from the document once it knows of
// the tap.

// Screen names of this file.
const (
	ScreenActivity      = "activity"
	ScreenNotice        = "notice"
	ScreenObjection     = "objection"
	ScreenObjectionDone = "objection_done"
)

// objectionKeys are the preset reasons of an objection to a record,
// starObjectionKeys to a star award in notice.
var (
	objectionKeys     = []Key{"objection_hours", "objection_not_me", "objection_wrong", "objection_other"}
	starObjectionKeys = []Key{"objection_star_hours", "objection_star_rules", "objection_other"}
)

// noticeDraft is an objection in progress.
type noticeDraft struct {
	page     int
	rec      wire.NoticeRecord
	reason   string // in Chinese, as stored
	saving   bool
	done     bool
	failed   string
	cardErr  string
	awaiting bool // a card tap is taken for the objection
}

// Activity is the activity chosen on screen for the next check-in, or 0.
func (u *UI) Activity() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.activity
}

// currentActivities are the activities a volunteer may choose now: the
// document's, on now by the kiosk's clock, the default one aside.
func (u *UI) currentActivities() []wire.StationActivity {
	now := u.opt.Now()
	var out []wire.StationActivity
	for _, a := range u.cfg.Activities {
		if !a.Default && a.Current(now) {
			out = append(out, a)
		}
	}
	return out
}

// activitiesKey names the current activities, so that the home screen is
// rebuilt when one comes on or goes off.
func (u *UI) activitiesKey() string {
	var b strings.Builder
	for _, a := range u.currentActivities() {
		fmt.Fprintf(&b, "%d,", a.ID)
	}
	return b.String()
}

func (u *UI) activityName(id int64) string {
	for _, a := range u.cfg.Activities {
		if a.ID == id {
			return a.Name
		}
	}
	return fmt.Sprintf("#%d", id)
}

// activityLabel is an activity's button: its name, then its time and
// category.
func (u *UI) activityLabel(a wire.StationActivity) string {
	s, e := a.Start.In(ChinaTime), a.End.In(ChinaTime)
	when := s.Format("15:04") + "—" + e.Format("15:04")
	if s.YearDay() != e.YearDay() || s.Year() != e.Year() {
		when = u.date(s) + "—" + u.date(e)
	}
	if a.Category != "" {
		when += " · " + a.Category
	}
	return a.Name + "\n" + when
}

// homeActivity is what the home screen says of activities: the chosen one
// and the way back to none, or the way to choose one; nil when none is on.
func (u *UI) homeActivity(width float32) []fyne.CanvasObject {
	if u.activity != 0 {
		// One button, two lines at most: the prompt above must stay in
		// view on a 7" screen in large text. It leads back to the choice,
		// where 不选择 is.
		size := theme.TextSize()
		room := width - 2*theme.InnerPadding()
		head := u.t("activity_chosen", u.activityName(u.activity))
		for n := len([]rune(head)); n > 4 && measure(head, size, false) > room; n-- {
			head = ellipsize(u.t("activity_chosen", u.activityName(u.activity)), n)
		}
		b := u.button(head+"\n"+u.t("activity_change"), true, func() { u.showActivities() })
		b.Name = u.t("activity_chosen", u.activityName(u.activity))
		return []fyne.CanvasObject{container.NewCenter(b)}
	}
	if len(u.currentActivities()) == 0 {
		return nil
	}
	return []fyne.CanvasObject{container.NewCenter(u.button(u.t("btn_activity"), true, func() { u.showActivities() }))}
}

func (u *UI) showActivities() {
	u.show(ScreenActivity, func() fyne.CanvasObject {
		var cs []choice
		for _, a := range u.currentActivities() {
			text := u.activityLabel(a)
			if a.ID == u.activity {
				text = "✓ " + text
			}
			cs = append(cs, choice{text, true, func() { u.activity = a.ID; u.showHome() }})
		}
		cs = append(cs, choice{u.t("activity_none"), false, func() { u.activity = 0; u.showHome() }})
		width := u.bodyWidth()
		return u.page(u.t("activity_title"), nil, container.NewVBox(
			u.textCol(u.t("activity_step"), theme.Size(theme.SizeNameSubHeadingText), true, width-2*theme.InnerPadding()),
			u.choices(1, width, cs...)))
	})
}

// noticePageSize is how many records a page of the notice shows: fewer
// in large text, so a page is read without scrolling.
func (u *UI) noticePageSize() int {
	if u.large || u.canvasSize().Height < 600 {
		return 3
	}
	return 5
}

// noticeLabel is a record of the notice list as its button says it; a
// star award in notice says so first ("星级认定公示：陈*红 拟认定为三星级志愿者").
func (u *UI) noticeLabel(n wire.NoticeRecord) string {
	if n.Kind == wire.NoticeStar {
		return u.starNoticeLabel(n)
	}
	day := n.Day
	if t, err := time.ParseInLocation(time.DateOnly, n.Day, ChinaTime); err == nil {
		day = u.date(t)
	}
	head := fmt.Sprintf("%s　%s　%s", n.Name, day, u.t("notice_hours", strconv.FormatFloat(n.Hours, 'f', -1, 64)))
	var tail []string
	if n.Activity != "" {
		tail = append(tail, n.Activity)
	}
	switch {
	case n.Objected:
		tail = append(tail, u.t("notice_objected"))
	case !n.Until.IsZero():
		tail = append(tail, u.t("notice_until", u.date(n.Until)))
	}
	if len(tail) == 0 {
		return head
	}
	return head + "\n" + strings.Join(tail, " · ")
}

// starNoticeLabel is a star award of the notice list as its button says
// it: who, the star proposed, until when (or that an objection holds it).
func (u *UI) starNoticeLabel(n wire.NoticeRecord) string {
	level := u.t(Key(fmt.Sprintf("star%d", max(1, min(n.Level, 5)))))
	head := u.t("notice_star", n.Name, level)
	if n.Org != "" {
		head = u.t("notice_star_org", n.Org, level)
	}
	switch {
	case n.Objected:
		return head + "\n" + u.t("notice_star_objected")
	case !n.Until.IsZero():
		return head + "\n" + u.t("notice_until", u.date(n.Until))
	}
	return head
}

func (u *UI) showNotice() {
	u.show(ScreenNotice, func() fyne.CanvasObject {
		width := u.bodyWidth()
		list := u.cfg.Notice
		if len(list) == 0 {
			return u.page(u.t("notice_title"), func() { u.showBoard() }, u.label(u.t("notice_empty")))
		}
		size := u.noticePageSize()
		pages := (len(list) + size - 1) / size
		u.notice.page = max(0, min(u.notice.page, pages-1))
		from := u.notice.page * size
		var cs []choice
		for _, n := range list[from:min(len(list), from+size)] {
			cs = append(cs, choice{u.noticeLabel(n), false, func() {
				u.notice = noticeDraft{page: u.notice.page, rec: n}
				u.showObjection()
			}})
		}
		intro := u.t("notice_intro")
		if slices.ContainsFunc(list, func(n wire.NoticeRecord) bool { return n.Kind == wire.NoticeStar }) {
			intro = u.t("notice_intro_stars")
		}
		objs := []fyne.CanvasObject{
			u.textCol(intro, theme.TextSize(), false, width-2*theme.InnerPadding()),
			u.choices(1, width, cs...),
		}
		if pages > 1 {
			var nav []fyne.CanvasObject
			if u.notice.page > 0 {
				nav = append(nav, u.button(u.t("btn_prev_page"), false, func() { u.notice.page--; u.refresh() }))
			}
			pageOf := u.label(u.t("notice_page", u.notice.page+1, pages))
			pageOf.Alignment = fyne.TextAlignCenter
			nav = append(nav, pageOf)
			if u.notice.page < pages-1 {
				nav = append(nav, u.button(u.t("btn_next_page"), true, func() { u.notice.page++; u.refresh() }))
			}
			objs = append(objs, u.tiles(3, width, nav...))
		}
		return u.page(u.t("notice_title"), func() { u.showBoard() }, container.NewVBox(objs...))
	})
}

func (u *UI) showObjection() {
	u.show(ScreenObjection, func() fyne.CanvasObject {
		width := u.bodyWidth()
		text := width - 2*theme.InnerPadding()
		objs := []fyne.CanvasObject{u.textCol(u.noticeLabel(u.notice.rec), theme.TextSize(), false, text),
			u.textCol(u.t("objection_step_reason"), theme.Size(theme.SizeNameSubHeadingText), true, text)}
		var cs []choice
		keys := objectionKeys
		if u.notice.rec.Kind == wire.NoticeStar {
			keys = starObjectionKeys
		}
		for _, k := range keys {
			zh := tr(Zh, k) // stored in Chinese for the station
			label := u.t(k)
			if u.notice.reason == zh {
				label = "✓ " + label
			}
			cs = append(cs, choice{label, u.notice.reason == zh, func() {
				u.notice.reason, u.notice.cardErr = zh, ""
				u.notice.awaiting = true
				u.refresh()
			}})
		}
		objs = append(objs, u.choices(2, width, cs...))
		if u.notice.awaiting {
			objs = append(objs, u.textBlock(u.t("objection_step_tap"), theme.Size(theme.SizeNameHeadingText), theme.Size(theme.SizeNameSubHeadingText),
				true, theme.Color(theme.ColorNameForeground), text),
				u.textCol(u.t("objection_tap_hint"), theme.TextSize(), false, text))
		}
		if u.notice.cardErr != "" {
			objs = append(objs, u.textCol(u.t("objection_card_failed", u.notice.cardErr), theme.TextSize(), true, text))
		}
		return u.page(u.t("objection_title"), func() { u.notice.awaiting = false; u.showNotice() }, container.NewVBox(objs...))
	})
}

// takeObjectionTap takes a card read while an objection waits for one
// and reports whether it did; the caller holds the lock. A refused card
// is said on the screen, which keeps waiting.
func (u *UI) takeObjectionTap(t TapEvent) bool {
	if u.screen != ScreenObjection || !u.notice.awaiting || u.notice.saving {
		return false
	}
	if t.Err != nil {
		u.notice.cardErr = u.t(errorKey(t.Err))
		go u.do(func() {
			if u.screen == ScreenObjection {
				u.refresh()
			}
		})
		return true
	}
	u.notice.awaiting, u.notice.saving, u.notice.cardErr = false, true, ""
	o := attendance.Objection{Volunteer: t.Tap.Volunteer, Card: t.Tap.Card, Record: u.notice.rec.ID, Reason: u.notice.reason}
	ctx := u.ctx
	go func() {
		_, err := u.core.Object(ctx, o)
		u.do(func() {
			u.notice.saving = false
			if err != nil {
				u.log.Error("objection not stored", "record", o.Record, "err", err)
				u.notice.failed = u.t("objection_failed")
			} else {
				u.notice.done = true
			}
			u.touched()
			u.showObjectionDone()
		})
	}()
	return true
}

func (u *UI) showObjectionDone() {
	u.show(ScreenObjectionDone, func() fyne.CanvasObject {
		text := u.bodyWidth() - 2*theme.InnerPadding()
		var objs []fyne.CanvasObject
		switch {
		case u.notice.saving:
			objs = append(objs, u.heading(u.t("need_saving")))
		case u.notice.failed != "":
			objs = append(objs, u.textCol(u.notice.failed, theme.Size(theme.SizeNameSubHeadingText), true, text))
		default:
			how := u.t("objection_done_how")
			if u.notice.rec.Kind == wire.NoticeStar {
				how = u.t("objection_star_how")
			}
			objs = append(objs, u.heading(u.t("objection_done")), u.textCol(how, theme.TextSize(), false, text))
		}
		objs = append(objs, u.button(u.t("btn_home"), true, func() { u.showHome() }))
		return u.page(u.t("objection_title"), nil, container.NewVBox(objs...))
	})
}

// noteLines are what the kiosk tells volunteer at a tap and has not told
// them on this kiosk since it started: review outcomes not yet seen, and
// the star level they may apply for.
func (u *UI) noteLines(volunteer string) []string {
	if u.shownNotes == nil {
		u.shownNotes = map[string]bool{}
	}
	var lines []string
	for _, v := range u.cfg.Volunteers {
		if v.ID != volunteer {
			continue
		}
		for _, n := range v.Notes {
			key := volunteer + "\x00" + n.ID + "\x00" + n.Text
			if !u.shownNotes[key] {
				u.shownNotes[key] = true
				lines = append(lines, u.t("note_outcome", n.Text))
			}
		}
		if v.StarEligible > 0 {
			key := fmt.Sprintf("%s\x00star%d", volunteer, v.StarEligible)
			if !u.shownNotes[key] {
				u.shownNotes[key] = true
				lines = append(lines, u.t("note_star", u.starName(v.StarEligible)))
			}
		}
	}
	return lines
}

// hoursStepWords are the steps of this file's screens, read aloud.
func (u *UI) hoursStepWords(screen string) string {
	switch screen {
	case ScreenActivity:
		return u.t("activity_step")
	case ScreenObjection:
		if u.notice.awaiting {
			return u.t("objection_step_tap")
		}
		return u.t("objection_step_reason")
	case ScreenObjectionDone:
		switch {
		case u.notice.saving:
			return u.t("need_saving")
		case u.notice.failed != "":
			return u.notice.failed
		}
		return u.t("objection_done") + "。" + u.t("objection_done_how")
	}
	return ""
}
