package wire

import "errors"

// Sentinel errors every decoder wraps, so a caller can count rejections by
// reason with errors.Is.
var (
	// ErrMalformed: the bytes are not the JSON message expected.
	ErrMalformed = errors.New("wire: malformed message")
	// ErrVersion: the schema version is missing or not one this side speaks.
	ErrVersion = errors.New("wire: unsupported schema version")
	// ErrTooLarge: the message or one of its lists exceeds its limit.
	ErrTooLarge = errors.New("wire: message too large")
	// ErrInvalid: a required field is missing or a field is out of range.
	ErrInvalid = errors.New("wire: invalid message")
	// ErrStationMismatch: the station named inside a message is not the one
	// its topic belongs to.
	ErrStationMismatch = errors.New("wire: station does not match topic")
	// ErrSignature: a signed envelope does not verify, or is signed by a key
	// that is not trusted.
	ErrSignature = errors.New("wire: bad signature")
)

// Reason maps an error from this package to a short, stable label for logs
// and metrics ("malformed", "version", ...). Errors from elsewhere are
// "other".
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrVersion):
		return "version"
	case errors.Is(err, ErrStationMismatch):
		return "station_mismatch"
	case errors.Is(err, ErrSignature):
		return "signature"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	}
	return "other"
}
