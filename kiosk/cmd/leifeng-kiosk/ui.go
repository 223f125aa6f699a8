package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/ui"
	"leifeng/kiosk/voice"
	"leifeng/reader"
)

// adminPINEnv names the environment variable holding the admin screen's
// PIN; unset, the admin screen stays locked.
const adminPINEnv = "LEIFENG_KIOSK_PIN"

// screen is the touchscreen of a kiosk run without --headless. A nil
// *screen is a headless kiosk: every method is then a no-op, and wait
// only waits for ctx.
type screen struct {
	o    *options
	st   *store.Store
	book *attendance.Book
	log  *slog.Logger

	app    fyne.App
	ui     *ui.UI
	player *voice.Player

	mu       sync.Mutex
	reader   string
	lastSync time.Time
}

// newScreen returns the touchscreen of a kiosk with a display, not yet
// open, or nil for --headless.
func newScreen(o *options, st *store.Store, book *attendance.Book, log *slog.Logger) *screen {
	if o.headless {
		return nil
	}
	return &screen{o: o, st: st, book: book, log: log, reader: "none"}
}

// open opens the window showing src. It must run on the main goroutine.
func (s *screen) open(src ui.ConfigSource) error {
	if s == nil {
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no display (DISPLAY is not set): run with --headless for a station without a screen")
	}
	a := app.NewWithID("cn.gov.puer.leifeng.kiosk")
	w := a.NewWindow("学雷锋志愿服务站")
	if s.o.windowed {
		w.Resize(fyne.NewSize(800, 480))
	} else {
		w.SetFullScreen(true)
	}
	player := voice.New(s.log)
	u := ui.New(w, s, src, ui.Options{
		AdminPIN: os.Getenv(adminPINEnv), Animate: true, Sound: player, Logger: s.log,
	})
	w.Show()
	s.mu.Lock()
	s.app, s.ui, s.player = a, u, player
	s.mu.Unlock()
	return nil
}

// stationConfig is the config the screen shows: the config manager's
// once a signed config is applied, and until then the built-in demo
// station (ui.DefaultConfig) so the screens are not empty.
func stationConfig(src ui.ConfigSource) ui.ConfigSource { return demoFilled{src} }

type demoFilled struct{ ui.ConfigSource }

func (d demoFilled) Current() *wire.Config { return fillDemo(d.ConfigSource.Current()) }

func (d demoFilled) Subscribe() (<-chan *wire.Config, func()) {
	in, cancel := d.ConfigSource.Subscribe()
	out := make(chan *wire.Config, 1)
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(out)
		for {
			select {
			case <-stop:
				return
			case c, ok := <-in:
				if !ok {
					return
				}
				select {
				case <-out:
				default:
				}
				out <- fillDemo(c)
			}
		}
	}()
	return out, func() { once.Do(func() { cancel(); close(stop) }) }
}

func fillDemo(c *wire.Config) *wire.Config {
	if c.Version > 0 {
		return c
	}
	demo := ui.DefaultConfig()
	f := *c
	if f.Volunteers == nil {
		f.Volunteers = demo.Volunteers
	}
	if f.Profile == nil {
		f.Profile = demo.Profile
	}
	if f.Menu == nil {
		f.Menu = demo.Menu
	}
	if f.Board == nil {
		f.Board = demo.Board
	}
	if f.Announcements == nil {
		f.Announcements = demo.Announcements
	}
	if f.HonorRoll == nil {
		f.HonorRoll = demo.HonorRoll
	}
	if f.UI == nil {
		f.UI = demo.UI
	}
	return &f
}

// observe makes the simulated reader's taps show on screen.
func (s *screen) observe(book simreader.Book, images simreader.ImageDecoder) (simreader.Book, simreader.ImageDecoder) {
	if s == nil {
		return book, images
	}
	obs := simreader.Observed{Book: book, Choose: s.service, Observe: s.notify}
	return obs, obs.Images(images)
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

// Status implements ui.Core.
func (s *screen) Status() ui.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := ui.LinkUnknown
	if s.o.mqtt == "" {
		link = ui.LinkOffline
	}
	return ui.Status{
		Station: s.o.station, Link: link, Broker: s.o.mqtt, Outbox: s.st.Depth(),
		Reader: s.reader, Software: version, LastSync: s.lastSync,
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
	// Only an ack or a rejection lowers the outbox depth: that moment is
	// the last time the cloud confirmed records.
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := s.st.Depth()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if d := s.st.Depth(); d < last {
					s.mu.Lock()
					s.lastSync = time.Now()
					s.mu.Unlock()
					last = d
				} else {
					last = d
				}
			}
		}
	})
	quit := context.AfterFunc(ctx, func() { fyne.Do(s.app.Quit) })
	s.app.Run()
	quit()
	stop()
	wg.Wait()
	s.player.Close()
}
