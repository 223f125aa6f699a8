//go:build !cgo

package station

import (
	"context"
	"log/slog"
	"time"

	"leifeng/kiosk/attendance"
	"leifeng/kiosk/config"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/uplink"
	"leifeng/reader"
)

// touchscreen reports that this build has no touchscreen: built without
// cgo, it links neither Fyne nor OpenGL, and Run refuses a Display with
// ErrNoTouchscreen.
const touchscreen = false

// screen is the touchscreen's place in a build without one: always nil,
// every method a no-op.
type screen struct{}

func newScreen(*Options, func() time.Time, *store.Store, *attendance.Book, *slog.Logger) *screen {
	return nil
}

func (*screen) setUplink(*uplink.Uplink)    {}
func (*screen) setCounts(func() (int, int)) {}
func (*screen) open(*config.Manager) error  { return nil }
func (*screen) observe(book simreader.Book, images simreader.ImageDecoder) (simreader.Book, simreader.ImageDecoder) {
	return book, images
}
func (*screen) readerTest(reader.Tap, error) bool              { return false }
func (*screen) service() string                                { return "" }
func (*screen) activity() int64                                { return 0 }
func (*screen) notify(reader.Tap, attendance.Result, error)    {}
func (*screen) setReader(string)                               {}
func (*screen) showing() bool                                  { return true }
func (*screen) wait(ctx context.Context, _ context.CancelFunc) { <-ctx.Done() }
