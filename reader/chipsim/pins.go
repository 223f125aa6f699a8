package chipsim

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// hardResetTime is the oscillator start-up after NRSTPD rises (datasheet
// 8.8.2 leaves it to the crystal; 1 ms is a common figure).
const hardResetTime = time.Millisecond

// IRQPin is the chip's IRQ output, seen by the host as a gpio.PinIn. While
// a command is under way WaitForEdge advances the modelled clock to its end,
// as the host would sleep until the interrupt.
type IRQPin struct {
	c       *Chip
	level   bool
	edge    gpio.Edge
	pull    gpio.Pull
	pending bool
}

// String implements conn.Resource.
func (p *IRQPin) String() string { return "chipsim.IRQ" }

// Halt implements conn.Resource.
func (p *IRQPin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *IRQPin) Name() string { return "IRQ" }

// Number implements pin.Pin.
func (p *IRQPin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *IRQPin) Function() string { return "In" }

// In implements gpio.PinIn.
func (p *IRQPin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.pull, p.edge, p.pending = pull, edge, false
	return nil
}

// Read implements gpio.PinIn.
func (p *IRQPin) Read() gpio.Level {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return gpio.Level(p.level)
}

// Pull implements gpio.PinIn.
func (p *IRQPin) Pull() gpio.Pull { return p.pull }

// DefaultPull implements gpio.PinIn.
func (p *IRQPin) DefaultPull() gpio.Pull { return gpio.Float }

// drive sets the output level; called with the chip locked.
func (p *IRQPin) drive(level bool) {
	if level == p.level {
		return
	}
	p.level = level
	if p.edge == gpio.BothEdges || (p.edge == gpio.RisingEdge && level) || (p.edge == gpio.FallingEdge && !level) {
		p.pending = true
	}
}

// WaitForEdge implements gpio.PinIn. A negative timeout waits forever.
func (p *IRQPin) WaitForEdge(timeout time.Duration) bool {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if p.pending {
			p.pending = false
			return true
		}
		if c.pending != nil {
			if c.pending.at > c.now {
				c.now = c.pending.at
			}
			c.settle()
			continue
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			return false
		}
		var t *time.Timer
		if timeout >= 0 {
			t = time.AfterFunc(time.Until(deadline), func() {
				c.mu.Lock()
				c.cond.Broadcast()
				c.mu.Unlock()
			})
		}
		c.cond.Wait()
		if t != nil {
			t.Stop()
		}
	}
}

// ResetPin is the chip's NRSTPD input, driven by the host as a gpio.PinOut.
// Low holds the chip in hard power-down; the rising edge resets it.
type ResetPin struct {
	c *Chip
}

// String implements conn.Resource.
func (p *ResetPin) String() string { return "chipsim.NRSTPD" }

// Halt implements conn.Resource.
func (p *ResetPin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *ResetPin) Name() string { return "NRSTPD" }

// Number implements pin.Pin.
func (p *ResetPin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *ResetPin) Function() string { return "Out" }

// Out implements gpio.PinOut.
func (p *ResetPin) Out(l gpio.Level) error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	high := bool(l)
	if high == c.resetN {
		return nil
	}
	c.resetN = high
	if high {
		c.hung = false
		c.now += hardResetTime
	}
	cards := c.cards
	c.resetRegs()
	c.cards = cards
	c.setField()
	c.updateIRQ()
	c.cond.Broadcast()
	return nil
}

// PWM implements gpio.PinOut; the reset pin has no use for it.
func (p *ResetPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("chipsim: NRSTPD is not a PWM pin")
}

var (
	_ gpio.PinIn  = (*IRQPin)(nil)
	_ gpio.PinOut = (*ResetPin)(nil)
)
