package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoLocaleError: under LANG=C.UTF-8 (systemd services, containers, a
// fresh Pi), --version, a headless kiosk and the UI's Fyne all start
// without Fyne's "Error parsing user locale C".
func TestNoLocaleError(t *testing.T) {
	for _, env := range [][]string{{"LANG=C.UTF-8"}, {"LC_ALL=C.UTF-8"}, {"LANG=POSIX.UTF-8"}} {
		cmd := exec.Command(binary(t), "--version")
		cmd.Env = append(cleanLocale(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "locale") {
			t.Fatalf("%v --version: %v\n%s", env, err, out)
		}

		cmd = exec.Command(binary(t), "--headless", "--station", station, "--data", t.TempDir(), "--mqtt", "", "--reader", "sim:127.0.0.1:0")
		cmd.Env = append(cleanLocale(), env...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "ready station=") {
				break
			}
		}
		cmd.Process.Signal(os.Interrupt)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		cmd.Wait()
		if all := strings.Join(lines, "\n"); strings.Contains(all, "Error parsing user locale") || !strings.Contains(all, "ready station=") {
			t.Fatalf("%v --headless:\n%s", env, all)
		}
	}
}

// cleanLocale is the environment without locale variables.
func cleanLocale() []string {
	var env []string
	for _, e := range os.Environ() {
		switch strings.SplitN(e, "=", 2)[0] {
		case "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES":
			continue
		}
		env = append(env, e)
	}
	return env
}

// TestNoDisplayAdvice: without a display and without --headless the kiosk
// says what to do.
func TestNoDisplayAdvice(t *testing.T) {
	cmd := exec.Command(binary(t), "--station", station, "--data", filepath.Join(t.TempDir(), "d"), "--mqtt", "")
	var env []string
	for _, e := range cleanLocale() {
		if !strings.HasPrefix(e, "DISPLAY=") && !strings.HasPrefix(e, "WAYLAND_DISPLAY=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "LANG=C.UTF-8")
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not exit")
	}
	if !strings.Contains(string(out), "--headless") || strings.Contains(string(out), "locale") {
		t.Fatalf("%s", out)
	}
}
