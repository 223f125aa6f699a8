package attendance

import (
	"errors"
	"syscall"
)

// Errors a caller branches on. Code names them; the kiosk's catalogue
// gives the words to show the person at the kiosk.
var (
	// ErrStorage: the tap could not be written to the kiosk's store (disk
	// full, I/O error). It was NOT confirmed; nothing stored before is
	// affected, and the next tap is tried afresh.
	ErrStorage = errors.New("attendance: tap not stored")
	// ErrInvalidTap: the tap carries no volunteer, or a field the record
	// cannot hold.
	ErrInvalidTap = errors.New("attendance: invalid tap")
)

// Codes of the errors a tap fails with here: stable names for logs, the
// simulated reader's replies and the kiosk's catalogue of sentences
// (kiosk/ui/catalog), which holds the words; this package holds none.
const (
	// CodeDiskFull: ErrStorage because the disk is full.
	CodeDiskFull = "disk_full"
	// CodeStorage: ErrStorage for another cause.
	CodeStorage = "storage"
	// CodeInvalidTap: ErrInvalidTap.
	CodeInvalidTap = "invalid_tap"
	// CodeOther: an error that is none of this package's.
	CodeOther = "other"
)

// Codes lists every code Code returns for a non-nil error.
func Codes() []string { return []string{CodeDiskFull, CodeStorage, CodeInvalidTap, CodeOther} }

// Code maps err to its stable code: "" for nil, CodeOther for an error
// that is none of this package's.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrStorage) && errors.Is(err, syscall.ENOSPC):
		return CodeDiskFull
	case errors.Is(err, ErrStorage):
		return CodeStorage
	case errors.Is(err, ErrInvalidTap):
		return CodeInvalidTap
	}
	return CodeOther
}

// storageError marks err as ErrStorage while keeping the cause (such as
// ENOSPC) reachable through errors.Is.
type storageError struct{ err error }

func (e *storageError) Error() string   { return ErrStorage.Error() + ": " + e.err.Error() }
func (e *storageError) Unwrap() []error { return []error{ErrStorage, e.err} }
