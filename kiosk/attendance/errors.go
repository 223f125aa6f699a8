package attendance

import (
	"errors"
	"syscall"
)

// Errors a caller branches on. Message gives the words to show the person
// at the kiosk.
var (
	// ErrStorage: the tap could not be written to the kiosk's store (disk
	// full, I/O error). It was NOT confirmed; nothing stored before is
	// affected, and the next tap is tried afresh.
	ErrStorage = errors.New("attendance: tap not stored")
	// ErrInvalidTap: the tap carries no volunteer, or a field the record
	// cannot hold.
	ErrInvalidTap = errors.New("attendance: invalid tap")
)

// Message returns a plain, kind message in Chinese for the person at the
// kiosk, saying what happened and what to do next. It returns "" for nil.
func Message(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrStorage) && errors.Is(err, syscall.ENOSPC):
		return "存储空间已满，本次刷卡未记录，请联系站点管理员"
	case errors.Is(err, ErrStorage):
		return "设备存储出错，本次刷卡未记录，请稍后重试或联系站点管理员"
	case errors.Is(err, ErrInvalidTap):
		return "无法识别此卡，请重新刷卡；如仍不行，请联系站点管理员"
	}
	return "系统出错，本次刷卡未记录，请联系站点管理员"
}

// storageError marks err as ErrStorage while keeping the cause (such as
// ENOSPC) reachable through errors.Is.
type storageError struct{ err error }

func (e *storageError) Error() string   { return ErrStorage.Error() + ": " + e.err.Error() }
func (e *storageError) Unwrap() []error { return []error{ErrStorage, e.err} }
