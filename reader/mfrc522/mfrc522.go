package mfrc522

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// Registers (datasheet, 9.2).
const (
	regCommand    = 0x01
	regComIEn     = 0x02
	regDivIEn     = 0x03
	regComIrq     = 0x04
	regError      = 0x06
	regStatus2    = 0x08
	regFIFOData   = 0x09
	regFIFOLevel  = 0x0A
	regControl    = 0x0C
	regBitFraming = 0x0D
	regColl       = 0x0E
	regMode       = 0x11
	regTxMode     = 0x12
	regRxMode     = 0x13
	regTxControl  = 0x14
	regTxASK      = 0x15
	regRFCfg      = 0x26
	regTMode      = 0x2A
	regTPrescaler = 0x2B
	regTReloadH   = 0x2C
	regTReloadL   = 0x2D
	regVersion    = 0x37

	cmdIdle       = 0x00
	cmdTransmit   = 0x04
	cmdTransceive = 0x0C
	cmdMFAuthent  = 0x0E
	cmdSoftReset  = 0x0F

	irqRx    = 0x20
	irqIdle  = 0x10
	irqErr   = 0x02
	irqTimer = 0x01

	errBufferOvfl = 0x10
	errColl       = 0x08
	errCRC        = 0x04
	errParity     = 0x02
	errProtocol   = 0x01

	// The timer counts 100 µs ticks: 13.56 MHz / (2*677+1).
	prescaler = 677
	tick      = 100 * time.Microsecond
)

// Errors a caller branches on. Test with errors.Is.
var (
	// ErrNoCard: nothing answered the request.
	ErrNoCard = errors.New("mfrc522: no card")
	// ErrSeveralCards: more than one card answered anticollision.
	ErrSeveralCards = errors.New("mfrc522: several cards in the field")
	// ErrTimeout: a selected card stopped answering (it left the field).
	ErrTimeout = errors.New("mfrc522: card did not answer")
	// ErrTransmission: a reply arrived corrupted (CRC, parity, framing).
	ErrTransmission = errors.New("mfrc522: transmission error")
	// ErrNAK: the card refused the command.
	ErrNAK = errors.New("mfrc522: card refused the command")
	// ErrAuth: MIFARE Classic authentication failed.
	ErrAuth = errors.New("mfrc522: authentication failed")
	// ErrChip: the MFRC522 does not answer or misbehaves; Recover may help.
	ErrChip = errors.New("mfrc522: chip not responding")
)

type opts struct {
	irq   gpio.PinIn
	reset gpio.PinOut
	gain  int
	speed physic.Frequency
	wait  time.Duration
}

// Option configures a Dev.
type Option func(*opts)

// WithIRQ uses the chip's IRQ output, wired to p, to wait for commands to
// end instead of polling registers over SPI.
func WithIRQ(p gpio.PinIn) Option { return func(o *opts) { o.irq = p } }

// WithReset uses p, wired to the chip's NRSTPD (RST on modules), for hard
// resets: at start and to recover a chip that stopped answering.
func WithReset(p gpio.PinOut) Option { return func(o *opts) { o.reset = p } }

// WithAntennaGain sets the receiver gain, 0 (18 dB) to 7 (48 dB); the
// default is 4 (33 dB), the chip's reset value.
func WithAntennaGain(g int) Option { return func(o *opts) { o.gain = g } }

// WithSpeed sets the SPI clock; the MFRC522 takes up to 10 MHz, the default.
func WithSpeed(f physic.Frequency) Option { return func(o *opts) { o.speed = f } }

// Dev is an MFRC522 on an SPI bus. It is not safe for concurrent use: one
// goroutine owns the reader.
type Dev struct {
	c       spi.Conn
	port    string
	o       opts
	txMode  byte
	reload  uint16
	version byte
}

// New connects to the MFRC522 on port, resets it (by the reset pin if
// given), checks its version register and turns the antenna on.
func New(port spi.Port, options ...Option) (*Dev, error) {
	o := opts{gain: 4, speed: 10 * physic.MegaHertz, wait: 50 * time.Millisecond}
	for _, f := range options {
		f(&o)
	}
	if o.gain < 0 || o.gain > 7 {
		return nil, fmt.Errorf("mfrc522: antenna gain %d outside 0..7", o.gain)
	}
	c, err := port.Connect(o.speed, spi.Mode0, 8)
	if err != nil {
		return nil, fmt.Errorf("mfrc522: %w", err)
	}
	d := &Dev{c: c, port: port.String(), o: o}
	if o.irq != nil {
		if err := o.irq.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			return nil, fmt.Errorf("mfrc522: IRQ pin: %w", err)
		}
	}
	if err := d.Init(); err != nil {
		return nil, err
	}
	return d, nil
}

// String implements conn.Resource.
func (d *Dev) String() string {
	s := fmt.Sprintf("MFRC522{%s", d.port)
	if d.o.irq != nil {
		s += ", irq=" + d.o.irq.Name()
	}
	if d.o.reset != nil {
		s += ", rst=" + d.o.reset.Name()
	}
	return s + "}"
}

// Halt implements conn.Resource: the antenna is turned off and the chip
// put in soft power-down. Init wakes it.
func (d *Dev) Halt() error {
	return d.writes(
		reg{regTxControl, 0x80},
		reg{regCommand, 0x10},
	)
}

// Version returns the VersionReg value read at the last Init.
func (d *Dev) Version() byte { return d.version }

// knownVersions are VersionReg values of MFRC522 parts and the clones found
// on RC522 modules.
var knownVersions = map[byte]string{
	0x91: "MFRC522 v1.0", 0x92: "MFRC522 v2.0", 0x88: "FM17522",
	0x89: "FM17522E", 0xB2: "clone", 0x12: "clone",
}

// Init resets the chip (a pulse on the reset pin if there is one, then a
// soft reset), checks VersionReg, and configures timer, modulation, CRC
// preset, gain and interrupts before turning the antenna on.
func (d *Dev) Init() error {
	if d.o.reset != nil {
		if err := d.o.reset.Out(gpio.Low); err != nil {
			return fmt.Errorf("mfrc522: reset pin: %w", err)
		}
		time.Sleep(time.Microsecond)
		if err := d.o.reset.Out(gpio.High); err != nil {
			return fmt.Errorf("mfrc522: reset pin: %w", err)
		}
	}
	if err := d.write(regCommand, cmdSoftReset); err != nil {
		return err
	}
	deadline := time.Now().Add(d.o.wait)
	for {
		v, err := d.read(regCommand)
		if err != nil {
			return err
		}
		if v&0x10 == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: stays in power-down after soft reset", ErrChip)
		}
	}
	v, err := d.read(regVersion)
	if err != nil {
		return err
	}
	if _, ok := knownVersions[v]; !ok {
		return fmt.Errorf("%w: VersionReg 0x%02X", ErrChip, v)
	}
	d.version = v
	ien := byte(0x00)
	if d.o.irq != nil {
		// Active low (IRqInv) on Rx, Idle, Err and Timer.
		ien = 0x80 | irqRx | irqIdle | irqErr | irqTimer
	}
	d.txMode, d.reload = 0, 0
	return d.writes(
		reg{regTMode, 0x80 | prescaler>>8},
		reg{regTPrescaler, prescaler & 0xFF},
		reg{regTReloadH, 0},
		reg{regTReloadL, 0},
		reg{regTxASK, 0x40},
		reg{regMode, 0x3D},
		reg{regTxMode, 0},
		reg{regRxMode, 0},
		reg{regColl, 0x00},
		reg{regRFCfg, byte(d.o.gain) << 4},
		reg{regComIEn, ien},
		reg{regDivIEn, 0x00},
		reg{regTxControl, 0x83},
	)
}

// Recover hard-resets a chip that stopped answering and initialises it
// again. Without a reset pin only a soft reset is tried.
func (d *Dev) Recover() error {
	if err := d.Init(); err != nil {
		return fmt.Errorf("mfrc522: recovery failed: %w", err)
	}
	return nil
}

// SetAntennaGain changes the receiver gain, 0..7.
func (d *Dev) SetAntennaGain(g int) error {
	if g < 0 || g > 7 {
		return fmt.Errorf("mfrc522: antenna gain %d outside 0..7", g)
	}
	d.o.gain = g
	return d.write(regRFCfg, byte(g)<<4)
}

// FieldOff switches the carrier off, which resets every card in the field.
func (d *Dev) FieldOff() error { return d.write(regTxControl, 0x80) }

// FieldOn switches the carrier on.
func (d *Dev) FieldOn() error { return d.write(regTxControl, 0x83) }

type reg struct{ addr, val byte }

func (d *Dev) write(addr, v byte) error {
	if err := d.c.Tx([]byte{addr << 1, v}, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrChip, err)
	}
	return nil
}

// writes sends several register writes in one SPI message.
func (d *Dev) writes(rs ...reg) error {
	p := make([]spi.Packet, len(rs))
	for i, r := range rs {
		p[i] = spi.Packet{W: []byte{r.addr << 1, r.val}}
	}
	if err := d.c.TxPackets(p); err != nil {
		return fmt.Errorf("%w: %w", ErrChip, err)
	}
	return nil
}

func (d *Dev) read(addr byte) (byte, error) {
	r := make([]byte, 2)
	if err := d.c.Tx([]byte{addr<<1 | 0x80, 0}, r); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrChip, err)
	}
	return r[1], nil
}

// readBurst reads the given registers in one transfer.
func (d *Dev) readBurst(addrs ...byte) ([]byte, error) {
	w := make([]byte, len(addrs)+1)
	for i, a := range addrs {
		w[i] = a<<1 | 0x80
	}
	r := make([]byte, len(w))
	if err := d.c.Tx(w, r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChip, err)
	}
	return r[1:], nil
}

// exchange runs Transceive (or MFAuthent) and returns the FIFO content
// and the number of valid bits in its last byte (0 meaning 8).
func (d *Dev) exchange(cmd byte, tx []byte, lastBits byte, crc bool, timeout time.Duration) ([]byte, int, error) {
	var p []spi.Packet
	mode := byte(0)
	if crc {
		mode = 0x80
	}
	if mode != d.txMode {
		p = append(p, spi.Packet{W: []byte{regTxMode << 1, mode}})
		d.txMode = mode
	}
	ticks := uint16(min(timeout/tick+1, 0xFFFF))
	if ticks != d.reload {
		p = append(p, spi.Packet{W: []byte{regTReloadH << 1, byte(ticks >> 8)}},
			spi.Packet{W: []byte{regTReloadL << 1, byte(ticks)}})
		d.reload = ticks
	}
	p = append(p,
		spi.Packet{W: []byte{regCommand << 1, cmdIdle}},
		spi.Packet{W: []byte{regComIrq << 1, 0x7F}},
		spi.Packet{W: []byte{regFIFOLevel << 1, 0x80}},
		spi.Packet{W: append([]byte{regFIFOData << 1}, tx...)},
		spi.Packet{W: []byte{regBitFraming << 1, lastBits}},
		spi.Packet{W: []byte{regCommand << 1, cmd}},
	)
	done := byte(irqRx | irqTimer | irqErr)
	if cmd == cmdTransceive {
		p = append(p, spi.Packet{W: []byte{regBitFraming << 1, 0x80 | lastBits}})
	} else {
		// MFAuthent and Transmit end by themselves, back in Idle.
		done = irqIdle | irqTimer | irqErr
	}
	if err := d.c.TxPackets(p); err != nil {
		d.txMode, d.reload = 0xFF, 0
		return nil, 0, fmt.Errorf("%w: %w", ErrChip, err)
	}
	st, err := d.wait(done, timeout)
	if err != nil {
		return nil, 0, err
	}
	irq, errs, level, ctrl := st[0], st[1], int(st[2]&0x7F), st[3]
	if errs&errBufferOvfl != 0 {
		return nil, 0, fmt.Errorf("%w: FIFO overflow", ErrTransmission)
	}
	if errs&errColl != 0 {
		return nil, 0, ErrSeveralCards
	}
	if errs&(errProtocol|errParity|errCRC) != 0 {
		return nil, 0, fmt.Errorf("%w: ErrorReg 0x%02X", ErrTransmission, errs)
	}
	if cmd == cmdTransmit {
		return nil, 0, nil
	}
	if cmd == cmdMFAuthent {
		if irq&irqIdle == 0 {
			return nil, 0, ErrTimeout
		}
		return nil, 0, nil
	}
	if irq&irqRx == 0 {
		return nil, 0, ErrTimeout
	}
	if level == 0 {
		return nil, 0, nil
	}
	w := make([]byte, level+1)
	for i := range level {
		w[i] = regFIFOData<<1 | 0x80
	}
	r := make([]byte, len(w))
	if err := d.c.Tx(w, r); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrChip, err)
	}
	return r[1:], int(ctrl & 0x07), nil
}

// delay waits d on the chip's timer: the card's guard times are counted
// where the frames are sent, not on a host clock that SPI latency skews.
func (d *Dev) delay(dur time.Duration) error {
	ticks := uint16(min(dur/tick+1, 0xFFFF))
	d.reload = ticks
	if err := d.writes(
		reg{regCommand, cmdIdle},
		reg{regTReloadH, byte(ticks >> 8)},
		reg{regTReloadL, byte(ticks)},
		reg{regComIrq, 0x7F},
		reg{regControl, 0x40}, // TStartNow
	); err != nil {
		return err
	}
	_, err := d.wait(irqTimer, dur)
	return err
}

// wait waits for one of the done interrupts and returns ComIrqReg,
// ErrorReg, FIFOLevelReg and ControlReg. A chip that does not finish well
// after the timer should have fired is hung: ErrChip.
func (d *Dev) wait(done byte, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout + 50*time.Millisecond)
	for {
		if d.o.irq != nil {
			d.o.irq.WaitForEdge(time.Until(deadline))
		}
		st, err := d.readBurst(regComIrq, regError, regFIFOLevel, regControl)
		if err != nil {
			return nil, err
		}
		if st[0]&done != 0 {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: command did not end (ComIrqReg 0x%02X)", ErrChip, st[0])
		}
	}
}

var _ conn.Resource = (*Dev)(nil)
