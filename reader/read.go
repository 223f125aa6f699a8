package reader

import (
	"errors"
	"fmt"
	"time"

	"leifeng/reader/credential"
	"leifeng/reader/iso14443"
	"leifeng/reader/mfrc522"
	"leifeng/reader/ndef"
)

// Config is what the reader checks cards against.
type Config struct {
	// Verifier holds the trusted issuer keys, the revocation list and the
	// clock for expiry. Required. Its Update swaps the keys and
	// revocations while Read runs on other goroutines (a config applied
	// live); the next card read is checked against the new set.
	Verifier *credential.Verifier
	// SUN, when set, holds the fleet's NTAG 424 DNA SDM master keys: the
	// reader then decrypts and checks each SUN message and fills
	// Tap.Counter. Without it the SUN message is passed on unchecked for
	// the cloud.
	SUN *credential.SUNKeys
	// Now is the kiosk clock for Tap.At; nil means time.Now.
	Now func() time.Time
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Read reads and verifies the credential of the selected card t, and halts
// the card. Errors match the package's sentinels.
func Read(d *mfrc522.Dev, t *mfrc522.Target, cfg *Config) (Tap, error) {
	tap := Tap{UID: t.UID, At: cfg.now()}
	msg, media, err := readNDEF(d, t)
	tap.Media = media
	switch {
	case err != nil:
		if herr := park(d, t.UID); errors.Is(herr, mfrc522.ErrChip) {
			err = herr
		}
		return tap, classify(err)
	case media != "ntag424": // NTAG 424 DNA was halted by S(DESELECT)
		if err := d.HaltCard(); err != nil {
			return tap, classify(err)
		}
	}
	cred, sun, err := credential.FromNDEF(msg)
	if errors.Is(err, credential.ErrNoCredential) {
		return tap, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	if err != nil {
		return tap, err
	}
	c, err := cfg.Verifier.Verify(t.UID, cred)
	if c != nil {
		tap.Volunteer, tap.Card, tap.Name, tap.Review = c.Volunteer, c.Serial, c.Name, c.IssuedAhead
	}
	if err != nil {
		return tap, err
	}
	if media == "ntag424" && sun != nil {
		tap.SUN = sun
		if cfg.SUN != nil {
			keys, err := credential.CardSUNKeys(*cfg.SUN, t.UID)
			if err != nil {
				return tap, err
			}
			s, err := credential.VerifySUN(keys, sun)
			if err != nil {
				return tap, fmt.Errorf("SUN message: %w", err)
			}
			if string(s.UID) != string(t.UID) {
				return tap, fmt.Errorf("%w: SUN message names card %X", credential.ErrWrongCard, s.UID)
			}
			tap.Counter = s.Counter
		}
	}
	return tap, nil
}

// park halts a card after a failed read. The failure may have left it
// IDLE (a NAK, a failed authentication) or in ISO-DEP, where it would
// answer the next REQA and be refused again on every poll: wake it, select
// it and halt it. A card that left the field answers nothing.
func park(d *mfrc522.Dev, uid []byte) error {
	if err := d.HaltCard(); err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		t, err := d.Detect(true)
		if errors.Is(err, mfrc522.ErrChip) {
			return err
		}
		if err == nil {
			if string(t.UID) != string(uid) {
				return nil
			}
			return d.HaltCard()
		}
	}
	return nil
}

// classify maps driver errors to the package's sentinels.
func classify(err error) error {
	switch {
	case errors.Is(err, ErrUnsupported), errors.Is(err, ErrSeveralCards), errors.Is(err, ErrUnreadable):
		return err
	case errors.Is(err, mfrc522.ErrChip):
		return fmt.Errorf("%w: %w", ErrReaderFault, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreadable, err)
}

// readNDEF reads the NDEF message of a selected card, by card type.
func readNDEF(d *mfrc522.Dev, t *mfrc522.Target) ([]byte, string, error) {
	switch {
	case t.SAK == 0x08:
		msg, err := readClassic(d, t)
		return msg, "classic1k", err
	case t.SAK == 0x00:
		return readNTAG(d)
	case t.ISO14443_4():
		msg, err := readNTAG424(d)
		return msg, "ntag424", err
	}
	return nil, "", fmt.Errorf("%w: SAK 0x%02X ATQA % X", ErrUnsupported, t.SAK, t.ATQA)
}

// readClassic leaves Crypto1 on: the card must be halted with an
// encrypted HLTA (Dev.HaltCard) or it would take the plain one for noise
// and stay awake.
func readClassic(d *mfrc522.Dev, t *mfrc522.Target) ([]byte, error) {
	if err := d.ClassicAuth(t, false, 3, credential.MADKeyA); err != nil {
		if errors.Is(err, mfrc522.ErrAuth) {
			return nil, fmt.Errorf("%w: no MIFARE application directory: %w", ErrUnsupported, err)
		}
		return nil, err
	}
	var mad []byte
	for _, b := range []byte{1, 2} {
		blk, err := d.ClassicRead(b)
		if err != nil {
			return nil, err
		}
		mad = append(mad, blk...)
	}
	sectors, err := credential.ClassicNDEFSectors(mad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	var area []byte
	need := -1
	for _, s := range sectors {
		if err := d.ClassicAuth(t, false, byte(4*s+3), credential.NDEFKeyA); err != nil {
			return nil, err
		}
		for b := 0; b < 3; b++ {
			blk, err := d.ClassicRead(byte(4*s + b))
			if err != nil {
				return nil, err
			}
			area = append(area, blk...)
			if need < 0 {
				n, ok, err := ndef.TLVLength(area)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
				}
				if ok {
					need = n
				}
			}
			if need >= 0 && len(area) >= need {
				return ndef.UnwrapTLV(area[:need])
			}
		}
	}
	return nil, fmt.Errorf("%w: NDEF message longer than the NDEF sectors", ErrUnsupported)
}

func readNTAG(d *mfrc522.Dev) ([]byte, string, error) {
	v, err := d.NTAGVersion()
	if errors.Is(err, mfrc522.ErrNAK) {
		return nil, "", fmt.Errorf("%w: no GET_VERSION (MIFARE Ultralight?)", ErrUnsupported)
	}
	if err != nil {
		return nil, "", err
	}
	var model credential.NTAGModel
	ok := false
	if v[1] == 0x04 && v[2] == 0x04 {
		for _, m := range []credential.NTAGModel{credential.NTAG213, credential.NTAG215, credential.NTAG216} {
			if m.Storage == v[6] {
				model, ok = m, true
			}
		}
	}
	if !ok {
		return nil, "", fmt.Errorf("%w: GET_VERSION % X", ErrUnsupported, v)
	}
	last := byte(credential.UserStart + model.UserBytes()/4 - 1)
	head, err := d.NTAGFastRead(3, min(3+14, last))
	if err != nil {
		return nil, model.Name, err
	}
	if head[0] != 0xE1 {
		return nil, model.Name, fmt.Errorf("%w: not NDEF formatted (CC % X)", ErrUnsupported, head[:4])
	}
	area := head[4:]
	need, ok, err := ndef.TLVLength(area)
	if err != nil || !ok {
		return nil, model.Name, fmt.Errorf("%w: no NDEF message TLV", ErrUnsupported)
	}
	if need > len(area) {
		endPage := credential.UserStart + (need+3)/4 - 1
		if endPage > int(last) {
			return nil, model.Name, fmt.Errorf("%w: NDEF TLV beyond user memory", ErrUnsupported)
		}
		more, err := d.NTAGFastRead(byte(3+len(head)/4), byte(endPage))
		if err != nil {
			return nil, model.Name, err
		}
		area = append(area, more...)
	}
	msg, err := ndef.UnwrapTLV(area[:need])
	if err != nil {
		return nil, model.Name, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return msg, model.Name, nil
}

// apdu sends a command APDU and checks for status 90 00.
func apdu(c *iso14443.Conn, a []byte) ([]byte, error) {
	r, err := c.Exchange(a)
	if err != nil {
		return nil, err
	}
	if len(r) < 2 || r[len(r)-2] != 0x90 || r[len(r)-1] != 0x00 {
		return nil, fmt.Errorf("%w: APDU % X answered % X", ErrUnsupported, a[:4], r)
	}
	return r[:len(r)-2], nil
}

func readNTAG424(d *mfrc522.Dev) ([]byte, error) {
	c, err := d.RATS()
	if err != nil {
		return nil, err
	}
	if _, err := apdu(c, []byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01, 0x00}); err != nil {
		return nil, err
	}
	if _, err := apdu(c, []byte{0x00, 0xA4, 0x00, 0x0C, 0x02, 0xE1, 0x04}); err != nil {
		return nil, err
	}
	nlen, err := apdu(c, []byte{0x00, 0xB0, 0x00, 0x00, 0x02})
	if err != nil {
		return nil, err
	}
	if len(nlen) != 2 {
		return nil, fmt.Errorf("%w: NLEN of %d bytes", ErrUnreadable, len(nlen))
	}
	n := int(nlen[0])<<8 | int(nlen[1])
	var msg []byte
	for off := 2; off < n+2; {
		le := min(n+2-off, 255)
		part, err := apdu(c, []byte{0x00, 0xB0, byte(off >> 8), byte(off), byte(le)})
		if err != nil {
			return nil, err
		}
		if len(part) == 0 {
			return nil, fmt.Errorf("%w: NDEF file shorter than NLEN", ErrUnsupported)
		}
		msg = append(msg, part...)
		off += len(part)
	}
	if err := c.Deselect(); err != nil {
		return nil, err
	}
	return msg, nil
}
