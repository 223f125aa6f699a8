package chipsim

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"leifeng/reader/iso14443"
)

// Registers (datasheet, 9.2).
const (
	regCommand    = 0x01
	regComIEn     = 0x02
	regDivIEn     = 0x03
	regComIrq     = 0x04
	regDivIrq     = 0x05
	regError      = 0x06
	regStatus1    = 0x07
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
	regCRCResultH = 0x21
	regCRCResultL = 0x22
	regRFCfg      = 0x26
	regTMode      = 0x2A
	regTPrescaler = 0x2B
	regTReloadH   = 0x2C
	regTReloadL   = 0x2D
	regVersion    = 0x37
)

// Commands (datasheet, 10.3).
const (
	cmdIdle         = 0x0
	cmdMem          = 0x1
	cmdRandomID     = 0x2
	cmdCalcCRC      = 0x3
	cmdTransmit     = 0x4
	cmdNoCmdChange  = 0x7
	cmdReceive      = 0x8
	cmdTransceive   = 0xC
	cmdMFAuthent    = 0xE
	cmdSoftReset    = 0xF
	powerDown       = 0x10
	irqSet          = 0x80
	irqTx           = 0x40
	irqRx           = 0x20
	irqIdle         = 0x10
	irqErr          = 0x02
	irqTimer        = 0x01
	divIrqCRC       = 0x04
	errBufferOvfl   = 0x10
	errColl         = 0x08
	errCRC          = 0x04
	errProtocol     = 0x01
	status2Crypto1  = 0x08
	fifoSize        = 64
	carrier         = 13_560_000
	defaultVersion  = 0x92
	softResetTime   = 50 * time.Microsecond
	defaultOverhead = 15 * time.Microsecond
)

// Modelled durations of the air interface at 106 kbit/s.
var (
	// bitTime is one bit on the air: 128 carrier periods.
	bitTime = 128 * time.Second / carrier
	// FDT is the frame delay time of ISO/IEC 14443-3 (1172/fc).
	FDT = 1172 * time.Second / carrier
)

// airTime is the time to send n bytes whose last byte has lastBits bits
// (0 meaning 8): 9 bits per whole byte (parity), plus start and end.
func airTime(n, lastBits int) time.Duration {
	if n == 0 {
		return 0
	}
	bits := 9*(n-1) + 2
	if lastBits == 0 || lastBits == 8 {
		bits += 9
	} else {
		bits += lastBits
	}
	return time.Duration(bits) * bitTime
}

var resetValues = map[byte]byte{
	regCommand: 0x20, regComIEn: 0x80, regComIrq: 0x14, regStatus1: 0x21,
	0x0B: 0x08, regControl: 0x10, regColl: 0xA0, regMode: 0x3F,
	regTxControl: 0x80, 0x16: 0x10, 0x17: 0x84, 0x18: 0x84, 0x19: 0x4D,
	0x1C: 0x62, 0x1F: 0xEB, regCRCResultH: 0xFF, regCRCResultL: 0xFF,
	0x24: 0x26, 0x26: 0x48, 0x27: 0x88, 0x28: 0x20, 0x29: 0x20,
	regVersion: defaultVersion,
}

// Stats counts what went over the SPI bus and the air.
type Stats struct {
	SPITransfers int
	SPIBytes     int
	Frames       int
	Timeouts     int
}

// Chip is a simulated MFRC522. It is safe for concurrent use: the IRQ pin
// may be waited on from another goroutine, as periph's driver does.
type Chip struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Duration
	hz       int64
	overhead time.Duration
	version  byte

	regs    [64]byte
	fifo    []byte
	crcData []byte
	mem     [25]byte
	cards   []*Card

	// pending holds a started command's effects until the clock reaches at.
	pending *event
	// cipher is the Crypto1 state while Status2Reg.MFCrypto1On is set.
	cipher *crypto1

	hung   bool
	resetN bool // NRSTPD level; low holds the chip in hard power-down

	irq   *IRQPin
	reset *ResetPin
	stats Stats
}

type event struct {
	at    time.Duration
	apply func()
	timer bool // started by TStartNow
}

// Option configures a Chip.
type Option func(*Chip)

// WithVersion sets the VersionReg value (0x91 for v1.0, 0x92 for v2.0).
func WithVersion(v byte) Option { return func(c *Chip) { c.version = v } }

// New returns a powered chip with an empty field.
func New(opts ...Option) *Chip {
	c := &Chip{hz: 10_000_000, overhead: defaultOverhead, version: defaultVersion, resetN: true}
	c.cond = sync.NewCond(&c.mu)
	for _, o := range opts {
		o(c)
	}
	c.irq = &IRQPin{c: c, level: true}
	c.reset = &ResetPin{c: c}
	c.resetRegs()
	return c
}

func (c *Chip) resetRegs() {
	c.regs = [64]byte{}
	for r, v := range resetValues {
		c.regs[r] = v
	}
	c.regs[regVersion] = c.version
	c.fifo = nil
	c.crcData = nil
	c.pending = nil
	c.cipher = nil
	c.setField()
}

// String implements conn.Resource.
func (c *Chip) String() string { return "chipsim MFRC522" }

// Halt implements conn.Resource; it does nothing.
func (c *Chip) Halt() error { return nil }

// Connect implements spi.Port. The MFRC522 takes up to 10 MHz in mode 0.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if mode&^spi.NoCS != spi.Mode0 || bits != 8 {
		return nil, fmt.Errorf("chipsim: MFRC522 speaks SPI mode 0 with 8-bit words, not mode %d/%d bits", mode, bits)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f <= 0 || f > 10*physic.MegaHertz {
		f = 10 * physic.MegaHertz
	}
	c.hz = int64(f / physic.Hertz)
	return c, nil
}

// LimitSpeed implements spi.PortCloser.
func (c *Chip) LimitSpeed(f physic.Frequency) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hz := int64(f / physic.Hertz); hz > 0 && hz < c.hz {
		c.hz = hz
	}
	return nil
}

// Close implements spi.PortCloser.
func (c *Chip) Close() error { return nil }

// Duplex implements conn.Conn.
func (c *Chip) Duplex() conn.Duplex { return conn.Full }

// csGap is the chip-select pause between the transfers of one TxPackets.
const csGap = time.Microsecond

// TxPackets implements spi.Conn. Like Linux spidev, all packets go in one
// ioctl: the per-transfer overhead is paid once, plus a short chip-select
// pause between packets.
func (c *Chip) TxPackets(p []spi.Packet) error {
	for i, pk := range p {
		cost := csGap
		if i == 0 {
			cost = c.overhead
		}
		if err := c.tx(pk.W, pk.R, cost); err != nil {
			return err
		}
	}
	return nil
}

// Tx implements conn.Conn with the MFRC522 SPI framing (datasheet 8.1.2):
// the first byte is an address byte; on a read every further byte sent is
// the next address and the chip answers each address in the byte after it;
// on a write every further byte goes to the same register.
func (c *Chip) Tx(w, r []byte) error {
	return c.tx(w, r, c.overhead)
}

func (c *Chip) tx(w, r []byte, cost time.Duration) error {
	if len(r) != 0 && len(r) != len(w) {
		return fmt.Errorf("chipsim: Tx with %d bytes out and %d in", len(w), len(r))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.SPITransfers++
	c.stats.SPIBytes += len(w)
	c.now += cost + time.Duration(int64(len(w))*8*int64(time.Second)/c.hz)
	c.settle()
	for i := range r {
		r[i] = 0
	}
	if len(w) == 0 || c.hung || !c.resetN {
		return nil
	}
	if w[0]&0x80 != 0 {
		for i := 0; i+1 < len(w); i++ {
			v := c.read((w[i] >> 1) & 0x3F)
			if len(r) > 0 {
				r[i+1] = v
			}
		}
	} else {
		for _, v := range w[1:] {
			c.write((w[0]>>1)&0x3F, v)
		}
	}
	c.updateIRQ()
	c.cond.Broadcast()
	return nil
}

// settle applies a pending command whose end the clock has reached.
func (c *Chip) settle() {
	if c.pending != nil && c.now >= c.pending.at {
		p := c.pending
		c.pending = nil
		p.apply()
		c.updateIRQ()
	}
}

func (c *Chip) read(a byte) byte {
	switch a {
	case regFIFOData:
		if len(c.fifo) == 0 {
			return 0
		}
		v := c.fifo[0]
		c.fifo = c.fifo[1:]
		return v
	case regFIFOLevel:
		return byte(len(c.fifo))
	case regComIrq, regDivIrq:
		return c.regs[a] &^ irqSet
	case regStatus1:
		s := c.regs[regStatus1] &^ 0x1B
		if len(c.fifo) <= 4 {
			s |= 0x01 // LoAlert, WaterLevel 8 assumed
		}
		if c.irqActive() {
			s |= 0x10
		}
		if c.pending != nil {
			s |= 0x08 // TRunning
		}
		return s
	}
	return c.regs[a]
}

func (c *Chip) write(a, v byte) {
	switch a {
	case regCommand:
		c.command(v)
	case regComIrq, regDivIrq:
		mask := v &^ irqSet
		if v&irqSet != 0 {
			c.regs[a] |= mask
		} else {
			c.regs[a] &^= mask
		}
	case regFIFOData:
		if len(c.fifo) >= fifoSize {
			c.regs[regError] |= errBufferOvfl
			return
		}
		c.fifo = append(c.fifo, v)
		if c.regs[regCommand]&0x0F == cmdCalcCRC {
			c.calcCRC()
		}
	case regFIFOLevel:
		if v&0x80 != 0 {
			c.fifo = nil
			c.regs[regError] &^= errBufferOvfl
		}
	case regError, regVersion, regStatus1, regCRCResultH, regCRCResultL:
		// read-only
	case regStatus2:
		// MFCrypto1On can only be cleared by software.
		c.regs[a] = c.regs[a]&(0x3F&^status2Crypto1) | v&0xC0 | c.regs[a]&v&status2Crypto1
		if c.regs[a]&status2Crypto1 == 0 {
			c.cipher = nil
		}
	case regControl:
		// TStopNow and TStartNow are strobes; the rest is read-only.
		if v&0x80 != 0 && c.pending != nil && c.pending.timer {
			c.pending = nil
		}
		if v&0x40 != 0 && c.pending == nil {
			c.schedule(c.period(), func() { c.regs[regComIrq] |= irqTimer })
			c.pending.timer = true
		}
	case regBitFraming:
		c.regs[a] = v
		if v&0x80 != 0 && c.regs[regCommand]&0x0F == cmdTransceive && c.pending == nil {
			c.transmit(true)
		}
	case regTxControl:
		c.regs[a] = v
		c.setField()
	default:
		c.regs[a] = v
	}
}

// fieldOn reports whether the antenna drivers send the 13.56 MHz carrier.
func (c *Chip) fieldOn() bool {
	return c.resetN && !c.hung && c.regs[regTxControl]&0x03 != 0 && c.regs[regCommand]&powerDown == 0
}

// setField powers the cards down when the carrier is off.
func (c *Chip) setField() {
	if !c.fieldOn() {
		for _, k := range c.cards {
			k.powerOff()
		}
		c.regs[regStatus2] &^= status2Crypto1
		c.cipher = nil
	}
}

func (c *Chip) command(v byte) {
	prevPD := c.regs[regCommand] & powerDown
	c.regs[regCommand] = v&0x30 | c.regs[regCommand]&0x0F
	if v&powerDown != prevPD {
		c.setField()
	}
	cmd := v & 0x0F
	if cmd == cmdNoCmdChange {
		return
	}
	c.pending = nil
	c.regs[regCommand] = c.regs[regCommand]&0xF0 | cmd
	switch cmd {
	case cmdIdle:
	case cmdSoftReset:
		cards := c.cards
		c.resetRegs()
		c.cards = cards
		c.setField()
		c.now += softResetTime
	case cmdMem:
		if len(c.fifo) >= 25 {
			copy(c.mem[:], c.fifo[:25])
			c.fifo = c.fifo[25:]
		} else if len(c.fifo) == 0 {
			c.fifo = append(c.fifo, c.mem[:]...)
		}
		c.done()
	case cmdRandomID:
		for i := 0; i < 10; i++ {
			c.mem[i] = byte(c.now >> (i % 8))
		}
		c.done()
	case cmdCalcCRC:
		c.crcData = nil
		c.calcCRC()
	case cmdTransmit:
		c.transmit(false)
	case cmdTransceive:
		if c.regs[regBitFraming]&0x80 != 0 {
			c.transmit(true)
		}
	case cmdReceive:
		c.regs[regError] &^= 0x1F &^ errBufferOvfl
		c.startTimer(0)
	case cmdMFAuthent:
		c.authenticate()
	default:
		c.done()
	}
}

// done ends the current command by itself: back to Idle, IdleIRq.
func (c *Chip) done() {
	c.regs[regCommand] &^= 0x0F
	c.regs[regComIrq] |= irqIdle
}

func (c *Chip) calcCRC() {
	c.crcData = append(c.crcData, c.fifo...)
	c.fifo = nil
	preset := [4]uint16{0x0000, 0x6363, 0xA671, 0xFFFF}[c.regs[regMode]&0x03]
	crc := crc16(preset, c.crcData)
	c.regs[regCRCResultL] = byte(crc)
	c.regs[regCRCResultH] = byte(crc >> 8)
	c.regs[regDivIrq] |= divIrqCRC
	c.regs[regStatus1] |= 0x20 // CRCReady
}

func crc16(preset uint16, b []byte) uint16 {
	crc := preset
	for _, v := range b {
		v ^= byte(crc)
		v ^= v << 4
		crc = crc>>8 ^ uint16(v)<<8 ^ uint16(v)<<3 ^ uint16(v)>>4
	}
	return crc
}

// period is the timer's period (datasheet 8.5): TPrescaler and TReload.
func (c *Chip) period() time.Duration {
	pre := int64(c.regs[regTMode]&0x0F)<<8 | int64(c.regs[regTPrescaler])
	reload := int64(c.regs[regTReloadH])<<8 | int64(c.regs[regTReloadL])
	return time.Duration((2*pre + 1) * (reload + 1) * int64(time.Second) / carrier)
}

// timeout is the timer's period if it starts by itself after a
// transmission (TAuto).
func (c *Chip) timeout() (time.Duration, bool) {
	if c.regs[regTMode]&0x80 == 0 {
		return 0, false
	}
	return c.period(), true
}

// startTimer schedules the timer interrupt after a transmission that no card
// answered. Without TAuto nothing ends the command: the driver must give up.
func (c *Chip) startTimer(after time.Duration) {
	t, ok := c.timeout()
	if !ok {
		return
	}
	c.stats.Timeouts++
	c.schedule(after+t, func() { c.regs[regComIrq] |= irqTimer })
}

func (c *Chip) schedule(d time.Duration, f func()) {
	c.pending = &event{at: c.now + d, apply: f}
}

// frame is what goes over the air.
type frame struct {
	data     []byte
	lastBits int           // bits valid in the last byte; 0 means 8
	at       time.Duration // when it starts, on the modelled clock
}

// transmit sends the FIFO; with receive it then listens for a reply.
func (c *Chip) transmit(receive bool) {
	c.regs[regError] &^= 0x1F &^ errBufferOvfl
	data := c.fifo
	c.fifo = nil
	last := int(c.regs[regBitFraming] & 0x07)
	if c.regs[regTxMode]&0x80 != 0 && last == 0 {
		data = iso14443.AppendCRCA(data)
	}
	f := frame{data: data, lastBits: last, at: c.now}
	if c.cipher != nil {
		// With MFCrypto1On every frame is encrypted, REQA included: a
		// driver must clear it before talking to another card.
		f.data = bytes.Clone(data)
		c.cipher.crypt(f.data, last, false)
	}
	tx := airTime(len(data), last)
	c.stats.Frames++
	var replies []*reply
	if c.fieldOn() {
		replies = c.deliver(f)
	}
	if !receive {
		c.schedule(tx, func() {
			c.regs[regComIrq] |= irqTx
			c.done()
		})
		return
	}
	if len(replies) == 0 {
		t, ok := c.timeout()
		if !ok {
			c.schedule(tx, func() { c.regs[regComIrq] |= irqTx })
			return
		}
		c.stats.Timeouts++
		c.schedule(tx+t, func() { c.regs[regComIrq] |= irqTx | irqTimer })
		return
	}
	data, bits, collPos := merge(replies, c.regs[regColl]&0x80 != 0)
	if c.cipher != nil {
		c.cipher.crypt(data, bits, true)
	}
	delay := replies[0].delay
	c.schedule(tx+delay+airTime(len(data), bits), func() {
		c.regs[regComIrq] |= irqTx | irqRx
		c.receive(data, bits, collPos)
	})
}

// receive puts a reply in the FIFO and sets the error bits.
func (c *Chip) receive(data []byte, bits, collPos int) {
	if collPos >= 0 {
		c.regs[regError] |= errColl
		c.regs[regColl] = c.regs[regColl]&0x80 | 0x20
		if collPos < 32 {
			c.regs[regColl] = c.regs[regColl]&0x80 | byte((collPos+1)&0x1F)
		}
	}
	if c.regs[regRxMode]&0x80 != 0 && bits == 0 {
		if len(data) < 3 || !iso14443.CheckCRCA(data) {
			c.regs[regError] |= errCRC
		} else {
			data = data[:len(data)-2]
		}
	}
	if len(c.fifo)+len(data) > fifoSize {
		c.regs[regError] |= errBufferOvfl
		data = data[:fifoSize-len(c.fifo)]
	}
	c.fifo = append(c.fifo, data...)
	c.regs[regControl] = c.regs[regControl]&0xF8 | byte(bits&0x07)
	if c.regs[regError]&0x1F != 0 {
		c.regs[regComIrq] |= irqErr
	}
}

// merge combines the replies of all cards that answered. Differing bits
// are a collision: collPos is the first one (bit index in the frame), and
// unless ValuesAfterColl is set the bits from there on read as zero.
func merge(rs []*reply, keep bool) (data []byte, bits, collPos int) {
	data = append([]byte(nil), rs[0].data...)
	bits = rs[0].bits
	collPos = -1
	for _, r := range rs[1:] {
		n := max(len(r.data), len(data))
		for i := 0; i < n*8; i++ {
			a, b := bitAt(data, i), bitAt(r.data, i)
			if a != b && (collPos < 0 || i < collPos) {
				collPos = i
				break
			}
		}
		if len(r.data) > len(data) {
			data = append(data, r.data[len(data):]...)
		}
	}
	if collPos >= 0 && !keep {
		for i := collPos; i < len(data)*8; i++ {
			data[i/8] &^= 1 << (i % 8)
		}
	}
	return data, bits, collPos
}

func bitAt(b []byte, i int) int {
	if i/8 >= len(b) {
		return 2
	}
	return int(b[i/8]>>(i%8)) & 1
}

// deliver gives a frame to every card in the field and collects replies.
func (c *Chip) deliver(f frame) []*reply {
	var out []*reply
	kept := c.cards[:0]
	for _, k := range c.cards {
		r := k.receive(f)
		if k.pulled {
			k.pulled = false
			k.powerOff()
			continue
		}
		kept = append(kept, k)
		if r != nil {
			out = append(out, r)
		}
	}
	c.cards = kept
	return out
}

// authenticate runs MFAuthent (datasheet 10.3.1.9): the three-pass
// MIFARE authentication with Crypto1, nested (AUTH sent encrypted) when a
// sector is already authenticated.
func (c *Chip) authenticate() {
	c.regs[regError] &^= 0x1F &^ errBufferOvfl
	in := c.fifo
	c.fifo = nil
	if len(in) != 12 {
		c.regs[regError] |= errProtocol
		c.regs[regComIrq] |= irqErr
		c.done()
		return
	}
	key, uid := [6]byte(in[2:8]), be32(in[8:12])
	auth := iso14443.AppendCRCA([]byte{in[0], in[1]})
	old := c.cipher
	if old != nil {
		old.crypt(auth, 0, false)
	}
	c.cipher = nil
	c.regs[regStatus2] &^= status2Crypto1
	c.stats.Frames++
	var rs []*reply
	if c.fieldOn() {
		rs = c.deliver(frame{data: auth})
	}
	if len(rs) != 1 || len(rs[0].data) != 4 || rs[0].bits != 0 {
		c.startTimer(airTime(4, 0))
		return
	}
	s := newCrypto1(key)
	nt := be32(rs[0].data)
	if old != nil {
		nt ^= s.word(uid^nt, true)
	} else {
		s.word(uid^nt, false)
	}
	nr := prngSuccessor(uint32(c.now)|1, 32)
	nrEnc := nr ^ s.word(nr, false)
	arEnc := prngSuccessor(nt, 64) ^ s.word(0, false)
	c.stats.Frames++
	rs = c.deliver(frame{data: append(put32(nrEnc), put32(arEnc)...)})
	legs := airTime(4, 0) + FDT + airTime(4, 0) + 10*time.Microsecond + airTime(8, 0)
	if len(rs) != 1 || len(rs[0].data) != 4 || be32(rs[0].data)^s.word(0, false) != prngSuccessor(nt, 96) {
		c.startTimer(legs)
		return
	}
	c.schedule(legs+FDT+airTime(4, 0), func() {
		c.cipher = s
		c.regs[regStatus2] |= status2Crypto1
		c.done()
	})
}

func (c *Chip) irqActive() bool {
	return c.regs[regComIEn]&c.regs[regComIrq]&0x7F != 0 || c.regs[regDivIEn]&c.regs[regDivIrq]&0x14 != 0
}

// updateIRQ drives the IRQ pin: active high, or low when IRqInv is set.
func (c *Chip) updateIRQ() {
	level := c.irqActive()
	if c.regs[regComIEn]&0x80 != 0 {
		level = !level
	}
	if c.hung || !c.resetN {
		level = true
	}
	c.irq.drive(level)
}

// Place puts cards into the field. A card can be in one field at a time.
func (c *Chip) Place(cards ...*Card) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range cards {
		k.powerOff()
		c.cards = append(c.cards, k)
	}
}

// Remove takes cards out of the field.
func (c *Chip) Remove(cards ...*Card) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.cards[:0]
	for _, k := range c.cards {
		gone := false
		for _, r := range cards {
			gone = gone || k == r
		}
		if gone {
			k.powerOff()
		} else {
			kept = append(kept, k)
		}
	}
	c.cards = kept
}

// Hang makes the chip stop answering, as an MFRC522 does after a brown-out
// or ESD event: SPI reads return zero and nothing happens until the reset
// pin is pulled low and released.
func (c *Chip) Hang() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hung = true
	c.pending = nil
	c.setField()
	c.updateIRQ()
}

// Now returns the modelled clock.
func (c *Chip) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the modelled clock, for idle time between polls.
func (c *Chip) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += d
	c.settle()
	c.cond.Broadcast()
}

// Stats returns the counters.
func (c *Chip) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// RxGain returns the receiver gain last written to RFCfgReg (bits 6..4:
// 0 is 18 dB, 7 is 48 dB; 4, 33 dB, after a reset), so tests see what a
// driver set.
func (c *Chip) RxGain() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.regs[regRFCfg]>>4) & 7
}

// IRQ returns the chip's IRQ output as an input pin of the host.
func (c *Chip) IRQ() *IRQPin { return c.irq }

// ResetPin returns the chip's NRSTPD input as an output pin of the host.
func (c *Chip) ResetPin() *ResetPin { return c.reset }

var (
	_ spi.PortCloser = (*Chip)(nil)
	_ spi.Conn       = (*Chip)(nil)
)
