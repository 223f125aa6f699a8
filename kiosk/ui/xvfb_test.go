package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"leifeng/kiosk/simreader"
)

// needTools skips (or, with LEIFENG_REQUIRE_SERVICES=1, fails) when a
// program is missing.
func needTools(t *testing.T, tools map[string]string) {
	for tool, pkg := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s not installed (apt-get install %s)", tool, pkg)
			if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// startXvfb starts a private X server on a display it picks itself:
// -displayfd makes Xvfb choose a free display and write its number to the
// pipe once it accepts connections, so two tests never race for one.
// SIGTERM lets it remove its lock file.
func startXvfb(t *testing.T) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb exited without a display")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
		return ""
	}
}

// kioskProc is a running leifeng-kiosk binary with a simulated reader.
type kioskProc struct {
	cmd     *exec.Cmd
	reader  string
	started time.Time
}

func buildKiosk(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "leifeng-kiosk")
	// no_emoji leaves out Fyne's 4 MB colour emoji font, which the kiosk
	// never shows but Fyne otherwise parses for every text style (some
	// 15 MB of RSS); release builds of the kiosk should use it too.
	out, err := exec.Command("go", "build", "-tags", "no_emoji", "-o", bin, "leifeng/kiosk/cmd/leifeng-kiosk").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func startKiosk(t *testing.T, bin string, env []string, args ...string) *kioskProc {
	args = append([]string{"--station", "pe-simao-001", "--data", t.TempDir(), "--mqtt", "", "--reader", "sim:127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, _ := cmd.StderrPipe()
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, addr, ok := strings.Cut(sc.Text(), "ready station=pe-simao-001 reader="); ok {
				ready <- addr
			}
		}
	}()
	select {
	case addr := <-ready:
		return &kioskProc{cmd: cmd, reader: addr, started: started}
	case <-time.After(30 * time.Second):
		t.Fatal("kiosk did not get ready")
	}
	return nil
}

// taps sends n taps of volunteers V0001.. cycling through `people`, each
// confirmed by the kiosk.
func (k *kioskProc) taps(t *testing.T, n, people int) {
	c := simreader.NewClient(k.reader)
	defer c.Close()
	for i := 0; i < n; i++ {
		rep, err := c.Tap(context.Background(), fmt.Sprintf("V%04d", i%people+1), "")
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Fatalf("tap %d not confirmed: %+v", i, rep)
		}
	}
}

// rssMB is VmRSS, and RssAnon (the process's own pages, without shared
// library pages such as Mesa's software renderer), in MB.
func (k *kioskProc) rssMB(t *testing.T) (rss, anon float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", k.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			kb, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "VmRSS:":
				rss = float64(kb) / 1024
			case "RssAnon:":
				anon = float64(kb) / 1024
			}
		}
	}
	return rss, anon
}

func screenshot(t *testing.T, display string) image.Image {
	out, err := exec.Command("import", "-display", display, "-window", "root", "png:-").Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestXvfb runs the real cgo binary full screen on a private X server with
// the simulated reader, taps V0001 over TCP and checks the check-in result
// rendered, with the bundled CJK font, against its reference. It then
// measures the resident memory after 1,000 taps, with the UI and
// headless.
func TestXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cgo binary")
	}
	needTools(t, map[string]string{"Xvfb": "xvfb", "import": "imagemagick", "go": "golang"})
	display := startXvfb(t)
	bin := buildKiosk(t)
	env := []string{"DISPLAY=" + display, "LIBGL_ALWAYS_SOFTWARE=1", "LP_NUM_THREADS=" + os.Getenv("LP_NUM_THREADS"), "LANG=C.UTF-8"}
	k := startKiosk(t, bin, env)
	// The first frame: the screen, black until the kiosk draws, shows the
	// home screen's light background.
	var first time.Duration
	for deadline := time.Now().Add(30 * time.Second); ; {
		if lightShare(screenshot(t, display)) > 0.5 {
			first = time.Since(k.started)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame on screen within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("kiosk start to first frame on screen: %v (polled by screenshot, so up to ~0.2 s late)\n", first.Round(10*time.Millisecond))
	k.taps(t, 1, 1)
	deadline := time.Now().Add(10 * time.Second)
	var shot image.Image
	for {
		time.Sleep(500 * time.Millisecond)
		shot = screenshot(t, display)
		if greenShare(shot) > 0.002 || time.Now().After(deadline) {
			break
		}
	}
	if g := greenShare(shot); g <= 0.002 {
		writePNG(t, filepath.Join(t.TempDir(), "shot.png"), shot)
		t.Fatalf("no green 签到成功 title on screen (green share %.4f)", g)
	}
	compareImage(t, "xvfb_result.png", shot)

	if os.Getenv("LEIFENG_MEASURE_MEMORY") != "1" {
		return
	}
	start, startAnon := k.rssMB(t)
	k.taps(t, 1000, 1000)
	time.Sleep(time.Second)
	ui, uiAnon := k.rssMB(t)
	h := startKiosk(t, bin, nil, "--headless")
	h.taps(t, 1000, 1000)
	time.Sleep(time.Second)
	headless, headlessAnon := h.rssMB(t)
	// A measurement, printed for the record; the targets are ≤150 MB with
	// the UI and ≤40 MB headless.
	fmt.Printf("kiosk RSS with UI (bundled CJK font): %.1f MB after 1 tap (anon %.1f), %.1f MB after 1,000 taps (anon %.1f); headless after 1,000 taps: %.1f MB (anon %.1f)\n",
		start, startAnon, ui, uiAnon, headless, headlessAnon)
	k.cmd.Process.Signal(os.Interrupt)
	k.cmd.Wait()
	if _, err := os.Stat(SystemFontFile); err == nil {
		s := startKiosk(t, bin, append(env, "LEIFENG_KIOSK_FONT=system"))
		s.taps(t, 1000, 1000)
		time.Sleep(time.Second)
		sys, sysAnon := s.rssMB(t)
		fmt.Printf("kiosk RSS with UI (installed Noto Sans CJK SC, LEIFENG_KIOSK_FONT=system) after 1,000 taps: %.1f MB (anon %.1f)\n", sys, sysAnon)
	}
}

// lightShare is the share of light pixels: the kiosk's background.
func lightShare(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 0xE0 && g>>8 > 0xE0 && bl>>8 > 0xD0 {
				n++
			}
		}
	}
	return float64(n) / float64((b.Dx()/4)*(b.Dy()/4))
}

// greenShare is the share of pixels in the success green of the result
// title, which only the check-in screen shows.
func greenShare(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if g > 0x60 && g < 0xA0 && r < 0x40 && bl < 0x60 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}
