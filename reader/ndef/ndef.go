// Package ndef encodes and decodes NFC Data Exchange Format messages (NFC
// Forum NDEF 1.0) and the Type 2 Tag TLV blocks that carry them in card
// memory (NFC Forum Type 2 Tag Operation, section 2.3).
//
// Only what a card reader needs is here: records with short and long
// payloads, IDs, and the NDEF Message / Terminator / Null TLVs. Chunked
// records are refused: no card issued by this project uses them.
package ndef

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// TNF is the Type Name Format of a record.
type TNF uint8

// Type Name Formats (NDEF 1.0, 3.2.6).
const (
	TNFEmpty     TNF = 0x00
	TNFWellKnown TNF = 0x01
	TNFMedia     TNF = 0x02
	TNFURI       TNF = 0x03
	TNFExternal  TNF = 0x04
	TNFUnknown   TNF = 0x05
	TNFUnchanged TNF = 0x06
)

const (
	flagMB = 0x80
	flagME = 0x40
	flagCF = 0x20
	flagSR = 0x10
	flagIL = 0x08
)

// ErrMalformed reports bytes that are not a well-formed NDEF message or TLV
// area.
var ErrMalformed = errors.New("ndef: malformed")

// Record is one NDEF record.
type Record struct {
	TNF     TNF
	Type    []byte
	ID      []byte
	Payload []byte
}

// MediaRecord returns a record of MIME type mime (TNF 0x02).
func MediaRecord(mime string, payload []byte) Record {
	return Record{TNF: TNFMedia, Type: []byte(mime), Payload: payload}
}

// Marshal encodes records as one NDEF message. It sets MB on the first and
// ME on the last record, and uses short records where the payload allows.
func Marshal(records []Record) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	var out []byte
	for i, r := range records {
		if len(r.Type) > 255 || len(r.ID) > 255 {
			return nil, fmt.Errorf("%w: type or id longer than 255 bytes", ErrMalformed)
		}
		if r.TNF > TNFUnchanged {
			return nil, fmt.Errorf("%w: TNF %d", ErrMalformed, r.TNF)
		}
		h := byte(r.TNF)
		if i == 0 {
			h |= flagMB
		}
		if i == len(records)-1 {
			h |= flagME
		}
		short := len(r.Payload) < 256
		if short {
			h |= flagSR
		}
		if len(r.ID) > 0 {
			h |= flagIL
		}
		out = append(out, h, byte(len(r.Type)))
		if short {
			out = append(out, byte(len(r.Payload)))
		} else {
			out = binary.BigEndian.AppendUint32(out, uint32(len(r.Payload)))
		}
		if len(r.ID) > 0 {
			out = append(out, byte(len(r.ID)))
		}
		out = append(out, r.Type...)
		out = append(out, r.ID...)
		out = append(out, r.Payload...)
	}
	return out, nil
}

// Parse decodes one complete NDEF message. It checks the MB and ME flags,
// refuses chunked records and trailing bytes, and never reads past b.
func Parse(b []byte) ([]Record, error) {
	var recs []Record
	for off := 0; ; {
		if off >= len(b) {
			return nil, fmt.Errorf("%w: message ends without ME", ErrMalformed)
		}
		h := b[off]
		off++
		if (h&flagMB != 0) != (len(recs) == 0) {
			return nil, fmt.Errorf("%w: MB flag on record %d", ErrMalformed, len(recs))
		}
		if h&flagCF != 0 {
			return nil, fmt.Errorf("%w: chunked records are not supported", ErrMalformed)
		}
		tnf := TNF(h & 0x07)
		if tnf == 0x07 || tnf == TNFUnchanged {
			return nil, fmt.Errorf("%w: TNF %d", ErrMalformed, tnf)
		}
		need := 2
		if h&flagSR == 0 {
			need = 5
		}
		if h&flagIL != 0 {
			need++
		}
		if len(b)-off < need {
			return nil, fmt.Errorf("%w: truncated header", ErrMalformed)
		}
		typeLen := int(b[off])
		off++
		var payLen int
		if h&flagSR != 0 {
			payLen = int(b[off])
			off++
		} else {
			p := binary.BigEndian.Uint32(b[off:])
			off += 4
			if uint64(p) > uint64(len(b)) {
				return nil, fmt.Errorf("%w: payload length %d", ErrMalformed, p)
			}
			payLen = int(p)
		}
		idLen := 0
		if h&flagIL != 0 {
			idLen = int(b[off])
			off++
		}
		if tnf == TNFEmpty && (typeLen != 0 || idLen != 0 || payLen != 0) {
			return nil, fmt.Errorf("%w: empty record with content", ErrMalformed)
		}
		if len(b)-off < typeLen+idLen+payLen {
			return nil, fmt.Errorf("%w: truncated record", ErrMalformed)
		}
		r := Record{TNF: tnf}
		r.Type = append([]byte(nil), b[off:off+typeLen]...)
		off += typeLen
		if idLen > 0 {
			r.ID = append([]byte(nil), b[off:off+idLen]...)
			off += idLen
		}
		r.Payload = append([]byte(nil), b[off:off+payLen]...)
		off += payLen
		recs = append(recs, r)
		if h&flagME != 0 {
			if off != len(b) {
				return nil, fmt.Errorf("%w: %d bytes after the last record", ErrMalformed, len(b)-off)
			}
			return recs, nil
		}
	}
}

// Find returns the payload of the first media record of type mime.
func Find(records []Record, mime string) ([]byte, bool) {
	for _, r := range records {
		if r.TNF == TNFMedia && string(r.Type) == mime {
			return r.Payload, true
		}
	}
	return nil, false
}

// TLV tags of the Type 2 Tag memory layout.
const (
	tlvNull       = 0x00
	tlvNDEF       = 0x03
	tlvTerminator = 0xFE
)

// WrapTLV returns msg inside an NDEF Message TLV followed by a Terminator
// TLV, using the three-byte length form when msg is 255 bytes or longer.
func WrapTLV(msg []byte) []byte {
	var out []byte
	if len(msg) < 0xFF {
		out = append(out, tlvNDEF, byte(len(msg)))
	} else {
		out = append(out, tlvNDEF, 0xFF, byte(len(msg)>>8), byte(len(msg)))
	}
	out = append(out, msg...)
	return append(out, tlvTerminator)
}

// TLVLength reports how many bytes of a TLV area starting with head are
// needed to hold the whole NDEF Message TLV, so that a reader can fetch
// exactly that much. head must cover the TLVs before the NDEF TLV and its
// length field; if it does not, ok is false and need says how many bytes to
// read before asking again.
func TLVLength(head []byte) (need int, ok bool, err error) {
	for off := 0; ; {
		if off >= len(head) {
			return off + 4, false, nil
		}
		switch head[off] {
		case tlvNull:
			off++
			continue
		case tlvTerminator:
			return 0, false, fmt.Errorf("%w: no NDEF message TLV", ErrMalformed)
		}
		tag := head[off]
		if off+1 >= len(head) {
			return off + 4, false, nil
		}
		l := int(head[off+1])
		hdr := 2
		if l == 0xFF {
			if off+3 >= len(head) {
				return off + 4, false, nil
			}
			l = int(head[off+2])<<8 | int(head[off+3])
			hdr = 4
		}
		if tag == tlvNDEF {
			return off + hdr + l, true, nil
		}
		off += hdr + l
	}
}

// UnwrapTLV finds the first NDEF Message TLV in a Type 2 Tag data area and
// returns its value. Lock, memory-control and proprietary TLVs before it are
// skipped.
func UnwrapTLV(area []byte) ([]byte, error) {
	for off := 0; off < len(area); {
		tag := area[off]
		switch tag {
		case tlvNull:
			off++
			continue
		case tlvTerminator:
			return nil, fmt.Errorf("%w: no NDEF message TLV", ErrMalformed)
		}
		if off+1 >= len(area) {
			break
		}
		l := int(area[off+1])
		hdr := 2
		if l == 0xFF {
			if off+3 >= len(area) {
				break
			}
			l = int(area[off+2])<<8 | int(area[off+3])
			hdr = 4
		}
		if len(area)-off-hdr < l {
			return nil, fmt.Errorf("%w: TLV 0x%02x length %d beyond the area", ErrMalformed, tag, l)
		}
		if tag == tlvNDEF {
			return area[off+hdr : off+hdr+l], nil
		}
		off += hdr + l
	}
	return nil, fmt.Errorf("%w: no NDEF message TLV", ErrMalformed)
}
