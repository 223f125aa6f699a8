package ui

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/reader"
)

var update = flag.Bool("update", false, "rewrite the reference images in testdata")

// TestImages renders the key screens at 800×480 in Chinese, English and
// large text and compares them with the committed references.
func TestImages(t *testing.T) {
	checkIn := TapEvent{Tap: reader.Tap{Volunteer: "V0001"}, Result: attendance.Result{ID: "r1", Kind: wire.KindCheckIn, Volunteer: "V0001"}}
	checkOut := TapEvent{Tap: reader.Tap{Volunteer: "V0001"}, Result: attendance.Result{ID: "r2", Kind: wire.KindCheckOut, Volunteer: "V0001", Duration: 150 * time.Minute}}
	for _, tc := range []struct {
		name   string
		cfg    *wire.Config
		before []string
		tap    *TapEvent
	}{
		{name: "unconfigured_zh", cfg: wire.DefaultConfig()},
		{name: "home_large_long", cfg: longConfig(), before: []string{"大字模式"}},
		{name: "checkout_large", before: []string{"大字模式"}, tap: &checkOut},
		{name: "home_zh"},
		{name: "home_en", before: []string{"English"}},
		{name: "home_large", before: []string{"大字模式"}},
		{name: "result_zh", tap: &checkIn},
		{name: "result_en", before: []string{"English"}, tap: &checkIn},
		{name: "result_large", before: []string{"大字模式"}, tap: &checkIn},
		{name: "error_zh", tap: &TapEvent{Err: reader.ErrExpired}},
		{name: "detail_zh", before: []string{"服务菜单", "法律", "法律咨询"}},
		{name: "board_zh", before: []string{"公示栏"}},
		{name: "need_phone_zh", before: []string{"需求登记", "法律", "1", "3", "8"}},
		{name: "order_state_large", cfg: orderConfig(), before: []string{"大字模式", "需求登记", "查询或评价已登记的需求", "0", "0", "4", "2", "下一步", "5", "6", "7", "8", "查询"}},
		{name: "order_rate_large", cfg: orderConfig(), before: []string{"大字模式", "需求登记", "查询或评价已登记的需求", "0", "0", "4", "2", "下一步", "5", "6", "7", "8", "查询", "评价服务", "4分\n满意"}},
		{name: "result_task_large", cfg: orderConfig(), before: []string{"大字模式"}, tap: &checkIn},
		{name: "board_served_large", cfg: orderConfig(), before: []string{"大字模式", "公示栏"}},
		{name: "activity_large_long", cfg: longConfig(), before: []string{"大字模式", "参加活动签到"}},
		{name: "activity_chosen_large_long", cfg: longConfig(), before: []string{"大字模式", "参加活动签到", "^" + longActivity}},
		{name: "notice_large", cfg: hoursConfig(), before: []string{"大字模式", "公示栏", "服务时长公示（7）"}},
		{name: "objection_large", cfg: hoursConfig(), before: []string{"大字模式", "公示栏", "服务时长公示（7）", "^李*芳", "不是本人参加"}},
		{name: "result_notes_large", cfg: hoursConfig(), before: []string{"大字模式"}, tap: &checkIn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == nil {
				cfg = testConfig()
			}
			k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, cfg)
			for _, b := range tc.before {
				if p, ok := strings.CutPrefix(b, "^"); ok {
					k.pressPrefix(p)
					continue
				}
				k.press(b)
			}
			if tc.tap != nil {
				k.ui.Notify(*tc.tap)
				k.wait(ScreenResult)
			}
			k.ui.mu.Lock()
			img := k.win.Canvas().Capture()
			k.ui.mu.Unlock()
			compareImage(t, tc.name+".png", img)
		})
	}
}

// compareImage allows a small share of slightly different pixels, so a
// different CPU's rounding does not fail the test while a changed layout or
// a missing glyph does.
func compareImage(t *testing.T, name string, got image.Image) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writePNG(t, path, got)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kiosk/ui -run TestImages -update)", err)
	}
	want, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d := imageDiff(got, want); d > 0.005 {
		failed := filepath.Join("testdata", "failed", name)
		os.MkdirAll(filepath.Dir(failed), 0o755)
		writePNG(t, failed, got)
		t.Fatalf("%s differs from the reference in %.2f%% of pixels; see %s", name, d*100, failed)
	}
}

// imageDiff is the share of pixels that differ by more than a little in
// any channel; 1 when the sizes differ.
func imageDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1
	}
	ba, bb := a.Bounds(), b.Bounds()
	bad := 0
	for y := 0; y < ba.Dy(); y++ {
		for x := 0; x < ba.Dx(); x++ {
			r1, g1, b1, _ := a.At(ba.Min.X+x, ba.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if absDiff(r1, r2) > 0x2000 || absDiff(g1, g2) > 0x2000 || absDiff(b1, b2) > 0x2000 {
				bad++
			}
		}
	}
	return float64(bad) / float64(ba.Dx()*ba.Dy())
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
