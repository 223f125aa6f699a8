// Package cardimage is the file format of a card's memory, for the
// simulator and the kiosk's simulated reader: what leifeng-card issue
// writes and what Read taps on chipsim, the simulated MFRC522, and reads
// through the real driver; Write puts an image on a real blank card.
//
// An image is one JSON object:
//
//	{
//	  "format": "leifeng-card-image/1",
//	  "media": "ntag215",            // classic1k, ntag213, ntag215, ntag216, ntag424
//	  "uid": "04A23B1C558091",       // hex, 4, 7 or 10 bytes
//	  "memory": "BASE64...",         // the whole memory (see below)
//	  "signature": "HEX",            // NTAG21x originality signature, optional
//	  "sdm": {                       // ntag424 only
//	    "picc_offset": 184, "mac_offset": 219,
//	    "meta_read_key": "HEX", "file_read_key": "HEX",
//	    "counter": 0
//	  }
//	}
//
// memory is, by media: classic1k, the 64 blocks of 16 bytes including the
// sector trailers (keys and access bits); ntag21x, all pages from page 0;
// ntag424, the content of the NDEF file E104.
//
// The kiosk's simulated reader socket (--reader sim:ADDR) takes one JSON
// line per tap: {"image": <card image object>}.
package cardimage

import (
	"bytes"
	"encoding/json"
	"fmt"

	"leifeng/reader"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/ndef"
)

// Format is the value of the format field.
const Format = "leifeng-card-image/1"

// Hex is a byte string that JSON encodes as hex: reader.Hex, the type of
// the key files, named here too for the image's fields.
type Hex = reader.Hex

// SDM is the Secure Dynamic Messaging setup of an NTAG 424 DNA.
type SDM struct {
	PICCOffset  int    `json:"picc_offset"`
	MACOffset   int    `json:"mac_offset"`
	MetaReadKey Hex    `json:"meta_read_key"`
	FileReadKey Hex    `json:"file_read_key"`
	Counter     uint32 `json:"counter"`
}

// Image is a card's memory.
type Image struct {
	Format    string `json:"format"`
	Media     string `json:"media"`
	UID       Hex    `json:"uid"`
	Memory    []byte `json:"memory"`
	Signature Hex    `json:"signature,omitempty"`
	SDM       *SDM   `json:"sdm,omitempty"`
}

// Load parses and checks an image.
func Load(b []byte) (*Image, error) {
	var im Image
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&im); err != nil {
		return nil, fmt.Errorf("cardimage: %w", err)
	}
	if im.Format != Format {
		return nil, fmt.Errorf("cardimage: format %q; want %q", im.Format, Format)
	}
	if _, err := im.Card(); err != nil {
		return nil, err
	}
	return &im, nil
}

// Save returns the image as indented JSON.
func (im *Image) Save() ([]byte, error) {
	im.Format = Format
	b, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Card builds the simulated card the image describes.
func (im *Image) Card() (*chipsim.Card, error) {
	switch im.Media {
	case "classic1k":
		return chipsim.NewClassic1K(im.UID, im.Memory)
	case "ntag424":
		if im.SDM == nil {
			return nil, fmt.Errorf("cardimage: ntag424 image without sdm")
		}
		keys := credential.SUNKeys{MetaRead: im.SDM.MetaReadKey, FileRead: im.SDM.FileReadKey}
		return chipsim.NewNTAG424(im.UID, im.Memory, im.SDM.PICCOffset, im.SDM.MACOffset, keys, im.SDM.Counter)
	}
	if m, ok := credential.NTAGModelByName(im.Media); ok {
		return chipsim.NewNTAG(m, im.UID, im.Memory, im.Signature)
	}
	return nil, fmt.Errorf("cardimage: unknown media %q", im.Media)
}

// IssueOptions are the secrets an issuer puts on a card.
type IssueOptions struct {
	// KeyB is the issuer's MIFARE Classic key B (write access).
	KeyB [6]byte
	// SUNMaster are the fleet's SDM master keys for NTAG 424 DNA; the card
	// gets keys diversified from them.
	SUNMaster credential.SUNKeys
}

// ntag424FileSize is the default size of the NDEF file E104.
const ntag424FileSize = 256

// Issue lays out an encoded credential on a blank card of the given media.
func Issue(media string, uid, cred []byte, o IssueOptions) (*Image, error) {
	im := &Image{Format: Format, Media: media, UID: bytes.Clone(uid)}
	msg, err := credential.NDEFMessage(cred, media == "ntag424")
	if err != nil {
		return nil, err
	}
	switch media {
	case "classic1k":
		im.Memory, err = credential.ClassicMemory(uid, msg, o.KeyB)
	case "ntag424":
		keys, kerr := credential.CardSUNKeys(o.SUNMaster, uid)
		if kerr != nil {
			return nil, kerr
		}
		file, p, m, ferr := credential.NTAG424File(msg, ntag424FileSize)
		im.Memory, err = file, ferr
		im.SDM = &SDM{PICCOffset: p, MACOffset: m, MetaReadKey: keys.MetaRead, FileReadKey: keys.FileRead}
	default:
		model, ok := credential.NTAGModelByName(media)
		if !ok {
			return nil, fmt.Errorf("cardimage: unknown media %q", media)
		}
		im.Memory, err = credential.NTAGMemory(model, uid, msg)
	}
	if err != nil {
		return nil, err
	}
	if _, err := im.Card(); err != nil {
		return nil, err
	}
	return im, nil
}

// NDEF returns the NDEF message stored in the image, read straight from
// its memory as a card would serve it (without SUN mirroring).
func (im *Image) NDEF() ([]byte, error) {
	switch im.Media {
	case "classic1k":
		if len(im.Memory) != 1024 {
			return nil, fmt.Errorf("cardimage: classic1k memory of %d bytes", len(im.Memory))
		}
		sectors, err := credential.ClassicNDEFSectors(im.Memory[16:48])
		if err != nil {
			return nil, err
		}
		var area []byte
		for _, s := range sectors {
			area = append(area, im.Memory[64*s:64*s+48]...)
		}
		return ndef.UnwrapTLV(area)
	case "ntag424":
		if len(im.Memory) < 2 {
			return nil, fmt.Errorf("cardimage: empty NDEF file")
		}
		n := int(im.Memory[0])<<8 | int(im.Memory[1])
		if n+2 > len(im.Memory) {
			return nil, fmt.Errorf("cardimage: NLEN %d beyond the file", n)
		}
		return im.Memory[2 : 2+n], nil
	}
	m, ok := credential.NTAGModelByName(im.Media)
	if !ok || len(im.Memory) != m.Pages*4 {
		return nil, fmt.Errorf("cardimage: bad %s image", im.Media)
	}
	return ndef.UnwrapTLV(im.Memory[credential.UserStart*4 : credential.UserStart*4+m.UserBytes()])
}
