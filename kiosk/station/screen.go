//go:build cgo

package station

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"leifeng/kiosk/attendance"
	"leifeng/kiosk/config"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/ui"
	// Imported for its init, before Fyne's: no "Error parsing user locale
	// C" on every start under LANG=C.UTF-8.
	_ "leifeng/kiosk/ui/fynelocale"
	"leifeng/kiosk/uplink"
	"leifeng/kiosk/voice"
	"leifeng/reader"
)

// adminPINEnv names the environment variable holding the admin screen's
// PIN; unset, the admin screen stays locked.
const adminPINEnv = "LEIFENG_KIOSK_PIN"

// touchscreen reports that this build has the touchscreen: it is built
// with cgo, which Fyne's OpenGL driver needs.
const touchscreen = true

// screen is the touchscreen of a station with a Display. A nil *screen is
// a headless station: every method is then a no-op, and wait only waits
// for ctx.
type screen struct {
	o    *Options
	now  func() time.Time // the time shown
	st   *store.Store
	book *attendance.Book
	log  *slog.Logger

	app    fyne.App
	ui     *ui.UI
	player *voice.Player

	mu     sync.Mutex
	reader string
	up     *uplink.Uplink // nil offline
	// counts gives the refused records and the reader's recoveries.
	counts func() (rejected, recoveries int)
}

// setUplink makes the online mark follow up's connection; call it before
// wait.
func (s *screen) setUplink(up *uplink.Uplink) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.up = up
	s.mu.Unlock()
}

// newScreen returns the touchscreen of a station with a Display, not yet
// open, or nil for a headless one. now is the time it shows.
func newScreen(o *Options, now func() time.Time, st *store.Store, book *attendance.Book, log *slog.Logger) *screen {
	if o.Display == Headless {
		return nil
	}
	tuneHeapForUI()
	return &screen{o: o, now: now, st: st, book: book, log: log, reader: "none"}
}

// tuneHeapForUI sets the Go heap policy of a kiosk with a screen, unless
// GOGC or GOMEMLIMIT is set in the environment. With the UI the live Go
// heap is some 25 MB, most of it the parsed fonts, and the default GOGC
// of 100 lets the heap grow to twice that between collections; on a Pi
// Zero 2 W (512 MB, shared with the GPU) the RSS matters more than the
// little CPU a collection takes at a kiosk that idles most of the day.
// GOGC 50 keeps the heap at 1.5x the live data, and a soft 48 MiB limit
// makes the runtime return the font-parsing garbage of startup to the OS
// instead of keeping it as headroom. The limit is soft: a bigger live
// heap (a huge config) only makes collections more frequent, never fails.
// Headless kiosks (under 30 MB) keep the defaults.
func tuneHeapForUI() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
}

// open opens the window showing the config in use. It must run on the
// main goroutine.
func (s *screen) open(src *config.Manager) error {
	if s == nil {
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no display (DISPLAY is not set): run with --headless for a station without a screen")
	}
	a := app.NewWithID("cn.gov.puer.leifeng.kiosk")
	w := a.NewWindow("学雷锋志愿服务站")
	if s.o.Display == Windowed {
		w.Resize(fyne.NewSize(800, 480))
	} else {
		w.SetFullScreen(true)
	}
	player := voice.New(s.log)
	u := ui.New(w, s, src, ui.Options{
		AdminPIN: os.Getenv(adminPINEnv), Animate: true, Sound: player, Logger: s.log, Font: fontSource(),
		Now: s.now,
		// The hours the last verified ack counted; the screen shows the
		// newer of them and the config's.
		Hours: s.st,
	})
	w.Show()
	s.mu.Lock()
	s.app, s.ui, s.player = a, u, player
	s.mu.Unlock()
	return nil
}

// fontEnv names the environment variable that picks the kiosk's CJK
// font: "system" uses the installed fonts-noto-cjk face (all of Unicode's
// CJK, some 35 MB more memory), anything else the bundled one, with the
// installed font for what the bundle lacks.
const fontEnv = "LEIFENG_KIOSK_FONT"

func fontSource() ui.FontSource {
	if os.Getenv(fontEnv) == "system" {
		return ui.FontSystem
	}
	return ui.FontAuto
}

// observe makes the simulated reader's taps show on screen.
func (s *screen) observe(book simreader.Book, images simreader.ImageDecoder) (simreader.Book, simreader.ImageDecoder) {
	if s == nil {
		return book, images
	}
	// A card tapped for the admin's reader test is shown, not recorded.
	gate := ui.ReaderTestGate{Recorder: book, UI: s.screenUI}
	obs := simreader.Observed{Book: gate, Choose: s.service, ChooseActivity: s.activity, Observe: s.notify}
	return obs, obs.Images(images)
}

// readerTest hands a card read by the real reader to the admin's reader
// test when it waits for one, and reports whether it did: the reader loop
// then records nothing.
func (s *screen) readerTest(t reader.Tap, err error) bool {
	if s == nil {
		return false
	}
	u := s.screenUI()
	return u != nil && u.ReaderTest(t, err)
}

// service is the menu item chosen on screen for the next check-in.
func (s *screen) service() string {
	if s == nil {
		return ""
	}
	if u := s.screenUI(); u != nil {
		return u.Service()
	}
	return ""
}

// activity is the activity chosen on screen for the next check-in, or 0.
func (s *screen) activity() int64 {
	if s == nil {
		return 0
	}
	if u := s.screenUI(); u != nil {
		return u.Activity()
	}
	return 0
}

// showing reports whether the touchscreen is up: always for a headless
// station (a nil *screen), once its window opened otherwise.
func (s *screen) showing() bool { return s == nil || s.screenUI() != nil }

// screenUI is the UI once open, else nil (taps before the window opens
// are recorded, not shown).
func (s *screen) screenUI() *ui.UI {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ui
}

// notify shows a tap's outcome; it never blocks the reader loop.
func (s *screen) notify(t reader.Tap, res attendance.Result, err error) {
	if s == nil {
		return
	}
	if u := s.screenUI(); u != nil {
		u.Notify(ui.TapEvent{Tap: t, Result: res, Err: err})
	}
}

func (s *screen) setReader(r string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.reader = r
	s.mu.Unlock()
}

// Request implements ui.Core.
func (s *screen) Request(ctx context.Context, req attendance.ServiceRequest) (attendance.Result, error) {
	return s.book.Request(ctx, req)
}

// Order implements ui.Core.
func (s *screen) Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error) {
	return s.book.Order(ctx, a)
}

// Object implements ui.Core.
func (s *screen) Object(ctx context.Context, o attendance.Objection) (attendance.Result, error) {
	return s.book.Object(ctx, o)
}

// Status implements ui.Core.
func (s *screen) Status() ui.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := ui.LinkUnknown
	var acked uplink.Acked
	switch {
	case s.o.MQTT == "":
		link = ui.LinkOffline
	case s.up != nil && s.up.Online():
		link = ui.LinkOnline
	case s.up != nil:
		link = ui.LinkOffline
	}
	if s.up != nil {
		acked = s.up.LastAck()
	}
	st := ui.Status{
		Station: s.o.Station, Link: link, Broker: s.o.MQTT, Outbox: s.st.Depth(),
		Reader: s.reader, Software: s.o.Version, LastSync: acked.At, Acked: acked.Total,
	}
	if s.counts != nil {
		st.Rejected, st.ReaderRecoveries = s.counts()
	}
	return st
}

// setCounts gives the screen the station's refused records and reader
// recoveries for the admin screen.
func (s *screen) setCounts(f func() (rejected, recoveries int)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.counts = f
	s.mu.Unlock()
}

// heapProfileEnv names a hidden debugging aid: set to a file path, the
// kiosk writes a heap profile there (go tool pprof) as it shuts down,
// with the UI still up. Unset, nothing is written and nothing listens.
const heapProfileEnv = "LEIFENG_KIOSK_HEAPPROFILE"

func writeHeapProfile(log *slog.Logger) {
	path := os.Getenv(heapProfileEnv)
	if path == "" {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	log.Warn("heap profile", "file", path, "heap_inuse_mb", ms.HeapInuse>>20, "heap_sys_mb", ms.HeapSys>>20,
		"heap_released_mb", ms.HeapReleased>>20, "stack_mb", ms.StackInuse>>20, "sys_mb", ms.Sys>>20, "objects", ms.HeapObjects)
	f, err := os.Create(path)
	if err != nil {
		log.Warn("heap profile not written", "err", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Warn("heap profile not written", "err", err)
	}
}

// wait runs the UI on the calling (main) goroutine until ctx is done or
// the window is closed, which cancels the kiosk through stop.
func (s *screen) wait(ctx context.Context, stop context.CancelFunc) {
	if s == nil || s.ui == nil {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.ui.Run(ctx) })
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	if up != nil {
		// The uplink owns its connection; the mark follows its changes.
		wg.Go(func() {
			for {
				_, changed := up.Link()
				s.ui.LinkChanged()
				select {
				case <-ctx.Done():
					return
				case <-changed:
				}
			}
		})
	}
	wg.Go(func() {
		<-ctx.Done()
		writeHeapProfile(s.log)
	})
	quit := context.AfterFunc(ctx, func() { fyne.Do(s.app.Quit) })
	s.app.Run()
	quit()
	stop()
	wg.Wait()
	s.player.Close()
}
