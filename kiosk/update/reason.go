package update

import (
	"errors"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"leifeng/firmware/fetch"
	"leifeng/firmware/release"
	"leifeng/firmware/slot"
	"leifeng/firmware/tryboot"
)

// Reason is the plain Chinese reason for err a station manager reads on
// the console, followed by the technical detail.
func Reason(err error) string {
	var expired *metadata.ErrExpiredMetadata
	msg := "更新失败，请稍后再试；如一再失败，请联系管理员"
	switch {
	case errors.As(err, &expired):
		msg = "更新信息已过期，已拒绝；请管理员重新发布后再试"
	case errors.Is(err, fetch.ErrMetadata):
		msg = "更新签名校验未通过，已拒绝；请管理员检查发布"
	case errors.Is(err, fetch.ErrNoTarget):
		msg = "找不到这个版本，已拒绝；请管理员检查发布"
	case errors.Is(err, fetch.ErrCorrupt), errors.Is(err, fetch.ErrManifest), errors.Is(err, release.ErrBadBundle):
		msg = "下载的更新包不完整或被改动，已丢弃；会重新下载"
	case errors.Is(err, ErrRollback):
		msg = "不能换成更旧的版本，已拒绝"
	case errors.Is(err, ErrWrongBoard):
		msg = "这个版本不适用于本机型，已拒绝"
	case errors.Is(err, ErrConfigTooOld):
		msg = "本站配置太旧，先更新配置再更新程序"
	case errors.Is(err, ErrWrongKind), errors.Is(err, tryboot.ErrUnsupported):
		msg = "本机不支持这种更新方式，已拒绝"
	case errors.Is(err, ErrOfferMismatch):
		msg = "更新通知与签名的版本不符，已拒绝"
	case errors.Is(err, ErrBusy):
		msg = "正在进行另一次更新，请等它结束"
	case errors.Is(err, slot.ErrNotWhole):
		msg = "新版本没有完整写入，已停止；会重新安装"
	}
	return msg + "（" + err.Error() + "）"
}
