package cardimage

import (
	"bytes"
	"errors"
	"fmt"

	"leifeng/reader"
	"leifeng/reader/mfrc522"
)

// TransportKey is the key A of a blank MIFARE Classic card.
var TransportKey = [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// ErrWrongMedia reports a card that does not match the image to write.
var ErrWrongMedia = errors.New("cardimage: the card is not of the image's media")

// Write writes an issued card image onto the selected blank card t: the
// user pages of an NTAG21x, or the MAD and NDEF sectors (data, then
// trailers with the issuer's keys and read-only access) of a MIFARE
// Classic 1K still on transportKey. The image must have been issued for
// t's UID. NTAG 424 DNA needs EV2 authentication and SDM file settings to
// provision, which this package does not do.
func Write(d *mfrc522.Dev, t *mfrc522.Target, im *Image, transportKey [6]byte) error {
	if !bytes.Equal(t.UID, im.UID) {
		return fmt.Errorf("%w: image for %X, card %X", ErrWrongMedia, im.UID, t.UID)
	}
	defer d.HaltCard()
	switch {
	case im.Media == "classic1k" && t.SAK == 0x08:
		return writeClassic(d, t, im.Memory, transportKey)
	case im.Media == "ntag424":
		return fmt.Errorf("%w: provisioning NTAG 424 DNA (EV2 authentication, SDM settings) is not supported; use a card image", reader.ErrUnsupported)
	case t.SAK == 0x00:
		return writeNTAG(d, im)
	}
	return fmt.Errorf("%w: image %s, card SAK 0x%02X", ErrWrongMedia, im.Media, t.SAK)
}

func writeNTAG(d *mfrc522.Dev, im *Image) error {
	v, err := d.NTAGVersion()
	if err != nil {
		return err
	}
	if want := len(im.Memory) / 4; !ntagStorageMatches(v[6], want) {
		return fmt.Errorf("%w: GET_VERSION % X for a %d-page image", ErrWrongMedia, v, want)
	}
	// Page 3 (capability container) first, then user memory up to the
	// terminator TLV; the UID, lock and configuration pages stay as made.
	end := 4
	for p := len(im.Memory)/4 - 6; p >= 4; p-- {
		if !bytes.Equal(im.Memory[p*4:p*4+4], make([]byte, 4)) {
			end = p
			break
		}
	}
	for p := 3; p <= end; p++ {
		if err := d.NTAGWrite(byte(p), [4]byte(im.Memory[p*4:p*4+4])); err != nil {
			return fmt.Errorf("page %d: %w", p, err)
		}
	}
	return nil
}

func ntagStorageMatches(storage byte, pages int) bool {
	switch storage {
	case 0x0F:
		return pages == 45
	case 0x11:
		return pages == 135
	case 0x13:
		return pages == 231
	}
	return false
}

func writeClassic(d *mfrc522.Dev, t *mfrc522.Target, mem []byte, key [6]byte) error {
	for s := 0; s < 16; s++ {
		if err := d.ClassicAuth(t, false, byte(4*s+3), key); err != nil {
			return fmt.Errorf("sector %d: %w", s, err)
		}
		for b := 0; b < 4; b++ {
			blk := 4*s + b
			if blk == 0 {
				continue // manufacturer block
			}
			if err := d.ClassicWrite(byte(blk), mem[blk*16:blk*16+16]); err != nil {
				return fmt.Errorf("block %d: %w", blk, err)
			}
		}
	}
	return nil
}
