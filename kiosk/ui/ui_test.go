package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"go.uber.org/goleak"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/simreader"
	"leifeng/kiosk/store"
	"leifeng/kiosk/ui/catalog"
	_ "leifeng/kiosk/ui/fynelocale" // before Fyne's init, as in the binary
	"leifeng/reader"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// manualClock is the kiosk clock, moved by the test.
type manualClock struct {
	mu sync.Mutex
	c  wire.Clock
}

func (m *manualClock) Now() wire.Clock {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

func (m *manualClock) advance(d time.Duration) {
	m.mu.Lock()
	m.c.At = m.c.At.Add(d)
	m.c.Mono += int64(d)
	m.mu.Unlock()
}

// staticSource is a ConfigSource the test can push configs through.
type staticSource struct {
	mu   sync.Mutex
	cur  *wire.Config
	subs []chan *wire.Config
}

func (s *staticSource) Current() *wire.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *staticSource) Subscribe() (<-chan *wire.Config, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan *wire.Config, 1)
	s.subs = append(s.subs, c)
	return c, func() {}
}

func (s *staticSource) apply(c *wire.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = c
	for _, ch := range s.subs {
		ch <- c
	}
}

// core is the kiosk core over a real bbolt store.
type core struct {
	book  *attendance.Book
	st    *store.Store
	link  *atomic.Int32 // the Link Status reports
	acked *atomic.Int32 // records the cloud confirmed
	// recovered is the reader's recoveries Status reports.
	recovered *atomic.Int32
}

func (c core) Request(ctx context.Context, r attendance.ServiceRequest) (attendance.Result, error) {
	return c.book.Request(ctx, r)
}

func (c core) Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error) {
	return c.book.Order(ctx, a)
}

func (c core) Object(ctx context.Context, o attendance.Objection) (attendance.Result, error) {
	return c.book.Object(ctx, o)
}

func (c core) Status() Status {
	st := Status{Station: "pe-simao-001", Link: Link(c.link.Load()), Outbox: c.st.Depth(), Reader: "sim", Software: "test", Acked: int(c.acked.Load()),
		ReaderRecoveries: int(c.recovered.Load())}
	if rej, err := c.st.Rejections(); err == nil {
		st.Rejected = len(rej)
	}
	if st.Acked > 0 {
		st.LastSync = fixedNow.UTC() // shown in China Standard Time
	}
	return st
}

type kiosk struct {
	t     *testing.T
	ui    *UI
	win   fyne.Window
	st    *store.Store
	src   *staticSource
	tap   simreader.Observed
	clock *manualClock
	link  *atomic.Int32
	acked *atomic.Int32
	// recovered is the reader recoveries the core reports.
	recovered *atomic.Int32
	size      fyne.Size // of the window, as asked for
	// onStep, if set, is called on every screen walkAll shows.
	onStep func()
}

var fixedNow = time.Date(2027, 3, 5, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

func newKiosk(t testing.TB, size fyne.Size, opt Options) *kiosk {
	return newKioskWith(t, size, opt, testConfig())
}

// newKioskWith starts a kiosk showing cfg; wire.DefaultConfig() is an
// unconfigured kiosk.
func newKioskWith(t testing.TB, size fyne.Size, opt Options, cfg *wire.Config) *kiosk {
	test.NewTempApp(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &manualClock{c: wire.Clock{At: fixedNow, Mono: int64(time.Hour), Boot: "boot-1", Synced: true}}
	book, err := attendance.New(st, attendance.Config{Station: "pe-simao-001", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	src := &staticSource{cur: cfg}
	win := test.NewWindow(nil)
	win.Resize(size)
	if opt.Now == nil {
		opt.Now = func() time.Time { return fixedNow }
	}
	if opt.AdminPIN == "" {
		opt.AdminPIN = "2468"
	}
	if opt.AdminPIN == "-" {
		opt.AdminPIN = ""
	}
	link, acked, recovered := new(atomic.Int32), new(atomic.Int32), new(atomic.Int32)
	link.Store(int32(LinkOffline))
	u := New(win, core{book, st, link, acked, recovered}, src, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; win.Close() })
	k := &kiosk{ui: u, win: win, st: st, src: src, clock: clk, link: link, acked: acked, recovered: recovered, size: size}
	gate := ReaderTestGate{Recorder: book, UI: func() *UI { return u }}
	k.tap = simreader.Observed{Book: gate, Choose: u.Service, ChooseActivity: u.Activity, Observe: func(tp reader.Tap, res attendance.Result, err error) {
		u.Notify(TapEvent{Tap: tp, Result: res, Err: err})
	}}
	if tt, ok := t.(*testing.T); ok {
		k.t = tt
	}
	return k
}

// objects walks everything drawn on the window.
func (k *kiosk) objects() []fyne.CanvasObject {
	k.ui.mu.Lock()
	defer k.ui.mu.Unlock()
	return k.objectsLocked()
}

// objectsLocked is objects with the UI lock held: screens are updated in
// place under it, so their fields are read under it too.
func (k *kiosk) objectsLocked() []fyne.CanvasObject {
	var out []fyne.CanvasObject
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		out = append(out, o)
		switch v := o.(type) {
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(k.win.Content())
	return out
}

func (k *kiosk) texts() string {
	k.ui.mu.Lock()
	defer k.ui.mu.Unlock()
	var b strings.Builder
	for _, o := range k.objectsLocked() {
		switch v := o.(type) {
		case *widget.Label:
			b.WriteString(v.Text + "\n")
		case *touchButton:
			b.WriteString(v.Text + "\n")
		case *canvas.Text:
			b.WriteString(v.Text + "\n")
		}
	}
	return b.String()
}

func (k *kiosk) press(text string) {
	k.t.Helper()
	for _, o := range k.objects() {
		if b, ok := o.(*touchButton); ok && (b.Name == text || b.Text == text) {
			test.Tap(b)
			return
		}
	}
	k.t.Fatalf("no button %q on screen %s; texts:\n%s", text, k.ui.Screen(), k.texts())
}

func (k *kiosk) wait(screen string) {
	k.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for k.ui.Screen() != screen {
		if time.Now().After(deadline) {
			k.t.Fatalf("screen %s, want %s", k.ui.Screen(), screen)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (k *kiosk) shows(want ...string) {
	k.t.Helper()
	got := k.texts()
	for _, w := range want {
		if !strings.Contains(got, w) {
			k.t.Fatalf("screen %s does not show %q; it shows:\n%s", k.ui.Screen(), w, got)
		}
	}
}

func (k *kiosk) cardTap(volunteer string) {
	k.t.Helper()
	if _, err := k.tap.TapService(context.Background(), reader.Tap{Volunteer: volunteer, Card: "SIM-" + volunteer, Media: "sim"}, ""); err != nil {
		k.t.Fatal(err)
	}
}

var screenSizes = []fyne.Size{{Width: 800, Height: 480}, {Width: 1024, Height: 600}, {Width: 1280, Height: 800}}

// TestEveryScreenByTaps reaches every screen with taps alone, at both
// display sizes, in both languages and text sizes, and checks every
// touch target is at least MinTarget on each side.
func TestEveryScreenByTaps(t *testing.T) {
	for _, size := range screenSizes {
		for _, large := range []bool{false, true} {
			t.Run(fmt.Sprintf("%vx%v-large=%v", size.Width, size.Height, large), func(t *testing.T) {
				k := newKiosk(t, size, Options{})
				if large {
					k.press("大字模式")
				}
				k.checkTargets()
				steps := []struct{ press, screen string }{
					{"服务菜单", ScreenMenu}, {"关爱空巢老人", ScreenItems}, {"上门探访陪伴", ScreenDetail},
					{"返回", ScreenItems}, {"返回", ScreenMenu}, {"返回首页", ScreenHome},
					{"公示栏", ScreenBoard}, {"返回首页", ScreenHome},
					{"光荣榜", ScreenHonor}, {"返回首页", ScreenHome},
					{"活动公告", ScreenNews}, {"返回首页", ScreenHome},
					{"需求登记", ScreenNeedCat}, {"法律", ScreenNeedTel}, {"返回首页", ScreenHome},
					{"管理", ScreenPIN}, {"2", ScreenPIN}, {"4", ScreenPIN}, {"6", ScreenPIN}, {"8", ScreenPIN}, {"确定", ScreenAdmin},
					{"返回首页", ScreenHome},
				}
				for _, s := range steps {
					k.press(s.press)
					k.wait(s.screen)
					k.checkTargets()
				}
				k.press("English")
				k.shows("Please tap your volunteer card")
				k.press("Services")
				k.wait(ScreenMenu)
				k.checkTargets()
			})
		}
	}
}

func (k *kiosk) checkTargets() {
	k.t.Helper()
	k.checkFits()
}

// TestCheckInOut drives a check-in and a check-out through the simulated
// reader's Book and checks what the volunteer reads.
func TestCheckInOut(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签到成功", "张*三", "累计服务 558.0 小时", "二星志愿者", "距三星志愿者还差 42.0 小时")
	k.press("确定")
	k.wait(ScreenHome)

	// The cloud's figure stays the cloud's: this session is not silently
	// added to it, and the screen says it will be counted.
	k.clock.advance(2*time.Hour + 30*time.Minute)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签退成功", "张*三", "本次服务 2 小时 30 分钟", "累计服务 558.0 小时", "本次时长上传后由平台计入累计", "距三星志愿者还差 42.0 小时")
	if k.st.Depth() != 2 {
		t.Fatalf("outbox depth %d, want 2", k.st.Depth())
	}
}

// TestAwardedStarAtTap: the star shown at the tap is the one the cloud
// awarded (the roster's star), not the one the hours reach on the
// thresholds; hours past the next threshold show no hours to go.
func TestAwardedStarAtTap(t *testing.T) {
	cfg := testConfig()
	for i, v := range cfg.Volunteers {
		if v.ID == "V0001" {
			one := 1
			cfg.Volunteers[i].Star = &one
		}
	}
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, cfg)
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签到成功", "张*三", "累计服务 558.0 小时", "一星志愿者")
	if txt := k.texts(); strings.Contains(txt, "二星志愿者") || strings.Contains(txt, "距") {
		t.Fatalf("the star the hours reach, or hours to go past the threshold: %s", txt)
	}
}

// TestCardNameGreets: a volunteer the roster does not list (issued a card
// while the kiosk was offline) is greeted by the masked name their card
// carries; one the roster lists, by the roster's name; a card without a
// name and no roster entry shows the ID.
func TestCardNameGreets(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	tap := func(volunteer, name string) {
		t.Helper()
		if _, err := k.tap.TapService(context.Background(), reader.Tap{Volunteer: volunteer, Card: "C-" + volunteer, Name: name, Media: "ntag215"}, ""); err != nil {
			t.Fatal(err)
		}
		k.wait(ScreenResult)
	}
	tap("PE-530802-000777", "欧*娜")
	k.shows("签到成功", "欧*娜")
	k.press("确定")
	k.wait(ScreenHome)
	tap("V0001", "李*四")
	k.shows("签到成功", "张*三")
	k.press("确定")
	k.wait(ScreenHome)
	tap("PE-530802-000778", "")
	k.shows("签到成功", "PE-530802-000778")
}

// TestServiceChosenOnScreen: a volunteer picks a menu item, then taps;
// the check-in record carries it.
func TestServiceChosenOnScreen(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	k.press("服务菜单")
	k.press("法律")
	k.press("法律咨询")
	k.press("选择服务项目")
	k.wait(ScreenHome)
	k.shows("本次服务：法律咨询")
	k.cardTap("V0002")
	k.wait(ScreenResult)
	k.shows("签到成功", "服务项目：法律咨询", "四星")
	recs, err := k.st.Oldest(10)
	if err != nil || len(recs) != 1 || recs[0].Service != "legal-advice" {
		t.Fatalf("records %+v, %v", recs, err)
	}
}

// TestTapErrors shows each refusal with what to do, and returns home.
func TestTapErrors(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{ResultFor: 50 * time.Millisecond, Tick: 10 * time.Millisecond})
	for _, tc := range []struct {
		err  error
		want string
	}{
		{reader.ErrUnreadable, "请把卡放稳，再刷一次"},
		{reader.ErrForged, "无法确认这张卡是有效的志愿服务证"},
		{reader.ErrExpired, "已过期"},
		{reader.ErrRevoked, "已停用"},
		{reader.ErrSeveralCards, "只放一张"},
		{reader.ErrUnsupported, "这不是普洱市志愿服务证"},
		{reader.ErrReaderFault, "读卡器暂时出了故障"},
		{fmt.Errorf("%w: disk", attendance.ErrStorage), "本次刷卡未记录"},
	} {
		k.ui.Notify(TapEvent{Err: tc.err})
		k.wait(ScreenResult)
		k.shows("刷卡没有成功", tc.want)
		if got, want := tr(Zh, errorKey(tc.err)), catalog.Sentence(catalog.Zh, catalog.Code(tc.err)); got != want {
			t.Errorf("screen says %q, catalogue %q", got, want)
		}
		k.wait(ScreenHome)
	}
	// An invalid tap through the real Book.
	k.tap.TapService(context.Background(), reader.Tap{}, "")
	k.wait(ScreenResult)
	k.shows("无法识别此卡")
}

// TestNeedRegistered registers a need on screen; it lands in the outbox
// as a service_request record with a reference number shown.
func TestNeedRegistered(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	k.press("需求登记")
	k.press("关爱空巢老人")
	k.wait(ScreenNeedTel)
	k.press("下一步")
	k.shows("请输入11位手机号码")
	for _, d := range "13800001239" {
		k.press(string(d))
	}
	k.press("删除")
	k.press("4")
	k.shows("13800001234")
	k.press("下一步")
	k.wait(ScreenNeedNote)
	k.press("需要上门服务")
	k.press("提交登记")
	k.wait(ScreenNeedDone)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(k.texts(), "登记编号") {
		if time.Now().After(deadline) {
			t.Fatalf("no reference shown:\n%s", k.texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.shows("登记成功", "登记编号：XQ-0001")
	recs, err := k.st.Oldest(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != wire.KindServiceRequest || recs[0].Phone != "13800001234" || recs[0].Service != "关爱空巢老人" || recs[0].Note != "需要上门服务" {
		t.Fatalf("outbox %+v", recs)
	}
}

// TestIdleReturnsHome: a screen left alone goes back home, and the
// visitor's language choice is dropped.
func TestIdleReturnsHome(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{IdleTimeout: 500 * time.Millisecond, Tick: 10 * time.Millisecond})
	k.press("English")
	k.press("Contact board")
	k.wait(ScreenBoard)
	k.wait(ScreenHome)
	k.shows("请刷志愿服务证")
}

// TestAdmin: a wrong PIN is refused; the right one shows the status and
// runs a reader test.
func TestAdmin(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	k.press("管理")
	k.press("1")
	k.press("确定")
	k.wait(ScreenPIN)
	k.shows("密码不正确")
	for _, d := range "2468" {
		k.press(string(d))
	}
	k.press("确定")
	k.wait(ScreenAdmin)
	k.shows("站点编号：pe-simao-001", "网络：离线", "待上传记录：0 条；平台退回：0 条", "软件版本：test")
	k.press("读卡测试")
	k.shows("请刷一张卡测试读卡器")
	// The test card goes through the same path as a real tap, and is
	// read and shown but not recorded.
	if _, err := k.tap.TapService(context.Background(), reader.Tap{Volunteer: "V0003", Card: "SIM-V0003", Media: "ntag215"}, ""); err != nil {
		t.Fatal(err)
	}
	k.eventually("读卡正常：V0003（ntag215）")
	if d := k.st.Depth(); d != 0 {
		t.Fatalf("the reader test wrote %d records", d)
	}
	// The next tap is a real one again.
	k.cardTap("V0003")
	k.wait(ScreenResult)
	if d := k.st.Depth(); d != 1 {
		t.Fatalf("outbox depth %d after a real tap, want 1", d)
	}
}

// TestAdminSyncShown: the last confirmed upload follows the uplink's acks
// while the admin screen is open.
func TestAdminSyncShown(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{Tick: 10 * time.Millisecond})
	k.press("管理")
	for _, d := range "2468确" {
		if d == '确' {
			k.press("确定")
			continue
		}
		k.press(string(d))
	}
	k.wait(ScreenAdmin)
	k.shows("最近上传确认：本次开机后尚无")
	k.acked.Store(3)
	k.eventually("最近上传确认：2027-03-05 09:30:00（本次开机后共确认 3 条）")
}

// TestAdminShowsRejectionsAndRecoveries: the records the gateway refused
// (held in the real store) and the reader chip's recoveries are on the
// admin screen, and follow while it is open.
func TestAdminShowsRejectionsAndRecoveries(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{Tick: 10 * time.Millisecond, ResultFor: 50 * time.Millisecond})
	res, err := k.tap.TapService(context.Background(), reader.Tap{Volunteer: "V0007", Card: "SIM-V0007", Media: "sim"}, "")
	if err != nil {
		t.Fatal(err)
	}
	k.wait(ScreenResult)
	k.wait(ScreenHome)
	k.press("管理")
	for _, d := range "2468" {
		k.press(string(d))
	}
	k.press("确定")
	k.wait(ScreenAdmin)
	k.shows("待上传记录：1 条；平台退回：0 条", "读卡器：sim；自动恢复 0 次")
	k.recovered.Store(2)
	if _, err := k.st.Reject([]wire.Rejection{{ID: res.ID, Reason: "invalid"}}, fixedNow); err != nil {
		t.Fatal(err)
	}
	k.eventually("待上传记录：0 条；平台退回：1 条")
	k.eventually("读卡器：sim；自动恢复 2 次")
}

// TestAdminWithoutPIN: with no PIN set the admin screen says so and how to
// set one, instead of calling every PIN wrong.
func TestAdminWithoutPIN(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{AdminPIN: "-"})
	k.press("管理")
	k.wait(ScreenPIN)
	k.shows("本机尚未设置管理密码", "LEIFENG_KIOSK_PIN")
	if strings.Contains(k.texts(), "密码不正确") {
		t.Fatal("says the PIN is wrong")
	}
}

// eventually waits until the screen shows want.
func (k *kiosk) eventually(want string) {
	k.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(k.texts(), want) {
		if time.Now().After(deadline) {
			k.t.Fatalf("screen %s does not show %q; it shows:\n%s", k.ui.Screen(), want, k.texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLinkMark: the quiet online/offline mark follows the uplink, on the
// home screen and in the title bar of the other screens.
func TestLinkMark(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	k.shows("离线")
	k.link.Store(int32(LinkOnline))
	k.ui.LinkChanged()
	k.eventually("在线")
	if strings.Contains(k.texts(), "离线") {
		t.Fatalf("still offline:\n%s", k.texts())
	}
	k.press("公示栏")
	k.wait(ScreenBoard)
	k.shows("在线")
	k.link.Store(int32(LinkOffline))
	k.ui.LinkChanged()
	k.eventually("离线")
	k.press("返回首页")
	k.wait(ScreenHome)
	k.shows("离线")
	k.link.Store(int32(LinkUnknown))
	k.ui.LinkChanged()
	k.eventually("联网状态未知")
}

// TestConfigChangesScreens: a newly applied config shows without a
// restart.
func TestConfigChangesScreens(t *testing.T) {
	k := newKiosk(t, fyne.NewSize(800, 480), Options{})
	c := testConfig()
	c.Version = 7
	c.Profile.Name = "宁洱县学雷锋志愿服务站"
	k.src.apply(c)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(k.texts(), "宁洱县学雷锋志愿服务站") {
		if time.Now().After(deadline) {
			t.Fatalf("new config not shown:\n%s", k.texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkTapToResult measures a tap outcome handed to the UI until the
// result screen is rendered.
func BenchmarkTapToResult(b *testing.B) {
	shown := make(chan string, 1)
	k := newKiosk(b, fyne.NewSize(800, 480), Options{OnShow: func(s string) {
		select {
		case shown <- s:
		default:
		}
	}})
	<-shown // home, from New
	ev := TapEvent{Tap: reader.Tap{Volunteer: "V0001"}, Result: attendance.Result{ID: "r1", Kind: wire.KindCheckIn, Volunteer: "V0001"}}
	for b.Loop() {
		k.ui.Notify(ev)
		for s := <-shown; s != ScreenResult; s = <-shown {
		}
		k.win.Canvas().Capture()
	}
}
