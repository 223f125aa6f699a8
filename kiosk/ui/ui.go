package ui

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

// Core is what the UI needs of the kiosk core.
type Core interface {
	// Request records a registered need; it may block on the disk, so
	// the UI calls it off the Fyne thread.
	Request(ctx context.Context, req attendance.ServiceRequest) (attendance.Result, error)
	// Order records an action on a resident's order (a volunteer starting
	// it, a resident's rating); off the Fyne thread like Request.
	Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error)
	// Object records a volunteer's objection to a service record in
	// public notice; off the Fyne thread like Request.
	Object(ctx context.Context, o attendance.Objection) (attendance.Result, error)
	// Status is a snapshot for the admin screen and the online mark; it
	// must return quickly.
	Status() Status
}

// ConfigSource holds the station config: Current is never nil, and
// Subscribe delivers each newly applied config until its cancel func is
// called.
type ConfigSource interface {
	Current() *wire.Config
	Subscribe() (<-chan *wire.Config, func())
}

// Link is the state of the uplink as far as the kiosk knows it.
type Link int

// Link states.
const (
	LinkUnknown Link = iota
	LinkOnline
	LinkOffline
)

// HoursSource gives a volunteer's service hours as the cloud counted them
// and when it counted them. The UI shows only such figures, with their
// age when older than a day; ok is false for a volunteer it has no figure
// for, who is then shown without hours. It must return quickly.
type HoursSource interface {
	Hours(volunteer string) (hours float64, asOf time.Time, ok bool)
}

// ChinaTime is China Standard Time (UTC+8, no daylight saving), in which
// the kiosk shows every time. It is fixed rather than loaded from tzdata,
// which a minimal Pi image may lack.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Status is what the admin screen shows.
type Status struct {
	Station  string
	Link     Link
	Broker   string
	Outbox   int
	Reader   string
	Software string
	// LastSync is when the cloud last confirmed records; zero if not
	// since start.
	LastSync time.Time
	// Acked is how many records the cloud confirmed since start.
	Acked int
	// Rejected is how many records the gateway refused and the kiosk
	// holds aside (store.Rejections), for the station manager to report.
	Rejected int
	// ReaderRecoveries is how many times the reader chip was reset after
	// it stopped answering since start (reader.Reader.Recoveries).
	ReaderRecoveries int
}

// TapEvent is the outcome of one card presentation, after the reader
// loop recorded it: Err is a reader error (forged, expired, ...) or an
// attendance error (not stored); otherwise Result is the record written.
type TapEvent struct {
	Tap    reader.Tap
	Result attendance.Result
	Err    error
}

// Sounder plays the feedback of a tap: a tone, and the words spoken when
// voice is on. It must not block.
type Sounder interface {
	Feedback(ok bool, words string, lang string)
	SetEnabled(sound, voice bool)
}

// Speaker is a Sounder that also reads a step of a screen aloud when
// voice is on (voice.Player): the elderly-friendly rules ask that colour
// is never the only cue, and that a resident who cannot read the screen
// hears each step.
type Speaker interface {
	Say(words, lang string)
}

// Options tune a UI.
type Options struct {
	// Now is the wall clock shown on screen; nil means time.Now.
	Now func() time.Time
	// AdminPIN opens the admin screen; empty disables it, and the screen
	// then says how to set one.
	AdminPIN string
	// Hours gives the cloud's hours of a volunteer, e.g. as the last
	// verified ack counted them (store.Store). The screen shows the newer
	// of its figure and the config's volunteers list's
	// (wire.VolunteerSummary); nil means the config's alone.
	Hours HoursSource
	// Font says where the CJK font comes from (FontAuto if unset). It
	// takes effect in the first UI of a process only.
	Font FontSource
	// ResultFor is how long a tap result stays before the home screen
	// returns; zero means 6 s.
	ResultFor time.Duration
	// IdleTimeout overrides the config's idle timeout (for tests); zero
	// uses the config, or 60 s.
	IdleTimeout time.Duration
	// Tick is how often the clock and the timeouts are checked; zero
	// means 250 ms.
	Tick time.Duration
	// Animate runs the animation pointing at the reader.
	Animate bool
	// Sound plays tap feedback; nil is silent.
	Sound Sounder
	// OnShow, if set, is called on the UI thread each time a screen is
	// shown, with the screen's name (tests wait on it).
	OnShow func(screen string)
	Logger *slog.Logger
}

// Screen names, as passed to Options.OnShow and returned by Screen.
const (
	ScreenHome       = "home"
	ScreenResult     = "result"
	ScreenMenu       = "menu"
	ScreenItems      = "items"
	ScreenDetail     = "detail"
	ScreenBoard      = "board"
	ScreenHonor      = "honor"
	ScreenNews       = "news"
	ScreenNeedCat    = "need_category"
	ScreenNeedTel    = "need_phone"
	ScreenNeedNote   = "need_note"
	ScreenNeedDone   = "need_done"
	ScreenOrderRef   = "order_ref"
	ScreenOrderTel   = "order_phone"
	ScreenOrderState = "order_state"
	ScreenOrderRate  = "order_rate"
	ScreenOrderDone  = "order_done"
	ScreenTaskStart  = "task_start"
	ScreenPIN        = "pin"
	ScreenAdmin      = "admin"
)

// UI is the kiosk touchscreen in one window.
type UI struct {
	win    fyne.Window
	core   Core
	source ConfigSource
	opt    Options
	log    *slog.Logger
	events chan TapEvent
	link   chan struct{}
	ctx    context.Context // set by Run; Request calls use it

	// mu guards everything below. Fyne calls handlers on its thread, and
	// the test driver on the test's goroutine; the lock makes both safe.
	mu         sync.Mutex
	cfg        *wire.Config
	lang       Lang
	large      bool
	contrast   bool
	sound      bool
	voice      bool
	screen     string
	rerender   func()
	lastTouch  time.Time
	resultEnd  time.Time
	service    string // chosen for the next check-in
	readerTest bool
	testLine   string
	stopAnim   func()
	clockText  func(string)
	linkShow   func(Link) // updates the online mark of the screen shown
	home       *homeView
	result     *resultView
	size       fyne.Size // of the canvas when the screen shown was built
	adminSeen  Status    // as last shown on the admin screen
	need       needDraft
	said       string // the step last read aloud
	order      orderDraft
	orderTries orderTries
	pin        string
	activity   int64 // chosen for the next check-in
	notice     noticeDraft
	shownNotes map[string]bool // notes told at a tap since start
}

type needDraft struct {
	service, phone, note string
	badPhone             bool // the number entered was refused
	saving               bool
	ref                  string
	failed               string
}

// New builds the UI in win and shows the home screen. Call Run to bring
// it to life.
func New(win fyne.Window, core Core, source ConfigSource, opt Options) *UI {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ResultFor <= 0 {
		opt.ResultFor = 6 * time.Second
	}
	if opt.Tick <= 0 {
		opt.Tick = 250 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	theFont.use(opt.Font, opt.Logger)
	u := &UI{
		win: win, core: core, source: source, opt: opt, log: opt.Logger,
		events: make(chan TapEvent, 16),
		link:   make(chan struct{}, 1),
		ctx:    context.Background(),
	}
	if u.opt.Hours == nil {
		u.opt.Hours = configHours{u}
	} else {
		u.opt.Hours = newestHours{u.opt.Hours, configHours{u}}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.applyConfig(source.Current())
	u.resetPreferences()
	u.lastTouch = time.Now()
	u.showHome()
	return u
}

// Notify hands the UI the outcome of a tap. It never blocks: when the UI
// is far behind, the oldest waiting outcome is dropped (the tap itself is
// already recorded).
func (u *UI) Notify(ev TapEvent) {
	for {
		select {
		case u.events <- ev:
			return
		default:
		}
		select {
		case <-u.events:
			u.log.Warn("ui behind: a tap result was not shown")
		default:
		}
	}
}

// ReaderTest hands the UI a card read while the admin's reader test, or
// an objection to a record in public notice, waits for one, and reports
// whether it took it: the caller must then record nothing (the test only
// reads and verifies the card; the objection writes its own record). A
// reader error (err) is taken the same way. It never blocks on the UI
// thread.
func (u *UI) ReaderTest(t reader.Tap, err error) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.takeObjectionTap(TapEvent{Tap: t, Err: err}) {
		return true
	}
	if !u.readerTest || u.screen != ScreenAdmin {
		return false
	}
	u.readerTest = false
	if err != nil {
		u.testLine = u.t("admin_test_err", u.t(errorKey(err)))
	} else {
		u.testLine = u.t("admin_test_ok", t.Volunteer, t.Media)
	}
	go u.do(func() {
		if u.screen == ScreenAdmin {
			u.refresh()
		}
	})
	return true
}

// Recorder records taps and needs: attendance.Book, or a wrapper of it.
type Recorder interface {
	TapService(ctx context.Context, t reader.Tap, service string) (attendance.Result, error)
	TapChoice(ctx context.Context, t reader.Tap, c attendance.Choice) (attendance.Result, error)
	Request(ctx context.Context, req attendance.ServiceRequest) (attendance.Result, error)
	Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error)
}

// ReaderTestGate passes each tap to Recorder, except a card tapped for
// the admin's reader test (UI.ReaderTest), which is shown and not
// recorded: the test must not write a check-in.
type ReaderTestGate struct {
	Recorder
	UI func() *UI // the UI, or nil before it is open
}

// TapService implements Recorder.
func (g ReaderTestGate) TapService(ctx context.Context, t reader.Tap, service string) (attendance.Result, error) {
	if u := g.UI(); u != nil && u.ReaderTest(t, nil) {
		return attendance.Result{}, nil
	}
	return g.Recorder.TapService(ctx, t, service)
}

// TapChoice implements Recorder.
func (g ReaderTestGate) TapChoice(ctx context.Context, t reader.Tap, c attendance.Choice) (attendance.Result, error) {
	if u := g.UI(); u != nil && u.ReaderTest(t, nil) {
		return attendance.Result{}, nil
	}
	return g.Recorder.TapChoice(ctx, t, c)
}

// LinkChanged tells the UI that Core.Status().Link may have changed; the
// online mark follows soon after. It never blocks.
func (u *UI) LinkChanged() {
	select {
	case u.link <- struct{}{}:
	default:
	}
}

// Service is the menu item a volunteer chose on screen for their next
// check-in, or "".
func (u *UI) Service() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.service
}

// Screen is the name of the screen shown.
func (u *UI) Screen() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.screen
}

// Run shows tap results, follows config changes, ticks the clock and
// applies the timeouts until ctx is done. It returns ctx's error.
func (u *UI) Run(ctx context.Context) error {
	updates, cancel := u.source.Subscribe()
	defer cancel()
	// A config applied before the subscription would otherwise be missed.
	u.do(func() {
		u.ctx = ctx
		if c := u.source.Current(); c != nil && c != u.cfg {
			u.applyConfig(c)
			u.refresh()
		}
	})
	tick := time.NewTicker(u.opt.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			u.do(func() {
				if u.stopAnim != nil {
					u.stopAnim()
					u.stopAnim = nil
				}
			})
			return ctx.Err()
		case ev := <-u.events:
			u.do(func() { u.showTap(ev) })
		case <-u.link:
			u.do(u.updateLink)
		case c, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if c != nil {
				u.do(func() { u.applyConfig(c); u.refresh() })
			}
		case <-tick.C:
			u.do(u.tick)
		}
	}
}

// do runs f on the Fyne thread with the lock held.
func (u *UI) do(f func()) {
	fyne.Do(func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		f()
	})
}

// touched records a touch for the idle timeout; handlers call it with the
// lock held.
func (u *UI) touched() { u.lastTouch = time.Now() }

func (u *UI) tick() {
	if u.clockText != nil {
		u.clockText(u.clock())
	}
	// Screens are laid out for the canvas they were built for: a new
	// size (the window going full screen, a rotated display) rebuilds.
	if s := u.win.Canvas().Size(); s != u.size && s.Width > 0 {
		u.refresh()
	}
	if u.screen == ScreenAdmin {
		if st := u.core.Status(); st.Acked != u.adminSeen.Acked || st.Outbox != u.adminSeen.Outbox || !st.LastSync.Equal(u.adminSeen.LastSync) {
			u.refresh()
		}
	}
	now := time.Now()
	switch {
	case u.screen == ScreenResult && now.After(u.resultEnd):
		u.showHome()
	case u.screen == ScreenHome && u.activity != 0 && now.Sub(u.lastTouch) > u.idleTimeout():
		// A choice nobody tapped a card for is not the next volunteer's.
		u.activity = 0
		u.showHome()
	case u.screen == ScreenHome && u.home != nil && u.home.key.acts != u.activitiesKey():
		u.showHome() // an activity came on or went off
	case u.screen != ScreenHome && u.screen != ScreenResult && now.Sub(u.lastTouch) > u.idleTimeout():
		if u.need.saving {
			return // the confirmation must be seen
		}
		u.resetPreferences()
		u.service = ""
		u.activity = 0
		u.notice = noticeDraft{}
		u.showHome()
	}
}

func (u *UI) idleTimeout() time.Duration {
	if u.opt.IdleTimeout > 0 {
		return u.opt.IdleTimeout
	}
	if u.cfg.UI != nil && u.cfg.UI.IdleTimeoutSeconds > 0 {
		return time.Duration(u.cfg.UI.IdleTimeoutSeconds) * time.Second
	}
	return time.Minute
}

func (u *UI) applyConfig(c *wire.Config) {
	u.cfg = c
	u.resetPreferencesFromConfig(false)
}

// resetPreferences returns language, text size and sound to the config's
// choice, so a visitor's changes do not outlive their visit.
func (u *UI) resetPreferences() { u.resetPreferencesFromConfig(true) }

func (u *UI) resetPreferencesFromConfig(all bool) {
	s := u.cfg.UI
	if s == nil {
		s = &wire.UISettings{}
	}
	if all {
		u.lang = Zh
		if s.Language == string(En) {
			u.lang = En
		}
		u.large, u.contrast = s.LargeTextOn(), s.HighContrastOn()
	}
	u.sound = s.Sound == nil || *s.Sound
	u.voice = s.Voice != nil && *s.Voice
	if u.opt.Sound != nil {
		u.opt.Sound.SetEnabled(u.sound, u.voice)
	}
	u.applyTheme()
}

func (u *UI) applyTheme() {
	want := kioskTheme{large: u.large, contrast: u.contrast}
	app := fyne.CurrentApp()
	if cur, ok := app.Settings().Theme().(kioskTheme); ok && cur == want {
		return
	}
	app.Settings().SetTheme(want)
}

// refresh rebuilds the screen shown, after a change of config, language
// or text size.
func (u *UI) refresh() {
	if u.rerender != nil {
		u.rerender()
	}
}

func (u *UI) t(key Key, args ...any) string { return tr(u.lang, key, args...) }

func (u *UI) clock() string {
	now := u.opt.Now().In(ChinaTime)
	if u.lang == En {
		return now.Format("Mon 2 Jan 15:04")
	}
	week := []string{"日", "一", "二", "三", "四", "五", "六"}
	return fmt.Sprintf("%d月%d日 星期%s %s", now.Month(), now.Day(), week[now.Weekday()], now.Format("15:04"))
}

// volunteerName is the masked name from the config's roster; for a
// volunteer the roster does not list (a kiosk offline since they were
// issued their card, or one at another station), the masked name their
// card carries (cardName, signed by the issuer); failing both, the ID.
func (u *UI) volunteerName(id, cardName string) string {
	for _, v := range u.cfg.Volunteers {
		if v.ID == id && v.Name != "" {
			return v.Name
		}
	}
	if cardName != "" {
		return cardName
	}
	return id
}

// newestHours is the newer figure of two sources: a config issued
// yesterday must not hide an ack of this morning, nor the other way round.
type newestHours [2]HoursSource

// Hours implements HoursSource.
func (n newestHours) Hours(id string) (float64, time.Time, bool) {
	h, at, ok := n[0].Hours(id)
	if h2, at2, ok2 := n[1].Hours(id); ok2 && (!ok || at2.After(at)) {
		return h2, at2, true
	}
	return h, at, ok
}

// configHours is the default HoursSource: the volunteers list of the
// config in use, each figure as of its hours_as_of or else the config's
// issue time.
type configHours struct{ u *UI }

// Hours implements HoursSource; the UI calls it with its lock held.
func (c configHours) Hours(id string) (float64, time.Time, bool) {
	for _, v := range c.u.cfg.Volunteers {
		if v.ID == id {
			at := v.HoursAsOf
			if at.IsZero() {
				at = c.u.cfg.Issued
			}
			return v.Hours, at, true
		}
	}
	return 0, time.Time{}, false
}

// awardedStar is the star the cloud says volunteer was awarded (the
// roster's star), and whether it says one; the UI calls it with its lock
// held.
func (u *UI) awardedStar(volunteer string) (int, bool) {
	if u.cfg == nil {
		return 0, false
	}
	for _, v := range u.cfg.Volunteers {
		if v.ID == volunteer && v.Star != nil {
			return *v.Star, true
		}
	}
	return 0, false
}

func (u *UI) stars() []float64 {
	if len(u.cfg.Stars) > 0 {
		return u.cfg.Stars
	}
	return wire.DefaultStars
}

// starLevel is how many thresholds hours reaches, and the next threshold
// (0 when at the top).
func starLevel(stars []float64, hours float64) (level int, next float64) {
	for _, s := range stars {
		if hours >= s {
			level++
			continue
		}
		return level, s
	}
	return level, 0
}

func (u *UI) starName(level int) string {
	if level < 1 {
		return ""
	}
	if level > 5 {
		return fmt.Sprintf("%d★", level)
	}
	return u.t(Key(fmt.Sprintf("star%d", level)))
}

func formatDuration(lang Lang, d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 60 {
		return tr(lang, "minutes", m)
	}
	return tr(lang, "hours_minutes", m/60, m%60)
}
