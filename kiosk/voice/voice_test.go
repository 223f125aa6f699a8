package voice

import (
	"encoding/binary"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTone(t *testing.T) {
	for _, ok := range []bool{true, false} {
		w := Tone(ok)
		if string(w[:4]) != "RIFF" || string(w[8:16]) != "WAVEfmt " || string(w[36:40]) != "data" {
			t.Fatalf("not a WAV header: %q", w[:44])
		}
		if n := binary.LittleEndian.Uint32(w[40:44]); int(n) != len(w)-44 || n == 0 {
			t.Fatalf("data size %d, file %d", n, len(w))
		}
	}
}

// TestSilentWithoutAudio: on a machine without a sound card (CI) feedback
// is played or dropped without error, never blocks, and Close stops the
// player.
func TestSilentWithoutAudio(t *testing.T) {
	p := New(nil)
	p.SetEnabled(true, true)
	start := time.Now()
	for range 20 {
		p.Feedback(true, "签到成功", "zh")
		p.Feedback(false, "请重新刷卡", "zh")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Feedback blocked for %v", d)
	}
	p.Close()
}
