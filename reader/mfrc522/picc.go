package mfrc522

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"leifeng/reader/iso14443"
)

// Reply timeouts. A card answers a layer 3 command within about 100 µs;
// the margins cover slow clones.
const (
	shortTimeout = 1 * time.Millisecond
	cmdTimeout   = 5 * time.Millisecond
	authTimeout  = 5 * time.Millisecond
	// FSDI announced in RATS: 64-byte frames, the size of the FIFO.
	fsdi = 5
	fsd  = 64
)

// Target is a selected card.
type Target struct {
	// UID is the complete UID (4, 7 or 10 bytes).
	UID []byte
	// ATQA is the answer to request, as received (LSB first).
	ATQA [2]byte
	// SAK is the final select acknowledge.
	SAK byte
}

// ISO14443_4 reports whether the card speaks ISO/IEC 14443-4.
func (t *Target) ISO14443_4() bool { return t.SAK&0x20 != 0 }

// Classic reports whether the SAK is that of MIFARE Classic 1K.
func (t *Target) Classic() bool { return t.SAK&0x18 == 0x08 }

// transceive sends a standard frame with CRC and checks the reply's CRC.
func (d *Dev) transceive(tx []byte, timeout time.Duration) ([]byte, error) {
	rx, bits, err := d.exchange(cmdTransceive, tx, 0, true, timeout)
	if err != nil {
		return nil, err
	}
	if bits == 4 && len(rx) == 1 {
		if rx[0]&0x0F == 0x0A {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: NAK 0x%X", ErrNAK, rx[0]&0x0F)
	}
	if bits != 0 || !iso14443.CheckCRCA(rx) {
		return nil, fmt.Errorf("%w: CRC_A of % X", ErrTransmission, rx)
	}
	return rx[:len(rx)-2], nil
}

// command is transceive with one retry after a corrupted reply: the
// commands sent through it are all idempotent reads.
func (d *Dev) command(tx []byte, timeout time.Duration) ([]byte, error) {
	rx, err := d.transceive(tx, timeout)
	if errors.Is(err, ErrTransmission) {
		rx, err = d.transceive(tx, timeout)
	}
	return rx, err
}

// ack sends a frame expecting a 4-bit ACK.
func (d *Dev) ack(tx []byte) error {
	rx, bits, err := d.exchange(cmdTransceive, tx, 0, true, cmdTimeout)
	if err != nil {
		return err
	}
	if bits != 4 || len(rx) != 1 {
		return fmt.Errorf("%w: expected ACK, got % X", ErrTransmission, rx)
	}
	if rx[0]&0x0F != 0x0A {
		return fmt.Errorf("%w: NAK 0x%X", ErrNAK, rx[0]&0x0F)
	}
	return nil
}

// Detect looks for a card and selects it. With wake it sends WUPA, which
// also wakes halted cards; otherwise REQA, which only idle cards answer.
// It runs anticollision and SELECT on every cascade level. It returns
// ErrNoCard if nothing answers and ErrSeveralCards on a collision.
func (d *Dev) Detect(wake bool) (*Target, error) {
	req := byte(0x26)
	if wake {
		req = 0x52
	}
	atqa, bits, err := d.exchange(cmdTransceive, []byte{req}, 7, false, shortTimeout)
	switch {
	case errors.Is(err, ErrTimeout):
		return nil, ErrNoCard
	case err != nil:
		return nil, err
	case len(atqa) != 2 || bits != 0:
		return nil, fmt.Errorf("%w: ATQA % X", ErrTransmission, atqa)
	}
	t := &Target{ATQA: [2]byte(atqa)}
	for level := 0; level < 3; level++ {
		sel := byte(0x93 + 2*level)
		part, _, err := d.exchange(cmdTransceive, []byte{sel, 0x20}, 0, false, shortTimeout)
		if err != nil {
			return nil, d.lost(err)
		}
		if len(part) != 5 || iso14443.BCC(part[:4]) != part[4] {
			return nil, fmt.Errorf("%w: UID CL%d % X", ErrTransmission, level+1, part)
		}
		sak, err := d.transceive(append([]byte{sel, 0x70}, part...), shortTimeout)
		if err != nil {
			return nil, d.lost(err)
		}
		if len(sak) != 1 {
			return nil, fmt.Errorf("%w: SAK % X", ErrTransmission, sak)
		}
		if sak[0]&0x04 != 0 {
			if part[0] != 0x88 {
				return nil, fmt.Errorf("%w: cascade without cascade tag", ErrTransmission)
			}
			t.UID = append(t.UID, part[1:4]...)
			continue
		}
		t.UID = append(t.UID, part[:4]...)
		t.SAK = sak[0]
		return t, nil
	}
	return nil, fmt.Errorf("%w: more than three cascade levels", ErrTransmission)
}

// lost maps a timeout after the card answered the request: it left.
func (d *Dev) lost(err error) error {
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w: during anticollision", ErrTimeout)
	}
	return err
}

// HaltCard sends HLTA and then turns Crypto1 off. A card never answers
// HLTA, so it is only transmitted: no reply timeout is spent on it.
func (d *Dev) HaltCard() error {
	if _, _, err := d.exchange(cmdTransmit, []byte{0x50, 0x00}, 0, true, shortTimeout); err != nil {
		return err
	}
	return d.StopCrypto()
}

// StopCrypto clears MFCrypto1On after MIFARE Classic access.
func (d *Dev) StopCrypto() error { return d.write(regStatus2, 0x00) }

// ClassicAuth authenticates block's sector of the selected MIFARE Classic
// card with key A (or key B with keyB). The chip runs Crypto1 from here
// on; authenticating another sector while it runs is a nested
// authentication, which the MFRC522 handles.
func (d *Dev) ClassicAuth(t *Target, keyB bool, block byte, key [6]byte) error {
	cmd := byte(0x60)
	if keyB {
		cmd = 0x61
	}
	in := append([]byte{cmd, block}, key[:]...)
	in = append(in, t.UID[len(t.UID)-4:]...)
	_, _, err := d.exchange(cmdMFAuthent, in, 0, false, authTimeout)
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w: block %d", ErrAuth, block)
	}
	if err != nil {
		return err
	}
	st, err := d.read(regStatus2)
	if err != nil {
		return err
	}
	if st&0x08 == 0 {
		return fmt.Errorf("%w: block %d", ErrAuth, block)
	}
	return nil
}

// ClassicRead reads one 16-byte block of the authenticated sector.
func (d *Dev) ClassicRead(block byte) ([]byte, error) {
	rx, err := d.command([]byte{0x30, block}, cmdTimeout)
	if err != nil {
		return nil, err
	}
	if len(rx) != 16 {
		return nil, fmt.Errorf("%w: block of %d bytes", ErrTransmission, len(rx))
	}
	return rx, nil
}

// ClassicWrite writes one 16-byte block of the authenticated sector.
func (d *Dev) ClassicWrite(block byte, data []byte) error {
	if len(data) != 16 {
		return fmt.Errorf("mfrc522: block data of %d bytes; want 16", len(data))
	}
	if err := d.ack([]byte{0xA0, block}); err != nil {
		return err
	}
	return d.ack(data)
}

// NTAGVersion sends GET_VERSION and returns the 8-byte answer.
func (d *Dev) NTAGVersion() ([]byte, error) {
	rx, err := d.command([]byte{0x60}, cmdTimeout)
	if err != nil {
		return nil, err
	}
	if len(rx) != 8 {
		return nil, fmt.Errorf("%w: GET_VERSION of %d bytes", ErrTransmission, len(rx))
	}
	return rx, nil
}

// NTAGRead reads four pages (16 bytes) from page.
func (d *Dev) NTAGRead(page byte) ([]byte, error) {
	rx, err := d.command([]byte{0x30, page}, cmdTimeout)
	if err == nil && len(rx) != 16 {
		err = fmt.Errorf("%w: READ of %d bytes", ErrTransmission, len(rx))
	}
	return rx, err
}

// maxFastRead is the most pages one FAST_READ reply may carry: 15 pages
// and the CRC fill 62 of the FIFO's 64 bytes.
const maxFastRead = 15

// NTAGFastRead reads pages start to end inclusive with FAST_READ, in as
// few commands as the FIFO allows.
func (d *Dev) NTAGFastRead(start, end byte) ([]byte, error) {
	if end < start {
		return nil, fmt.Errorf("mfrc522: FAST_READ %d..%d", start, end)
	}
	var out []byte
	for p := int(start); p <= int(end); p += maxFastRead {
		e := min(p+maxFastRead-1, int(end))
		rx, err := d.command([]byte{0x3A, byte(p), byte(e)}, cmdTimeout)
		if err != nil {
			return nil, err
		}
		if len(rx) != (e-p+1)*4 {
			return nil, fmt.Errorf("%w: FAST_READ of %d bytes", ErrTransmission, len(rx))
		}
		out = append(out, rx...)
	}
	return out, nil
}

// NTAGReadSig returns the 32-byte originality signature (READ_SIG).
func (d *Dev) NTAGReadSig() ([]byte, error) {
	rx, err := d.command([]byte{0x3C, 0x00}, cmdTimeout)
	if err == nil && len(rx) != 32 {
		err = fmt.Errorf("%w: READ_SIG of %d bytes", ErrTransmission, len(rx))
	}
	return rx, err
}

// NTAGWrite writes one 4-byte page.
func (d *Dev) NTAGWrite(page byte, data [4]byte) error {
	return d.ack(append([]byte{0xA2, page}, data[:]...))
}

// isoLink adapts the driver to iso14443.Transceiver.
type isoLink struct{ d *Dev }

func (l isoLink) Transceive(tx []byte, timeout time.Duration) ([]byte, error) {
	rx, err := l.d.transceive(tx, timeout)
	if errors.Is(err, ErrChip) || errors.Is(err, ErrSeveralCards) {
		return nil, fmt.Errorf("%w: %w", iso14443.ErrFatal, err)
	}
	return rx, err
}

// RATS activates ISO/IEC 14443-4 on the selected card and returns an
// ISO-DEP connection whose frames fit the FIFO.
func (d *Dev) RATS() (*iso14443.Conn, error) {
	rx, err := d.command([]byte{0xE0, fsdi << 4}, cmdTimeout)
	if err != nil {
		return nil, err
	}
	ats, err := iso14443.ParseATS(rx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTransmission, err)
	}
	if ats.SFGT > 0 {
		if err := d.delay(ats.SFGT); err != nil {
			return nil, err
		}
	}
	return iso14443.NewConn(isoLink{d}, ats, fsd), nil
}

// Present reports whether the card uid is still in the field: it wakes
// the card with WUPA, selects it and halts it again. Several cards count as
// present, so that a second card laid on top does not end a tap.
func (d *Dev) Present(uid []byte) (bool, error) {
	t, err := d.Detect(true)
	switch {
	case errors.Is(err, ErrNoCard):
		return false, nil
	case errors.Is(err, ErrSeveralCards):
		return true, nil
	case errors.Is(err, ErrChip):
		return false, err
	case err != nil:
		return false, nil
	}
	if err := d.HaltCard(); err != nil {
		return false, err
	}
	return bytes.Equal(t.UID, uid), nil
}
