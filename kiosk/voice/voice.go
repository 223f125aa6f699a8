// Package voice plays the kiosk's feedback after a tap: a short rising
// tone for success, a low double tone for failure, and optionally the
// result spoken through espeak-ng (Mandarin voice "cmn"). A kiosk without
// a sound card, without aplay or without espeak-ng stays silent: playing
// is best effort and never an error the person at the kiosk sees.
package voice

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os/exec"
	"sync"
)

// Player plays feedback on its own goroutine so the UI never waits for
// the sound device. Create it with New, stop it with Close.
type Player struct {
	log    *slog.Logger
	aplay  string // "" when not installed
	espeak string
	jobs   chan job
	cancel context.CancelFunc
	done   chan struct{}

	mu           sync.Mutex
	sound, voice bool
}

type job struct {
	ok          bool
	words, lang string
	// quiet: words only, no tone.
	quiet bool
}

// New starts a Player. Tones go through aplay (alsa-utils) and words
// through espeak-ng, each only if found on PATH.
func New(log *slog.Logger) *Player {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Player{log: log, jobs: make(chan job, 4), cancel: cancel, done: make(chan struct{}), sound: true}
	p.aplay, _ = exec.LookPath("aplay")
	p.espeak, _ = exec.LookPath("espeak-ng")
	go p.run(ctx)
	return p
}

// SetEnabled switches the tones and the spoken words.
func (p *Player) SetEnabled(sound, voice bool) {
	p.mu.Lock()
	p.sound, p.voice = sound, voice
	p.mu.Unlock()
}

// Feedback queues the feedback for one tap; it drops it when the player
// is still busy with earlier ones, since stale sounds help nobody.
func (p *Player) Feedback(ok bool, words, lang string) {
	select {
	case p.jobs <- job{ok: ok, words: words, lang: lang}:
	default:
	}
}

// Say queues words to be read aloud, without a tone, when voice is on:
// a step of a screen (ui.Speaker). Like Feedback it drops them when the
// player is busy.
func (p *Player) Say(words, lang string) {
	select {
	case p.jobs <- job{words: words, lang: lang, quiet: true}:
	default:
	}
}

// Close stops the player, cutting off a sound being played.
func (p *Player) Close() error {
	p.cancel()
	<-p.done
	return nil
}

func (p *Player) run(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-p.jobs:
			p.mu.Lock()
			sound, voice := p.sound, p.voice
			p.mu.Unlock()
			if sound && !j.quiet && p.aplay != "" {
				p.play(ctx, exec.CommandContext(ctx, p.aplay, "-q", "-"), Tone(j.ok))
			}
			if voice && p.espeak != "" && j.words != "" {
				v := "cmn"
				if j.lang == "en" {
					v = "en"
				}
				p.play(ctx, exec.CommandContext(ctx, p.espeak, "-v", v, "-s", "140", j.words), nil)
			}
		}
	}
}

func (p *Player) play(ctx context.Context, cmd *exec.Cmd, stdin []byte) {
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil && ctx.Err() == nil {
		// No sound card is normal on a kiosk; say so once per sound at
		// debug level only.
		p.log.Debug("feedback sound not played", "cmd", cmd.Path, "err", err, "out", string(out))
	}
}

// SampleRate of the tones.
const SampleRate = 16000

// Tone is the WAV (16-bit mono PCM) of the success tone (two rising notes)
// or the failure tone (two low notes).
func Tone(ok bool) []byte {
	notes := []float64{880, 1320}
	if !ok {
		notes = []float64{330, 262}
	}
	var pcm []int16
	for _, f := range notes {
		n := SampleRate * 15 / 100
		for i := 0; i < n; i++ {
			// A short fade at both ends avoids clicks.
			env := math.Min(1, math.Min(float64(i), float64(n-i))/(SampleRate/200))
			pcm = append(pcm, int16(0.4*32767*env*math.Sin(2*math.Pi*f*float64(i)/SampleRate)))
		}
	}
	var b bytes.Buffer
	data := len(pcm) * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(SampleRate), uint32(SampleRate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	binary.Write(&b, binary.LittleEndian, pcm)
	return b.Bytes()
}
